"""pytest plugin (entry point ``pytest11``): Overcast for a project's own test suite.

Fixtures, all prefixed ``overcast`` so they never clash with a project's own:

- ``overcast`` (session): a :class:`overcast.testing.Cloud`, an ephemeral server on a free port
  started on first use and stopped at the end of the session, or the server at ``--overcast-url``
  / ``OVERCAST_URL`` (never started nor stopped by the plugin). ``overcast.endpoint``,
  ``overcast.client("s3")``, ``overcast.reset()``.
- ``overcast_reset``: the same cloud, its state wiped before the test (or mark the test
  ``@pytest.mark.overcast_reset``).
- ``overcast_env``: the same cloud, with ``AWS_ENDPOINT_URL``, dummy ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY`` and ``AWS_DEFAULT_REGION`` set for the test (monkeypatch), so code
  that builds its own clients talks to Overcast.

Nothing starts unless a test uses one of them. Under pytest-xdist every worker is its own session,
so each gets its own server (state never leaks between workers; startup is under a second).
``overcast_args`` in the ini file adds ``overcast start`` flags (``--moto-compat``...).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from overcast.testing import AWS_HIDDEN, Cloud, aws_variables


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("overcast", "Overcast, the local AWS cloud")
    group.addoption(
        "--overcast-url",
        default=None,
        help="use the Overcast server at this URL instead of starting one (also OVERCAST_URL)",
    )
    parser.addini("overcast_args", type="args", help="extra `overcast start` flags", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "overcast_reset: wipe all Overcast state before this test (needs `overcast`)"
    )


@pytest.fixture(scope="session")
def overcast(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cloud]:
    """One Overcast for the session (per xdist worker): started here, or ``--overcast-url``."""
    url = request.config.getoption("overcast_url") or os.environ.get("OVERCAST_URL")
    if url:
        cloud = Cloud(url, set_env=False)
    else:
        log = tmp_path_factory.mktemp("overcast") / "overcast.log"
        args = request.config.getini("overcast_args")
        cloud = Cloud(set_env=False, extra_args=args, log_file=log)
    with cloud:
        yield cloud


@pytest.fixture
def overcast_reset(overcast: Cloud) -> Cloud:
    """The session's Overcast with all its state wiped first."""
    overcast.reset()
    return overcast


@pytest.fixture
def overcast_env(overcast: Cloud, monkeypatch: pytest.MonkeyPatch) -> Cloud:
    """The session's Overcast, with the AWS SDKs pointed at it for this test."""
    for name, value in aws_variables(overcast.endpoint, overcast.region).items():
        monkeypatch.setenv(name, value)
    for name in AWS_HIDDEN:
        monkeypatch.delenv(name, raising=False)
    return overcast


@pytest.fixture(autouse=True)
def _overcast_reset_marker(request: pytest.FixtureRequest) -> None:
    # Only a marked test touches Overcast here: unmarked ones never start a server.
    if request.node.get_closest_marker("overcast_reset") is not None:
        request.getfixturevalue("overcast").reset()
