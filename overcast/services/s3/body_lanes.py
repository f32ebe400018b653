"""Ordered lanes: one job applied to a stream of batches, in order, on worker threads.

An upload's batches go through two jobs (digest; encrypt and write), each in its own lane. A
lane queues the batches it is given and works through them back to back on one pool thread at
a time, so the costliest job (MD5) never waits for the event loop to hand it the next batch:
the loop only waits when a lane holds ``depth`` batches (memory stays bounded). Jobs release
the GIL (hashlib, the cipher, file writes), so the lanes run beside the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Threads of the lanes' own pool: two lanes for each of four large uploads in flight. Not the
# loop's default executor, whose threads may wait on the network (SNS deliveries, events).
LANE_THREADS = 8


@functools.cache
def lane_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(LANE_THREADS, thread_name_prefix="overcast-body")


class Lane:
    """``job(batch)`` for each pushed batch, in push order, off the event loop."""

    def __init__(self, job: Callable[[Any], None], depth: int = 3) -> None:
        self._job = job
        self._depth = depth
        self._loop = asyncio.get_running_loop()
        self._lock = threading.Lock()
        self._queue: collections.deque[Any] = collections.deque()
        self._held = 0  # batches queued or being worked on
        self._running = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._on_idle: list[Callable[[], None]] = []

    async def push(self, batch: Any) -> None:
        """Queue ``batch``, first waiting while the lane holds ``depth`` batches."""
        await self._wait(self._depth - 1)
        with self._lock:
            self._queue.append(batch)
            self._held += 1
            if self._running:
                return
            self._running = True
        lane_pool().submit(self._work)

    async def drain(self) -> None:
        """Until every pushed batch is done; the job's first failure is raised here."""
        await self._wait(0)

    def stop(self, then: Callable[[], None]) -> None:
        """Drop the batches not started; ``then()`` once the one in progress (if any) is done,
        on whichever thread finishes it (now, when the lane is idle)."""
        with self._lock:
            self._held -= len(self._queue)
            self._queue.clear()
            if self._running:
                self._on_idle.append(then)
                return
        then()

    async def stopped(self) -> None:
        """``stop`` for a caller that may wait: until the batch in progress is done (a failure
        of the job is not raised: the caller is already failing)."""
        with self._lock:
            self._held -= len(self._queue)
            self._queue.clear()
        await self._wait(0, raise_error=False)

    async def _wait(self, most: int, *, raise_error: bool = True) -> None:
        while True:
            with self._lock:
                if raise_error and self._error is not None:
                    raise self._error
                if self._held <= most:
                    return
                waiter = self._waiter = self._loop.create_future()
            # Shielded: a cancelled upload stops its lanes itself (``stop``).
            await asyncio.shield(waiter)

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue or self._error is not None:
                    self._running = False
                    callbacks, self._on_idle = self._on_idle, []
                    break
                batch = self._queue.popleft()
            try:
                self._job(batch)
            except BaseException as exc:  # reported to the loop at its next wait
                with self._lock:
                    self._error = exc
                    self._held -= 1 + len(self._queue)
                    self._queue.clear()
            else:
                with self._lock:
                    self._held -= 1
            self._wake()
        self._wake()
        for callback in callbacks:
            callback()

    def _wake(self) -> None:
        with self._lock:
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            # RuntimeError: the loop closed (shutdown), nobody waits any more.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
