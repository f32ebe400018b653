"""Object Ownership: who owns new objects and whether ACLs apply (shared by every writer)."""

from __future__ import annotations

from overcast.services.s3.models import Bucket

OWNERSHIP = ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced")
ENFORCED = "BucketOwnerEnforced"


def ownership(bucket: Bucket) -> str:
    """The bucket's Object Ownership; absent: BucketOwnerEnforced (new buckets since 2023);
    deleted (None): ObjectWriter, the behaviour of buckets without ownership controls."""
    if "ownership" not in bucket.config:
        return ENFORCED
    return bucket.config["ownership"] or "ObjectWriter"


def object_owner(bucket: Bucket, writer: str, canned_acl: str | None) -> str:
    """Who owns a new object: the bucket owner when ownership is enforced, or preferred and the
    writer grants bucket-owner-full-control; otherwise the writing account."""
    mode = ownership(bucket)
    if mode == ENFORCED or (
        mode == "BucketOwnerPreferred" and canned_acl == "bucket-owner-full-control"
    ):
        return bucket.account_id
    return writer


def acls_enabled(bucket: Bucket) -> bool:
    return ownership(bucket) != ENFORCED
