"""Receiving a large body: the worker-thread pipeline (digest on one stage, encrypt and write on
the other) gives the same ETag, checksums and stored bytes as the on-loop path."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from overcast.services.s3 import body as bodies
from overcast.services.s3.errors import BadDigest, EntityTooLarge
from overcast.services.s3.sse_at_rest import DataKey
from overcast.state import Store

MiB = 1 << 20


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store.open(tmp_path / "data")
    yield st
    st.close()


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
        await asyncio.sleep(0)


class _Stream:
    def __init__(self, data: bytes, size: int = 65_536 + 13) -> None:
        self._it = _pieces(data, size)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._it


def _stored(store: Store, blob_id: str) -> bytes:
    with store.blobs.open(blob_id) as handle:
        return handle.read()


@pytest.mark.parametrize("cpus", [1, 2])
@pytest.mark.parametrize("encrypted", [False, True])
def test_large_body_digests_and_bytes(
    store: Store, monkeypatch: pytest.MonkeyPatch, cpus: int, encrypted: bool
) -> None:
    monkeypatch.setattr(bodies, "_cpus_available", lambda: cpus)
    data = os.urandom(3 * MiB + 4321)
    key = DataKey.new()
    received = asyncio.run(
        bodies.receive(
            store,
            _Stream(data),  # type: ignore[arg-type]
            content_length=len(data),
            content_md5=base64.b64encode(hashlib.md5(data).digest()).decode(),
            algorithms=["CRC32"],
            encryptor=key.cipher_at(0) if encrypted else None,
        )
    )
    assert received.md5_hex == hashlib.md5(data).hexdigest()
    crc = zlib.crc32(data).to_bytes(4, "big")
    assert received.checksums == {"CRC32": base64.b64encode(crc).decode()}
    stored = _stored(store, received.blob.id)
    assert received.blob.size == len(data)
    assert stored == (key.cipher_at(0).update(data) if encrypted else data)


@pytest.mark.parametrize("cpus", [1, 2])
def test_bad_digest_and_too_large_leave_no_blob(
    store: Store, monkeypatch: pytest.MonkeyPatch, cpus: int
) -> None:
    monkeypatch.setattr(bodies, "_cpus_available", lambda: cpus)
    data = os.urandom(2 * MiB + 1)
    with pytest.raises(BadDigest):
        asyncio.run(
            bodies.receive(
                store,
                _Stream(data),  # type: ignore[arg-type]
                content_md5=base64.b64encode(b"\0" * 16).decode(),
                encryptor=DataKey.new().cipher_at(0),
            )
        )
    with pytest.raises(EntityTooLarge):
        asyncio.run(
            bodies.receive(
                store,
                _Stream(data),  # type: ignore[arg-type]
                max_size=MiB + 5,
                encryptor=DataKey.new().cipher_at(0),
            )
        )
    assert store.path is not None
    leftovers = [p for p in (store.path / "blobs").rglob("*") if p.is_file()]
    assert leftovers == []
