"""RestoreObject: a temporary readable copy of a GLACIER or DEEP_ARCHIVE object.

The restore completes after its tier's delay on the clock and the copy expires ``Days`` later,
rounded up to midnight UTC (``storage_class.py`` computes the state at each read). The first
request answers 202 Accepted; one while the restore runs 409 RestoreAlreadyInProgress; one on a
restored copy 200 OK, and it extends the copy's life from now, as S3 does.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.services.s3 import store
from overcast.services.s3.errors import (
    InvalidArgument,
    InvalidObjectState,
    MalformedXML,
    NotImplemented_,
    RestoreAlreadyInProgress,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.object_common import ObjectBase
from overcast.services.s3.preconditions import check_expected_owner
from overcast.services.s3.storage_class import (
    ARCHIVED,
    DAY,
    RESTORE_DELAYS,
    next_midnight,
    restore_state,
)

_ACCEPTED = "__s3_restore_accepted"  # marks the request whose answer is 202


class Restore(ObjectBase):
    def restore_object(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key = request["Bucket"], request["Key"]
        version_id = request.get("VersionId")
        spec = request.get("RestoreRequest") or {}
        if spec.get("Type") == "SELECT" or spec.get("SelectParameters"):
            raise NotImplemented_("SELECT restore requests are no longer supported.")
        tier = spec.get("Tier") or (spec.get("GlacierJobParameters") or {}).get("Tier")
        tier = tier or "Standard"
        if tier not in ("Expedited", "Standard", "Bulk"):
            raise MalformedXML()
        days = spec.get("Days")
        if days is None:
            raise MalformedXML()
        days = int(days)
        if days < 1:
            raise InvalidArgument(
                "Days must be at least 1", ArgumentName="Days", ArgumentValue=str(days)
            )

        def run(conn: sqlite3.Connection) -> bool:
            bucket = self._access(ctx, conn, name, "s3:RestoreObject", key=key)
            check_expected_owner(request, bucket.account_id)
            obj = self._find(ctx, conn, bucket, key, version_id, method="POST")
            if obj.storage_class not in ARCHIVED:
                raise InvalidObjectState(
                    "Restore is not allowed for the object's current storage class",
                    StorageClass=obj.storage_class,
                )
            now = self._now()
            state = restore_state(obj, now)
            if state == "ongoing":
                raise RestoreAlreadyInProgress()
            if state == "restored":
                obj.meta["restore"]["expiry"] = next_midnight(now + days * DAY)
                obj.meta["restore"]["days"] = days
                store.update_object_meta(conn, obj)
                return False
            delay = RESTORE_DELAYS[obj.storage_class].get(tier)
            if delay is None:
                raise InvalidObjectState(
                    "Expedited retrieval is not supported for the DEEP_ARCHIVE storage class",
                    StorageClass=obj.storage_class,
                )
            ready = now + delay
            obj.meta["restore"] = {
                "ready": ready,
                "expiry": next_midnight(ready + days * DAY),
                "tier": tier,
                "days": days,
            }
            store.update_object_meta(conn, obj)
            object_event(ctx, conn, self.env, bucket, key, "ObjectRestore:Post", obj)
            return True

        if self._store.write(run):
            request[_ACCEPTED] = True
        return {}

    def _restore_status(self, ctx: RequestContext, response: HttpResponse) -> None:
        """A restore that started answers 202 Accepted (the model has no status member)."""
        accepted = ctx.params.get(_ACCEPTED)
        if accepted and ctx.operation_name == "RestoreObject" and response.status == 200:
            response.status = 202
