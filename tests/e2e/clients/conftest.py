"""Clients other than boto3 against a live server: environment for their processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from overcast.testing import ServerProcess, aws_variables

DOCS = Path(__file__).resolve().parents[3] / "docs" / "clients.md"


@pytest.fixture
def aws_env(server: ServerProcess) -> dict[str, str]:
    """The environment a user sets for their tools (AWS_ENDPOINT_URL and dummy keys), nothing
    of the caller's AWS configuration."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OVERCAST_"))}
    return {**base, **aws_variables(server.endpoint)}


def documented(snippet: str) -> str:
    """``snippet`` as docs/clients.md shows it (port 4566 on localhost); fails when the page
    lost it, so the page only shows lines these tests run."""
    text = DOCS.read_text()
    assert snippet in text, f"docs/clients.md no longer shows: {snippet}"
    return snippet


def on(server: ServerProcess, snippet: str) -> str:
    """A documented snippet as a user runs it, on the test server's port instead of 4566."""
    return snippet.replace("localhost:4566", f"localhost:{server.port}")
