"""A server of its own for the S3 tests that move the clock (restore, lifecycle, Object Lock),
so days passing there do not expire anything the session server's other tests hold."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from overcast.testing import ServerProcess
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def clock_server() -> Iterator[ServerProcess]:
    proc = ServerProcess().start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def s3c(clock_server: ServerProcess) -> Any:
    return clock_server.client("s3")


def advance(server: ServerProcess, seconds: float) -> None:
    response = requests.post(
        server.endpoint + "/_overcast/clock", json={"advance": seconds}, timeout=10
    )
    response.raise_for_status()


def now(server: ServerProcess) -> float:
    return float(requests.get(server.endpoint + "/_overcast/clock", timeout=10).json()["now"])


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Background work (the lifecycle worker) runs just after the clock moves: poll for it."""
    wait_until(check, timeout, what="background work")
