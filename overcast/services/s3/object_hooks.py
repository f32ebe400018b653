"""Where the object paths (PUT, GET/HEAD, COPY, DELETE, multipart) call S3 part 2's features:
storage classes and restores, lifecycle expiration, encryption, Object Lock.

One call per path keeps the edits to the hot-path modules to a line each. Every hook works on
the bucket and version the path already holds (no extra store read; CompleteMultipartUpload's
``completed_members`` excepted), and returns quickly when the bucket has none of these
configurations.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.protocol.timestamps import to_datetime
from overcast.services.s3 import encryption, lifecycle, object_lock, sse_at_rest, storage_class
from overcast.services.s3 import store as s3_store
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.state import Store

DATA_KEY = "__s3_data_key"  # a PutObject's at-rest data key, saved with the version


def on_write(
    ctx: RequestContext,
    bucket: Bucket,
    obj: ObjectVersion,
    request: dict[str, Any],
    now: float,
    conn: sqlite3.Connection | None = None,
) -> None:
    """In the transaction committing a new version: its encryption and Object Lock, and (with
    ``conn``) the data key its body was encrypted with."""
    encryption.resolve(bucket, obj, ctx.account_id)
    object_lock.apply_to_put(bucket, obj, request, now)
    data_key = request.get(DATA_KEY)
    if conn is not None and data_key is not None and obj.segments:
        sse_at_rest.save_key(conn, obj.segments[0][0], bucket.account_id, data_key)


LOCK_HEADERS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")
_LOCK_REQUEST = "lock_request"  # an upload's Object Lock headers, applied at completion


def on_create_upload(
    ctx: RequestContext, bucket: Bucket, meta: dict[str, Any], request: dict[str, Any], now: float
) -> None:
    """CreateMultipartUpload: the upload's encryption, and its Object Lock headers checked now
    and kept for CompleteMultipartUpload."""
    encryption.resolve_meta(bucket, meta, ctx.account_id)
    lock = {h: request[h] for h in LOCK_HEADERS if request.get(h) is not None}
    if lock:
        object_lock.retention_of_put(bucket, lock, now)
        if "ObjectLockRetainUntilDate" in lock:  # kept as JSON: epoch seconds
            lock["ObjectLockRetainUntilDate"] = to_datetime(
                lock["ObjectLockRetainUntilDate"]
            ).timestamp()
        meta[_LOCK_REQUEST] = lock


def on_complete_upload(ctx: RequestContext, bucket: Bucket, obj: ObjectVersion, now: float) -> None:
    """CompleteMultipartUpload, in its transaction: as ``on_write``, with the upload's headers."""
    on_write(ctx, bucket, obj, obj.meta.pop(_LOCK_REQUEST, None) or {}, now)


def check_part(upload_meta: dict[str, Any], request: dict[str, Any]) -> None:
    """UploadPart: an SSE-C upload's parts come with the upload's key (and only those)."""
    encryption.check_part_key(upload_meta, request)


def write_members(bucket: Bucket, obj: ObjectVersion) -> dict[str, Any]:
    """Members a PUT/COPY/CompleteMultipartUpload answers besides S3 part 1's."""
    if lifecycle.CONFIG_KEY not in bucket.config:
        return {}
    return lifecycle.expiration_member(bucket, obj)


def completed_members(state: Store, obj: ObjectVersion) -> dict[str, Any]:
    """CompleteMultipartUpload's ``x-amz-expiration`` (one bucket read: not a hot path)."""
    bucket = state.read(lambda conn: s3_store.get_bucket(conn, obj.bucket))
    return {} if bucket is None else write_members(bucket, obj)


def read_members(
    bucket: Bucket, obj: ObjectVersion, request: dict[str, Any], now: float, *, method: str
) -> dict[str, Any]:
    """Checks of a GET/HEAD (SSE-C key, archived body) and the members they add."""
    encryption.check_key_for(obj.meta, request)
    out = storage_class.read_members(obj, now, method=method)
    if "retention" in obj.meta or "legal_hold" in obj.meta:
        out.update(object_lock.lock_members(obj))
    if lifecycle.CONFIG_KEY in bucket.config:
        out.update(lifecycle.expiration_member(bucket, obj))
    return out


def restore_statuses(
    request: dict[str, Any],
    rows: Sequence[tuple[Any, ...]],
    entries: list[dict[str, Any]],
    now: float,
) -> None:
    """ListObjects(V2) with ``OptionalObjectAttributes=RestoreStatus``: each archived object's
    restore state (rows are the listing's ``(key, etag, size, modified, class, meta)``)."""
    if "RestoreStatus" not in (request.get("OptionalObjectAttributes") or ()):
        return
    for row, entry in zip(rows, entries, strict=True):
        if row[4] not in storage_class.ARCHIVED:
            continue
        probe = ObjectVersion(bucket="", key=row[0], version_id="", last_modified=row[3])
        probe.meta = json.loads(row[5])
        status = storage_class.restore_status(probe, now)
        if status is not None:
            entry["RestoreStatus"] = status


def check_copy_source(source: ObjectVersion, request: dict[str, Any], now: float) -> None:
    encryption.check_key_for(source.meta, request, "CopySource")
    storage_class.check_copy_source(source, now)


def check_delete(ctx: RequestContext, obj: ObjectVersion | None, now: float) -> None:
    """Before a version is deleted by id: Object Lock."""
    if obj is not None and ("retention" in obj.meta or "legal_hold" in obj.meta):
        object_lock.check_delete(ctx, obj, now)
