"""``maxReceivesPerSecond``: at most N deliveries to a subscription in any second (on the Clock).

In memory only: a window of one second matters only for the next second, so a restart that
forgets it lets at most one extra second's worth through.
"""

from __future__ import annotations

import threading
from collections import deque

WINDOW = 1.0


class Throttle:
    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, rate: int, now: float) -> float:
        """0 and the delivery counted if ``key`` may receive one more at ``now``; otherwise the
        seconds until a slot frees (nothing counted)."""
        with self._lock:
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - WINDOW:
                sent.popleft()
            if len(sent) < rate:
                sent.append(now)
                return 0.0
            return sent[0] + WINDOW - now

    def forget(self) -> None:
        with self._lock:
            self._sent.clear()
