"""In-process event bus with a durable outbox: how services tell each other what happened.

Topics are declared here, once, with what they mean and what their payload holds (``TOPICS``);
publishing to an undeclared topic is an error, so a typo never silently drops events. Services
subscribe async handlers at startup and publish JSON payloads::

    bus.subscribe(events.S3_OBJECT_CREATED, notify_queues, name="sqs.s3-notifications")

    def put_object(conn):  # inside store.write
        ...insert the object row...
        bus.publish(events.S3_OBJECT_CREATED, {"bucket": b, "key": k}, conn=conn)

Given the caller's write connection, ``publish`` writes one outbox row per subscriber in the same
transaction and hands them to the delivery loop only after the commit: a rolled-back request
publishes nothing, and a committed one is delivered even if the process dies right after (rows
left in the outbox are redelivered by ``start``). Without ``conn``, ``publish`` commits its own
outbox rows. Delivery is at least once: a handler that raises is retried with exponential backoff
measured on the Clock (so advancing the clock retries at once), up to ``max_attempts``, after
which the row stays in the outbox marked dead (see ``dead_letters``). Handlers run one at a time
on the event loop; one that has long work should spawn a task.

The loop costs nothing when idle: it waits on an ``asyncio.Event`` set after each commit that
published, or by a Clock timer at the next retry time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from overcast.state import dialect

if TYPE_CHECKING:
    from overcast.clock import Clock, Timer
    from overcast.state import Store

log = logging.getLogger("overcast.events")

OUTBOX = "_overcast_outbox"
MIGRATIONS = [
    f"""
    CREATE TABLE {OUTBOX} (
        id {dialect.AUTO_ID},
        topic TEXT NOT NULL,
        subscriber TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        due REAL NOT NULL,
        dead INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    )
    """,
]


# -- topics ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """A declared event topic: its dotted name and what it means (incl. payload fields)."""

    name: str
    doc: str


TOPICS: dict[str, Topic] = {}


def declare(name: str, doc: str) -> str:
    """Register a topic (idempotent for an identical doc) and return its name."""
    existing = TOPICS.get(name)
    if existing is not None and existing.doc != doc:
        raise ValueError(f"topic {name!r} is already declared differently")
    TOPICS[name] = Topic(name, doc)
    return name


S3_OBJECT_CREATED = declare(
    "s3.object.created",
    "An object version was written (PutObject, CopyObject, PostObject, "
    "CompleteMultipartUpload). Payload: account_id, region, bucket, key, size, etag, "
    "version_id (or null), sequencer, event_name (the S3 event name, e.g. "
    "'ObjectCreated:Put'), request_id, source_ip, principal_id, time (epoch seconds).",
)
S3_OBJECT_REMOVED = declare(
    "s3.object.removed",
    "An object was deleted or a delete marker created. Payload: account_id, region, bucket, "
    "key, version_id (or null), sequencer, event_name ('ObjectRemoved:Delete' or "
    "'ObjectRemoved:DeleteMarkerCreated'), request_id, source_ip, principal_id, time.",
)
S3_OBJECT_CHANGED = declare(
    "s3.object.changed",
    "An object version changed without a new version: its tags or ACL were set, or it was "
    "restored, transitioned or tiered. Payload: as s3.object.created, with event_name e.g. "
    "'ObjectTagging:Put', 'ObjectTagging:Delete', 'ObjectAcl:Put', 'ObjectRestore:Completed'.",
)
S3_BUCKET_DELETED = declare(
    "s3.bucket.deleted",
    "A bucket was deleted. Payload: account_id, region, bucket.",
)
SQS_QUEUE_DELETED = declare(
    "sqs.queue.deleted",
    "A queue was deleted (subscriptions and event sources pointing at it stop). "
    "Payload: account_id, region, queue_name, queue_arn.",
)
SNS_MESSAGE_PUBLISHED = declare(
    "sns.message.published",
    "A message for a topic's subscriptions: a publication to fan out (type 'Notification') or a "
    "subscription's confirmation request (type 'SubscriptionConfirmation', with "
    "subscription_arn and token). Payload: type, account_id, region, topic_arn, message_id, "
    "message, messages (per-protocol bodies of MessageStructure=json), subject, "
    "message_attributes, message_group_id, message_deduplication_id, sequence_number, "
    "timestamp, base_url (for SubscribeURL/UnsubscribeURL/SigningCertURL), signature_version.",
)
DYNAMODB_ITEM_CHANGED = declare(
    "dynamodb.item.changed",
    "An item was inserted, modified or removed in a table with a stream. Payload: account_id, "
    "region, table_name, event_name ('INSERT'|'MODIFY'|'REMOVE'), keys, old_image, new_image "
    "(images as DynamoDB JSON, or null), sequence_number, time, stream_arn, stream_view_type, "
    "record (the stream record as Lambda delivers it: eventSourceARN, images per view type, "
    "binary values base64).",
)
EVENTS_EVENT_PUT = declare(
    "events.event.put",
    "An event entered an EventBridge bus (PutEvents or an AWS service event). Payload: "
    "account_id, region, event_bus_name, event (the full event envelope as JSON).",
)
LAMBDA_FUNCTION_CHANGED = declare(
    "lambda.function.changed",
    "A function was created, updated or deleted (warm runtimes must be dropped). Payload: "
    "account_id, region, function_name, function_arn, change ('created'|'updated'|'deleted').",
)
LOGS_EVENTS_PUT = declare(
    "logs.events.put",
    "Log events were stored (for subscription filters). Payload: account_id, region, "
    "log_group_name, log_stream_name, events (list of {timestamp, message}).",
)


# -- the bus -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """What a handler receives."""

    id: int  # outbox row id: the same across redeliveries (use it to deduplicate)
    topic: str
    payload: dict[str, Any]
    attempt: int  # 1 on first delivery


Handler = Callable[[Event], Awaitable[None]]


@dataclass(slots=True)
class _Pending:
    id: int
    topic: str
    subscriber: str
    payload: str  # JSON text: each delivery decodes its own copy
    attempts: int
    due: float


class EventBus:
    """Publish/subscribe with a durable outbox; see the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        max_attempts: int = 10,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        store.migrate("overcast.events", MIGRATIONS)
        self._subs: dict[str, list[str]] = {}  # topic -> subscriber names
        self._handlers: dict[str, Handler] = {}  # subscriber name -> handler
        self._heap: list[tuple[float, int, _Pending]] = []
        self._queued: set[int] = set()  # ids in the heap or being delivered
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._deliver_lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        store.on_reset(self._forget)

    def subscribe(self, topic: str, handler: Handler, *, name: str | None = None) -> str:
        """Deliver ``topic``'s events to ``handler``; returns the subscriber name.

        ``name`` identifies the subscription in the outbox, so it must stay stable across
        releases for undelivered events to be redelivered after a restart (default: the
        handler's module and qualified name).
        """
        _check_topic(topic)
        name = name or f"{handler.__module__}.{handler.__qualname__}"
        if name in self._handlers:
            raise ValueError(f"subscriber {name!r} already exists; pass a distinct name=")
        self._handlers[name] = handler
        self._subs.setdefault(topic, []).append(name)
        if self._loop is not None:
            # Subscribed after start (providers load on first use): the outbox load skipped
            # this subscriber's undelivered rows, so hand them over now.
            self._hand_over(self._outbox_rows(name))
        return name

    def publish(
        self, topic: str, payload: dict[str, Any], *, conn: sqlite3.Connection | None = None
    ) -> int:
        """Queue ``payload`` for every subscriber of ``topic``; returns how many.

        With ``conn`` (the caller's ``Store.write`` connection) the outbox rows join that
        transaction and are delivered only after it commits.
        """
        _check_topic(topic)
        subscribers = list(self._subs.get(topic, ()))
        if not subscribers:
            return 0
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        due = self.clock.now()

        def insert(c: sqlite3.Connection) -> None:
            rows = []
            for name in subscribers:
                cur = c.execute(
                    f"INSERT INTO {OUTBOX} (topic, subscriber, payload, attempts, due) "
                    "VALUES (?, ?, ?, 0, ?)",
                    (topic, name, text, due),
                )
                assert cur.lastrowid is not None
                rows.append(_Pending(cur.lastrowid, topic, name, text, 0, due))
            self.store.after_commit(c, lambda: self._hand_over(rows))

        if conn is None:
            self.store.write(insert)
        else:
            insert(conn)
        return len(subscribers)

    async def start(self) -> None:
        """Load undelivered events from the outbox and start delivering (ASGI startup)."""
        self._attach()
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self._task = asyncio.create_task(self._run(), name="overcast-events")

    async def stop(self) -> None:
        """Stop delivering; undelivered events stay in the outbox for the next start."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None
        self._heap.clear()
        self._queued.clear()

    async def drain(self) -> None:
        """Deliver every event due now, including those handlers publish meanwhile (for tests).

        Retries scheduled in the future are not waited for: advance the clock, then drain again.
        """
        self._attach()
        while True:
            await self._deliver_due()
            await asyncio.sleep(0)  # let commits on other threads hand their events over
            if not self._due():
                return

    wait_idle = drain

    def dead_letters(self) -> list[dict[str, Any]]:
        """Events that exhausted their attempts: id, topic, subscriber, attempts, last_error."""
        rows = self.store.read(
            lambda c: c.execute(
                f"SELECT id, topic, subscriber, attempts, last_error, payload FROM {OUTBOX} "
                "WHERE dead = 1 ORDER BY id"
            ).fetchall()
        )
        keys = ("id", "topic", "subscriber", "attempts", "last_error")
        return [{**dict(zip(keys, r[:5], strict=True)), "payload": json.loads(r[5])} for r in rows]

    # -- delivery ------------------------------------------------------------------------------

    def _attach(self) -> None:
        """Bind to the running loop and queue what the outbox holds (once per loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._loop = loop
        self._wake = asyncio.Event()
        self._deliver_lock = asyncio.Lock()
        self._heap.clear()
        self._queued.clear()
        # Bound first, then loaded: rows committed meanwhile arrive via _hand_over and are
        # de-duplicated by id.
        self._enqueue(self._outbox_rows())

    def _outbox_rows(self, subscriber: str | None = None) -> list[_Pending]:
        """Undelivered, live outbox rows (of one subscriber, or all), oldest first."""
        where, args = (
            ("dead = 0", ())
            if subscriber is None
            else ("dead = 0 AND subscriber = ?", (subscriber,))
        )
        rows = self.store.read(
            lambda c: c.execute(
                f"SELECT id, topic, subscriber, payload, attempts, due FROM {OUTBOX} "
                f"WHERE {where} ORDER BY id",
                args,
            ).fetchall()
        )
        return [_Pending(*r) for r in rows]

    def _forget(self) -> None:
        """``Store.reset`` wiped the outbox: drop the queued copies of its rows."""
        self._heap.clear()
        self._queued.clear()

    def _hand_over(self, rows: list[_Pending]) -> None:
        """After-commit callback (any thread): give the new rows to the delivery loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not delivering now: start() will load them from the outbox
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._enqueue(rows)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._enqueue, rows)

    def _enqueue(self, rows: list[_Pending]) -> None:
        for row in rows:
            if row.id in self._queued or row.subscriber not in self._handlers:
                continue  # duplicate, or a subscriber that no longer exists (kept in the outbox)
            self._queued.add(row.id)
            heapq.heappush(self._heap, (row.due, row.id, row))
        if self._wake is not None:
            self._wake.set()

    def _due(self) -> bool:
        return bool(self._heap) and self._heap[0][0] <= self.clock.now()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            try:
                await self._deliver_due()
            except Exception:  # e.g. the database is unwritable: keep the loop, retry later
                log.exception("event delivery failed")
                await self.clock.sleep(1.0)
                continue
            timer: Timer | None = None
            if self._heap:  # nothing due now; wake up at the next retry time
                timer = self.clock.call_at(self._heap[0][0], self._wake.set)
            try:
                await self._wake.wait()
            finally:
                if timer is not None:
                    timer.cancel()

    async def _deliver_due(self) -> None:
        assert self._deliver_lock is not None
        async with self._deliver_lock:
            while True:
                now = self.clock.now()
                batch: list[_Pending] = []
                while self._heap and self._heap[0][0] <= now:
                    batch.append(heapq.heappop(self._heap)[2])
                if not batch:
                    return
                await self._deliver(batch)

    async def _deliver(self, batch: list[_Pending]) -> None:
        delivered: list[int] = []
        failed: list[tuple[_Pending, str]] = []
        index = 0
        try:
            for index, row in enumerate(batch):  # noqa: B007 - read in finally
                handler = self._handlers.get(row.subscriber)
                if handler is None:
                    self._queued.discard(row.id)
                    continue
                event = Event(row.id, row.topic, json.loads(row.payload), row.attempts + 1)
                try:
                    await handler(event)
                except Exception as exc:
                    failed.append((row, f"{type(exc).__name__}: {exc}"))
                else:
                    delivered.append(row.id)
            index = len(batch)
        finally:
            # Cancelled mid-batch: put back what was not handled (redelivered later).
            for row in batch[index:]:
                if row.id not in delivered:
                    heapq.heappush(self._heap, (row.due, row.id, row))
            self._settle(delivered, failed)

    def _settle(self, delivered: list[int], failed: list[tuple[_Pending, str]]) -> None:
        """Record the outcome: delete delivered rows, reschedule or bury failed ones."""
        now = self.clock.now()
        retries: list[_Pending] = []
        dead: list[tuple[_Pending, str]] = []
        for row, error in failed:
            row.attempts += 1
            if row.attempts >= self.max_attempts:
                dead.append((row, error))
                log.error(
                    "event %s (%s) to %s failed %d times, giving up: %s",
                    row.id, row.topic, row.subscriber, row.attempts, error,
                )  # fmt: skip
            else:
                row.due = now + min(self.max_delay, self.base_delay * 2 ** (row.attempts - 1))
                retries.append(row)
                log.warning(
                    "event %s (%s) to %s failed (attempt %d), retrying: %s",
                    row.id, row.topic, row.subscriber, row.attempts, error,
                )  # fmt: skip
        errors = {row.id: error for row, error in failed}

        def record(c: sqlite3.Connection) -> None:
            if delivered:
                marks = ", ".join("?" for _ in delivered)
                c.execute(f"DELETE FROM {OUTBOX} WHERE id IN ({marks})", delivered)
            for row in retries:
                c.execute(
                    f"UPDATE {OUTBOX} SET attempts = ?, due = ?, last_error = ? WHERE id = ?",
                    (row.attempts, row.due, errors[row.id], row.id),
                )
            for row, error in dead:
                c.execute(
                    f"UPDATE {OUTBOX} SET attempts = ?, dead = 1, last_error = ? WHERE id = ?",
                    (row.attempts, error, row.id),
                )

        if delivered or failed:
            self.store.write(record)
        for row_id in delivered:
            self._queued.discard(row_id)
        for row, _ in dead:
            self._queued.discard(row.id)
        for row in retries:
            heapq.heappush(self._heap, (row.due, row.id, row))


def _check_topic(topic: str) -> None:
    if topic not in TOPICS:
        raise ValueError(f"undeclared event topic {topic!r}: declare it in overcast/events.py")
