"""CopyObject: same or cross bucket, metadata and tagging directives, copy-source conditions.

A copy shares the source's blobs instead of copying bytes: the new version lists the same
segments and ``put_version`` links each blob once more (blobs are reference-counted and
immutable, so neither version can change the other). Bytes are read only when the copy needs
digests the source lacks: a new checksum algorithm, or the plain MD5 ETag of a copy of a
multipart object (a copy is a single-part object).
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from typing import Any

from overcast.gateway.auth.checksums import new_checksum
from overcast.gateway.context import RequestContext
from overcast.services.s3 import object_hooks, sse_at_rest, store
from overcast.services.s3.checksum_headers import DEFAULT_ALGORITHM, checksum_members
from overcast.services.s3.common import meta_of
from overcast.services.s3.copy_source import (
    check_copy_conditions,
    check_copy_size,
    parse_copy_source,
)
from overcast.services.s3.errors import InvalidArgument, InvalidRequest, MethodNotAllowed
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import Bucket, ObjectVersion
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
from overcast.services.s3.tagging import tags_from_header

# Source meta carried over by MetadataDirective=COPY.
_COPIED_META = (
    "content_type",
    "content_encoding",
    "content_disposition",
    "content_language",
    "cache_control",
    "expires",
    "user",
    "website_redirect",
    "missing_meta",
)


class _SourceChanged(Exception):
    """The source was replaced between reading its bytes and committing the copy."""


class ObjectCopy(ObjectBase):
    async def copy_object(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        dest_name, dest_key = request["Bucket"], request["Key"]
        check_key(dest_key)
        src_name, src_key, src_version = parse_copy_source(request["CopySource"])
        if src_version is not None:
            check_version_id(src_version)
        directive = request.get("MetadataDirective") or "COPY"
        if directive not in ("COPY", "REPLACE"):
            raise InvalidArgument("Unknown metadata directive.")
        tagging_directive = request.get("TaggingDirective") or "COPY"
        if tagging_directive not in ("COPY", "REPLACE"):
            raise InvalidArgument("Unknown tagging directive.")
        storage_class = storage_class_of(request)
        if directive == "REPLACE":
            check_metadata(request.get("Metadata"))
        new_tags = (
            tags_from_header(request.get("Tagging") or "") if tagging_directive == "REPLACE" else {}
        )
        wanted = request.get("ChecksumAlgorithm")
        if wanted is not None:
            try:
                new_checksum(wanted)
            except ValueError:
                raise InvalidRequest(
                    "Value for x-amz-checksum-algorithm header is invalid."
                ) from None
            wanted = wanted.upper()
        src_action = "s3:GetObjectVersion" if src_version is not None else "s3:GetObject"

        def find_source(conn: sqlite3.Connection) -> tuple[Bucket, ObjectVersion]:
            # A copy source may live in any region (S3 copies across regions).
            bucket = self._access(ctx, conn, src_name, src_action, key=src_key, any_region=True)
            try:
                source = self._find(ctx, conn, bucket, src_key, src_version)
            except MethodNotAllowed:
                raise InvalidRequest(
                    "The source of a copy request may not specifically refer to a delete marker "
                    "by version id."
                ) from None
            self._check_object_owner(ctx, conn, bucket, source, src_action)
            return bucket, source

        for _ in range(3):
            src_bucket, source = self._store.read(find_source)
            check_copy_conditions(request, source)
            check_copy_size(source)
            object_hooks.check_copy_source(source, request, self._now())
            if (
                src_name == dest_name
                and src_key == dest_key
                and src_version
                in (
                    None,
                    source.version_id,
                )
            ):
                self._check_not_to_itself(request, source, directive, storage_class)
            old = dict(source.meta.get("checksums") or {})
            full_object = source.meta.get("checksum_type", "FULL_OBJECT") == "FULL_OBJECT"
            multipart = bool(source.meta.get("parts"))
            algorithm = wanted or (next(iter(old)) if old and full_object else DEFAULT_ALGORITHM)
            etag = source.etag
            checksums = {algorithm: old[algorithm]} if full_object and algorithm in old else {}
            if multipart or not checksums:
                md5, checksums = await asyncio.to_thread(_digest, self, source.segments, algorithm)
                if multipart:
                    etag = f'"{md5}"'
            meta = self._copy_meta(ctx, request, source, directive, tagging_directive, new_tags)
            meta["checksums"] = checksums
            meta["checksum_type"] = "FULL_OBJECT"
            obj = ObjectVersion(
                bucket=dest_name,
                key=dest_key,
                version_id="",
                last_modified=self._now(),
                size=source.size,
                etag=etag,
                storage_class=storage_class,
                segments=list(source.segments),
                meta=meta,
            )

            def commit(
                conn: sqlite3.Connection, source: ObjectVersion = source, obj: ObjectVersion = obj
            ) -> Bucket:
                current = store.get_version(conn, source.bucket, source.key, source.version_id)
                if current is None or current.segments != source.segments:
                    raise _SourceChanged
                bucket = self._access(ctx, conn, dest_name, "s3:PutObject", key=dest_key)
                self._check_write(conn, bucket, dest_key, request)
                obj.meta["owner"] = object_owner(bucket, ctx.account_id, request.get("ACL"))
                object_hooks.on_write(ctx, bucket, obj, request, self._now())
                store.put_version(conn, self._store, bucket, obj)
                object_event(ctx, conn, self.env, bucket, dest_key, "ObjectCreated:Copy", obj)
                return bucket

            try:
                dest_bucket = self._store.write(commit)
            except _SourceChanged:
                continue
            result: dict[str, Any] = {
                "ETag": obj.etag,
                "LastModified": int(obj.last_modified),
                **checksum_members(checksums),
                "ChecksumType": "FULL_OBJECT",
            }
            out: dict[str, Any] = {"CopyObjectResult": result, **sse_members(meta)}
            out.update(object_hooks.write_members(dest_bucket, obj))
            if src_bucket.versioned:
                out["CopySourceVersionId"] = source.version_id
            if dest_bucket.versioned and obj.version_id != "null":  # suspended: no header
                out["VersionId"] = obj.version_id
            return out
        raise InvalidRequest("The copy source changed while it was being copied; retry.")

    def _check_not_to_itself(
        self,
        request: dict[str, Any],
        source: ObjectVersion,
        directive: str,
        storage_class: str,
    ) -> None:
        changes = (
            directive == "REPLACE"
            or (request.get("StorageClass") and storage_class != source.storage_class)
            or request.get("WebsiteRedirectLocation")
            or request.get("ServerSideEncryption")
            or request.get("SSEKMSKeyId")
            or request.get("ChecksumAlgorithm")
        )
        if not changes:
            raise InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself "
                "without changing the object's metadata, storage class, website redirect "
                "location or encryption attributes."
            )

    def _copy_meta(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        source: ObjectVersion,
        directive: str,
        tagging_directive: str,
        new_tags: dict[str, str],
    ) -> dict[str, Any]:
        if directive == "REPLACE":
            meta = meta_of(request)
            clean_content_encoding(meta)
        else:
            meta = {k: source.meta[k] for k in _COPIED_META if k in source.meta}
            if request.get("WebsiteRedirectLocation"):
                meta["website_redirect"] = request["WebsiteRedirectLocation"]
        tags = source.meta.get("tags") if tagging_directive == "COPY" else new_tags
        if tags:
            meta["tags"] = dict(tags)
        sse = sse_of(request)
        if sse:
            meta["sse"] = sse
        acl = self._requested_acl(ctx, request)
        if acl is not None:
            meta["acl"] = acl
        return meta


def _digest(
    objects: ObjectCopy, segments: list[tuple[str, int]], algorithm: str
) -> tuple[str, dict[str, str]]:
    """MD5 hex and ``algorithm``'s checksum of a body (runs on a thread)."""
    md5 = hashlib.md5()
    checksum = new_checksum(algorithm)
    for block in sse_at_rest.iter_plain(objects._store, segments):
        md5.update(block)
        checksum.update(block)
    return md5.hexdigest(), {algorithm: checksum.b64digest()}
