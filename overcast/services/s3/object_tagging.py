"""Put/Get/DeleteObjectTagging: a version's tags, rewritten in place (no new version)."""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3 import store
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.object_common import ObjectBase, check_body_digest
from overcast.services.s3.tagging import tag_set, tags_from_tagging


class ObjectTagging(ObjectBase):
    def put_object_tagging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        check_body_digest(ctx, required=False)
        tags = tags_from_tagging(request.get("Tagging"))

        def change(obj: ObjectVersion) -> None:
            obj.meta["tags"] = tags

        return self._retag(ctx, request, "s3:PutObjectTagging", change)

    def delete_object_tagging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def change(obj: ObjectVersion) -> None:
            obj.meta.pop("tags", None)

        return self._retag(ctx, request, "s3:DeleteObjectTagging", change)

    def get_object_tagging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        version_id = request.get("VersionId")
        action = "s3:GetObjectVersionTagging" if version_id else "s3:GetObjectTagging"

        def lookup(conn: sqlite3.Connection) -> tuple[Bucket, ObjectVersion]:
            bucket = self._access(ctx, conn, name, action, key=key)
            return bucket, self._find(ctx, conn, bucket, key, version_id)

        bucket, obj = self._store.read(lookup)
        out: dict[str, Any] = {"TagSet": tag_set(obj.meta.get("tags"))}
        if bucket.versioned:
            out["VersionId"] = obj.version_id
        return out

    def _retag(
        self, ctx: RequestContext, request: dict[str, Any], action: str, change: Any
    ) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        version_id = request.get("VersionId")
        if version_id is not None:
            action = action.replace("Object", "ObjectVersion", 1)

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            bucket = self._access(ctx, conn, name, action, key=key)
            obj = self._find(ctx, conn, bucket, key, version_id, method="PUT")
            change(obj)
            store.update_object_meta(conn, obj)
            event = "ObjectTagging:Delete" if "Delete" in action else "ObjectTagging:Put"
            object_event(ctx, conn, self.env, bucket, key, event, obj)
            return {"VersionId": obj.version_id} if bucket.versioned else {}

        return self._store.write(run)
