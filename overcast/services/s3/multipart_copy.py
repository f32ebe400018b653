"""S3 multipart uploads: UploadPartCopy.

A part copied from an existing object (or a byte range of it) reuses the source's blob when the
part is exactly that blob, with its ETag and checksum; otherwise the range is streamed into a new
blob, hashed and encrypted at rest on the way.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

from overcast.gateway.auth.checksums import new_checksum
from overcast.gateway.context import RequestContext
from overcast.services.s3 import body as bodies
from overcast.services.s3.copy_source import (
    check_copy_conditions,
    parse_copy_range,
    parse_copy_source,
)
from overcast.services.s3.errors import InvalidRequest, MethodNotAllowed, NoSuchKey
from overcast.services.s3.models import ObjectVersion, Part, Upload
from overcast.services.s3.multipart_common import (
    DEFAULT_ALGORITHM,
    MAX_PART_SIZE,
    MultipartBase,
    check_part_number,
    part_checksums,
)
from overcast.services.s3.object_common import check_version_id, sse_members
from overcast.services.s3.sse_at_rest import DataKey
from overcast.state import Blob
from overcast.state.errors import BlobNotFound


class MultipartCopy(MultipartBase):
    async def upload_part_copy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        number = check_part_number(request.get("PartNumber"))
        src_bucket, src_key, src_version = parse_copy_source(request["CopySource"])
        if src_version is not None:
            check_version_id(src_version)

        def lookup(conn: sqlite3.Connection) -> tuple[Upload, ObjectVersion, bool]:
            self._access(ctx, conn, name, "s3:PutObject", key=key)
            upload = self._upload(conn, name, key, upload_id)
            action = "s3:GetObjectVersion" if src_version else "s3:GetObject"
            source_bucket = self._access(
                ctx, conn, src_bucket, action, key=src_key, any_region=True
            )
            try:
                source = self._find(ctx, conn, source_bucket, src_key, src_version)
            except MethodNotAllowed:
                raise InvalidRequest(
                    "The source of a copy request may not specifically refer to a delete marker "
                    "by version id."
                ) from None
            self._check_object_owner(ctx, conn, source_bucket, source, action)
            return upload, source, source_bucket.versioned

        upload, source, versioned = self._store.read(lookup)
        check_copy_conditions(request, source)
        if request.get("CopySourceRange"):
            start, last = parse_copy_range(request["CopySourceRange"], source.size)
            end = last + 1
        else:
            start, end = 0, source.size
        if end - start > MAX_PART_SIZE:
            raise InvalidRequest(
                "The specified copy source is larger than the maximum allowable size for a copy "
                f"source: {MAX_PART_SIZE}"
            )
        algorithm = upload.meta.get("checksum_algorithm") or DEFAULT_ALGORITHM
        reused = self._reusable(source, start, end, algorithm)
        data_key = DataKey.new()  # a copied range is a new blob, encrypted at rest
        if reused is not None:
            blob, etag, checksums = reused
            written = False
        else:
            try:
                blob, etag, checksums = await self._copy_range(
                    source, start, end, algorithm, data_key
                )
            except BlobNotFound:  # the source was deleted while being copied
                raise NoSuchKey(Key=src_key) from None
            written = True
        part = Part(
            upload_id=upload_id,
            part_number=number,
            blob_id=blob.id,
            size=blob.size,
            etag=etag,
            last_modified=self._now(),
            checksums=checksums,
        )
        self._store_part(
            name,
            key,
            part,
            written=written,
            shared_from=None if written else source,
            sealed=(ctx.account_id, data_key) if written else None,
        )
        result: dict[str, Any] = {"ETag": etag, "LastModified": part.last_modified}
        result.update(part_checksums(upload, checksums))
        out: dict[str, Any] = {"CopyPartResult": result}
        out.update(sse_members(upload.meta))
        if versioned:
            out["CopySourceVersionId"] = source.version_id
        return out

    def _reusable(
        self, source: ObjectVersion, start: int, end: int, algorithm: str
    ) -> tuple[Blob, str, dict[str, str]] | None:
        """The source's own blob, ETag and checksum when the part is exactly that blob."""
        if start != 0 or end != source.size or len(source.segments) != 1:
            return None
        if "-" in source.etag or source.meta.get("checksum_type") == "COMPOSITE":
            return None  # the ETag/checksum describe parts, not these bytes
        value = (source.meta.get("checksums") or {}).get(algorithm)
        if value is None:
            return None
        blob_id, size = source.segments[0]
        return Blob(blob_id, size), source.etag, {algorithm: value}

    async def _copy_range(
        self, source: ObjectVersion, start: int, end: int, algorithm: str, data_key: DataKey
    ) -> tuple[Blob, str, dict[str, str]]:
        """Write bytes ``[start, end)`` of the source as a new blob, hashing them on the way
        and encrypting them with ``data_key``."""
        md5 = hashlib.md5(usedforsecurity=False)
        checksum = new_checksum(algorithm)

        def on_chunk(chunk: bytes) -> None:
            md5.update(chunk)
            checksum.update(chunk)

        chunks: AsyncIterator[bytes] = bodies.iter_segments(
            self._store, source.segments, start, end
        )
        sealer = data_key.cipher_at(0)

        async def sealed() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                on_chunk(chunk)  # digests are of the plaintext
                yield sealer.update(chunk)

        blob = await self._store.blobs.put(sealed())
        return blob, f'"{md5.hexdigest()}"', {algorithm: checksum.b64digest()}
