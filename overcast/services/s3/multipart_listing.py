"""S3 multipart uploads: ListParts and ListMultipartUploads.

Uploads are listed by key, then by initiation, with common prefixes folded in as ListObjects
folds them; the scan seeks past a common prefix rather than reading every key under it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from overcast.gateway.context import RequestContext
from overcast.services.s3 import store
from overcast.services.s3.common import owner_shape
from overcast.services.s3.errors import InvalidArgument
from overcast.services.s3.keyrange import prefix_end
from overcast.services.s3.models import Part, Upload
from overcast.services.s3.multipart_common import MultipartBase, part_checksums

MAX_LISTED = 1000  # ListParts' and ListMultipartUploads' default and ceiling


def _max_items(value: Any, name: str) -> int:
    """A max-parts/max-uploads value: negative is refused, above 1000 means 1000."""
    if value is None:
        return MAX_LISTED
    if not isinstance(value, int) or value < 0:
        raise InvalidArgument(
            f"Argument {name} must be an integer between 0 and 2147483647",
            ArgumentName=name,
            ArgumentValue=str(value),
        )
    return min(value, MAX_LISTED)


def _url(value: str, encode: bool) -> str:
    return quote(value, safe="/") if encode else value


class MultipartListing(MultipartBase):
    async def list_parts(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        limit = _max_items(request.get("MaxParts"), "max-parts")
        marker = request.get("PartNumberMarker") or 0
        if not isinstance(marker, int) or marker < 0:
            raise InvalidArgument(
                "Argument part-number-marker must be an integer between 0 and 2147483647",
                ArgumentName="part-number-marker",
                ArgumentValue=str(marker),
            )

        def read(conn: sqlite3.Connection) -> tuple[Upload, list[Part]]:
            self._access(ctx, conn, name, "s3:ListMultipartUploadParts", key=key)
            upload = self._upload(conn, name, key, upload_id)
            return upload, store.list_parts(conn, upload_id, after=marker, limit=limit + 1)

        upload, parts = self._store.read(read)
        truncated = len(parts) > limit
        parts = parts[:limit]
        out: dict[str, Any] = {
            "Bucket": name,
            "Key": key,
            "UploadId": upload_id,
            "PartNumberMarker": marker,
            "MaxParts": limit,
            "IsTruncated": truncated,
            "Parts": [
                {
                    "PartNumber": p.part_number,
                    "LastModified": p.last_modified,
                    "ETag": p.etag,
                    "Size": p.size,
                    **part_checksums(upload, p.checksums),
                }
                for p in parts
            ],
            "Initiator": upload.meta.get("initiator") or owner_shape(ctx.account_id),
            "Owner": owner_shape(upload.meta.get("owner") or ctx.account_id),
            "StorageClass": upload.meta.get("storage_class") or "STANDARD",
        }
        if parts:
            out["NextPartNumberMarker"] = parts[-1].part_number
        if upload.meta.get("checksum_algorithm"):
            out["ChecksumAlgorithm"] = upload.meta["checksum_algorithm"]
            out["ChecksumType"] = upload.meta.get("checksum_type")
        return out

    async def list_multipart_uploads(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["Bucket"]
        limit = _max_items(request.get("MaxUploads"), "max-uploads")
        prefix = request.get("Prefix") or ""
        delimiter = request.get("Delimiter") or ""
        key_marker = request.get("KeyMarker") or ""
        # Without a key marker, S3 ignores the upload-id marker.
        id_marker = (request.get("UploadIdMarker") or "") if key_marker else ""
        encoding = request.get("EncodingType")
        if encoding is not None and encoding != "url":
            raise InvalidArgument(
                "Invalid Encoding Method specified in Request",
                ArgumentName="encoding-type",
                ArgumentValue=encoding,
            )
        encode = encoding == "url"

        def read(conn: sqlite3.Connection) -> tuple[list[Upload | str], bool]:
            self._access(ctx, conn, name, "s3:ListBucketMultipartUploads")
            entries: list[Upload | str] = []
            truncated = False
            for entry in _iter_uploads(conn, name, prefix, delimiter, key_marker, id_marker):
                if len(entries) >= limit:
                    truncated = True
                    break
                entries.append(entry)
            return entries, truncated

        entries, truncated = self._store.read(read)
        uploads = [e for e in entries if isinstance(e, Upload)]
        out: dict[str, Any] = {
            "Bucket": name,
            "KeyMarker": _url(key_marker, encode),
            "UploadIdMarker": id_marker,
            "MaxUploads": limit,
            "IsTruncated": truncated,
            "Uploads": [
                {
                    "UploadId": u.upload_id,
                    "Key": _url(u.key, encode),
                    "Initiated": u.initiated,
                    "StorageClass": u.meta.get("storage_class") or "STANDARD",
                    "Owner": owner_shape(u.meta.get("owner") or ctx.account_id),
                    "Initiator": u.meta.get("initiator") or owner_shape(ctx.account_id),
                    **(
                        {
                            "ChecksumAlgorithm": u.meta["checksum_algorithm"],
                            "ChecksumType": u.meta.get("checksum_type"),
                        }
                        if u.meta.get("checksum_algorithm")
                        else {}
                    ),
                }
                for u in uploads
            ],
            "CommonPrefixes": [{"Prefix": _url(e, encode)} for e in entries if isinstance(e, str)],
        }
        if prefix:
            out["Prefix"] = _url(prefix, encode)
        if delimiter:
            out["Delimiter"] = _url(delimiter, encode)
        if encode:
            out["EncodingType"] = "url"
        if entries:
            last = entries[-1]
            if isinstance(last, Upload):
                out["NextKeyMarker"] = _url(last.key, encode)
                out["NextUploadIdMarker"] = last.upload_id
            else:
                out["NextKeyMarker"] = _url(last, encode)
        return out


def _iter_uploads(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: str,
    delimiter: str,
    key_marker: str,
    id_marker: str,
) -> Iterator[Upload | str]:
    """Uploads (by key, then initiation) and common prefixes after the markers, in order.

    A common prefix is yielded once; the scan then seeks past every key under it.
    """

    def common_prefix(key: str) -> str | None:
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        return key[: cut + len(delimiter)] if cut >= 0 else None

    marker_listed = key_marker.startswith(prefix) and common_prefix(key_marker) is None
    if key_marker and id_marker and marker_listed:
        # The marker key's uploads initiated after the marker upload come first.
        passed = False
        for upload in _scan_uploads(conn, bucket, "=", key_marker):
            if passed:
                yield upload
            passed = passed or upload.upload_id == id_marker
    op, start = (">", key_marker) if key_marker >= prefix else (">=", prefix)
    skipping: str | None = None
    while True:
        resume: str | None = None
        for upload in _scan_uploads(conn, bucket, op, start):
            key = upload.key
            if not key.startswith(prefix):
                return  # past the prefix's range: nothing further can match
            if skipping is not None and key.startswith(skipping):
                continue
            common = common_prefix(key)
            if common is None:
                yield upload
                continue
            if not key_marker or common > key_marker:
                yield common
            skipping = common
            resume = prefix_end(common)
            if resume is not None:
                break
        if resume is None:
            return
        op, start = ">=", resume


def _scan_uploads(conn: sqlite3.Connection, bucket: str, op: str, key: str) -> Iterator[Upload]:
    """The bucket's uploads with ``key <op> ?``, lazily, in listing order."""
    assert op in ("=", ">", ">=")
    cursor = conn.execute(
        "SELECT upload_id, bucket, key, initiated, meta FROM s3_uploads "
        f"WHERE bucket = ? AND key {op} ? ORDER BY key, initiated, upload_id",
        (bucket, key),
    )
    for row in cursor:
        yield Upload(row[0], row[1], row[2], row[3], json.loads(row[4]))
