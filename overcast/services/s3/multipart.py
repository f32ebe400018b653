"""S3: multipart uploads.

CreateMultipartUpload records the future object's metadata; UploadPart and UploadPartCopy each
store one part as one blob (streamed, never buffered whole) in one transaction;
CompleteMultipartUpload turns the chosen parts' blobs into the object's ``segments`` without
copying a byte, in the same transaction that removes the upload; AbortMultipartUpload frees the
parts. ListParts and ListMultipartUploads page through what is in progress.

Checksums: an upload may name an algorithm (``x-amz-checksum-algorithm``) and a type
(``x-amz-checksum-type``): ``COMPOSITE`` (checksum of the part checksums, ``-N`` suffix; every
part must carry its checksum) or ``FULL_OBJECT`` (CRCs only: the parts' CRCs are combined
arithmetically into the CRC of the whole object, see ``checksum_combine.py``). An upload without
an algorithm still gets a full-object CRC64NVME, as S3 has attached one to every new object since
2025: each part's CRC64NVME is computed on receipt (cheap next to the MD5) and combined.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

from overcast.gateway.auth.checksums import new_checksum
from overcast.gateway.context import RequestContext
from overcast.gateway.urls import s3_url
from overcast.services.s3 import body as bodies
from overcast.services.s3 import object_hooks, sse_at_rest, store
from overcast.services.s3.checksum_combine import (
    FULL_OBJECT_ALGORITHMS,
    combine_crcs,
    composite,
    multipart_etag,
)
from overcast.services.s3.checksum_headers import MEMBERS, plan_checksums
from overcast.services.s3.common import meta_of, owner_shape
from overcast.services.s3.complete_replay import CompletedUploads
from overcast.services.s3.copy_source import (
    check_copy_conditions,
    parse_copy_range,
    parse_copy_source,
)
from overcast.services.s3.errors import (
    BadDigest,
    EntityTooLarge,
    EntityTooSmall,
    InvalidArgument,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    MalformedXML,
    MethodNotAllowed,
    MissingContentLength,
    NoSuchKey,
    NoSuchUpload,
    PreconditionFailed,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.keyrange import prefix_end
from overcast.services.s3.models import NULL_VERSION, ObjectVersion, Part, Upload
from overcast.services.s3.object_common import (
    ObjectBase,
    check_key,
    check_metadata,
    check_version_id,
    clean_content_encoding,
    sse_members,
    sse_of,
    storage_class_of,
)
from overcast.services.s3.ownership import object_owner
from overcast.services.s3.sse_at_rest import DataKey
from overcast.services.s3.tagging import tags_from_header
from overcast.state import Blob
from overcast.state.errors import BlobNotFound

MIN_PART_SIZE = 5 * 1024**2  # every part but the last
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024**4
MAX_LISTED = 1000  # ListParts' and ListMultipartUploads' default and ceiling
DEFAULT_ALGORITHM = "CRC64NVME"  # the full-object checksum of uploads that name none

# Upload meta keys that describe the upload, not the object it becomes.
_UPLOAD_ONLY_META = ("storage_class", "checksum_algorithm", "checksum_type", "initiator")


def _new_upload_id() -> str:
    """An opaque, URL-safe id of S3's length (its ids are ~100-150 characters)."""
    return secrets.token_urlsafe(96)


def _mismatch(expected: str | None, actual: str | None) -> InvalidRequest:
    return InvalidRequest(
        "Checksum Type mismatch occurred, expected checksum Type: "
        f"{(expected or 'null').lower()}, actual checksum Type: {(actual or 'null').lower()}"
    )


def _checksum_mode(request: dict[str, Any]) -> tuple[str | None, str | None]:
    """The upload's (algorithm, type) from CreateMultipartUpload, validated as S3 does."""
    algorithm = request.get("ChecksumAlgorithm")
    kind = request.get("ChecksumType")
    if not algorithm:
        if kind:
            raise InvalidRequest(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None, None
    name = algorithm.upper()
    if name not in MEMBERS:
        raise InvalidRequest(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            "valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]"
        )
    try:
        new_checksum(name)
    except ValueError:
        raise InvalidRequest(
            f"Value for x-amz-checksum-algorithm header is invalid: {algorithm}"
        ) from None
    if kind is None:
        kind = "FULL_OBJECT" if name == "CRC64NVME" else "COMPOSITE"
    kind = kind.upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise InvalidRequest("Value for x-amz-checksum-type header is invalid.")
    if kind == "FULL_OBJECT" and name not in FULL_OBJECT_ALGORITHMS:
        raise InvalidRequest(
            f"The FULL_OBJECT checksum type cannot be used with the {name.lower()} checksum "
            "algorithm."
        )
    if kind == "COMPOSITE" and name == "CRC64NVME":
        raise InvalidRequest(
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."
        )
    return name, kind


def _check_part_number(value: Any) -> int:
    number = value if isinstance(value, int) else -1
    if not 1 <= number <= MAX_PARTS:
        raise InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=str(value),
        )
    return number


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


def _initiator(ctx: RequestContext) -> dict[str, str]:
    """Who started the upload: the account's canonical user for root, else the IAM principal."""
    identity = ctx.identity
    arn = identity.principal_arn if identity is not None else ""
    if not arn or arn.endswith(":root"):
        return owner_shape(ctx.account_id)
    return {"ID": arn, "DisplayName": arn.rsplit("/", 1)[-1]}


def _part_checksums(upload: Upload, checksums: dict[str, str]) -> dict[str, str]:
    """The ``Checksum*`` members a part shows: its upload's algorithm only."""
    algorithm = upload.meta.get("checksum_algorithm")
    if algorithm and algorithm in checksums:
        return {MEMBERS[algorithm]: checksums[algorithm]}
    return {}


def _url(value: str, encode: bool) -> str:
    return quote(value, safe="/") if encode else value


class Multipart(ObjectBase):
    # -- create ---------------------------------------------------------------------------------

    async def create_multipart_upload(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        check_key(key)
        storage_class = storage_class_of(request)
        check_metadata(request.get("Metadata"))
        algorithm, kind = _checksum_mode(request)
        tags = tags_from_header(request.get("Tagging") or "")
        upload = Upload(
            upload_id=_new_upload_id(), bucket=name, key=key, initiated=self._now(), meta={}
        )

        def create(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, name, "s3:PutObject", key=key)
            meta = meta_of(request)
            clean_content_encoding(meta)
            meta["owner"] = object_owner(bucket, ctx.account_id, request.get("ACL"))
            sse = sse_of(request)
            if sse:
                meta["sse"] = sse
            if tags:
                meta["tags"] = tags
            acl = self._requested_acl(ctx, request)
            if acl is not None:
                meta["acl"] = acl
            meta.update(
                storage_class=storage_class,
                checksum_algorithm=algorithm,
                checksum_type=kind,
                initiator=_initiator(ctx),
            )
            upload.meta = meta
            object_hooks.on_create_upload(ctx, bucket, meta, request, self._now())
            store.insert_upload(conn, upload)

        self._store.write(create)
        out: dict[str, Any] = {"Bucket": name, "Key": key, "UploadId": upload.upload_id}
        out.update(sse_members(upload.meta))
        if algorithm:
            out["ChecksumAlgorithm"] = algorithm
            out["ChecksumType"] = kind
        return out

    # -- parts ----------------------------------------------------------------------------------

    def _upload(self, conn: sqlite3.Connection, bucket: str, key: str, upload_id: str) -> Upload:
        """The upload in progress, or NoSuchUpload (also when it is another key's)."""
        upload = store.get_upload(conn, upload_id)
        if upload is None or upload.bucket != bucket or upload.key != key:
            raise NoSuchUpload(UploadId=upload_id)
        return upload

    def _store_part(
        self,
        name: str,
        key: str,
        part: Part,
        *,
        written: bool,
        shared_from: ObjectVersion | None = None,
        sealed: tuple[str, DataKey] | None = None,
    ) -> None:
        """Commit a part, unless its upload went away meanwhile (then NoSuchUpload).

        ``written`` says the part's blob is a new one, to delete if the commit fails.
        ``shared_from`` is the object whose blob the part reuses: it must still exist when the
        part takes its reference, or the blob may already be gone.
        ``sealed`` is the (account, data key) the part's bytes are encrypted with at rest.
        """

        def commit(conn: sqlite3.Connection) -> None:
            self._upload(conn, name, key, part.upload_id)
            if shared_from is not None:
                current = store.get_version(
                    conn, shared_from.bucket, shared_from.key, shared_from.version_id
                )
                if current is None or current.segments != shared_from.segments:
                    raise NoSuchKey(Key=shared_from.key)
            store.put_part(conn, self._store, part)
            if sealed is not None and part.size:  # the at-rest key, with the blob it opens
                sse_at_rest.save_key(conn, part.blob_id, *sealed)

        try:
            self._store.write(commit)
        except BaseException:
            if written:
                self._store.blobs.delete(part.blob_id)
            raise

    async def upload_part(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        number = _check_part_number(request.get("PartNumber"))

        def lookup(conn: sqlite3.Connection) -> Upload:
            self._access(ctx, conn, name, "s3:PutObject", key=key)
            upload = self._upload(conn, name, key, upload_id)
            object_hooks.check_part(upload.meta, request)
            return upload

        headers = ctx.request.headers
        chunked = headers.get("x-amz-content-sha256", "").startswith("STREAMING-")
        length = request.get("ContentLength")
        if chunked:
            length = None  # the chunk decoder checks x-amz-decoded-content-length itself
        elif length is None and "content-length" not in headers:
            raise MissingContentLength()
        upload = self._store.read(lookup)
        body = request.get("Body")
        plan = plan_checksums(request, headers, trailers_ok=chunked)
        algorithm = upload.meta.get("checksum_algorithm")
        if algorithm:
            if plan.algorithm is None:
                # A composite checksum needs every part's checksum from the client; a full-object
                # one is combined from CRCs S3 can compute itself.
                if upload.meta.get("checksum_type") == "COMPOSITE":
                    raise _mismatch(algorithm, None)
                plan.compute = [algorithm]
            elif plan.algorithm != algorithm:
                raise _mismatch(algorithm, plan.algorithm)
        elif DEFAULT_ALGORITHM not in plan.compute:
            plan.compute.append(DEFAULT_ALGORITHM)
        data_key = DataKey.new()  # each part is encrypted at rest with a key of its own
        received = await bodies.receive(
            self._store,
            body,
            content_length=length,
            content_md5=request.get("ContentMD5"),
            algorithms=plan.compute,
            max_size=MAX_PART_SIZE,
            encryptor=data_key.cipher_at(0),
        )
        try:
            checksums = plan.finish(received.checksums, body)
        except BaseException:
            bodies.discard(self._store, received)
            raise
        part = Part(
            upload_id=upload_id,
            part_number=number,
            blob_id=received.blob.id,
            size=received.blob.size,
            etag=received.etag,
            last_modified=self._now(),
            checksums=checksums,
        )
        self._store_part(name, key, part, written=True, sealed=(ctx.account_id, data_key))
        out: dict[str, Any] = {"ETag": part.etag}
        out.update(sse_members(upload.meta))
        shown = algorithm or plan.algorithm or DEFAULT_ALGORITHM
        if shown in checksums:
            out[MEMBERS[shown]] = checksums[shown]
        return out

    async def upload_part_copy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        number = _check_part_number(request.get("PartNumber"))
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
        result.update(_part_checksums(upload, checksums))
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

    # -- complete and abort --------------------------------------------------------------------

    async def complete_multipart_upload(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        listed = (request.get("MultipartUpload") or {}).get("Parts") or []
        if not listed:
            raise MalformedXML()
        now = self._now()

        def complete(conn: sqlite3.Connection) -> tuple[ObjectVersion, bool, Upload]:
            bucket = self._access(ctx, conn, name, "s3:PutObject", key=key)
            upload = self._upload(conn, name, key, upload_id)
            stored = {p.part_number: p for p in store.list_parts(conn, upload_id)}
            chosen = _choose_parts(upload, listed, stored)
            obj = _assemble(upload, chosen, request, now)
            self._check_write(conn, bucket, key, request)
            object_hooks.on_complete_upload(ctx, bucket, obj, now)
            store.put_version(conn, self._store, bucket, obj, link_blobs=False)
            event = "ObjectCreated:CompleteMultipartUpload"
            object_event(ctx, conn, self.env, bucket, key, event, obj)
            used = Counter(p.blob_id for p in chosen)
            # A blob may back several parts (a whole object copied twice): the object takes
            # over one reference per segment, the upload frees the rest.
            held = Counter(p.blob_id for p in stored.values() if p.blob_id in used)
            for blob_id, count in (held - used).items():
                for _ in range(count):
                    self._store.blobs.unlink(conn, blob_id)
            store.delete_upload(conn, self._store, upload_id, keep=set(used))
            return obj, bucket.versioning == "Enabled", upload

        completed = self.__dict__.setdefault("_completed_uploads", CompletedUploads())
        try:
            obj, versioned, upload = self._store.write(complete)
        except NoSuchUpload:
            answer = completed.replay(upload_id, name, key, listed, now)
            if answer is None:
                raise
            # The retry is authorized as the first request was.
            self._store.read(lambda conn: self._access(ctx, conn, name, "s3:PutObject", key=key))
            return {**answer, "Location": _location(ctx, name, key)}
        out: dict[str, Any] = {
            "Location": _location(ctx, name, key),
            "Bucket": name,
            "Key": key,
            "ETag": obj.etag,
        }
        out.update(sse_members(upload.meta))
        out.update(object_hooks.completed_members(self._store, obj))
        if versioned and obj.version_id != "null":  # suspended: no header, as PutObject
            out["VersionId"] = obj.version_id
        checksums = obj.meta.get("checksums") or {}
        for algorithm, value in checksums.items():
            out[MEMBERS[algorithm]] = value
        if checksums:
            out["ChecksumType"] = obj.meta.get("checksum_type")
        completed.remember(upload_id, name, key, listed, now, out)
        return out

    async def abort_multipart_upload(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        initiated = request.get("IfMatchInitiatedTime")

        def abort(conn: sqlite3.Connection) -> None:
            self._access(ctx, conn, name, "s3:AbortMultipartUpload", key=key)
            upload = self._upload(conn, name, key, upload_id)
            if initiated is not None and int(_epoch(initiated)) != int(upload.initiated):
                raise PreconditionFailed(Condition="x-amz-if-match-initiated-time")
            store.delete_upload(conn, self._store, upload_id, keep=set())

        self._store.write(abort)
        return {}

    # -- listing --------------------------------------------------------------------------------

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
                    **_part_checksums(upload, p.checksums),
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


# -- completing -----------------------------------------------------------------------------------


def _choose_parts(
    upload: Upload, listed: list[dict[str, Any]], stored: dict[int, Part]
) -> list[Part]:
    """The stored parts the Complete request names, checked as S3 checks them."""
    algorithm = upload.meta.get("checksum_algorithm")
    composite_mode = upload.meta.get("checksum_type") == "COMPOSITE"
    chosen: list[Part] = []
    previous = 0
    for item in listed:
        number = item.get("PartNumber")
        if not isinstance(number, int):
            raise MalformedXML()
        if number <= previous:
            raise InvalidPartOrder(UploadId=upload.upload_id)
        previous = number
        part = stored.get(number)
        etag = (item.get("ETag") or "").strip().strip('"')
        if part is None or part.etag.strip('"') != etag:
            raise InvalidPart(UploadId=upload.upload_id, PartNumber=number, ETag=etag)
        for name, member in MEMBERS.items():
            given = item.get(member)
            if given is None:
                continue
            if name != algorithm and algorithm is not None:
                raise _mismatch(algorithm, name)
            if part.checksums.get(name) != given:
                raise InvalidPart(UploadId=upload.upload_id, PartNumber=number, ETag=etag)
        if algorithm and composite_mode and item.get(MEMBERS[algorithm]) is None:
            raise InvalidRequest(
                f"The upload was created using a {algorithm.lower()} checksum. The complete "
                "request must include the checksum for each part. It was missing for part "
                f"{number} in the request."
            )
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(
                ProposedSize=part.size,
                MinSizeAllowed=MIN_PART_SIZE,
                PartNumber=part.part_number,
                ETag=part.etag.strip('"'),
            )
    size = sum(p.size for p in chosen)
    if size > MAX_OBJECT_SIZE:
        raise EntityTooLarge(ProposedSize=size, MaxSizeAllowed=MAX_OBJECT_SIZE)
    return chosen


def _assemble(
    upload: Upload, parts: list[Part], request: dict[str, Any], now: float
) -> ObjectVersion:
    """The object the chosen parts make, with its ETag, checksums and part table."""
    size = sum(p.size for p in parts)
    expected_size = request.get("MpuObjectSize")
    if expected_size is not None and expected_size != size:
        raise InvalidRequest(
            f"The provided 'x-amz-mp-object-size' header value {expected_size} does not match "
            f"what was computed: {size}"
        )
    algorithm = upload.meta.get("checksum_algorithm")
    kind = upload.meta.get("checksum_type")
    asked_kind = request.get("ChecksumType")
    if asked_kind is not None and asked_kind.upper() != (kind or "FULL_OBJECT"):
        raise InvalidRequest(
            f"The upload was created using the {kind or 'FULL_OBJECT'} checksum mode. The "
            "complete request must use the same checksum mode."
        )
    meta = {k: v for k, v in upload.meta.items() if k not in _UPLOAD_ONLY_META}
    checksums: dict[str, str] = {}
    if algorithm is None and all(DEFAULT_ALGORITHM in p.checksums for p in parts):
        # No algorithm named: a full-object CRC64NVME (every part has one).
        algorithm, kind = DEFAULT_ALGORITHM, "FULL_OBJECT"
    if algorithm is not None:
        values = [p.checksums.get(algorithm) for p in parts]
        if all(v is not None for v in values):
            if kind == "FULL_OBJECT":
                value = combine_crcs(
                    algorithm, [(v, p.size) for v, p in zip(values, parts, strict=True)]
                )
            else:
                value = composite(algorithm, [v for v in values if v is not None])
            checksums[algorithm] = value
    for name, member in MEMBERS.items():
        given = request.get(member)
        if given is None:
            continue
        if name not in checksums:
            raise InvalidRequest(
                f"The upload was created using {'a ' + algorithm.lower() if algorithm else 'no'} "
                f"checksum. The complete request may not include a {name.lower()} checksum."
            )
        # The composite value may be sent with or without its "-N" suffix.
        if given != checksums[name] and given != checksums[name].rsplit("-", 1)[0]:
            raise BadDigest(f"The {name} you specified did not match the calculated checksum.")
    if checksums:
        meta["checksums"] = checksums
        meta["checksum_type"] = kind
    shown = upload.meta.get("checksum_algorithm")
    meta["parts"] = [
        {
            "size": p.size,
            "etag": p.etag,
            "checksums": {shown: p.checksums[shown]} if shown and shown in p.checksums else {},
        }
        for p in parts
    ]
    return ObjectVersion(
        bucket=upload.bucket,
        key=upload.key,
        version_id=NULL_VERSION,  # put_version assigns the real one
        last_modified=now,
        size=size,
        etag=multipart_etag([p.etag for p in parts]),
        storage_class=upload.meta.get("storage_class") or "STANDARD",
        segments=[(p.blob_id, p.size) for p in parts],
        meta=meta,
    )


def _location(ctx: RequestContext, bucket: str, key: str) -> str:
    return s3_url(ctx, bucket, key)


def _epoch(value: Any) -> float:
    from overcast.protocol.timestamps import to_datetime

    return to_datetime(value).timestamp()


# -- listing uploads ------------------------------------------------------------------------------


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
