"""Running a Select in a worker thread while the response streams: the thread puts chunks of
output on a bounded queue (so a slow client holds the work back instead of memory filling up),
the event-stream generator takes them off; closing the generator (the client went away) stops
the thread at its next chunk."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

DEPTH = 4  # chunks waiting between the thread and the response


class Cancelled(Exception):
    """The consumer is gone: the producer stops."""


class Producer:
    """``work(emit)`` runs in a daemon thread; ``emit(kind, value)`` hands one item over."""

    def __init__(self, work: Callable[[Callable[[str, Any], None]], None]) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=DEPTH)
        self._cancelled = threading.Event()
        self._work = work
        self._thread = threading.Thread(target=self._run, name="s3-select", daemon=True)
        self._thread.start()

    def _emit(self, kind: str, value: Any) -> None:
        while not self._cancelled.is_set():
            try:
                self._queue.put((kind, value), timeout=0.5)
                return
            except queue.Full:
                continue
        raise Cancelled()

    def _run(self) -> None:
        try:
            self._work(self._emit)
        except Cancelled:
            return
        except BaseException as exc:  # handed to the consumer, which raises it
            try:
                self._emit("error", exc)
            except Cancelled:
                return

    async def next(self) -> tuple[str, Any]:
        return await asyncio.to_thread(self._queue.get)

    def cancel(self) -> None:
        self._cancelled.set()
