"""Replication: copies new versions (and, per rule, delete markers) from a bucket with a
replication configuration to its rules' destination buckets, in the background.

The write that creates a version marks it PENDING (``events_out.object_event``) and publishes
its event to the bus's durable outbox in the same transaction; this subscriber then copies the
version (same version id, metadata, tags, checksums; its blobs shared, not copied: blobs are
reference-counted) into the destination as a REPLICA and marks the source COMPLETED, all in one
write transaction. A destination that is gone or no longer versioned, a role S3 cannot assume, or
an action the role's policies or the buckets' policies refuse it (``replication_role.py``) marks
it FAILED with AWS's failure reason; a refused delete marker or tag change stays behind. A crash
before the copy leaves the event in the outbox: it is redelivered at the next start, and a
version already replicated is recognised by its version id.
"""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from typing import Any, NamedTuple

from overcast import events
from overcast.events import Event
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
from overcast.services.s3.replication_role import Need


def _metrics_enabled(rule: dict[str, Any]) -> bool:
    return (rule["Destination"].get("Metrics") or {}).get("Status") == "Enabled"


SUBSCRIBERS = {
    events.S3_OBJECT_CREATED: "s3.replication.created",
    events.S3_OBJECT_REMOVED: "s3.replication.removed",
    events.S3_OBJECT_CHANGED: "s3.replication.changed",
}


class _Subject(NamedTuple):
    """What an event is about: the source bucket and its configuration, the version (None for
    delete markers), the rule that replicates it and that rule's destination (None when gone)."""

    bucket: Bucket
    config: dict[str, Any]
    source: ObjectVersion | None
    rule: dict[str, Any] | None
    target: Bucket | None


def _kind(p: dict[str, Any]) -> str | None:
    """Which change replication acts on: a new version, a delete marker or a tag change."""
    name = str(p["event_name"])
    if name.startswith("ObjectCreated"):
        return "version"
    if name == "ObjectRemoved:DeleteMarkerCreated":
        return "marker"
    if name.startswith("ObjectTagging:"):
        return "tags"
    return None


def _subject(conn: sqlite3.Connection, p: dict[str, Any], kind: str) -> _Subject | None:
    bucket = store.get_bucket(conn, p["bucket"])
    config = bucket.config.get(CONFIG_KEY) if bucket is not None else None
    if bucket is None or not config:
        return None
    source = None
    if kind != "marker":
        source = store.get_version(conn, bucket.name, p["key"], p["version_id"])
    tags = (source.meta.get("tags") or {}) if source is not None else {}
    rule = rule_for(config, p["key"], tags)
    if rule is None and kind == "tags":
        rule = rule_for(config, p["key"], {})  # the tags the rule filtered on were removed
    target = store.get_bucket(conn, destination_bucket(rule)) if rule else None
    return _Subject(bucket, config, source, rule, target)


def _pending(kind: str, subject: _Subject) -> bool:
    """Whether the event still has something to replicate: not a redelivery of a version
    replicated already, not a tag change of a version that never was, not an ignored marker."""
    if kind == "marker":
        return subject.rule is not None and replicates_delete_markers(subject.rule)
    source = subject.source
    status = source.meta.get("replication_status") if source is not None else None
    return status == ("PENDING" if kind == "version" else "COMPLETED")


def _needs(kind: str, subject: _Subject) -> tuple[Need, ...]:
    if kind == "marker":
        return replication_role.MARKER_NEEDS
    if kind == "tags":
        return replication_role.TAG_CHANGE_NEEDS
    assert subject.rule is not None
    translation = subject.rule["Destination"].get("AccessControlTranslation") or {}
    tagged = subject.source is not None and bool(subject.source.meta.get("tags"))
    return replication_role.version_needs(tagged, translation.get("Owner") == "Destination")


class ReplicationWorker(Replication):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._directory = Directory(env)
        for topic, name in SUBSCRIBERS.items():
            env.events.subscribe(topic, self._on_replication_event, name=name)

    async def _on_replication_event(self, event: Event) -> None:
        p = event.payload
        kind = _kind(p)
        if kind is None or p.get("replica") or not p.get("version_id"):
            return  # replicas are not replicated again; unversioned writes never replicate
        # The role and its permissions are evaluated outside the write transaction: IAM and the
        # buckets' policies are read then, and the writer is not held up meanwhile.
        refused = await asyncio.to_thread(self._refusal, p, kind)
        await self._store.awrite(lambda conn: self._replicate(conn, p, kind, refused))

    def _refusal(self, p: dict[str, Any], kind: str) -> str | None:
        """AWS's failure reason when the role may not replicate the event's change, or None."""
        subject = self._store.read(lambda conn: _subject(conn, p, kind))
        if subject is None or not _pending(kind, subject):
            return None  # the write finds nothing to do either
        role = str(subject.config["Role"])
        session = replication_role.assume(self.env, self._directory, role, subject.bucket)
        if session is None:
            return replication_role.ASSUME_ROLE_NOT_PERMITTED
        if subject.rule is None or subject.target is None:
            return None  # nothing to replicate, or a missing destination: the write says which
        needs = _needs(kind, subject)
        return replication_role.refusal(
            self.env, session, subject.bucket, subject.target, p["key"], p["version_id"], needs
        )

    def _replicate(
        self, conn: sqlite3.Connection, p: dict[str, Any], kind: str, refused: str | None
    ) -> None:
        subject = _subject(conn, p, kind)
        if subject is None:
            return
        if kind == "version":
            self._replicate_version(conn, subject, p, refused)
        elif refused is not None:
            return  # delete markers and tag changes have no status to fail: they stay behind
        elif kind == "marker":
            self._replicate_marker(conn, subject, p)
        else:
            self._replicate_tags(conn, subject)

    def _replicate_version(
        self, conn: sqlite3.Connection, subject: _Subject, p: dict[str, Any], refused: str | None
    ) -> None:
        source, rule, target, bucket = subject.source, subject.rule, subject.target, subject.bucket
        if source is None or source.meta.get("replication_status") != "PENDING":
            return  # deleted meanwhile, or replicated already (a redelivery)
        translation = (rule["Destination"].get("AccessControlTranslation") or {}) if rule else {}
        reason = None
        if refused == replication_role.ASSUME_ROLE_NOT_PERMITTED:
            reason = refused
        elif target is None:
            reason = "DstBucketNotFound"
        elif target.versioning != "Enabled":
            reason = "DstBucketUnversioned"
        else:
            reason = refused
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

    def _replicate_tags(self, conn: sqlite3.Connection, subject: _Subject) -> None:
        """A replicated version's tag changes follow it to its replica."""
        source, rule, target = subject.source, subject.rule, subject.target
        if source is None or source.meta.get("replication_status") != "COMPLETED":
            return
        if rule is None or target is None:
            return
        replica = store.get_version(conn, target.name, source.key, source.version_id)
        if replica is None or replica.meta.get("replication_status") != "REPLICA":
            return
        if source.meta.get("tags"):
            replica.meta["tags"] = dict(source.meta["tags"])
        else:
            replica.meta.pop("tags", None)
        store.update_object_meta(conn, replica)

    def _replicate_marker(
        self, conn: sqlite3.Connection, subject: _Subject, p: dict[str, Any]
    ) -> None:
        rule, target = subject.rule, subject.target
        if rule is None or not replicates_delete_markers(rule):
            return
        if target is None or target.versioning != "Enabled":
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
