"""Review of the upload lanes (``body_lanes.py``, ``body.receive``): ordering under load, more
uploads than the pool has threads, and that a failing or cancelled upload leaves no temp file."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.services.s3 import body as bodies
from overcast.services.s3.body_lanes import LANE_THREADS
from overcast.services.s3.errors import EntityTooLarge, IncompleteBody
from overcast.state import Store

MiB = 1 << 20


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(tmp_path / "data")
    yield st
    st.close()


@pytest.fixture(autouse=True)
def two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "_cpus_available", lambda: 2)  # the lanes' path


class _Stream:
    """Pieces of ``data``; raises ``fail`` after ``fail_after`` bytes when given."""

    def __init__(
        self,
        data: bytes,
        size: int = 65_536,
        fail: BaseException | None = None,
        fail_after: int = 0,
    ) -> None:
        self._data, self._size, self._fail, self._fail_after = data, size, fail, fail_after

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._pieces()

    async def _pieces(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self._data), self._size):
            if self._fail is not None and i >= self._fail_after:
                raise self._fail
            yield self._data[i : i + self._size]
            await asyncio.sleep(0)


def _tmp_files(store: Store) -> list[str]:
    root = store.blobs._root
    assert root is not None
    return sorted(p.name for p in (root / "tmp").iterdir())


def _until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class _Gate:
    """Blocks ``_Stages.store`` on its ``nth`` call (the first writes: the temp file exists)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, nth: int = 2) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = bodies._Stages.store
        calls = 0

        def store(stages: Any, chunks: list[bytes]) -> None:
            nonlocal calls
            calls += 1
            if calls == nth:
                self.entered.set()
                self.release.wait(10)
            original(stages, chunks)

        monkeypatch.setattr(bodies._Stages, "store", store)


# -- ordering and load --------------------------------------------------------------------------


def test_more_concurrent_uploads_than_lane_threads_all_complete_intact(store: Store) -> None:
    """12 uploads, 24 lanes, 8 threads: a lane holds a thread only while it has work."""
    count = LANE_THREADS + 4
    bodies_in = [os.urandom(3 * MiB + 17 * i) for i in range(count)]

    async def run() -> list[bodies.ReceivedBody]:
        return await asyncio.wait_for(
            asyncio.gather(*(bodies.receive(store, _Stream(data)) for data in bodies_in)), 60
        )

    received = asyncio.run(run())
    for data, got in zip(bodies_in, received, strict=True):
        assert got.md5_hex == hashlib.md5(data).hexdigest()
        with store.blobs.open(got.blob.id) as handle:
            assert handle.read() == data
    assert _tmp_files(store) == []


@pytest.mark.parametrize("size", [bodies.BATCH, 2 * bodies.BATCH, 2 * bodies.BATCH + 1])
def test_a_body_ending_on_a_batch_boundary_is_whole(store: Store, size: int) -> None:
    data = os.urandom(size)
    got = asyncio.run(bodies.receive(store, _Stream(data, size=bodies.BATCH), content_length=size))
    assert got.md5_hex == hashlib.md5(data).hexdigest()
    with store.blobs.open(got.blob.id) as handle:
        assert handle.read() == data


# -- failures: the temp file goes ----------------------------------------------------------------


def test_entity_too_large_on_the_lanes_path_leaves_no_temp_file(store: Store) -> None:
    data = os.urandom(5 * MiB)
    with pytest.raises(EntityTooLarge):
        asyncio.run(bodies.receive(store, _Stream(data), max_size=4 * MiB))
    assert _tmp_files(store) == []


def test_incomplete_body_on_the_lanes_path_leaves_nothing(store: Store) -> None:
    data = os.urandom(3 * MiB)
    with pytest.raises(IncompleteBody):
        asyncio.run(bodies.receive(store, _Stream(data), content_length=4 * MiB))
    assert _tmp_files(store) == []


def test_a_write_failing_mid_upload_is_raised_and_leaves_no_temp_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = bodies._Stages.store
    calls = 0

    def store_job(stages: Any, chunks: list[bytes]) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OSError(28, "No space left on device")
        original(stages, chunks)

    monkeypatch.setattr(bodies._Stages, "store", store_job)
    with pytest.raises(OSError, match="No space left"):
        asyncio.run(bodies.receive(store, _Stream(os.urandom(8 * MiB))))
    assert _tmp_files(store) == []


def test_a_client_gone_while_a_lane_writes_leaves_no_temp_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(monkeypatch)

    class Gone(Exception):
        pass

    async def run() -> None:
        task = asyncio.ensure_future(
            bodies.receive(store, _Stream(os.urandom(8 * MiB), fail=Gone(), fail_after=3 * MiB))
        )
        while not gate.entered.is_set() and not task.done():  # the failure may come first
            await asyncio.sleep(0.005)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, gate.release.set)
        with pytest.raises(Gone):
            await task

    asyncio.run(run())
    gate.release.set()
    assert _until(lambda: _tmp_files(store) == [], 2), _tmp_files(store)


def test_an_upload_cancelled_while_a_lane_writes_leaves_no_temp_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = _Gate(monkeypatch)

    async def run() -> None:
        task = asyncio.ensure_future(bodies.receive(store, _Stream(os.urandom(8 * MiB))))
        while not gate.entered.is_set() and not task.done():  # the failure may come first
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert _tmp_files(store) != []  # the lane still holds the file: not deleted under it
        gate.release.set()
        while _tmp_files(store):  # aborted by the lane's thread once idle
            await asyncio.sleep(0.01)

    asyncio.run(asyncio.wait_for(run(), 10))


# -- cancels during cleanup, and the loop closing first (both leaked the temp file) --------------


def test_an_upload_cancelled_while_its_failure_waits_for_the_lanes_leaves_no_temp_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body fails (client gone) while a lane writes; ``receive`` awaits ``stopped()``; the
    request is cancelled then (server shutdown, a timeout around the handler)."""
    gate = _Gate(monkeypatch)

    class Gone(Exception):
        pass

    async def run() -> None:
        task = asyncio.ensure_future(
            bodies.receive(store, _Stream(os.urandom(8 * MiB), fail=Gone(), fail_after=3 * MiB))
        )
        while not gate.entered.is_set() and not task.done():  # the failure may come first
            await asyncio.sleep(0.005)
        for _ in range(20):  # the stream fails; receive now waits in lanes[...].stopped()
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises((asyncio.CancelledError, Gone)):
            await task
        gate.release.set()
        deadline = asyncio.get_running_loop().time() + 2
        while _tmp_files(store) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert _tmp_files(store) == []


def test_a_cancelled_upload_is_aborted_even_when_the_loop_closed_first(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown: the upload task is cancelled while a lane writes, then the loop closes before
    the lane finishes. The lane's thread must still abort the blob writer."""
    gate = _Gate(monkeypatch)

    async def run() -> None:
        task = asyncio.ensure_future(bodies.receive(store, _Stream(os.urandom(8 * MiB))))
        while not gate.entered.is_set() and not task.done():  # the failure may come first
            await asyncio.sleep(0.005)
        for _ in range(20):  # receive is parked in a lane's _wait (push or drain)
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())  # closes the loop
    gate.release.set()
    assert _until(lambda: _tmp_files(store) == [], 2), _tmp_files(store)
