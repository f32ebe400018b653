"""Shared fixtures: a real Overcast server on a free port, and boto3 clients bound to it.

- ``server``: one ephemeral server for the whole session (state is shared: use unique names).
- ``disk_server``: a server on a fresh data directory, per test, that the test may stop, kill
  (SIGKILL) and start again on the same directory.
- ``client``: ``client("sqs")`` gives a boto3 client for the session server.

Tests may advance the session server's clock; it is set back to real time after each of them, so
that a later test's signed or presigned requests are not taken for expired ones.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.testing import ServerProcess

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("server") / "overcast.log"
    proc = ServerProcess(log_file=log).start()
    yield proc
    proc.stop()


@pytest.fixture(autouse=True)
def _real_time_on_the_session_server(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    server = getattr(request.node, "funcargs", {}).get("server")
    if not isinstance(server, ServerProcess):  # not the session server (or a parameter so named)
        return
    endpoint = server.endpoint + "/_overcast/clock"
    with urllib.request.urlopen(endpoint, timeout=10) as answer:
        clock = json.load(answer)
    if abs(clock["offset"]) > 1:
        body = json.dumps({"set": time.time()}).encode()
        urllib.request.urlopen(urllib.request.Request(endpoint, data=body), timeout=10).close()


@pytest.fixture
def disk_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "data", log_file=tmp_path / "overcast.log").start()
    yield proc
    proc.kill()


@pytest.fixture
def client(server: ServerProcess) -> Callable[..., Any]:
    return server.client
