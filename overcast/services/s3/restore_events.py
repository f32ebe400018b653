"""``s3:ObjectRestore:Completed`` events: a restore becomes readable at a time fixed when it is
requested (``restore.py`` stores ``meta["restore"]["ready"]``), with no request then to emit the
event. This watcher notes each requested restore of a bucket that has notifications (it hears the
``ObjectRestore:Post`` event) in ``s3_restore_watch``, and a clock timer at the earliest ready
time emits the Completed event through ``object_event`` (re-armed at startup, so a restart keeps
the watch).
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from overcast import events
from overcast.clock import Timer
from overcast.events import Event
from overcast.services.base import ServiceEnv
from overcast.services.s3 import store
from overcast.services.s3.common import S3Base
from overcast.services.s3.event_records import iso
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import NULL_VERSION

NAMESPACE = "s3.restore_events"
MIGRATIONS = [
    """
    CREATE TABLE s3_restore_watch (
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        version_id TEXT NOT NULL,
        due REAL NOT NULL,
        PRIMARY KEY (bucket, key, version_id)
    );
    CREATE INDEX s3_restore_watch_due ON s3_restore_watch (due);
    """,
]
SUBSCRIBER = "s3.restore-events"


class RestoreEvents(S3Base):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        env.store.migrate(NAMESPACE, MIGRATIONS)
        self._restore_timer: Timer | None = None
        self._restore_tasks: set[asyncio.Task[Any]] = set()
        env.events.subscribe(events.S3_OBJECT_CHANGED, self._on_restore_requested, name=SUBSCRIBER)
        self._arm_restore_watch()

    async def _on_restore_requested(self, event: Event) -> None:
        p = event.payload
        if p["event_name"] != "ObjectRestore:Post":
            return
        version_id = p.get("version_id") or NULL_VERSION

        def note(conn: sqlite3.Connection) -> None:
            obj = store.get_version(conn, p["bucket"], p["key"], version_id)
            restore = obj.meta.get("restore") if obj is not None else None
            if restore:
                conn.execute(
                    "INSERT OR REPLACE INTO s3_restore_watch VALUES (?, ?, ?, ?)",
                    (p["bucket"], p["key"], version_id, restore["ready"]),
                )

        await self._store.awrite(note)
        self._arm_restore_watch(rearm=True)

    def _arm_restore_watch(self, *, rearm: bool = False) -> None:
        due = self._store.read(
            lambda c: c.execute("SELECT MIN(due) FROM s3_restore_watch").fetchone()[0]
        )
        if self._restore_timer is not None:
            if not rearm and due is not None and self._restore_timer.when <= due:
                return
            self._restore_timer.cancel()
            self._restore_timer = None
        if due is not None:
            self._restore_timer = self.env.clock.call_at(due, self._restores_due)

    def _restores_due(self) -> None:
        self._restore_timer = None
        task = asyncio.get_running_loop().create_task(self._complete_restores())
        self._restore_tasks.add(task)
        task.add_done_callback(self._restore_tasks.discard)

    async def _complete_restores(self) -> None:
        now = self._now()

        def complete(conn: sqlite3.Connection) -> None:
            rows = conn.execute(
                "SELECT bucket, key, version_id, due FROM s3_restore_watch WHERE due <= ?",
                (now,),
            ).fetchall()
            for name, key, version_id, due in rows:
                conn.execute(
                    "DELETE FROM s3_restore_watch WHERE bucket = ? AND key = ? AND version_id = ?",
                    (name, key, version_id),
                )
                bucket = store.get_bucket(conn, name)
                obj = store.get_version(conn, name, key, version_id)
                restore = obj.meta.get("restore") if obj is not None else None
                if bucket is None or obj is None or not restore or restore["ready"] != due:
                    continue  # gone, or restored again meanwhile (that restore has its own row)
                data = {
                    "restoreEventData": {
                        "lifecycleRestorationExpiryTime": iso(restore["expiry"]),
                        "lifecycleRestoreStorageClass": obj.storage_class,
                    }
                }
                object_event(
                    None, conn, self.env, bucket, key, "ObjectRestore:Completed", obj,
                    now=due, extra={"glacierEventData": data},
                )  # fmt: skip

        await self._store.awrite(complete)
        self._arm_restore_watch(rearm=True)
