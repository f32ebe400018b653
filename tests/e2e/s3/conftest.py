"""Fixtures of the S3 access-control tests: a server that knows a second account's key, and
clients for both accounts (module-scoped: tests use unique bucket names)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import ACCOUNT, KEY, SECRET


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[ServerProcess]:
    proc = ServerProcess(extra_args=["--credentials", f"{KEY}:{SECRET}:{ACCOUNT}"]).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def s3(keyed_server: ServerProcess) -> Any:
    """The default account (000000000000): owns the buckets."""
    return keyed_server.client("s3")


@pytest.fixture(scope="module")
def other(keyed_server: ServerProcess) -> Any:
    """A second account, verified with its own key."""
    return keyed_server.client("s3", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
