"""Replication: copies new versions (and, per rule, delete markers) from a bucket with a
replication configuration to its rules' destination buckets, in the background.

The write that creates a version marks it PENDING (``events_out.object_event``) and publishes
its event to the bus's durable outbox in the same transaction; this subscriber then copies the
version (same version id, metadata, tags, checksums; its blobs shared, not copied: blobs are
reference-counted) into the destination as a REPLICA and marks the source COMPLETED, all in one
write transaction. A destination that is gone or no longer versioned, a role S3 cannot assume or
a destination policy that refuses the role (``replication_role.py``) marks it FAILED. A crash
before the copy leaves the event in the outbox: it is redelivered at the next start, and a
version already replicated is recognised by its version id.
"""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from typing import Any

from overcast import events
from overcast.events import Event
from overcast.iam import Principal
from overcast.services.base import ServiceEnv
from overcast.services.iam.directory import Directory
from overcast.services.s3 import replication_role, store
from overcast.services.s3.event_records import iso
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.replication import (
    CONFIG_KEY,
    Replication,
    destination_bucket,
    replicates_delete_markers,
    rule_for,
)


def _metrics_enabled(rule: dict[str, Any]) -> bool:
    return (rule["Destination"].get("Metrics") or {}).get("Status") == "Enabled"


SUBSCRIBERS = {
    events.S3_OBJECT_CREATED: "s3.replication.created",
    events.S3_OBJECT_REMOVED: "s3.replication.removed",
    events.S3_OBJECT_CHANGED: "s3.replication.changed",
}


class ReplicationWorker(Replication):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._directory = Directory(env)
        for topic, name in SUBSCRIBERS.items():
            env.events.subscribe(topic, self._on_replication_event, name=name)

    async def _on_replication_event(self, event: Event) -> None:
        p = event.payload
        if p.get("replica") or not p.get("version_id"):
            return  # replicas are not replicated again; unversioned writes never replicate
        bucket = await self._store.aread(lambda conn: store.get_bucket(conn, p["bucket"]))
        config = bucket.config.get(CONFIG_KEY) if bucket is not None else None
        if bucket is None or not config:
            return
        # The role is checked outside the write transaction: IAM is read through its directory.
        session = await asyncio.to_thread(
            replication_role.assume, self.env, self._directory, config["Role"], bucket
        )
        await self._store.awrite(lambda conn: self._replicate(conn, p, session))

    def _replicate(
        self, conn: sqlite3.Connection, p: dict[str, Any], session: Principal | None
    ) -> None:
        bucket = store.get_bucket(conn, p["bucket"])
        config = bucket.config.get(CONFIG_KEY) if bucket is not None else None
        if bucket is None or not config:
            return
        if p["event_name"].startswith("ObjectCreated"):
            self._replicate_version(conn, bucket, config, p, session)
        elif session is None:
            return  # S3 cannot act for this bucket: delete markers and tags stay behind
        elif p["event_name"] == "ObjectRemoved:DeleteMarkerCreated":
            self._replicate_marker(conn, bucket, config, p, session)
        elif p["event_name"].startswith("ObjectTagging:"):
            self._replicate_tags(conn, bucket, config, p, session)

    def _replicate_version(
        self, conn: sqlite3.Connection, bucket: Bucket, config: dict[str, Any],
        p: dict[str, Any], session: Principal | None,
    ) -> None:  # fmt: skip
        source = store.get_version(conn, bucket.name, p["key"], p["version_id"])
        if source is None or source.meta.get("replication_status") != "PENDING":
            return  # deleted meanwhile, or replicated already (a redelivery)
        rule = rule_for(config, source.key, source.meta.get("tags") or {})
        target = store.get_bucket(conn, destination_bucket(rule)) if rule else None
        translation = (rule["Destination"].get("AccessControlTranslation") or {}) if rule else {}
        actions: tuple[str, ...] = ("s3:ReplicateObject",)
        if translation.get("Owner") == "Destination":
            actions += ("s3:ObjectOwnerOverrideToBucketOwner",)
        reason = None
        if session is None:
            reason = "AssumeRoleNotPermitted"
        elif target is None:
            reason = "DstBucketNotFound"
        elif target.versioning != "Enabled":
            reason = "DstBucketUnversioned"
        elif not replication_role.destination_allows(
            self.env, session, bucket, target, source.key, actions
        ):
            reason = "DstPutObjectNotPermitted"
        if rule is None or target is None or reason is not None:
            source.meta["replication_status"] = "FAILED"
            store.update_object_meta(conn, source)
            if rule is not None and reason is not None and _metrics_enabled(rule):
                self._failed_event(conn, bucket, source, rule, reason, p["time"])
            return
        if store.get_version(conn, target.name, source.key, source.version_id) is None:
            replica = ObjectVersion(
                bucket=target.name,
                key=source.key,
                version_id=source.version_id,
                last_modified=source.last_modified,
                size=source.size,
                etag=source.etag,
                storage_class=rule["Destination"].get("StorageClass") or source.storage_class,
                segments=list(source.segments),
                meta=copy.deepcopy(source.meta),
            )
            replica.meta["replication_status"] = "REPLICA"
            if translation.get("Owner") == "Destination":
                replica.meta["owner"] = target.account_id
                replica.meta.pop("acl", None)
            store.insert_version(conn, self._store, replica)
            object_event(None, conn, self.env, target, replica.key, "ObjectCreated:Put", replica)
        source.meta["replication_status"] = "COMPLETED"
        store.update_object_meta(conn, source)

    def _failed_event(
        self, conn: sqlite3.Connection, bucket: Bucket, source: ObjectVersion,
        rule: dict[str, Any], reason: str, when: float,
    ) -> None:  # fmt: skip
        """s3:Replication:OperationFailedReplication (sent when the rule has metrics on)."""
        data = {
            "replicationRuleId": rule["ID"],
            "destinationBucket": rule["Destination"]["Bucket"],
            "s3Operation": "OBJECT_PUT",
            "requestTime": iso(when),
            "failureReason": reason,
        }
        event = "Replication:OperationFailedReplication"
        extra = {"replicationEventData": data}
        object_event(None, conn, self.env, bucket, source.key, event, source, extra=extra)

    def _replicate_tags(
        self, conn: sqlite3.Connection, bucket: Bucket, config: dict[str, Any],
        p: dict[str, Any], session: Principal,
    ) -> None:  # fmt: skip
        """A replicated version's tag changes follow it to its replica."""
        source = store.get_version(conn, bucket.name, p["key"], p["version_id"])
        if source is None or source.meta.get("replication_status") != "COMPLETED":
            return
        rule = rule_for(config, source.key, source.meta.get("tags") or {}) or rule_for(
            config, source.key, {}
        )
        if rule is None:
            return
        target = store.get_bucket(conn, destination_bucket(rule))
        replica = store.get_version(conn, destination_bucket(rule), source.key, source.version_id)
        if target is None or replica is None or replica.meta.get("replication_status") != "REPLICA":
            return
        allowed = ("s3:ReplicateTags",)
        if not replication_role.destination_allows(
            self.env, session, bucket, target, source.key, allowed
        ):
            return
        if source.meta.get("tags"):
            replica.meta["tags"] = dict(source.meta["tags"])
        else:
            replica.meta.pop("tags", None)
        store.update_object_meta(conn, replica)

    def _replicate_marker(
        self, conn: sqlite3.Connection, bucket: Bucket, config: dict[str, Any],
        p: dict[str, Any], session: Principal,
    ) -> None:  # fmt: skip
        rule = rule_for(config, p["key"], {})
        if rule is None or not replicates_delete_markers(rule):
            return
        target = store.get_bucket(conn, destination_bucket(rule))
        if target is None or target.versioning != "Enabled":
            return
        allowed = ("s3:ReplicateDelete",)
        if not replication_role.destination_allows(
            self.env, session, bucket, target, p["key"], allowed
        ):
            return
        if store.get_version(conn, target.name, p["key"], p["version_id"]) is not None:
            return
        marker = ObjectVersion(
            bucket=target.name,
            key=p["key"],
            version_id=p["version_id"],
            last_modified=p["time"],
            delete_marker=True,
            meta={"owner": p["account_id"], "replication_status": "REPLICA"},
        )
        store.insert_version(conn, self._store, marker)
