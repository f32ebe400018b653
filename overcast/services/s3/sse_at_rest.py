"""Object bytes encrypted at rest: AES-256-CTR with a data key per blob, sealed (AES-256-GCM,
bound to the blob id) by a per-account master key kept in the store.

Every body S3 writes (PutObject, POST uploads, UploadPart) is encrypted as it streams to its
blob; the sealed data key and the blob's nonce are stored by blob id, in the transaction that
links the blob (a blob without its key row would be lost). Keys of blobs that are gone are
collected when the provider starts. Keys follow blobs, not objects, so a copy, a
completed multipart upload or a replica that shares blobs reads them with no extra step.

CTR is seekable: the counter block for byte ``offset`` is ``nonce + offset // 16``, so a range or
partNumber GET decrypts only the bytes it sends, and streaming stays bounded in memory. Blobs
without a key row (written before encryption existed) are read as they are.

SSE-C objects are encrypted with a server data key too; the customer's key is checked against
its stored MD5 on every access (``encryption.py``). SSE-KMS will take its data keys from KMS
once that service exists; until then it uses the same master-key scheme.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap

from overcast.state import Store
from overcast.state.blobs import REGISTRY

NAMESPACE = "s3_sse"
MIGRATIONS = [
    """
    CREATE TABLE s3_sse_master (
        account_id TEXT PRIMARY KEY,
        key BLOB NOT NULL
    );
    CREATE TABLE s3_sse_keys (
        blob_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        nonce BLOB NOT NULL
    );
    """,
]
_BLOCK = 16


def migrate(store: Store) -> None:
    store.migrate(NAMESPACE, MIGRATIONS)


_GCM_START = (2).to_bytes(4, "big")  # AES-GCM's first counter block after a 96-bit nonce


@dataclass(frozen=True)
class DataKey:
    key: bytes  # 32 bytes: AES-256
    nonce: bytes  # 16 bytes: the counter block of offset 0

    @classmethod
    def new(cls) -> DataKey:
        # A 96-bit nonce then counter 2: the keystream AES-GCM produces for that nonce, so a
        # small piece at offset 0 can use the one-shot AEAD call (far cheaper to set up than a
        # CTR context) while the rest uses CTR; both agree below 64 GiB per blob.
        return cls(os.urandom(32), os.urandom(12) + _GCM_START)

    def cipher_at(self, offset: int) -> Any:
        """A stream cipher positioned at byte ``offset``: ``update(data)`` encrypts or decrypts
        the next bytes (CTR: the same operation)."""
        return _Stream(self, offset)

    def ctr_at(self, offset: int) -> Any:
        block, skip = divmod(offset, _BLOCK)
        counter = (int.from_bytes(self.nonce, "big") + block) % (1 << 128)
        context = Cipher(algorithms.AES(self.key), modes.CTR(counter.to_bytes(16, "big")))
        cipher = context.encryptor()
        if skip:
            cipher.update(bytes(skip))
        return cipher

    def xor(self, data: bytes, offset: int) -> bytes:
        """``data`` at ``offset`` through the keystream, in one call."""
        if offset == 0 and self.nonce[12:] == _GCM_START and len(data) <= _ONE_SHOT:
            return _aead(self.key).encrypt(self.nonce[:12], data, None)[:-16]
        return _through(self.ctr_at(offset), data)


_ONE_SHOT = 64 << 10  # up to this size the AEAD call wins; beyond, its tag costs more


@functools.lru_cache(maxsize=1024)
def _aead(key: bytes) -> AESGCM:
    """The AEAD context of a key (a hot object's data key, an account's master key), kept:
    building it costs ~2 us."""
    return AESGCM(key)


def _through(context: Any, data: bytes) -> bytes:
    """``context.update(data)`` into a buffer of our own: for megabytes, ``update`` itself is
    an order of magnitude slower (it copies its result). The bytearray is a bytes-like object
    every consumer here takes (blob writer, hashes, the ASGI send)."""
    out = bytearray(len(data) + _BLOCK - 1)
    del out[context.update_into(data, out) :]
    return out  # type: ignore[return-value]


class _Stream:
    """Sequential encryption from an offset: a first piece at offset 0 goes through the
    one-shot call; a CTR context is set up only when more follows (large bodies)."""

    __slots__ = ("_context", "_key", "_offset")

    def __init__(self, key: DataKey, offset: int) -> None:
        self._key = key
        self._offset = offset
        self._context: Any = None

    def update(self, data: bytes) -> bytes:
        if self._context is None:
            if self._offset == 0 and len(data) <= _ONE_SHOT:
                self._offset = len(data)
                return self._key.xor(data, 0)
            self._context = self._key.ctr_at(self._offset)
        self._offset += len(data)
        return _through(self._context, data)

    def update_into(self, data: bytes, out: Any) -> int:
        """``update`` into ``out`` (room for ``len(data) + 15`` bytes); the count written."""
        if self._context is None:
            self._context = self._key.ctr_at(self._offset)
        self._offset += len(data)
        return int(self._context.update_into(data, out))

    def update_in_place(self, buffer: bytearray, length: int) -> None:
        """``update`` of ``buffer[:length]`` written over it (``buffer`` has 15 bytes more)."""
        if self._context is None:
            self._context = self._key.ctr_at(self._offset)
        self._offset += length
        with memoryview(buffer) as view:
            self._context.update_into(view[:length], buffer)


def _wrap(master: bytes, blob_id: str, key: bytes) -> bytes:
    """``key`` sealed by the master key (AES-256-GCM, bound to its blob id)."""
    nonce = os.urandom(12)
    return nonce + _aead(master).encrypt(nonce, key, blob_id.encode())


def _unwrap(master: bytes, blob_id: str, wrapped: bytes) -> bytes:
    if len(wrapped) == 40:  # RFC 3394 key wrap (the first format)
        return aes_key_unwrap(master, wrapped)
    return _aead(master).decrypt(wrapped[:12], wrapped[12:], blob_id.encode())


def _master(conn: sqlite3.Connection, account_id: str) -> bytes:
    """The account's master key, created on first use (in the caller's write transaction)."""
    row = conn.execute(
        "SELECT key FROM s3_sse_master WHERE account_id = ?", (account_id,)
    ).fetchone()
    if row is not None:
        return bytes(row[0])
    key = os.urandom(32)
    conn.execute("INSERT INTO s3_sse_master (account_id, key) VALUES (?, ?)", (account_id, key))
    return key


# Unwrapped data keys by blob id, so reading a hot object skips the key query and the unwrap.
# Sound because a blob's key never changes: blob ids are new for every write and a blob's bytes
# are encrypted once. Bounded; emptied when full (refilled by the next reads).
_KEY_CACHE: dict[str, DataKey] = {}
KEY_CACHE_SIZE = 8192


def _remember(blob_id: str, data_key: DataKey) -> None:
    if len(_KEY_CACHE) >= KEY_CACHE_SIZE:
        _KEY_CACHE.clear()
    _KEY_CACHE[blob_id] = data_key


def save_key(conn: sqlite3.Connection, blob_id: str, account_id: str, data_key: DataKey) -> None:
    """Record ``blob_id``'s data key, wrapped by ``account_id``'s master key."""
    wrapped = _wrap(_master(conn, account_id), blob_id, data_key.key)
    conn.execute(
        "INSERT OR REPLACE INTO s3_sse_keys (blob_id, account_id, wrapped, nonce) "
        "VALUES (?, ?, ?, ?)",
        (blob_id, account_id, wrapped, data_key.nonce),
    )
    _remember(blob_id, data_key)


def keys_for(conn: sqlite3.Connection, blob_ids: Iterable[str]) -> dict[str, DataKey]:
    """The data keys of those blobs that have one (one query for those not cached)."""
    found: dict[str, DataKey] = {}
    missing: list[str] = []
    for blob_id in blob_ids:
        data_key = _KEY_CACHE.get(blob_id)
        if data_key is not None:
            found[blob_id] = data_key
        elif blob_id not in found:
            missing.append(blob_id)
    if not missing:
        return found
    ids = list(dict.fromkeys(missing))
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        "SELECT k.blob_id, k.wrapped, k.nonce, m.key FROM s3_sse_keys k "
        f"JOIN s3_sse_master m ON m.account_id = k.account_id WHERE k.blob_id IN ({marks})",
        ids,
    ).fetchall()
    for blob_id, wrapped, nonce, master in rows:
        data_key = DataKey(_unwrap(bytes(master), blob_id, bytes(wrapped)), bytes(nonce))
        found[blob_id] = data_key
        _remember(blob_id, data_key)
    return found


def collect_orphans(conn: sqlite3.Connection) -> int:
    """Drop the keys of blobs that are gone. Every key row is written in the transaction that
    links its blob, so one without a registered blob is an orphan; run before any S3 write."""
    cursor = conn.execute(
        f"DELETE FROM s3_sse_keys WHERE blob_id NOT IN (SELECT id FROM {REGISTRY})"
    )
    if cursor.rowcount:
        _KEY_CACHE.clear()
    return cursor.rowcount


def decrypt(data: bytes, data_key: DataKey | None, offset: int = 0) -> bytes:
    """``data`` read from byte ``offset`` of a blob, in clear."""
    if data_key is None or not data:
        return data
    return data_key.xor(data, offset)


def read_range(
    store: Store, blob_id: str, data_key: DataKey | None, start: int, stop: int
) -> bytes:
    with store.blobs.open(blob_id) as handle:
        handle.seek(start)
        return decrypt(handle.read(stop - start), data_key, start)


async def iter_range(
    store: Store,
    blob_id: str,
    data_key: DataKey | None,
    start: int,
    stop: int,
    **kwargs: Any,
) -> AsyncIterator[bytes]:
    """Bytes ``[start, stop)`` of one blob, decrypted as they stream."""
    # Decrypted in place on the thread that reads each chunk (blobs.iter's transform).
    transform = None if data_key is None else data_key.cipher_at(start).update_in_place
    async for chunk in store.blobs.iter(blob_id, start, stop, transform=transform, **kwargs):
        yield chunk


async def iter_segments(
    store: Store,
    segments: Sequence[tuple[str, int]],
    keys: Mapping[str, DataKey],
    start: int = 0,
    stop: int | None = None,
    **kwargs: Any,
) -> AsyncIterator[bytes]:
    """Bytes ``[start, stop)`` of a body made of ``segments``, decrypted."""
    offset = 0
    for blob_id, size in segments:
        seg_start, seg_end = offset, offset + size
        offset = seg_end
        if seg_end <= start:
            continue
        if stop is not None and seg_start >= stop:
            break
        lo = max(start, seg_start) - seg_start
        hi = (min(stop, seg_end) if stop is not None else seg_end) - seg_start
        if hi > lo:
            async for chunk in iter_range(store, blob_id, keys.get(blob_id), lo, hi, **kwargs):
                yield chunk


def iter_plain(
    store: Store, segments: Sequence[tuple[str, int]], block: int = 4 << 20
) -> Iterable[bytes]:
    """Every byte of a body, decrypted, in blocks (synchronous: for worker threads)."""
    keys = store.read(lambda conn: keys_for(conn, [b for b, _ in segments]))
    for blob_id, _ in segments:
        data_key = keys.get(blob_id)
        cipher = None if data_key is None else data_key.cipher_at(0)
        with store.blobs.open(blob_id) as handle:
            while chunk := handle.read(block):
                yield chunk if cipher is None else cipher.update(chunk)
