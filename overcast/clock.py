"""The one clock every time-based behaviour reads: real time plus an offset, optionally frozen.

Nothing else in Overcast calls ``time.time()``: expiry, retention, TTLs, rotation schedules,
visibility timeouts and retry backoffs all use ``Clock.now()``, ``Clock.sleep`` and
``Clock.call_at``, so tests (and the ``/_overcast/clock`` endpoint) can ``set``, ``advance`` or
``freeze`` time and watch a day pass in a millisecond. When the clock moves past a deadline,
sleepers wake and timers fire at once, not when the real time comes.

The offset and frozen instant are persisted through the Store (table ``_overcast_clock``, kept by
``Store.reset``), so a restarted server keeps its simulated time; ``Clock()`` without a store
works the same, in memory.

Timers run on the asyncio event loop that created them (or the one passed to ``start``); they may
be created, and the clock moved, from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overcast.state import Store

log = logging.getLogger("overcast.clock")

TABLE = "_overcast_clock"
MIGRATIONS = [
    f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, offset_seconds REAL NOT NULL, frozen_at REAL)"
]


def _real_time() -> float:
    """The host's wall clock: the project's only call to ``time.time``."""
    return time.time()


class Timer:
    """A callback scheduled on the clock; ``cancel()`` stops it if it has not fired yet."""

    __slots__ = ("_clock", "callback", "cancelled", "fired", "when")

    def __init__(self, clock: Clock, when: float, callback: Callable[[], Any]) -> None:
        self._clock = clock
        self.when = when
        self.callback = callback
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        if not self.cancelled and not self.fired:
            self.cancelled = True
            self._clock._note_cancelled()

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Timer at {self.when:.3f}{state} {self.callback!r}>"


class Clock:
    """Controllable time; see the module docstring."""

    def __init__(self, store: Store | None = None, *, frozen: bool = False) -> None:
        self._store = store
        self._offset = 0.0
        self._frozen_at: float | None = None
        self._lock = threading.Lock()  # guards the heap
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cancelled = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        if store is not None:
            store.migrate("overcast.clock", MIGRATIONS)
            store.keep_on_reset.add(TABLE)
            row = store.read(
                lambda c: c.execute(
                    f"SELECT offset_seconds, frozen_at FROM {TABLE} WHERE id = 1"
                ).fetchone()
            )
            if row is not None:
                self._offset, self._frozen_at = float(row[0]), row[1]
        if frozen and self._frozen_at is None:
            self._frozen_at = self.now()

    # -- reading the time ------------------------------------------------------------------------

    def now(self) -> float:
        """Current time in epoch seconds."""
        frozen = self._frozen_at
        return frozen if frozen is not None else _real_time() + self._offset

    def now_datetime(self) -> datetime:
        """Current time as an aware UTC ``datetime``."""
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def offset(self) -> float:
        """Seconds the clock is ahead of real time (negative: behind)."""
        frozen = self._frozen_at
        return self._offset if frozen is None else frozen - _real_time()

    @property
    def frozen(self) -> bool:
        """Whether time stands still until ``set``/``advance``/``unfreeze``."""
        return self._frozen_at is not None

    def describe(self) -> dict[str, Any]:
        """State for the ``/_overcast/clock`` endpoint."""
        now = self.now()
        iso = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
        return {"now": now, "iso": iso, "offset": self.offset, "frozen": self.frozen}

    # -- moving the time -------------------------------------------------------------------------

    def set(self, epoch: float) -> None:
        """Jump to ``epoch`` (forwards or backwards); due timers fire."""
        if self._frozen_at is not None:
            self._frozen_at = float(epoch)
        else:
            self._offset = float(epoch) - _real_time()
        self._changed()

    def advance(self, seconds: float) -> None:
        """Move by ``seconds`` (negative moves back, firing nothing); due timers fire."""
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds
        self._changed()

    def freeze(self, at: float | None = None) -> None:
        """Stop time at ``at`` (default: now)."""
        self._frozen_at = self.now() if at is None else float(at)
        self._changed()

    def unfreeze(self) -> None:
        """Let time run again from the frozen instant."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - _real_time()
            self._frozen_at = None
            self._changed()

    def _changed(self) -> None:
        self._persist()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if _running_loop() is loop:
            self._fire_due()  # synchronously: callbacks have run when advance() returns
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._fire_due)

    def _persist(self) -> None:
        store = self._store
        if store is None:
            return
        from overcast.state import dialect

        sql = dialect.upsert_sql(TABLE, ["id", "offset_seconds", "frozen_at"], ["id"])
        params = (1, self._offset, self._frozen_at)
        store.write(lambda c: c.execute(sql, params))

    # -- waiting ---------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of clock time (ends early if the clock is moved past the end)."""
        await self.wait_until(self.now() + max(0.0, seconds))

    async def wait_until(self, when: float) -> None:
        """Return once the clock reaches ``when``."""
        if self.now() >= when:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self.call_at(when, wake)
        try:
            await future
        finally:
            timer.cancel()

    def call_later(self, delay: float, callback: Callable[[], Any]) -> Timer:
        """``call_at(now() + delay, callback)``."""
        return self.call_at(self.now() + delay, callback)

    def call_at(self, when: float, callback: Callable[[], Any]) -> Timer:
        """Run ``callback()`` on the event loop once the clock reaches ``when``.

        A callback returning an awaitable is run as a task. Safe to call from any thread once
        the clock knows its loop (first call from a running loop, or ``start``).
        """
        running = _running_loop()
        if running is not None and running is not self._loop:
            self._bind(running)
        loop = self._loop
        if loop is None:
            raise RuntimeError("clock timers need an event loop: await clock.start() first")
        timer = Timer(self, when, callback)
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._seq), timer))
            earliest = self._heap[0][2] is timer
        if earliest:
            if running is loop:
                self._arm()
            else:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._arm)
        return timer

    async def start(self) -> None:
        """Bind timers to the running loop (the gateway calls this at startup)."""
        self._bind(asyncio.get_running_loop())
        self._arm()

    async def stop(self) -> None:
        """Stop the real-time wake-up; pending timers stay pending (they do not fire)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        for task in list(self._tasks):
            task.cancel()

    # -- timer machinery (all on the loop thread) ------------------------------------------------

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        # A new loop (e.g. successive asyncio.run calls in tests): the old one's handle is moot.
        self._loop = loop
        self._handle = None

    def _arm(self) -> None:
        """Schedule a real-time wake-up for the earliest timer (none while frozen)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        loop = self._loop
        with self._lock:
            when = self._heap[0][0] if self._heap else None
        if loop is None or when is None:
            return
        delay = when - self.now()
        if delay <= 0:
            self._handle = loop.call_soon(self._fire_due)
        elif self._frozen_at is None:
            # The loop's monotonic timer may drift from the wall clock; _fire_due re-checks.
            self._handle = loop.call_later(delay, self._fire_due)

    def _fire_due(self) -> None:
        now = self.now()
        due: list[Timer] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                timer = heapq.heappop(self._heap)[2]
                if timer.cancelled:
                    self._cancelled -= 1
                else:
                    timer.fired = True
                    due.append(timer)
        for timer in due:
            self._run(timer)
        self._arm()

    def _run(self, timer: Timer) -> None:
        try:
            result = timer.callback()
        except Exception:
            log.exception("clock timer %r failed", timer)
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _note_cancelled(self) -> None:
        with self._lock:
            self._cancelled += 1
            # Cancelled timers are dropped lazily; compact when they dominate the heap.
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [e for e in self._heap if not e[2].cancelled]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def __repr__(self) -> str:
        return f"<Clock {self.describe()['iso']} offset={self.offset:+.3f}s frozen={self.frozen}>"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
