"""What the object operations share: finding a version as S3 reports misses, the response
headers describing an object, and request checks (key length, storage class, body digests).

``ObjectBase`` is the base of the object operation groups (``objects.py`` and its mixins
``object_copy.py``, ``object_delete.py``, ``object_tagging.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sqlite3
from typing import Any

from overcast.gateway.auth.checksums import algorithm_of_header, b64checksum
from overcast.gateway.context import RequestContext
from overcast.services.s3 import encryption, store
from overcast.services.s3.checksum_headers import checksum_members
from overcast.services.s3.common import S3Base
from overcast.services.s3.conditions import check_write_conditions
from overcast.services.s3.errors import (
    AccessDenied,
    BadDigest,
    InvalidArgument,
    InvalidDigest,
    InvalidRequest,
    InvalidStorageClass,
    KeyTooLongError,
    MetadataTooLarge,
    MethodNotAllowed,
    NoSuchKey,
    NoSuchVersion,
)
from overcast.services.s3.models import NULL_VERSION, Bucket, ObjectVersion

MAX_KEY_BYTES = 1024
MAX_USER_METADATA = 2048  # bytes of x-amz-meta-* names and values together

STORAGE_CLASSES = frozenset(
    {
        "STANDARD",
        "REDUCED_REDUNDANCY",
        "STANDARD_IA",
        "ONEZONE_IA",
        "INTELLIGENT_TIERING",
        "GLACIER",
        "DEEP_ARCHIVE",
        "GLACIER_IR",
    }
)
ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})  # bodies unreadable until restored

_VERSION_ID = re.compile(r"^[A-Za-z0-9._\-]{32}$")

# Stored meta key -> output member, for the headers every read returns.
_META_MEMBERS = (
    ("content_encoding", "ContentEncoding"),
    ("content_disposition", "ContentDisposition"),
    ("content_language", "ContentLanguage"),
    ("cache_control", "CacheControl"),
    ("expires", "Expires"),
    ("website_redirect", "WebsiteRedirectLocation"),
)


def check_key(key: str) -> None:
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise KeyTooLongError(Size=size, MaxSizeAllowed=MAX_KEY_BYTES)


def check_version_id(version_id: str) -> None:
    """S3 refuses a version id that cannot be one (400), before looking anything up."""
    if version_id != NULL_VERSION and not _VERSION_ID.match(version_id):
        raise InvalidArgument(
            "Invalid version id specified", ArgumentName="versionId", ArgumentValue=version_id
        )


def storage_class_of(request: dict[str, Any]) -> str:
    value = request.get("StorageClass")
    if value is None or value == "":
        return "STANDARD"
    if value not in STORAGE_CLASSES:
        raise InvalidStorageClass(StorageClassRequested=value)
    return str(value)


def check_metadata(metadata: dict[str, str] | None) -> None:
    if not metadata:
        return
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in metadata.items())
    if size > MAX_USER_METADATA:
        raise MetadataTooLarge(Size=size, MaxSizeAllowed=MAX_USER_METADATA)


def clean_content_encoding(meta: dict[str, Any]) -> None:
    """``aws-chunked`` describes the transfer, not the object: S3 does not store it."""
    value = meta.get("content_encoding")
    if value is None:
        return
    kept = [v.strip() for v in value.split(",") if v.strip() and v.strip() != "aws-chunked"]
    if kept:
        meta["content_encoding"] = ",".join(kept)
    else:
        del meta["content_encoding"]


def sse_of(request: dict[str, Any]) -> dict[str, Any]:
    """The server-side encryption a write asks for, checked (``encryption.py``)."""
    return encryption.requested(request)


def sse_members(meta: dict[str, Any]) -> dict[str, Any]:
    return encryption.members(meta)


def check_body_digest(ctx: RequestContext, *, required: bool) -> None:
    """Content-MD5 / x-amz-checksum-* of a small (fully read) request body, e.g. DeleteObjects.

    ``required``: S3 refuses such a request that carries neither.
    """
    request = ctx.request
    body = request.body
    md5 = request.headers.get("content-md5")
    checked = False
    if md5 is not None:
        try:
            digest = base64.b64decode(md5, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 16:
            raise InvalidDigest(**{"Content-MD5": md5})
        if digest != hashlib.md5(body).digest():
            raise BadDigest()
        checked = True
    for name, value in request.headers.raw_items():
        algorithm = algorithm_of_header(name) if name.startswith("x-amz-checksum-") else None
        if algorithm is None:
            continue
        try:
            expected = b64checksum(algorithm, body)
        except ValueError:
            raise InvalidRequest(f"Value for {name} header is invalid.") from None
        if value != expected:
            raise BadDigest(f"The {algorithm} you specified did not match the calculated checksum.")
        checked = True
    if required and not checked:
        raise InvalidRequest("Missing required header for this request: Content-MD5")


class ObjectBase(S3Base):
    def _requested_acl(self, ctx: RequestContext, request: dict[str, Any]) -> Any:
        """The ACL a write asks for (``access.py``'s ``_acl_from_request``), or None.

        Looked up by name: defining that hook here would shadow ``access.py``'s in the
        provider's method order.
        """
        hook = getattr(self, "_acl_from_request", None)
        return None if hook is None else hook(ctx, request, ctx.account_id)

    def _check_write(
        self, conn: sqlite3.Connection, bucket: Bucket, key: str, request: dict[str, Any]
    ) -> None:
        """If-Match / If-None-Match of a write, against the key's current version."""
        if_match, if_none_match = request.get("IfMatch"), request.get("IfNoneMatch")
        if if_match is None and if_none_match is None:
            return
        current = store.get_latest(conn, bucket.name, key)
        check_write_conditions(current, if_match=if_match, if_none_match=if_none_match, key=key)

    def _may_list(self, ctx: RequestContext, bucket: Bucket) -> bool:
        """Whether the caller may learn that a key is absent (else S3 answers 403)."""
        identity = ctx.identity
        signed = identity is not None and identity.access_key is not None
        if signed and ctx.account_id == bucket.account_id:
            return True
        return self._grants(ctx, bucket, "s3:ListBucket")

    def _find(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection,
        bucket: Bucket,
        key: str,
        version_id: str | None,
        *,
        method: str = "GET",
    ) -> ObjectVersion:
        """The object version a read names, or S3's error: NoSuchKey (with the delete marker's
        headers when one is current), NoSuchVersion, 405 for a delete marker's version id, and
        403 instead of 404 when the caller may not list the bucket."""
        if version_id is not None:
            check_version_id(version_id)
            obj = store.get_version(conn, bucket.name, key, version_id)
            if obj is None:
                if not self._may_list(ctx, bucket):
                    raise AccessDenied()
                raise NoSuchVersion(Key=key, VersionId=version_id)
            if obj.delete_marker:
                error = MethodNotAllowed(Method=method, ResourceType="DeleteMarker")
                error.headers.update(marker_headers(obj))
                raise error
            return obj
        obj = store.get_latest(conn, bucket.name, key)
        if obj is None or obj.delete_marker:
            if not self._may_list(ctx, bucket):
                raise AccessDenied()
            error = NoSuchKey(Key=key)
            if obj is not None:
                error.headers.update(marker_headers(obj))
            raise error
        return obj


def marker_headers(marker: ObjectVersion) -> dict[str, str]:
    from overcast.protocol.timestamps import RFC822, format_timestamp

    return {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": marker.version_id,
        "Last-Modified": str(format_timestamp(int(marker.last_modified), RFC822)),
    }


def describe(bucket: Bucket, obj: ObjectVersion, *, checksum_mode: bool = False) -> dict[str, Any]:
    """The output members (headers) a GET/HEAD of ``obj`` answers with."""
    meta = obj.meta
    out: dict[str, Any] = {
        "ETag": obj.etag,
        "LastModified": int(obj.last_modified),
        "ContentLength": obj.size,
        "ContentType": meta.get("content_type") or "binary/octet-stream",
        "AcceptRanges": "bytes",
    }
    for stored, member in _META_MEMBERS:
        value = meta.get(stored)
        if value is not None:
            out[member] = value
    user = meta.get("user")
    if user:
        out["Metadata"] = user
    if meta.get("missing_meta"):
        out["MissingMeta"] = meta["missing_meta"]
    out.update(sse_members(meta))
    if bucket.versioned:
        out["VersionId"] = obj.version_id
    if obj.storage_class != "STANDARD":
        out["StorageClass"] = obj.storage_class
    tags = meta.get("tags")
    if tags:
        out["TagCount"] = len(tags)
    if meta.get("replication_status"):
        out["ReplicationStatus"] = meta["replication_status"]
    if checksum_mode and meta.get("checksums"):
        out.update(checksum_members(meta["checksums"]))
        out["ChecksumType"] = meta.get("checksum_type", "FULL_OBJECT")
    return out
