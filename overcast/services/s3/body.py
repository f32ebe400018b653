"""Object bodies: receiving a request body into a blob, and streaming segments back out.

``receive`` streams the upload to the blob store with bounded memory while computing the MD5 (the
ETag) and any flexible checksums asked for, and checks the declared length and Content-MD5.
``iter_segments`` streams a byte range of an object whose body spans several blobs (a completed
multipart upload keeps its parts as segments instead of copying them).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from overcast.gateway.auth.checksums import Checksum, new_checksum
from overcast.protocol.http import BodyStream, BufferedBody
from overcast.services.s3 import sse_at_rest
from overcast.services.s3.body_lanes import Lane
from overcast.services.s3.errors import BadDigest, EntityTooLarge, IncompleteBody, InvalidDigest
from overcast.state import Blob, Store
from overcast.state.blobs import BlobWriter

MAX_SINGLE_PUT = 5 * 1024**3  # 5 GiB: larger objects must use multipart upload
BATCH = 1 << 20  # bytes hashed and written per worker-thread hop
_SLACK = 16  # a cipher's ``update_into`` wants room for a block beyond its input


@dataclass
class ReceivedBody:
    blob: Blob
    md5_hex: str
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm -> base64 digest

    @property
    def etag(self) -> str:
        return f'"{self.md5_hex}"'


class _Limit(Exception):
    pass


async def receive(
    store: Store,
    body: BodyStream | bytes | None,
    *,
    content_length: int | None = None,
    content_md5: str | None = None,
    algorithms: Iterable[str] = (),
    max_size: int = MAX_SINGLE_PUT,
    encryptor: Any = None,
) -> ReceivedBody:
    """Stream ``body`` into a new (not yet linked) blob; raise S3's errors on bad input.

    The caller links the blob in the transaction that commits the object, or calls
    ``discard`` if that transaction fails.
    """
    if content_length is not None and content_length > max_size:
        raise EntityTooLarge(ProposedSize=content_length, MaxSizeAllowed=max_size)
    expected_md5 = _decode_md5(content_md5) if content_md5 is not None else None
    stream = body if body is not None and not isinstance(body, bytes) else BufferedBody(body or b"")
    md5 = hashlib.md5()
    sums: dict[str, Checksum] = {a.upper(): new_checksum(a.upper()) for a in algorithms}
    writer = store.blobs.writer()
    # Digests are of the plaintext; at rest the bytes are encrypted (sse_at_rest.py).
    stages: _Stages | None = None  # made when a first batch fills (a small body needs none)

    # Incoming chunks (immutable bytes, kept as they are: no copy) are gathered into batches of
    # BATCH bytes. When this process may use more than one CPU, each batch goes into two lanes
    # (``body_lanes.py``) that work beside the loop as it receives the next ones: one digests
    # (MD5, the ETag, is the costliest step: ~1.4 ns a byte here), the other encrypts into one
    # buffer and writes that (hashlib, the CRCs, the cipher and file writes release the GIL).
    # Each lane keeps order and holds a few batches at most: memory stays bounded. Bodies
    # smaller than BATCH never leave the loop (a thread hop costs more than they do), nor does
    # anything when this process may use one CPU only: the threads could not run beside the
    # loop, and handing over the GIL has a cost.
    lanes: tuple[Lane, Lane] | None = None
    total = 0
    batch: list[bytes] = []
    batch_size = 0
    try:
        async for chunk in stream:
            size = len(chunk)
            total += size
            if total > max_size:
                raise _Limit
            batch.append(chunk if type(chunk) is bytes else bytes(chunk))
            batch_size += size
            if batch_size >= BATCH:
                data, batch, batch_size = batch, [], 0
                if stages is None:
                    stages = _Stages(md5, list(sums.values()), writer, encryptor)
                    if _cpus_available() > 1:
                        lanes = (Lane(stages.digest), Lane(stages.store))
                if lanes is None:
                    stages.digest(data)
                    stages.store(data)
                    continue
                await lanes[0].push(data)
                await lanes[1].push(data)
        if lanes is not None:
            if batch:
                await lanes[0].push(batch)
                await lanes[1].push(batch)
            await lanes[0].drain()
            await lanes[1].drain()
        elif stages is not None:
            stages.digest(batch)
            stages.store(batch)
        else:  # the whole body is under BATCH: the fewest steps (the 1 KiB path)
            for piece in batch:
                md5.update(piece)
                for checksum in sums.values():
                    checksum.update(piece)
                writer.write(piece if encryptor is None else encryptor.update(piece))
    except BaseException as exc:
        if lanes is None:
            writer.abort()
        elif isinstance(exc, asyncio.CancelledError):
            _abort_when_idle(lanes, writer)  # this task cannot wait any more
        else:
            try:
                await lanes[0].stopped()
                await lanes[1].stopped()
            except asyncio.CancelledError:  # cancelled while waiting: let the lanes abort
                _abort_when_idle(lanes, writer)
                raise
            writer.abort()
        if isinstance(exc, _Limit):
            raise EntityTooLarge(MaxSizeAllowed=max_size) from None
        raise
    blob = await store.blobs.finish(writer)
    if content_length is not None and total != content_length:
        store.blobs.delete(blob.id)
        raise IncompleteBody()
    if expected_md5 is not None and md5.digest() != expected_md5:
        store.blobs.delete(blob.id)
        raise BadDigest(
            ExpectedDigest=binascii.hexlify(expected_md5).decode(),
            CalculatedDigest=base64.b64encode(md5.digest()).decode(),
        )
    return ReceivedBody(
        blob=blob,
        md5_hex=md5.hexdigest(),
        checksums={name: c.b64digest() for name, c in sums.items()},
    )


class _Stages:
    """The two jobs a received batch goes through; each may run on its own thread."""

    __slots__ = ("_buffer", "_encryptor", "_md5", "_sums", "_writer")

    def __init__(self, md5: Any, sums: list[Checksum], writer: BlobWriter, encryptor: Any) -> None:
        self._md5 = md5
        self._sums = sums
        self._writer = writer
        self._encryptor = encryptor
        self._buffer: bytearray | None = None  # reused: one batch's ciphertext

    def digest(self, chunks: list[bytes]) -> None:
        md5, sums = self._md5, self._sums
        for data in chunks:
            md5.update(data)
            for checksum in sums:
                checksum.update(data)

    def store(self, chunks: list[bytes]) -> None:
        writer, encryptor = self._writer, self._encryptor
        if encryptor is None:
            for data in chunks:
                writer.write(data)
            return
        size = sum(len(data) for data in chunks)
        update_into = getattr(encryptor, "update_into", None)
        if size < BATCH or update_into is None:
            for data in chunks:
                writer.write(encryptor.update(data))
            return
        # A whole batch: encrypted piece by piece into one reused buffer, written in one call.
        if self._buffer is None or len(self._buffer) < size + _SLACK:
            self._buffer = bytearray(size + _SLACK)
        view = memoryview(self._buffer)
        filled = 0
        for data in chunks:
            filled += update_into(data, view[filled : filled + len(data) + _SLACK])
        writer.write(view[:filled])


def _abort_when_idle(lanes: tuple[Lane, Lane], writer: BlobWriter) -> None:
    """Drop the lanes' waiting batches and abort ``writer`` once neither touches it any more
    (now, or on the thread of the lane that finishes last)."""
    idle = _Countdown(2, writer.abort)
    lanes[0].stop(idle.tick)
    lanes[1].stop(idle.tick)


class _Countdown:
    """Calls ``then`` at the ``n``-th ``tick`` (ticks may come from any thread)."""

    def __init__(self, n: int, then: Callable[[], None]) -> None:
        self._left = n
        self._then = then
        self._lock = threading.Lock()

    def tick(self) -> None:
        with self._lock:
            self._left -= 1
            done = self._left == 0
        if done:
            self._then()


def _cpus_available() -> int:
    """CPUs this process may run on now (1 when pinned, e.g. ``taskset -c 0``): asked per large
    body, as the affinity may change while the server runs (one system call)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity API here (macOS, Windows)
        return os.cpu_count() or 1


def discard(store: Store, received: ReceivedBody) -> None:
    """Delete a received blob whose object never committed."""
    store.blobs.delete(received.blob.id)


def _decode_md5(value: str) -> bytes:
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest(**{"Content-MD5": value}) from None
    if len(digest) != 16:
        raise InvalidDigest(**{"Content-MD5": value})
    return digest


async def iter_segments(
    store: Store, segments: Sequence[tuple[str, int]], start: int = 0, end: int | None = None
) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of a body made of ``segments`` (``end=None``: to the end),
    decrypted (``sse_at_rest.py``)."""
    ids = [blob_id for blob_id, _ in segments]
    keys = await store.aread(lambda conn: sse_at_rest.keys_for(conn, ids))
    async for chunk in sse_at_rest.iter_segments(store, segments, keys, start, end):
        yield chunk
