"""S3 objects: Put, Get, Head and GetObjectAttributes here; Copy, Delete(Objects) and tagging
in the mixins this class combines (``object_copy.py``, ``object_delete.py``,
``object_tagging.py``).

A PUT streams its body into a blob (``body.receive``) before the one write transaction that
checks the bucket, the access and any condition, and commits the new version; a failure there
discards the blob. A GET reads the version in one read transaction and streams the bytes after
it, so the body of a version replaced meanwhile is still read to its end (blobs are immutable
and an open handle outlives a delete).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.protocol.timestamps import RFC822, format_timestamp
from overcast.services.s3 import body as bodies
from overcast.services.s3 import object_hooks, sse_at_rest, store
from overcast.services.s3.checksum_headers import ChecksumPlan, checksum_members, plan_checksums
from overcast.services.s3.common import meta_of
from overcast.services.s3.conditions import check_read_conditions, read_conditions
from overcast.services.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    MissingContentLength,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.object_common import (
    ObjectBase,
    check_key,
    check_metadata,
    clean_content_encoding,
    describe,
    sse_members,
    sse_of,
    storage_class_of,
)
from overcast.services.s3.object_copy import ObjectCopy
from overcast.services.s3.object_delete import ObjectDelete
from overcast.services.s3.object_tagging import ObjectTagging
from overcast.services.s3.ownership import object_owner
from overcast.services.s3.ranges import parse_range, part_range
from overcast.services.s3.sse_at_rest import DataKey
from overcast.services.s3.tagging import tags_from_header

SMALL_READ = 64 << 10  # bodies up to this size are read at once instead of streamed
STREAM_CHUNK = 4 << 20
PRECHECK_SIZE = 64 << 10  # larger uploads check the bucket and access before reading the body

_OVERRIDES = (
    ("ResponseContentType", "ContentType"),
    ("ResponseContentLanguage", "ContentLanguage"),
    ("ResponseCacheControl", "CacheControl"),
    ("ResponseContentDisposition", "ContentDisposition"),
    ("ResponseContentEncoding", "ContentEncoding"),
)

_ATTRIBUTES = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


class Objects(ObjectCopy, ObjectDelete, ObjectTagging, ObjectBase):
    # --- PutObject ------------------------------------------------------------------------

    async def put_object(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        prepared = await self._receive_put(ctx, request)
        name, key = request["Bucket"], request["Key"]
        plan, received, storage_class, tags = prepared
        stream = request.get("Body")
        committed: list[bool] = []
        try:
            checksums = plan.finish(received.checksums, stream)
            meta = meta_of(request)
            clean_content_encoding(meta)
            meta["checksums"] = checksums
            meta["checksum_type"] = "FULL_OBJECT"
            if tags:
                meta["tags"] = tags
            sse = sse_of(request)
            if sse:
                meta["sse"] = sse
            acl = self._requested_acl(ctx, request)
            if acl is not None:
                meta["acl"] = acl
            obj = ObjectVersion(
                bucket=name,
                key=key,
                version_id="",
                last_modified=self._now(),
                size=received.blob.size,
                etag=received.etag,
                storage_class=storage_class,
                segments=[(received.blob.id, received.blob.size)] if received.blob.size else [],
                meta=meta,
            )

            def commit(conn: sqlite3.Connection) -> Bucket:
                bucket = self._access(ctx, conn, name, "s3:PutObject", key=key)
                self._check_write(conn, bucket, key, request)
                obj.meta["owner"] = object_owner(bucket, ctx.account_id, request.get("ACL"))
                object_hooks.on_write(ctx, bucket, obj, request, self._now(), conn)
                store.put_version(conn, self._store, bucket, obj)
                object_event(ctx, conn, self.env, bucket, key, "ObjectCreated:Put", obj)
                self._store.after_commit(conn, lambda: committed.append(True))
                return bucket

            # Grouped with the other writes of this loop turn (one COMMIT for all of them).
            bucket = await self._store.write_grouped(commit)
        except BaseException:
            if not committed:  # cancelled after the commit: the object owns the blob now
                bodies.discard(self._store, received)
            raise
        if not obj.segments:
            bodies.discard(self._store, received)  # an empty body needs no blob
        out: dict[str, Any] = {"ETag": obj.etag, **sse_members(meta)}
        out.update(object_hooks.write_members(bucket, obj))
        if plan.algorithm is not None:
            out.update(checksum_members({plan.algorithm: checksums[plan.algorithm]}))
            out["ChecksumType"] = "FULL_OBJECT"
        if bucket.versioned and obj.version_id != "null":
            # A suspended bucket stores the write as the null version and answers without
            # x-amz-version-id (PutObject's "versioning suspended" example).
            out["VersionId"] = obj.version_id
        return out

    async def _receive_put(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> tuple[ChecksumPlan, bodies.ReceivedBody, str, dict[str, str]]:
        """Check a PutObject's headers, then stream its body into a (not yet linked) blob."""
        name, key = request["Bucket"], request["Key"]
        check_key(key)
        storage_class = storage_class_of(request)
        check_metadata(request.get("Metadata"))
        tags = tags_from_header(request["Tagging"]) if request.get("Tagging") else {}
        headers = ctx.request.headers
        chunked = headers.get("x-amz-content-sha256", "").startswith("STREAMING-")
        length = request.get("ContentLength")
        if chunked:
            length = None  # the chunk decoder checks x-amz-decoded-content-length itself
        elif length is None and "content-length" not in headers:
            raise MissingContentLength()
        plan = plan_checksums(request, headers, trailers_ok=chunked)
        if length is None or length > PRECHECK_SIZE or "expect" in headers:
            # Refuse before reading a large body that could never be stored, and before the
            # server answers `Expect: 100-continue` (it does on the first read of the body).
            self._store.read(lambda conn: self._access(ctx, conn, name, "s3:PutObject", key=key))
        data_key = request[object_hooks.DATA_KEY] = DataKey.new()
        received = await bodies.receive(
            self._store,
            request.get("Body"),
            content_length=length,
            content_md5=request.get("ContentMD5"),
            algorithms=plan.compute,
            encryptor=data_key.cipher_at(0),
        )
        return plan, received, storage_class, tags

    # --- GetObject / HeadObject -----------------------------------------------------------

    def get_object(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, request, method="GET")

    def head_object(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._read(ctx, request, method="HEAD")

    def _read(self, ctx: RequestContext, request: dict[str, Any], *, method: str) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        version_id = request.get("VersionId")
        overrides = [(m, out) for m, out in _OVERRIDES if request.get(m) is not None]
        if overrides or request.get("ResponseExpires") is not None:
            identity = ctx.identity
            if identity is None or identity.access_key is None:
                raise InvalidRequest(
                    "Request specific response headers cannot be used for anonymous GET requests."
                )
        if "x-amz-server-side-encryption" in ctx.request.headers:
            # SSE-S3/SSE-KMS is chosen on write; S3 refuses a read that names it (400).
            raise InvalidArgument(
                "x-amz-server-side-encryption header is not supported for this operation."
            )
        action = "s3:GetObjectVersion" if version_id is not None else "s3:GetObject"

        def lookup(
            conn: sqlite3.Connection,
        ) -> tuple[Bucket, ObjectVersion, bytes | None, dict[str, DataKey]]:
            bucket = self._access(ctx, conn, name, action, key=key)
            obj = self._find(ctx, conn, bucket, key, version_id, method=method)
            self._check_object_owner(ctx, conn, bucket, obj, action)
            small, keys = None, {}
            if method == "GET" and obj.segments:
                keys = sse_at_rest.keys_for(conn, obj.blob_ids)  # bytes are encrypted at rest
            if method == "GET" and len(obj.segments) == 1:
                # A small body comes with the same snapshot: no file to try, no second read.
                small = self._store.blobs.small(conn, obj.segments[0][0], obj.size)
                if small is not None:
                    small = sse_at_rest.decrypt(small, keys.get(obj.segments[0][0]))
            return bucket, obj, small, keys

        bucket, obj, small, keys = self._store.read(lookup)
        check_read_conditions(obj, **read_conditions(request))
        part2 = object_hooks.read_members(bucket, obj, request, self._now(), method=method)
        checksum_mode = request.get("ChecksumMode") == "ENABLED"
        out = describe(bucket, obj, checksum_mode=checksum_mode)
        out.update(part2)
        start, end = 0, obj.size - 1
        part_number = request.get("PartNumber")
        range_header = request.get("Range")
        partial = False
        if part_number is not None:
            if range_header is not None:
                raise InvalidRequest(
                    "Cannot specify both Range header and partNumber query parameter"
                )
            start, end, part = part_range(obj, int(part_number))
            partial = True
            parts = obj.meta.get("parts")
            if parts:
                out["PartsCount"] = len(parts)
                for member in [m for m in out if m.startswith("Checksum")]:
                    del out[member]
                if checksum_mode and part is not None and part.get("checksums"):
                    out.update(checksum_members(part["checksums"]))
                    out["ChecksumType"] = obj.meta.get("checksum_type", "COMPOSITE")
        elif range_header is not None:
            selected = parse_range(range_header, obj.size)
            if selected is not None:
                start, end = selected
                partial = True
                for member in [m for m in out if m.startswith("Checksum")]:
                    del out[member]
        if partial:
            out["ContentRange"] = f"bytes {start}-{end}/{obj.size}" if obj.size else "bytes */0"
            out["ContentLength"] = max(0, end - start + 1)
        for member, target in overrides:
            out[target] = request[member]
        if request.get("ResponseExpires") is not None:
            out["Expires"] = str(format_timestamp(request["ResponseExpires"], RFC822))
        if method == "GET":
            if small is not None:
                out["Body"] = small[start : end + 1] if partial else small
            else:
                out["Body"] = self._body(obj.segments, start, end + 1, keys)
        return out

    def _body(
        self,
        segments: Sequence[tuple[str, int]],
        start: int,
        stop: int,
        keys: Mapping[str, DataKey],
    ) -> bytes | AsyncIterator[bytes]:
        """Bytes ``[start, stop)``: read at once when small, else streamed in big chunks."""
        if stop <= start or not segments:
            return b""
        if stop - start <= SMALL_READ and len(segments) == 1:
            blob_id = segments[0][0]
            return sse_at_rest.read_range(self._store, blob_id, keys.get(blob_id), start, stop)
        return sse_at_rest.iter_segments(
            self._store, segments, keys, start, stop, chunk=STREAM_CHUNK
        )

    # --- GetObjectAttributes --------------------------------------------------------------

    def get_object_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        version_id = request.get("VersionId")
        wanted = {a for a in request.get("ObjectAttributes") or [] if a}
        if not wanted:  # AWS's answer (versity/versitygw#915 quotes it)
            raise InvalidRequest(
                "The x-amz-object-attributes header specifying the attributes to be retrieved "
                "is either missing or empty"
            )
        if not wanted <= _ATTRIBUTES:
            raise InvalidArgument(
                "Invalid attribute name specified.",
                ArgumentName="x-amz-object-attributes",
                ArgumentValue=",".join(sorted(wanted - _ATTRIBUTES)),
            )
        action = "s3:GetObjectVersionAttributes" if version_id else "s3:GetObjectAttributes"

        def lookup(conn: sqlite3.Connection) -> tuple[Bucket, ObjectVersion]:
            bucket = self._access(ctx, conn, name, action, key=key)
            obj = self._find(ctx, conn, bucket, key, version_id)
            self._check_object_owner(ctx, conn, bucket, obj, action)
            return bucket, obj

        bucket, obj = self._store.read(lookup)
        out: dict[str, Any] = {"LastModified": int(obj.last_modified)}
        if bucket.versioned:
            out["VersionId"] = obj.version_id
        if "ETag" in wanted:
            out["ETag"] = obj.etag.strip('"')
        if "ObjectSize" in wanted:
            out["ObjectSize"] = obj.size
        if "StorageClass" in wanted:
            out["StorageClass"] = obj.storage_class
        checksums = obj.meta.get("checksums")
        if "Checksum" in wanted and checksums:
            out["Checksum"] = {
                **checksum_members(checksums),
                "ChecksumType": obj.meta.get("checksum_type", "FULL_OBJECT"),
            }
        parts = obj.meta.get("parts")
        if "ObjectParts" in wanted and parts:
            out["ObjectParts"] = _object_parts(parts, request)
        return out

    # --- response hook --------------------------------------------------------------------

    def _partial_content(self, ctx: RequestContext, response: HttpResponse) -> None:
        """A ranged or partNumber read answers 206 (the model has no status member for it)."""
        if (
            response.status == 200
            and ctx.operation_name in ("GetObject", "HeadObject")
            and "content-range" in response.headers
        ):
            response.status = 206


def _object_parts(parts: list[dict[str, Any]], request: dict[str, Any]) -> dict[str, Any]:
    max_parts = request.get("MaxParts")
    max_parts = 1000 if max_parts is None else max(0, int(max_parts))
    marker = int(request.get("PartNumberMarker") or 0)
    numbered = list(enumerate(parts, 1))[marker:]
    page = numbered[:max_parts]
    truncated = len(numbered) > len(page)
    out: dict[str, Any] = {
        "TotalPartsCount": len(parts),
        "PartNumberMarker": marker,
        "MaxParts": max_parts,
        "IsTruncated": truncated,
        "Parts": [
            {"PartNumber": n, "Size": int(p["size"]), **checksum_members(p.get("checksums"))}
            for n, p in page
        ],
    }
    if page:
        out["NextPartNumberMarker"] = page[-1][0]
    return out
