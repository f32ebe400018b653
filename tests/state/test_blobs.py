"""Blob store: put/iter/ranges/concat/delete, link/unlink, crash safety and garbage collection."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from overcast.state import Blob, BlobNotFound, Store
from overcast.state import blobs as blobs_module


async def chunks(*parts: bytes, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for i, part in enumerate(parts):
        if fail_after is not None and i == fail_after:
            raise ConnectionResetError("client went away")
        yield part
        await asyncio.sleep(0)


async def collect(it: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in it])


def blob_files(store: Store) -> list[Path]:
    assert store.path is not None
    return [p for p in (store.path / "blobs").rglob("*") if p.is_file()]


def test_put_stream_and_read_back(store: Store) -> None:
    md5 = hashlib.md5()

    async def main() -> tuple[Blob, bytes, bytes, bytes]:
        blob = await store.blobs.put(chunks(b"hello ", b"", b"world"), on_chunk=md5.update)
        whole = await collect(store.blobs.iter(blob.id))
        part = await collect(store.blobs.iter(blob.id, 2, 7, chunk=2))
        tail = await collect(store.blobs.iter(blob.id, 6))
        return blob, whole, part, tail

    blob, whole, part, tail = asyncio.run(main())
    assert blob.size == 11 and whole == b"hello world"
    assert part == b"llo w" and tail == b"world"
    assert md5.hexdigest() == hashlib.md5(b"hello world").hexdigest()
    with store.blobs.open(blob.id) as f:
        f.seek(6)
        assert f.read(3) == b"wor"
    assert store.blobs.size(blob.id) == 11


def test_empty_blob(store: Store) -> None:
    blob = store.blobs.put_bytes(b"")
    assert blob.size == 0 and store.blobs.open(blob.id).read() == b""


def test_large_blob_spills_and_streams(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs_module, "SPILL_BYTES", 1000)
    data = os.urandom(300_000)

    async def main() -> bytes:
        parts = [data[i : i + 65536] for i in range(0, len(data), 65536)]
        blob = await store.blobs.put(chunks(*parts))
        return await collect(store.blobs.iter(blob.id, chunk=100_000))

    assert asyncio.run(main()) == data


def test_concat(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs_module, "SPILL_BYTES", 1000)
    parts = [os.urandom(n) for n in (5000, 10, 0, 70_000)]
    ids = [store.blobs.put_bytes(p).id for p in parts]
    whole = store.blobs.concat(ids)
    assert whole.size == sum(map(len, parts))
    assert store.blobs.open(whole.id).read() == b"".join(parts)
    assert store.blobs.open(ids[0]).read() == parts[0]  # parts untouched
    again = asyncio.run(store.blobs.aconcat([ids[1], ids[1]]))
    assert store.blobs.open(again.id).read() == parts[1] * 2


def test_delete_and_missing(store: Store) -> None:
    blob = store.blobs.put_bytes(b"x")
    store.blobs.delete(blob.id)
    store.blobs.delete(blob.id)  # idempotent
    assert not store.blobs.exists(blob.id)
    with pytest.raises(BlobNotFound):
        store.blobs.open(blob.id)
    with pytest.raises(BlobNotFound):
        store.blobs.iter("../../etc/passwd")
    with pytest.raises(ValueError):
        store.blobs.iter(blob.id, 5, 2)


def test_reader_survives_delete(store: Store) -> None:
    blob = store.blobs.put_bytes(b"abc" * 1000)
    stream = store.blobs.iter(blob.id, chunk=1000)
    store.blobs.delete(blob.id)
    assert asyncio.run(collect(stream)) == b"abc" * 1000


def test_unlink_removes_file_only_after_commit(store: Store) -> None:
    blob = store.blobs.put_bytes(b"payload")
    store.write(lambda c: store.blobs.link(c, blob))

    def unlink_then_fail(conn: sqlite3.Connection) -> None:
        store.blobs.unlink(conn, blob.id)
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        store.write(unlink_then_fail)
    assert store.blobs.exists(blob.id)
    store.write(lambda c: store.blobs.unlink(c, blob.id))
    assert not store.blobs.exists(blob.id)


def test_failed_stream_leaves_nothing(disk_dir: Path) -> None:
    with Store.open(disk_dir) as store:

        async def main() -> None:
            await store.blobs.put(chunks(b"a" * 1000, b"b" * 1000, fail_after=1))

        with pytest.raises(ConnectionResetError):
            asyncio.run(main())
        assert blob_files(store) == []


def test_cancelled_put_leaves_nothing(disk_dir: Path) -> None:
    with Store.open(disk_dir) as store:

        async def endless() -> AsyncIterator[bytes]:
            while True:
                yield b"x" * 4096
                await asyncio.sleep(0.001)

        async def main() -> None:
            task = asyncio.ensure_future(store.blobs.put(endless()))
            await asyncio.sleep(0.02)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        assert blob_files(store) == []


def test_garbage_collected_at_open(disk_dir: Path) -> None:
    with Store.open(disk_dir) as store:
        kept = store.blobs.put_bytes(b"kept")
        store.write(lambda c: store.blobs.link(c, kept))
        orphan = store.blobs.put_bytes(b"orphan")  # crash before the metadata committed
        (disk_dir / "blobs" / "tmp" / "half-written").write_bytes(b"torn")  # crash mid-stream
    with Store.open(disk_dir) as store:
        assert store.blobs.open(kept.id).read() == b"kept"
        assert not store.blobs.exists(orphan.id)
        assert list((disk_dir / "blobs" / "tmp").iterdir()) == []


def test_ephemeral_spill_dir_removed_at_close(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blobs_module, "SPILL_BYTES", 10)
    store = Store.open(None)
    blob = store.blobs.put_bytes(b"x" * 100)
    spill = store.blobs._root
    assert spill is not None and (spill / blob.id[:2] / blob.id).exists()
    store.close()
    assert not spill.exists()


def test_links_are_reference_counted(store: Store) -> None:
    blob = store.blobs.put_bytes(b"shared")
    store.write(lambda c: store.blobs.link(c, blob))
    store.write(lambda c: store.blobs.link(c, blob))  # e.g. a zero-copy CopyObject
    assert store.blobs.refs(blob.id) == 2
    store.write(lambda c: store.blobs.unlink(c, blob.id))
    assert store.blobs.exists(blob.id) and store.blobs.refs(blob.id) == 1
    store.write(lambda c: store.blobs.unlink(c, blob.id))
    assert not store.blobs.exists(blob.id) and store.blobs.refs(blob.id) == 0


def test_small_blobs_live_in_the_registry_row(disk_dir: Path) -> None:
    files = lambda: [p for p in (disk_dir / "blobs").rglob("*") if p.is_file()]  # noqa: E731
    with Store.open(disk_dir) as store:
        small = store.blobs.put_bytes(b"s" * blobs_module.INLINE_BYTES)
        big = store.blobs.put_bytes(b"b" * (blobs_module.INLINE_BYTES + 1))
        assert store.blobs.open(small.id).read() == b"s" * blobs_module.INLINE_BYTES  # unlinked
        assert len(files()) == 1  # only the big one became a file
        store.write(lambda c: (store.blobs.link(c, small), store.blobs.link(c, big)))
    with Store.open(disk_dir) as store:  # committed with the row: survives a reopen
        assert store.blobs.size(small.id) == blobs_module.INLINE_BYTES
        assert store.blobs.open(small.id).read() == b"s" * blobs_module.INLINE_BYTES
        store.write(lambda c: store.blobs.link(c, small))  # a second reference
        store.write(lambda c: store.blobs.unlink(c, small.id))
        assert store.blobs.exists(small.id)
        store.write(lambda c: store.blobs.unlink(c, small.id))
        assert not store.blobs.exists(small.id)
        assert store.blobs.refs(small.id) == 0


def test_unlinked_small_blob_is_discarded_by_delete(disk_dir: Path) -> None:
    with Store.open(disk_dir) as store:
        blob = store.blobs.put_bytes(b"never committed")
        store.blobs.delete(blob.id)
        with pytest.raises(BlobNotFound):
            store.blobs.open(blob.id)


def test_iter_transform_rewrites_each_chunk_in_place(store: Store) -> None:
    data = os.urandom(300_000)
    blob = store.blobs.put_bytes(data)
    seen: list[int] = []

    def flip(buffer: bytearray, n: int) -> None:
        assert len(buffer) == n + blobs_module.TRANSFORM_SLACK
        seen.append(n)
        for i in range(n):
            buffer[i] ^= 0xFF

    got = asyncio.run(collect(store.blobs.iter(blob.id, 5, 250_005, chunk=100_000, transform=flip)))
    assert got == bytes(b ^ 0xFF for b in data[5:250_005])
    assert seen == [100_000, 100_000, 50_000]
