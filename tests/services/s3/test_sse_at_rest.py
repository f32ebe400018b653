"""The at-rest cipher: seekable AES-CTR per blob, keys wrapped by the account's master key,
and blobs written before encryption read as they are."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from overcast.services.s3 import sse_at_rest
from overcast.services.s3.sse_at_rest import DataKey
from overcast.state import Store


@pytest.fixture
def db() -> Iterator[Store]:
    st = Store.open(None)
    sse_at_rest.migrate(st)
    yield st
    st.close()


def _collect(
    store: Store, segments: list[tuple[str, int]], keys: dict[str, DataKey], start: int, stop: int
) -> bytes:
    async def run() -> bytes:
        return b"".join(
            [c async for c in sse_at_rest.iter_segments(store, segments, keys, start, stop)]
        )

    return asyncio.run(run())


def test_ctr_is_seekable() -> None:
    key = DataKey.new()
    data = os.urandom(5000)
    sealed = key.cipher_at(0).update(data)
    assert sealed != data
    for offset in (0, 1, 15, 16, 17, 4095, 4999):
        assert sse_at_rest.decrypt(sealed[offset:], key, offset) == data[offset:]
    # Encrypting in chunks equals encrypting at once.
    cipher = key.cipher_at(0)
    assert (
        cipher.update(data[:7]) + cipher.update(data[7:3000]) + cipher.update(data[3000:]) == sealed
    )


def test_keys_round_trip_and_legacy_blobs(db: Store) -> None:
    plain_a, plain_b = os.urandom(3000), b"written before encryption existed"
    key = DataKey.new()
    sealed = db.blobs.put_bytes(key.cipher_at(0).update(plain_a))
    legacy = db.blobs.put_bytes(plain_b)
    db.write(lambda c: sse_at_rest.save_key(c, sealed.id, "111111111111", key))
    keys = db.read(lambda c: sse_at_rest.keys_for(c, [sealed.id, legacy.id]))
    assert set(keys) == {sealed.id}
    assert keys[sealed.id] == key
    segments = [(sealed.id, sealed.size), (legacy.id, legacy.size)]
    whole = plain_a + plain_b
    assert _collect(db, segments, keys, 0, len(whole)) == whole
    assert _collect(db, segments, keys, 2990, 3010) == whole[2990:3010]
    assert b"".join(sse_at_rest.iter_plain(db, segments, block=1000)) == whole
    assert sse_at_rest.read_range(db, sealed.id, keys[sealed.id], 100, 200) == plain_a[100:200]


def test_master_key_per_account(db: Store) -> None:
    first, second = DataKey.new(), DataKey.new()
    db.write(lambda c: sse_at_rest.save_key(c, "blob-1", "111111111111", first))
    db.write(lambda c: sse_at_rest.save_key(c, "blob-2", "222222222222", second))
    masters = db.read(lambda c: c.execute("SELECT COUNT(*) FROM s3_sse_master").fetchone()[0])
    assert masters == 2
    wrapped = db.read(
        lambda c: c.execute("SELECT wrapped FROM s3_sse_keys WHERE blob_id = 'blob-1'").fetchone()
    )[0]
    assert first.key not in bytes(wrapped)  # only the wrapped form is stored
    keys = db.read(lambda c: sse_at_rest.keys_for(c, ["blob-1", "blob-2"]))
    assert keys == {"blob-1": first, "blob-2": second}


@pytest.mark.parametrize("size", [0, 1, 16, 1000, 64 << 10, (64 << 10) + 1, 300_000])
def test_one_shot_and_ctr_paths_agree(size: int) -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = DataKey.new()
    data = os.urandom(size)
    reference = Cipher(algorithms.AES(key.key), modes.CTR(key.nonce)).encryptor().update(data)
    assert bytes(key.xor(data, 0)) == reference
    stream = key.cipher_at(0)
    cut = size // 3
    assert bytes(stream.update(data[:cut])) + bytes(stream.update(data[cut:])) == reference
    for offset in (0, 1, 17, size // 2):
        if offset <= size:
            assert bytes(sse_at_rest.decrypt(reference[offset:], key, offset)) == data[offset:]


def test_orphaned_keys_are_collected(db: Store) -> None:
    kept, gone = db.blobs.put_bytes(b"a" * 100), db.blobs.put_bytes(b"b" * 100)
    db.write(lambda c: db.blobs.link(c, kept))
    for blob in (kept, gone):
        db.write(lambda c, b=blob: sse_at_rest.save_key(c, b.id, "111111111111", DataKey.new()))
    assert db.write(sse_at_rest.collect_orphans) == 1
    assert set(db.read(lambda c: sse_at_rest.keys_for(c, [kept.id, gone.id]))) == {kept.id}


def test_cached_keys_answer_without_the_key_rows(db: Store) -> None:
    """A key read or saved once is answered from memory (blob keys never change)."""
    blob = db.blobs.put_bytes(b"c" * 100)
    data_key = DataKey.new()
    db.write(lambda c: (db.blobs.link(c, blob), sse_at_rest.save_key(c, blob.id, "1", data_key)))
    db.write(lambda c: c.execute("DELETE FROM s3_sse_keys WHERE blob_id = ?", (blob.id,)))
    assert db.read(lambda c: sse_at_rest.keys_for(c, [blob.id])) == {blob.id: data_key}
    sse_at_rest._KEY_CACHE.clear()
    assert db.read(lambda c: sse_at_rest.keys_for(c, [blob.id])) == {}
