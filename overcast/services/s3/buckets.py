"""S3 buckets: Create, Head, Delete, List, GetBucketLocation (plus versioning, tagging and the
"not configured" answers of part-2 sub-resources, through the groups this class combines).

Bucket names are one namespace across accounts and regions. A bucket's region is its
LocationConstraint, or the region of the endpoint that created it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.gateway.urls import s3_bucket_location
from overcast.protocol.models import service_model
from overcast.services.s3 import store
from overcast.services.s3.bucket_tagging import BucketTagging, validate_tags
from overcast.services.s3.bucket_versioning import BucketVersioning
from overcast.services.s3.common import S3Base, owner_shape
from overcast.services.s3.errors import (
    AccessDenied,
    BucketAlreadyExists,
    BucketAlreadyOwnedByYou,
    BucketNotEmpty,
    IllegalLocationConstraintException,
    InvalidArgument,
    InvalidLocationConstraint,
    TooManyBuckets,
)
from overcast.services.s3.keyrange import decode_token, encode_token, prefix_end
from overcast.services.s3.models import Bucket
from overcast.services.s3.naming import LEGACY_CONSTRAINTS, check_bucket_name
from overcast.services.s3.ownership import OWNERSHIP
from overcast.services.s3.preconditions import check_expected_owner

US_EAST_1 = "us-east-1"
MAX_BUCKETS_PER_ACCOUNT = 10_000  # S3's default general purpose bucket quota


def _valid_constraints() -> frozenset[str]:
    shape = service_model("s3").shape_for("BucketLocationConstraint")
    return frozenset(shape.enum)


class Buckets(BucketVersioning, BucketTagging, S3Base):
    # --- CreateBucket --------------------------------------------------------------------

    def create_bucket(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]
        check_bucket_name(name)
        config = request.get("CreateBucketConfiguration") or {}
        region = self._bucket_region(ctx, config.get("LocationConstraint"))
        ownership = request.get("ObjectOwnership") or "BucketOwnerEnforced"
        if ownership not in OWNERSHIP:
            raise InvalidArgument(
                f"Invalid x-amz-object-ownership header: {ownership}",
                ArgumentName="x-amz-object-ownership",
                ArgumentValue=ownership,
            )
        tags = validate_tags(config.get("Tags")) if config.get("Tags") is not None else {}
        if ctx.identity is None or ctx.identity.access_key is None:
            raise AccessDenied()
        account = ctx.account_id
        # Access checks the ACL against Object Ownership and Block Public Access.
        acl = self._acl_from_request(ctx, request, account)

        def create(conn: sqlite3.Connection) -> None:
            existing = store.get_bucket(conn, name)
            if existing is not None:
                if existing.account_id != account:
                    raise BucketAlreadyExists(BucketName=name)
                # us-east-1's legacy answer: re-creating your own us-east-1 bucket there is a
                # success that resets the bucket's ACL.
                if region == US_EAST_1 == existing.region == ctx.region:
                    existing.config.pop("acl", None)
                    if acl is not None:
                        existing.config["acl"] = acl
                    store.update_bucket(conn, existing)
                    return
                raise BucketAlreadyOwnedByYou(BucketName=name)
            if _bucket_count(conn, account) >= MAX_BUCKETS_PER_ACCOUNT:
                raise TooManyBuckets()
            bucket = Bucket(name=name, account_id=account, region=region, created=self._now())
            bucket.config["ownership"] = ownership
            if config.get("LocationConstraint") in LEGACY_CONSTRAINTS:
                bucket.config["location_constraint"] = config["LocationConstraint"]
            if acl is not None:
                bucket.config["acl"] = acl
            if tags:
                bucket.config["tagging"] = tags
            if request.get("ObjectLockEnabledForBucket"):
                bucket.object_lock = True
                bucket.versioning = "Enabled"
            store.insert_bucket(conn, bucket)

        self._store.write(create)
        if region == US_EAST_1:
            return {"Location": f"/{name}"}
        return {"Location": s3_bucket_location(ctx, name)}

    def _bucket_region(self, ctx: RequestContext, constraint: str | None) -> str:
        """The region a new bucket goes to, or the error S3 gives for the constraint."""
        endpoint = ctx.region or US_EAST_1
        if constraint:
            if constraint not in _valid_constraints():
                raise InvalidLocationConstraint(LocationConstraint=constraint)
            region = LEGACY_CONSTRAINTS.get(constraint, constraint)
            # The us-east-1 endpoint is also S3's global one: it creates buckets anywhere.
            if endpoint != US_EAST_1 and region != endpoint:
                raise IllegalLocationConstraintException(
                    f"The {constraint} location constraint is incompatible for the region "
                    "specific endpoint this request was sent to."
                )
            return region
        if endpoint != US_EAST_1:
            raise IllegalLocationConstraintException()
        return US_EAST_1

    # --- HeadBucket, GetBucketLocation, DeleteBucket --------------------------------------

    def head_bucket(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]
        bucket = self._store.read(lambda conn: self._bucket(conn, name))
        self._check_region(ctx, bucket)
        try:
            self._authorize(ctx, bucket, "s3:ListBucket")
            check_expected_owner(request, bucket.account_id)
        except AccessDenied as denied:
            # S3 tells even a caller without access where the bucket is.
            denied.headers["x-amz-bucket-region"] = bucket.region
            raise
        return {"BucketRegion": bucket.region, "AccessPointAlias": False}

    def get_bucket_location(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]
        # Any regional endpoint answers this one: finding the region is its purpose.
        bucket = self._store.read(lambda conn: self._bucket(conn, name))
        self._authorize(ctx, bucket, "s3:GetBucketLocation")
        check_expected_owner(request, bucket.account_id)
        constraint = bucket.config.get("location_constraint", bucket.region)
        return {"LocationConstraint": None if constraint == US_EAST_1 else constraint}

    def delete_bucket(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]

        def delete(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, name, "s3:DeleteBucket")
            check_expected_owner(request, bucket.account_id)
            if store.bucket_has_content(conn, name):
                raise BucketNotEmpty(BucketName=name)
            store.delete_bucket(conn, self._store, name)

        self._store.write(delete)
        return {}

    # --- ListBuckets ----------------------------------------------------------------------

    def list_buckets(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        if ctx.identity is None or ctx.identity.access_key is None:
            raise AccessDenied()
        max_buckets = request.get("MaxBuckets")
        if max_buckets is not None and not 1 <= max_buckets <= MAX_BUCKETS_PER_ACCOUNT:
            raise InvalidArgument(
                "Argument max-buckets must be an integer between 1 and 10000.",
                ArgumentName="max-buckets",
                ArgumentValue=str(max_buckets),
            )
        prefix = request.get("Prefix") or ""
        region = request.get("BucketRegion")
        token = request.get("ContinuationToken")
        after = decode_token(token) if token else ""
        limit = max_buckets or MAX_BUCKETS_PER_ACCOUNT
        account = ctx.account_id
        rows = self._store.read(
            lambda conn: _page_of_buckets(conn, account, prefix, region, after, limit + 1)
        )
        out: dict[str, Any] = {
            "Buckets": [
                {"Name": name, "CreationDate": created, "BucketRegion": bucket_region}
                for name, created, bucket_region in rows[:limit]
            ],
            "Owner": owner_shape(account),
        }
        if len(rows) > limit:
            out["ContinuationToken"] = encode_token(rows[limit - 1][0])
        if "Prefix" in request:
            out["Prefix"] = prefix
        return out


def _bucket_count(conn: sqlite3.Connection, account: str) -> int:
    row = conn.execute("SELECT COUNT(*) FROM s3_buckets WHERE account_id = ?", (account,))
    return int(row.fetchone()[0])


def _page_of_buckets(
    conn: sqlite3.Connection,
    account: str,
    prefix: str,
    region: str | None,
    after: str,
    limit: int,
) -> list[tuple[str, float, str]]:
    """(name, created, region) of the account's buckets named after ``after`` and starting with
    ``prefix``, by name."""
    sql = (
        "SELECT name, created, region FROM s3_buckets "
        "WHERE account_id = ? AND name > ? AND name >= ?"
    )
    args: list[Any] = [account, after, prefix]
    end = prefix_end(prefix)
    if end is not None:
        sql += " AND name < ?"
        args.append(end)
    if region is not None:
        sql += " AND region = ?"
        args.append(region)
    sql += " ORDER BY name LIMIT ?"
    args.append(limit)
    return [(row[0], row[1], row[2]) for row in conn.execute(sql, args)]
