"""S3: ListObjects, ListObjectsV2, ListObjectVersions (the walks are in ``listing_walk.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from overcast.gateway.context import RequestContext
from overcast.services.s3 import object_hooks
from overcast.services.s3.common import S3Base, owner_shape
from overcast.services.s3.errors import InvalidArgument
from overcast.services.s3.keyrange import decode_token, encode_token
from overcast.services.s3.listing_walk import Page, version_seq, walk_latest, walk_versions
from overcast.services.s3.models import Bucket
from overcast.services.s3.preconditions import check_expected_owner

MAX_KEYS = 1000
_INT32_MAX = 2_147_483_647


def _max_keys(request: dict[str, Any]) -> int:
    value = request.get("MaxKeys")
    if value is None:
        return MAX_KEYS
    if not 0 <= value <= _INT32_MAX:
        raise InvalidArgument(
            "Argument maxKeys must be an integer between 0 and 2147483647",
            ArgumentName="maxKeys",
            ArgumentValue=str(value),
        )
    return value


def _encoder(request: dict[str, Any]) -> Callable[[str], str] | None:
    encoding = request.get("EncodingType")
    if encoding is None:
        return None
    if encoding != "url":
        raise InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    return _url_encode


def _url_encode(value: str) -> str:
    return quote(value, safe="/")


def _same(value: str) -> str:
    return value


class _Owners:
    """owner_shape per account, computed once per page."""

    def __init__(self, default: str) -> None:
        self.default = default
        self.cache: dict[str, dict[str, str]] = {}

    def __call__(self, meta: dict[str, Any]) -> dict[str, str]:
        account = meta.get("owner") or self.default
        shape = self.cache.get(account)
        if shape is None:
            shape = self.cache[account] = owner_shape(account)
        return shape


def _object_entry(
    row: tuple[Any, ...], enc: Callable[[str], str], owners: _Owners | None
) -> dict[str, Any]:
    key, etag, size, last_modified, storage_class, meta_json = row
    entry: dict[str, Any] = {
        "Key": enc(key),
        # A UTC datetime takes the serializer's fast path (a float goes through strftime).
        "LastModified": datetime.fromtimestamp(last_modified, UTC),
        "ETag": etag,
        "Size": size,
        "StorageClass": storage_class,
    }
    if owners is not None or meta_json != "{}":
        meta = orjson.loads(meta_json)
        checksums = meta.get("checksums")
        if checksums:
            entry["ChecksumAlgorithm"] = list(checksums)
            entry["ChecksumType"] = meta.get("checksum_type", "FULL_OBJECT")
        if owners is not None:
            entry["Owner"] = owners(meta)
    return entry


class Listing(S3Base):
    def _listed_bucket(
        self, ctx: RequestContext, conn: sqlite3.Connection, request: dict[str, Any], action: str
    ) -> Bucket:
        bucket = self._access(ctx, conn, request["Bucket"], action)
        check_expected_owner(request, bucket.account_id)
        return bucket

    def _latest_page(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        prefix: str,
        delimiter: str,
        after: str,
        max_keys: int,
    ) -> tuple[Bucket, Page]:
        """The bucket (access checked) and one page of its current keys: ListObjects v1 and v2."""

        def run(conn: sqlite3.Connection) -> tuple[Bucket, Page]:
            bucket = self._listed_bucket(ctx, conn, request, "s3:ListBucket")
            page = walk_latest(
                conn,
                bucket.name,
                prefix=prefix,
                delimiter=delimiter,
                after=after,
                limit=min(max_keys, MAX_KEYS),
            )
            return bucket, page

        return self._store.read(run)

    def list_objects(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        max_keys = _max_keys(request)
        encode = _encoder(request)
        enc = encode or _same
        prefix = request.get("Prefix") or ""
        delimiter = request.get("Delimiter") or ""
        marker = request.get("Marker") or ""

        bucket, page = self._latest_page(ctx, request, prefix, delimiter, marker, max_keys)
        owners = _Owners(bucket.account_id)
        out: dict[str, Any] = {
            "IsTruncated": page.truncated,
            "Marker": enc(marker),
            "Name": bucket.name,
            "Prefix": enc(prefix),
            "MaxKeys": max_keys,
        }
        if page.truncated and delimiter and page.last_key is not None:
            out["NextMarker"] = enc(page.last_key)
        if delimiter:
            out["Delimiter"] = enc(delimiter)
        if encode is not None:
            out["EncodingType"] = "url"
        if page.rows:
            out["Contents"] = [_object_entry(row, enc, owners) for row in page.rows]
            object_hooks.restore_statuses(request, page.rows, out["Contents"], self._now())
        if page.prefixes:
            out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in page.prefixes]
        return out

    def list_objects_v2(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        max_keys = _max_keys(request)
        encode = _encoder(request)
        enc = encode or _same
        prefix = request.get("Prefix") or ""
        delimiter = request.get("Delimiter") or ""
        start_after = request.get("StartAfter") or ""
        token = request.get("ContinuationToken")
        if token is not None:
            if token == "":
                raise InvalidArgument(
                    "The continuation token provided is incorrect",
                    ArgumentName="continuation-token",
                    ArgumentValue=token,
                )
            after = decode_token(token)
        else:
            after = start_after

        bucket, page = self._latest_page(ctx, request, prefix, delimiter, after, max_keys)
        owners = _Owners(bucket.account_id) if request.get("FetchOwner") else None
        out: dict[str, Any] = {
            "IsTruncated": page.truncated,
            "Name": bucket.name,
            "Prefix": enc(prefix),
            "MaxKeys": max_keys,
            "KeyCount": len(page.rows) + len(page.prefixes),
        }
        if page.rows:
            out["Contents"] = [_object_entry(row, enc, owners) for row in page.rows]
            object_hooks.restore_statuses(request, page.rows, out["Contents"], self._now())
        if page.prefixes:
            out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in page.prefixes]
        if delimiter:
            out["Delimiter"] = enc(delimiter)
        if encode is not None:
            out["EncodingType"] = "url"
        if token is not None:
            out["ContinuationToken"] = token
        if page.truncated and page.last_key is not None:
            out["NextContinuationToken"] = encode_token(page.last_key)
        if "StartAfter" in request:
            out["StartAfter"] = enc(start_after)
        return out

    def list_object_versions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        max_keys = _max_keys(request)
        encode = _encoder(request)
        enc = encode or _same
        prefix = request.get("Prefix") or ""
        delimiter = request.get("Delimiter") or ""
        key_marker = request.get("KeyMarker") or ""
        version_marker = request.get("VersionIdMarker") or ""
        if version_marker and not key_marker:
            raise InvalidArgument(
                "A version-id marker cannot be specified without a key marker.",
                ArgumentName="version-id-marker",
                ArgumentValue=version_marker,
            )

        def run(conn: sqlite3.Connection) -> tuple[Bucket, Page]:
            bucket = self._listed_bucket(ctx, conn, request, "s3:ListBucketVersions")
            marker_seq = None
            if version_marker:
                marker_seq = version_seq(conn, bucket.name, key_marker, version_marker)
                if marker_seq is None:
                    raise InvalidArgument(
                        "Invalid version id specified",
                        ArgumentName="version-id-marker",
                        ArgumentValue=version_marker,
                    )
            page = walk_versions(
                conn,
                bucket.name,
                prefix=prefix,
                delimiter=delimiter,
                key_marker=key_marker,
                marker_seq=marker_seq,
                limit=min(max_keys, MAX_KEYS),
            )
            return bucket, page

        bucket, page = self._store.read(run)
        owners = _Owners(bucket.account_id)
        versions: list[dict[str, Any]] = []
        version_rows: list[tuple[Any, ...]] = []  # as ListObjects' rows, for RestoreStatus
        markers: list[dict[str, Any]] = []
        for row in page.rows:
            key, version_id, is_latest, delete_marker, *rest = row
            if delete_marker:
                meta = orjson.loads(rest[4])
                markers.append(
                    {
                        "Owner": owners(meta),
                        "Key": enc(key),
                        "VersionId": version_id,
                        "IsLatest": bool(is_latest),
                        "LastModified": datetime.fromtimestamp(rest[2], UTC),
                    }
                )
                continue
            entry = _object_entry((key, *rest), enc, owners)
            entry["VersionId"] = version_id
            entry["IsLatest"] = bool(is_latest)
            versions.append(entry)
            version_rows.append((key, *rest))
        object_hooks.restore_statuses(request, version_rows, versions, self._now())
        out: dict[str, Any] = {
            "IsTruncated": page.truncated,
            "KeyMarker": enc(key_marker),
            "VersionIdMarker": version_marker,
            "Name": bucket.name,
            "Prefix": enc(prefix),
            "MaxKeys": max_keys,
        }
        if page.truncated and page.last_key is not None:
            out["NextKeyMarker"] = enc(page.last_key)
            if page.last_version is not None:
                out["NextVersionIdMarker"] = page.last_version
        if versions:
            out["Versions"] = versions
        if markers:
            out["DeleteMarkers"] = markers
        if page.prefixes:
            out["CommonPrefixes"] = [{"Prefix": enc(p)} for p in page.prefixes]
        if delimiter:
            out["Delimiter"] = enc(delimiter)
        if encode is not None:
            out["EncodingType"] = "url"
        return out
