"""Fixtures: a store per test, ephemeral and on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.state import Store


@pytest.fixture(params=["ephemeral", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store.open(None if request.param == "ephemeral" else tmp_path / "data")
    yield s
    s.close()


@pytest.fixture
def disk_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
