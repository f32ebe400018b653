"""Waiting for a server's background work in tests: poll a condition until a deadline.

A fixed ``time.sleep`` is either too short on a loaded machine (a flaky test) or too long
everywhere else (a slow suite); polling returns as soon as the work is done and fails with a
message when it never is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, *, interval: float = 0.02, what: str = ""
) -> T:
    """The first truthy value ``predicate`` returns; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or predicate}")
        time.sleep(interval)
