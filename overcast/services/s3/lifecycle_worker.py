"""The lifecycle worker: applies every bucket's enabled lifecycle rules as the clock passes.

A clock timer ticks every ``TICK`` seconds of clock time while some bucket has a lifecycle
configuration (moving the clock past a tick fires it at once, so advancing a day applies the
rules due that day). Each tick evaluates every rule against the state *now*: nothing is queued,
so the worker has nothing to lose in a restart; the provider is loaded in the background after
startup (``registry.BACKGROUND``) and arms the timer again.

Per key, newest version first: the current version expires (a delete marker on a versioned
bucket) or moves down the storage-class ladder; noncurrent versions expire or transition
``NoncurrentDays`` after they became noncurrent, keeping the ``NewerNoncurrentVersions`` newest;
a delete marker left alone expires with ``ExpiredObjectDeleteMarker``; incomplete multipart
uploads are aborted ``DaysAfterInitiation`` after they began. Versions under Object Lock
retention or legal hold are never removed.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

from overcast.services.s3 import lifecycle, store
from overcast.services.s3.events_out import object_event
from overcast.services.s3.lifecycle import CONFIG_KEY, RANK, SMALL_OBJECT, due_at, matches
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.object_lock import locked

if TYPE_CHECKING:
    from overcast.clock import Timer
    from overcast.services.base import ServiceEnv

log = logging.getLogger("overcast.s3.lifecycle")

TICK = 3600.0


def _configured_buckets(conn: sqlite3.Connection) -> list[Bucket]:
    # The only query of its own (buckets are few): a prefilter on the JSON text, then the check.
    rows = conn.execute(
        "SELECT name FROM s3_buckets WHERE config LIKE ?", (f'%"{CONFIG_KEY}"%',)
    ).fetchall()
    buckets = [store.get_bucket(conn, name) for (name,) in rows]
    return [b for b in buckets if b is not None and lifecycle.enabled_rules(b)]


def _transition_target(
    transitions: list[dict[str, Any]], obj: ObjectVersion, start: float, now: float, days_key: str
) -> str | None:
    """The coldest storage class among the transitions due for ``obj``, if colder than now."""
    best = None
    for transition in transitions:
        if days_key in transition:
            due = due_at(start, int(transition[days_key]))
        else:
            due = float(transition["Date"])
        target = transition["StorageClass"]
        colder = RANK[target] > RANK.get(obj.storage_class, 0)
        if due <= now and colder and (best is None or RANK[target] > RANK[best]):
            best = target
    return best


class LifecycleWorker(lifecycle.Lifecycle):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self._lifecycle_timer: Timer | None = None
        self._lifecycle_lock = threading.Lock()
        self._lifecycle_changed()

    def _lifecycle_changed(self) -> None:
        """(Re)arm the tick while some bucket has a lifecycle configuration (any thread)."""
        with self._lifecycle_lock:
            if self._lifecycle_timer is not None:
                return
            if not self._store.read(_configured_buckets):
                return
            # No event loop yet (not serving): armed by the next configuration change.
            with contextlib.suppress(RuntimeError):
                self._lifecycle_timer = self.env.clock.call_later(TICK, self._lifecycle_tick)

    async def _lifecycle_tick(self) -> None:
        with self._lifecycle_lock:
            self._lifecycle_timer = None
        try:
            buckets = await self._store.aread(_configured_buckets)
            for bucket in buckets:  # one transaction per bucket
                apply = functools.partial(self._apply_bucket, name=bucket.name)
                try:
                    await self._store.awrite(apply)
                except Exception:  # a bad bucket must not stop the others; retried next tick
                    log.exception("lifecycle pass failed for bucket %s", bucket.name)
        except Exception:
            log.exception("lifecycle pass failed")
        self._lifecycle_changed()

    def _apply_bucket(self, conn: sqlite3.Connection, name: str) -> int:
        """Apply one bucket's rules as of now; returns how many changes it made."""
        bucket = store.get_bucket(conn, name)
        if bucket is None:
            return 0
        rules = lifecycle.enabled_rules(bucket)
        if not rules:
            return 0
        now = self._now()
        min_size = (bucket.config.get(CONFIG_KEY) or {}).get("TransitionDefaultMinimumObjectSize")
        small_ok = min_size == "varies_by_storage_class"
        changes = 0
        versions = list(store.iter_versions(conn, bucket.name))
        for _, group in itertools.groupby(versions, key=lambda v: v.key):
            changes += self._apply_key(conn, bucket, rules, list(group), now, small_ok)
        return changes + self._abort_uploads(conn, bucket, rules, now)

    def _apply_key(
        self,
        conn: sqlite3.Connection,
        bucket: Bucket,
        rules: list[dict[str, Any]],
        versions: list[ObjectVersion],
        now: float,
        small_ok: bool,
    ) -> int:
        changes = 0
        current = versions[0] if versions[0].is_latest else None
        # Noncurrent versions first, on the snapshot: a version made noncurrent by this pass
        # became noncurrent now, so nothing noncurrent applies to it yet.
        noncurrent = [v for v in versions if not v.is_latest]
        newer = versions[0] if current is not None else None
        for index, obj in enumerate(noncurrent):
            became = newer.last_modified if newer is not None else obj.last_modified
            newer = obj
            changes += self._apply_noncurrent(
                conn, bucket, rules, obj, index, became, now, small_ok
            )
        if current is None:
            return changes
        if current.delete_marker:
            alone = len(versions) == 1
            if alone and any(
                matches(r, current)
                and (
                    (r.get("Expiration") or {}).get("ExpiredObjectDeleteMarker") is True
                    or "Days" in (r.get("Expiration") or {})
                )
                for r in rules
            ):
                store.delete_version(conn, self._store, current)
                self._lifecycle_event(conn, bucket, "LifecycleExpiration:Delete", current, now)
                changes += 1
            return changes
        matching = [r for r in rules if matches(r, current)]
        for rule in matching:
            due = lifecycle.expiration_due(rule, current)
            if due is not None and due <= now:
                if not bucket.versioned and locked(current, now, bypass=False):
                    continue
                marker = store.delete_key(
                    conn, self._store, bucket, current.key, now, bucket.account_id
                )
                if marker is None:
                    event, subject = "LifecycleExpiration:Delete", current
                else:
                    event, subject = "LifecycleExpiration:DeleteMarkerCreated", marker
                self._lifecycle_event(conn, bucket, event, subject, now)
                return changes + 1
        if current.size < SMALL_OBJECT and not small_ok:
            return changes
        transitions = [t for r in matching for t in r.get("Transitions") or []]
        target = _transition_target(transitions, current, current.last_modified, now, "Days")
        if target is not None:
            current.storage_class = target
            current.meta.pop("restore", None)
            store.update_object_meta(conn, current)
            self._lifecycle_event(conn, bucket, "LifecycleTransition", current, now)
            changes += 1
        return changes

    def _apply_noncurrent(
        self,
        conn: sqlite3.Connection,
        bucket: Bucket,
        rules: list[dict[str, Any]],
        obj: ObjectVersion,
        index: int,
        became: float,
        now: float,
        small_ok: bool,
    ) -> int:
        """``index``: how many noncurrent versions of the key are newer than ``obj``."""
        for rule in rules:
            if not matches(rule, obj):
                continue
            action = rule.get("NoncurrentVersionExpiration")
            if not action:
                continue
            if index < int(action.get("NewerNoncurrentVersions") or 0):
                continue
            if due_at(became, int(action["NoncurrentDays"])) <= now:
                if locked(obj, now, bypass=False):
                    continue
                store.delete_version(conn, self._store, obj)
                self._lifecycle_event(conn, bucket, "LifecycleExpiration:Delete", obj, now)
                return 1
        if obj.delete_marker or (obj.size < SMALL_OBJECT and not small_ok):
            return 0
        transitions = [
            t
            for r in rules
            if matches(r, obj)
            for t in r.get("NoncurrentVersionTransitions") or []
            if index >= int(t.get("NewerNoncurrentVersions") or 0)
        ]
        target = _transition_target(transitions, obj, became, now, "NoncurrentDays")
        if target is None:
            return 0
        obj.storage_class = target
        store.update_object_meta(conn, obj)
        self._lifecycle_event(conn, bucket, "LifecycleTransition", obj, now)
        return 1

    def _lifecycle_event(
        self,
        conn: sqlite3.Connection,
        bucket: Bucket,
        event_name: str,
        obj: ObjectVersion,
        now: float,
    ) -> None:
        """Event notifications for the worker's changes (no request: S3 acts on its own)."""
        object_event(None, conn, self.env, bucket, obj.key, event_name, obj, now=now)

    def _abort_uploads(
        self, conn: sqlite3.Connection, bucket: Bucket, rules: list[dict[str, Any]], now: float
    ) -> int:
        aborting = [r for r in rules if r.get("AbortIncompleteMultipartUpload")]
        if not aborting:
            return 0
        changes = 0
        for upload in store.list_uploads(conn, bucket.name, limit=1 << 30):
            probe = ObjectVersion(
                bucket=bucket.name, key=upload.key, version_id="", last_modified=0
            )
            for rule in aborting:
                days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
                if matches(rule, probe) and due_at(upload.initiated, days) <= now:
                    store.delete_upload(conn, self._store, upload.upload_id, keep=set())
                    changes += 1
                    break
        return changes
