"""DeleteObject and DeleteObjects, with S3's versioning semantics (``store.delete_key`` and
``store.delete_version``).

Deleting a missing key or version succeeds (204): S3 deletes are idempotent. Without a version
id, an unversioned bucket drops the object, an enabled one adds a delete marker and a suspended
one replaces the ``null`` version with a ``null`` delete marker. Deleting a delete marker by its
version id makes the previous version current again.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3 import object_hooks, store
from overcast.services.s3.bucket_versioning import check_mfa_delete
from overcast.services.s3.conditions import etag_matches
from overcast.services.s3.errors import MalformedXML, NoSuchKey, PreconditionFailed, S3Error
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import Bucket
from overcast.services.s3.object_common import ObjectBase, check_body_digest, check_version_id

MAX_DELETE_KEYS = 1000


class ObjectDelete(ObjectBase):
    def delete_object(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        version_id = request.get("VersionId")
        if version_id is not None:
            check_version_id(version_id)
        action = "s3:DeleteObjectVersion" if version_id is not None else "s3:DeleteObject"

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            bucket = self._access(ctx, conn, name, action, key=key)
            check_mfa_delete(bucket, request.get("MFA"), deletes_versions=version_id is not None)
            if request.get("IfMatch") is not None:
                current = store.get_latest(conn, name, key)
                if current is None or current.delete_marker:
                    raise NoSuchKey(Key=key)
                if not etag_matches(request["IfMatch"], current.etag):
                    raise PreconditionFailed(Condition="If-Match")
            return self._delete_one(ctx, conn, bucket, key, version_id)

        return self._store.write(run)

    def _delete_one(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection,
        bucket: Bucket,
        key: str,
        version_id: str | None,
    ) -> dict[str, Any]:
        """Delete ``key`` (or one version); the DeleteObject output members."""
        if version_id is not None:
            obj = store.get_version(conn, bucket.name, key, version_id)
            out: dict[str, Any] = {"VersionId": version_id}
            if obj is not None:
                object_hooks.check_delete(ctx, obj, self._now())
                store.delete_version(conn, self._store, obj)
                if obj.delete_marker:
                    out["DeleteMarker"] = True
            event, out_obj = "ObjectRemoved:Delete", obj
        else:
            marker = store.delete_key(conn, self._store, bucket, key, self._now(), ctx.account_id)
            out = {} if marker is None else {"DeleteMarker": True, "VersionId": marker.version_id}
            event = (
                "ObjectRemoved:Delete" if marker is None else "ObjectRemoved:DeleteMarkerCreated"
            )
            out_obj = marker
        object_event(ctx, conn, self.env, bucket, key, event, out_obj, version_id=version_id)
        return out

    def delete_objects(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]
        check_body_digest(ctx, required=True)
        delete = request.get("Delete") or {}
        items = delete.get("Objects") or []
        if not items or len(items) > MAX_DELETE_KEYS:
            raise MalformedXML()
        quiet = bool(delete.get("Quiet"))

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            bucket = self._bucket(conn, name)
            self._check_region(ctx, bucket)
            versions = any(item.get("VersionId") is not None for item in items)
            check_mfa_delete(bucket, request.get("MFA"), deletes_versions=versions)
            deleted: list[dict[str, Any]] = []
            errors: list[dict[str, Any]] = []
            for item in items:
                key = item.get("Key", "")
                version_id = item.get("VersionId")
                try:
                    if version_id is not None:
                        check_version_id(version_id)
                    action = "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject"
                    self._authorize(ctx, bucket, action, key=key)
                    result = self._delete_one(ctx, conn, bucket, key, version_id)
                except S3Error as exc:
                    error: dict[str, Any] = {"Key": key}
                    if version_id is not None:
                        error["VersionId"] = version_id
                    error["Code"] = exc.error_code
                    error["Message"] = exc.error_message
                    errors.append(error)
                    continue
                if quiet:
                    continue
                entry: dict[str, Any] = {"Key": key}
                if version_id is not None:
                    entry["VersionId"] = version_id
                if result.get("DeleteMarker"):
                    entry["DeleteMarker"] = True
                    entry["DeleteMarkerVersionId"] = result["VersionId"]
                deleted.append(entry)
            out: dict[str, Any] = {}
            if deleted:
                out["Deleted"] = deleted
            if errors:
                out["Errors"] = errors
            return out

        return self._store.write(run)
