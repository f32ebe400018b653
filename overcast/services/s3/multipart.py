"""S3: multipart uploads.

CreateMultipartUpload records the future object's metadata; UploadPart and UploadPartCopy each
store one part as one blob (streamed, never buffered whole) in one transaction;
CompleteMultipartUpload turns the chosen parts' blobs into the object's ``segments`` without
copying a byte, in the same transaction that removes the upload; AbortMultipartUpload frees the
parts. ListParts and ListMultipartUploads page through what is in progress
(``multipart_listing.py``); UploadPartCopy is ``multipart_copy.py``; the checks and the
assembly of a completed object are ``multipart_complete.py``.

Checksums: an upload may name an algorithm (``x-amz-checksum-algorithm``) and a type
(``x-amz-checksum-type``): ``COMPOSITE`` (checksum of the part checksums, ``-N`` suffix; every
part must carry its checksum) or ``FULL_OBJECT`` (CRCs only: the parts' CRCs are combined
arithmetically into the CRC of the whole object, see ``checksum_combine.py``). An upload without
an algorithm still gets a full-object CRC64NVME, as S3 has attached one to every new object since
2025: each part's CRC64NVME is computed on receipt (cheap next to the MD5) and combined.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections import Counter
from typing import Any

from overcast.gateway.auth.checksums import new_checksum
from overcast.gateway.context import RequestContext
from overcast.gateway.urls import s3_url
from overcast.services.s3 import body as bodies
from overcast.services.s3 import object_hooks, store
from overcast.services.s3.checksum_combine import FULL_OBJECT_ALGORITHMS
from overcast.services.s3.checksum_headers import MEMBERS, plan_checksums
from overcast.services.s3.common import meta_of, owner_shape
from overcast.services.s3.complete_replay import CompletedUploads
from overcast.services.s3.errors import (
    InvalidRequest,
    MalformedXML,
    MissingContentLength,
    NoSuchUpload,
    PreconditionFailed,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import ObjectVersion, Part, Upload
from overcast.services.s3.multipart_common import (
    DEFAULT_ALGORITHM,
    MAX_PART_SIZE,
    check_part_number,
    checksum_mismatch,
)
from overcast.services.s3.multipart_complete import assemble, choose_parts
from overcast.services.s3.multipart_copy import MultipartCopy
from overcast.services.s3.multipart_listing import MultipartListing
from overcast.services.s3.object_common import (
    check_key,
    check_metadata,
    clean_content_encoding,
    sse_members,
    sse_of,
    storage_class_of,
)
from overcast.services.s3.ownership import object_owner
from overcast.services.s3.sse_at_rest import DataKey
from overcast.services.s3.tagging import tags_from_header


def _new_upload_id() -> str:
    """An opaque, URL-safe id of S3's length (its ids are ~100-150 characters)."""
    return secrets.token_urlsafe(96)


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


def _initiator(ctx: RequestContext) -> dict[str, str]:
    """Who started the upload: the account's canonical user for root, else the IAM principal."""
    identity = ctx.identity
    arn = identity.principal_arn if identity is not None else ""
    if not arn or arn.endswith(":root"):
        return owner_shape(ctx.account_id)
    return {"ID": arn, "DisplayName": arn.rsplit("/", 1)[-1]}


class Multipart(MultipartCopy, MultipartListing):
    """Every multipart operation: these four here, the copy and the listings by inheritance."""

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

    async def upload_part(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key, upload_id = request["Bucket"], request["Key"], request["UploadId"]
        number = check_part_number(request.get("PartNumber"))

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
                    raise checksum_mismatch(algorithm, None)
                plan.compute = [algorithm]
            elif plan.algorithm != algorithm:
                raise checksum_mismatch(algorithm, plan.algorithm)
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
            chosen = choose_parts(upload, listed, stored)
            obj = assemble(upload, chosen, request, now)
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


def _location(ctx: RequestContext, bucket: str, key: str) -> str:
    return s3_url(ctx, bucket, key)


def _epoch(value: Any) -> float:
    from overcast.protocol.timestamps import to_datetime

    return to_datetime(value).timestamp()
