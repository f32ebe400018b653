"""Object events out of S3: the hook every object write and delete calls, and their delivery to
the bucket's notification destinations.

``object_event`` runs inside the request's write transaction, so the event is published to the
bus's durable outbox in the same commit as the object (a crash after the commit still delivers
it; a rolled-back write delivers nothing). It costs nothing for a bucket without notification
or replication configuration: the bucket row is already in hand.

The destinations an event goes to are those of the configuration at the time of the event, as on
AWS: ``object_event`` snapshots the matching ones into the outbox record. ``EventDelivery`` is
the bus subscriber: it sends AWS's record to each of them (SQS through SQS's own send path,
SNS through SNS's publish path); a failed send raises, so the bus retries it (on the clock).
Lambda has no invoke path yet and EventBridge no provider: their deliveries are stored in
``s3_notify_captured`` (served at ``GET /_overcast/s3/notifications``); EventBridge events are
also put on the bus's ``events.event.put`` topic as soon as something subscribes to it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
from typing import Any

from overcast import events
from overcast.events import Event
from overcast.gateway.context import RequestContext
from overcast.services.base import ServiceEnv
from overcast.services.s3 import notifications, store
from overcast.services.s3.event_records import eventbridge_event, record
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.notifications import Notifications
from overcast.services.s3.replication import rule_for
from overcast.state import Store

NAMESPACE = "s3.notifications"
MIGRATIONS = [
    """
    CREATE TABLE s3_notify_captured (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        arn TEXT NOT NULL,
        bucket TEXT NOT NULL,
        message TEXT NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0
    );
    """,
]
SUBSCRIBERS = {
    events.S3_OBJECT_CREATED: "s3.notifications.created",
    events.S3_OBJECT_REMOVED: "s3.notifications.removed",
    events.S3_OBJECT_CHANGED: "s3.notifications.changed",
}
SERVICE = "s3.amazonaws.com"
# Bucket configurations that want object events (replication subscribes to them too).
EVENT_CONFIGS = ("notification", "replication")


def object_event(
    ctx: RequestContext | None,
    conn: sqlite3.Connection,
    env: ServiceEnv,
    bucket: Bucket,
    key: str,
    event_name: str,
    obj: ObjectVersion | None = None,
    *,
    version_id: str | None = None,
    now: float | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Publish an object event ("ObjectCreated:Put"...) in the caller's write transaction."""
    config = bucket.config
    if not any(config.get(name) for name in EVENT_CONFIGS):
        return
    when = env.clock.now() if now is None else now
    replication = config.get("replication")
    if replication and obj is not None and event_name.startswith("ObjectCreated"):
        _mark_pending(conn, replication, obj)
    if obj is not None:
        version_id = obj.version_id
    seq = obj.seq if obj is not None else 0
    identity = ctx.identity if ctx is not None else None
    account = ctx.account_id if ctx is not None else bucket.account_id
    info = identity.principal if identity is not None else None
    principal = f"AWS:{info.user_id}" if info is not None else f"AWS:{account}"
    if ctx is None:  # S3's own work (replication, lifecycle, log delivery)
        principal = SERVICE
    payload: dict[str, Any] = {
        "account_id": bucket.account_id,
        "region": bucket.region,
        "bucket": bucket.name,
        "key": key,
        "size": obj.size if obj is not None else 0,
        "etag": obj.etag if obj is not None else "",
        "version_id": version_id if bucket.versioned else None,
        "sequencer": f"{int(when * 1_000_000):014X}{seq:06X}",
        "event_name": event_name,
        "request_id": ctx.request_id if ctx is not None else "",
        "source_ip": ctx.request.client_ip if ctx is not None else SERVICE,
        "principal_id": principal,
        "requester": account,
        "time": when,
        "base_url": ctx.base_url("sns") if ctx is not None else "",
        "replica": bool(obj is not None and obj.meta.get("replication_status") == "REPLICA"),
    }
    notify = config.get(notifications.CONFIG_KEY) or {}
    # The destinations as configured now: a configuration changed before delivery does not
    # redirect (or drop) an event already published.
    payload["targets"] = [list(t) for t in notifications.matching(notify, event_name, key)]
    payload["eventbridge"] = "EventBridgeConfiguration" in notify
    if extra:
        payload["extra"] = extra  # event-specific record members (replicationEventData...)
    env.events.publish(topic_of(event_name), payload, conn=conn)


def topic_of(event_name: str) -> str:
    """The bus topic of an S3 event name ("ObjectCreated:Put" -> s3.object.created...)."""
    family = event_name.split(":", 1)[0]
    if family == "ObjectCreated":
        return events.S3_OBJECT_CREATED
    if family in ("ObjectRemoved", "LifecycleExpiration"):
        return events.S3_OBJECT_REMOVED
    return events.S3_OBJECT_CHANGED


def _mark_pending(
    conn: sqlite3.Connection, replication: dict[str, Any], obj: ObjectVersion
) -> None:
    """A new version a replication rule covers starts PENDING (x-amz-replication-status)."""
    if obj.meta.get("replication_status") == "REPLICA":
        return
    if rule_for(replication, obj.key, obj.meta.get("tags") or {}) is not None:
        obj.meta["replication_status"] = "PENDING"
        store.update_object_meta(conn, obj)


def captured(
    store: Store, kind: str | None = None, bucket: str | None = None
) -> list[dict[str, Any]]:
    """Stored Lambda / EventBridge deliveries, oldest first."""
    sql = "SELECT id, at, kind, arn, bucket, message, pending FROM s3_notify_captured WHERE 1 = 1"
    args: list[Any] = []
    if kind:
        sql += " AND kind = ?"
        args.append(kind)
    if bucket:
        sql += " AND bucket = ?"
        args.append(bucket)
    rows = store.read(lambda c: c.execute(sql + " ORDER BY id", args).fetchall())
    keys = ("id", "at", "kind", "arn", "bucket", "message", "pending")
    out = []
    for row in rows:
        entry = dict(zip(keys, row, strict=True))
        entry["message"] = json.loads(entry["message"])
        entry["pending"] = bool(entry["pending"])
        out.append(entry)
    return out


class EventDelivery(Notifications):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        env.store.migrate(NAMESPACE, MIGRATIONS)
        self._notify_done: dict[int, set[str]] = {}  # event id -> destinations served
        for topic, name in SUBSCRIBERS.items():
            env.events.subscribe(topic, self._on_object_event, name=name)
        self._store.write(self._hand_to_eventbridge)  # those stored before a restart

    async def _on_object_event(self, event: Event) -> None:
        p = event.payload
        name = p["bucket"]
        if "targets" in p:  # the destinations snapshotted when the event happened
            targets = [(kind, arn, config_id) for kind, arn, config_id in p["targets"]]
            eventbridge = bool(p["eventbridge"])
        else:  # an outbox record written before snapshots: the configuration now
            bucket = await self._store.aread(lambda c: store.get_bucket(c, name))
            if bucket is None or bucket.account_id != p["account_id"]:
                return  # the bucket is gone (or is another owner's now): nobody to notify
            config = bucket.config.get(notifications.CONFIG_KEY) or {}
            targets = notifications.matching(config, p["event_name"], p["key"])
            eventbridge = "EventBridgeConfiguration" in config
        if not targets and not eventbridge:
            return
        # Destinations already served by an earlier attempt of this event are not sent again.
        done = self._notify_done.setdefault(event.id, set())
        failures: list[str] = []
        for kind, arn, config_id in targets:
            if config_id in done:
                continue
            message = json.dumps({"Records": [record(p, config_id)]}, ensure_ascii=False)
            try:
                if kind == "sqs":
                    await asyncio.to_thread(self._to_queue, arn, message, name)
                elif kind == "sns":
                    await asyncio.to_thread(self._to_topic, arn, message, p["base_url"])
                else:
                    capture = functools.partial(
                        _capture, at=p["time"], kind="lambda", arn=arn, bucket=name, message=message
                    )
                    await self._store.awrite(capture)
            except Exception as exc:  # the bus retries the event (at least once, as AWS)
                failures.append(f"{arn}: {type(exc).__name__}: {exc}")
            else:
                done.add(config_id)
        if eventbridge and "\0eventbridge" not in done:
            await self._store.awrite(functools.partial(self._to_eventbridge, p=p))
            done.add("\0eventbridge")
        if failures:
            raise RuntimeError("; ".join(failures))
        del self._notify_done[event.id]

    def _to_eventbridge(self, c: sqlite3.Connection, *, p: dict[str, Any]) -> None:
        """Store the EventBridge event, then put what is pending on the bus."""
        detail = eventbridge_event(p)
        arn = f"arn:aws:events:{p['region']}:{p['account_id']}:event-bus/default"
        _capture(
            c, at=p["time"], kind="eventbridge", arn=arn, bucket=p["bucket"],
            message=json.dumps(detail, ensure_ascii=False), pending=True,
        )  # fmt: skip
        self._hand_to_eventbridge(c)

    def _hand_to_eventbridge(self, c: sqlite3.Connection) -> None:
        """Put pending EventBridge events on the bus, oldest first, once something subscribes
        to ``events.event.put`` (until then ``publish`` queues nothing and they stay pending)."""
        rows = c.execute(
            "SELECT id, arn, message FROM s3_notify_captured WHERE pending = 1 ORDER BY id"
        ).fetchall()
        for row_id, arn, message in rows:
            detail = json.loads(message)
            sent = self.env.events.publish(
                events.EVENTS_EVENT_PUT,
                {"account_id": detail["account"], "region": detail["region"],
                 "event_bus_name": arn.rsplit("/", 1)[-1], "event": detail},
                conn=c,
            )  # fmt: skip
            if not sent:
                return
            c.execute("UPDATE s3_notify_captured SET pending = 0 WHERE id = ?", (row_id,))

    def _captured_notifications(self, filters: dict[str, str]) -> list[dict[str, Any]]:
        return captured(self._store, filters.get("kind"), filters.get("bucket"))


def _capture(
    c: sqlite3.Connection, *, at: float, kind: str, arn: str, bucket: str, message: str,
    pending: bool = False,
) -> None:  # fmt: skip
    c.execute(
        "INSERT INTO s3_notify_captured (at, kind, arn, bucket, message, pending) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, kind, arn, bucket, message, int(pending)),
    )
