"""The blob store: large payloads (S3 object bodies, Lambda zips) kept outside SQLite.

A blob is written to ``blobs/tmp/<id>`` and renamed to ``blobs/<id[:2]>/<id>``. Only then does
the caller commit the metadata that references it, together with ``link(conn, blob)``, which
records the blob in the ``_overcast_blobs`` registry (reference-counted: one blob may back
several rows). A crash at any point therefore leaves the old state or the new one: a
half-written blob is only ever a temp file, and a renamed blob whose metadata never committed is
absent from the registry. Both are garbage-collected when the store opens. Removal mirrors it:
``unlink(conn, id)`` drops a reference in the caller's transaction and, for the last one, the
blob is gone once that commits (its file is deleted by a background thread, off the request
path; a file left behind by a crash is unregistered, hence collected at the next open).

Durability follows SQLite's ``synchronous`` setting. With ``FULL``/``EXTRA`` (``--durability
power``) the blob file is fsynced before the rename and its directory after it, so a blob
survives power loss just as the commit that references it does. With ``NORMAL`` (the default:
"survives kill -9, not power loss") SQLite does not fsync its commits either, so blobs skip both
fsyncs: once renamed, a blob is in the page cache and survives a ``kill -9`` of the server.

Small blobs (up to ``INLINE_BYTES``) never become files on disk: their bytes wait in memory
until ``link`` stores them in the registry row, inside the caller's transaction, so they are
exactly as durable as that commit and cost no file creation, rename or deletion.

Blobs are immutable once written. Readers get an ordinary file handle, so a blob deleted while
being read stays readable through that handle (POSIX semantics).

Ephemeral stores keep blobs up to ``SPILL_BYTES`` in memory; larger ones spill to a private temp
directory (no fsync) that is removed at close and at interpreter exit. A ``kill -9`` of an
ephemeral server leaves that directory behind in the system temp dir (``overcast-blobs-*``).

``concat`` (S3 CompleteMultipartUpload) copies with ``os.copy_file_range``: the bytes never pass
through Python, and on filesystems with reflinks (XFS, Btrfs) the kernel shares extents instead of
copying. A manifest blob pointing at its parts would avoid even the in-kernel copy on ext4, but
would need reference counting between blobs; the copy keeps every blob a plain, standalone file.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import io
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from overcast.state.errors import BlobNotFound

if TYPE_CHECKING:
    from overcast.state.store import Store

SPILL_BYTES = 4 << 20  # ephemeral blobs larger than this live in a temp file, not in memory
INLINE_BYTES = 16 << 10  # on disk, blobs up to this size are stored in the registry row
INLINE_READ = 64 << 10  # reads up to this size run on the event loop; larger ones on a thread
REGISTRY = "_overcast_blobs"
TRANSFORM_SLACK = 16  # spare bytes after a chunk handed to ``iter``'s ``transform`` (a cipher's)
REMOVE_BATCH_S = 0.02  # the remover thread deletes the files gathered in this long, then sleeps

log = logging.getLogger("overcast.state")


@dataclass(frozen=True, slots=True)
class Blob:
    """A stored, immutable payload."""

    id: str
    size: int


class BlobStore:
    """Streams payloads to files (or memory when ephemeral); see the module docstring."""

    def __init__(self, store: Store, root: Path | None, *, durable: bool = True) -> None:
        self._store = store
        self._mem: dict[str, bytes] | None = None
        self._finalizer: weakref.finalize[..., None] | None = None
        # Files of blobs whose last reference is gone, until the remover thread deletes them:
        # an unlink costs a request 15-20% of a small PUT on the event loop.
        self._doomed: set[str] = set()
        # Batched: the remover wakes once per REMOVE_BATCH_S, not per blob (a wake-up per PUT
        # costs the event loop a GIL hand-off).
        self._removals: collections.deque[str] = collections.deque()  # thread-safe ends
        self._removals_ready = threading.Event()
        self._closing = False
        self._remover: threading.Thread | None = None
        self._fans: set[str] = set()  # fan-out directories known to exist
        # Small blobs written but not linked yet (disk stores): id -> bytes.
        self._pending: dict[str, bytes] = {}
        if root is None:
            self._mem = {}
            self._root: Path | None = None  # spill dir, created on first large blob
            self._durable = False
        else:
            self._root = root
            self._durable = durable
            (root / "tmp").mkdir(parents=True, exist_ok=True)

    # -- writing -------------------------------------------------------------------------------

    async def put(
        self,
        chunks: AsyncIterable[bytes],
        *,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> Blob:
        """Stream ``chunks`` into a new blob with bounded memory and return it once durable.

        ``on_chunk`` sees every chunk (e.g. to compute an MD5 while writing). If anything fails
        or the task is cancelled, nothing is left behind. The blob is not referenced yet: commit
        the metadata with ``link(conn, blob)`` or call ``delete`` to discard it.
        """
        writer = BlobWriter(self)
        try:
            async for chunk in chunks:
                if on_chunk is not None:
                    on_chunk(chunk)
                writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return await self.finish(writer)

    def writer(self) -> BlobWriter:
        """An incremental writer: ``write`` (from any one thread at a time), then ``finish``."""
        return BlobWriter(self)

    async def finish(self, writer: BlobWriter) -> Blob:
        """Finish ``writer`` (aborting it on failure) and return the blob once durable."""
        if writer.file is None or not self._durable:
            return writer.finish_or_abort()  # no fsync: a close and a rename, quick enough
        # fsync can take long on a big file: do it off the event loop, and if this task is
        # cancelled meanwhile, let the thread finish and then delete what it produced.
        task = asyncio.ensure_future(asyncio.to_thread(writer.finish_or_abort))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.add_done_callback(self._discard_result)
            raise

    def put_bytes(self, data: bytes) -> Blob:
        """Store ``data`` as a new blob (synchronous; includes an fsync when on disk)."""
        writer = BlobWriter(self)
        try:
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        return writer.finish_or_abort()

    def concat(self, blob_ids: Sequence[str]) -> Blob:
        """A new blob holding the given blobs' bytes in order; the parts are left untouched."""
        writer = BlobWriter(self)
        try:
            for blob_id in blob_ids:
                with self.open(blob_id) as src:
                    writer.copy_from(src)
        except BaseException:
            writer.abort()
            raise
        return writer.finish_or_abort()

    async def aconcat(self, blob_ids: Sequence[str]) -> Blob:
        """``concat`` on a thread, for large uploads."""
        return await asyncio.to_thread(self.concat, blob_ids)

    # -- referencing and deleting --------------------------------------------------------------

    def link(self, conn: sqlite3.Connection, blob: Blob) -> None:
        """Add a reference to ``blob``, in the caller's write transaction (``conn``).

        Blobs are reference-counted, so one blob may back several rows (a copied object, a part
        that became an object's segment); each ``link`` needs a matching ``unlink``.
        """
        cur = conn.execute(f"UPDATE {REGISTRY} SET refs = refs + 1 WHERE id = ?", (blob.id,))
        if cur.rowcount == 0:
            data = self._pending.get(blob.id)
            conn.execute(
                f"INSERT INTO {REGISTRY} (id, size, refs, data) VALUES (?, ?, 1, ?)",
                (blob.id, blob.size, data),
            )
            if data is not None:
                self._store.after_commit(conn, lambda: self._pending.pop(blob.id, None))

    def unlink(self, conn: sqlite3.Connection, blob_id: str) -> None:
        """Drop one reference in the caller's transaction; the last one deletes the file once
        the transaction commits (an unregistered blob's file is deleted too)."""
        row = conn.execute(
            f"SELECT refs, data IS NOT NULL FROM {REGISTRY} WHERE id = ?", (blob_id,)
        ).fetchone()
        if row is not None:
            if row[0] > 1:
                conn.execute(f"UPDATE {REGISTRY} SET refs = refs - 1 WHERE id = ?", (blob_id,))
                return  # still referenced elsewhere
            conn.execute(f"DELETE FROM {REGISTRY} WHERE id = ?", (blob_id,))
            if row[1]:
                return  # its bytes went with the row: there is no file
        self._store.after_commit(conn, lambda: self._remove_later(blob_id))

    def refs(self, blob_id: str) -> int:
        """How many committed references the blob has (0: unlinked or unknown)."""
        row = self._store.read(
            lambda c: c.execute(f"SELECT refs FROM {REGISTRY} WHERE id = ?", (blob_id,)).fetchone()
        )
        return 0 if row is None else int(row[0])

    def delete(self, blob_id: str) -> None:
        """Delete a blob and its registry row now, whatever its reference count (idempotent).

        Safe once no committed row refers to it any more, or for a blob never linked.
        """
        self._pending.pop(blob_id, None)
        self._store.write(
            lambda conn: conn.execute(f"DELETE FROM {REGISTRY} WHERE id = ?", (blob_id,))
        )
        self._remove(blob_id)

    # -- reading -------------------------------------------------------------------------------

    def open(self, blob_id: str) -> BinaryIO:
        """A seekable binary handle on the blob (the caller closes it)."""
        if self._mem is not None and blob_id in self._mem:
            return io.BytesIO(self._mem[blob_id])
        pending = self._pending.get(blob_id)
        if pending is not None:
            return io.BytesIO(pending)
        if blob_id in self._doomed:
            raise BlobNotFound(f"no blob {blob_id}")
        path = self._path(blob_id)
        try:
            return open(path, "rb")
        except (FileNotFoundError, NotADirectoryError):
            data = self._inline(blob_id)
            if data is None:
                raise BlobNotFound(f"no blob {blob_id}") from None
            return io.BytesIO(data)

    def size(self, blob_id: str) -> int:
        """The blob's length in bytes."""
        if self._mem is not None and blob_id in self._mem:
            return len(self._mem[blob_id])
        pending = self._pending.get(blob_id)
        if pending is not None:
            return len(pending)
        if blob_id in self._doomed:
            raise BlobNotFound(f"no blob {blob_id}")
        try:
            return self._path(blob_id).stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            data = self._inline(blob_id)
            if data is None:
                raise BlobNotFound(f"no blob {blob_id}") from None
            return len(data)

    def small(self, conn: sqlite3.Connection, blob_id: str, size: int) -> bytes | None:
        """The bytes of a blob of ``size`` if they can be had without opening a file: in memory,
        or in its registry row read through ``conn`` (the caller's snapshot); None otherwise
        (a file blob: use ``open``)."""
        if self._mem is not None and blob_id in self._mem:
            return self._mem[blob_id]
        pending = self._pending.get(blob_id)
        if pending is not None:
            return pending
        if size > INLINE_BYTES or self._mem is not None:
            return None
        row = conn.execute(f"SELECT data FROM {REGISTRY} WHERE id = ?", (blob_id,)).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def _inline(self, blob_id: str) -> bytes | None:
        """The bytes of a small blob kept in its registry row (None: not such a blob)."""
        row = self._store.read(
            lambda c: c.execute(f"SELECT data FROM {REGISTRY} WHERE id = ?", (blob_id,)).fetchone()
        )
        return None if row is None or row[0] is None else bytes(row[0])

    def exists(self, blob_id: str) -> bool:
        """Whether the blob's bytes are stored."""
        try:
            self.size(blob_id)
        except BlobNotFound:
            return False
        return True

    def iter(
        self,
        blob_id: str,
        start: int = 0,
        end: int | None = None,
        chunk: int = 1 << 20,
        *,
        transform: Transform | None = None,
    ) -> AsyncIterator[bytes]:
        """Bytes ``[start, end)`` of the blob (``end=None``: to the end), in chunks.

        The blob is opened here, so a missing blob raises ``BlobNotFound`` at the call, and a
        blob deleted while being streamed is still read to the end. ``transform(buffer, n)``
        rewrites each chunk in place (decryption) on the thread that read it, so that a large
        body's cipher runs beside the event loop: ``buffer`` is a bytearray of the chunk's own
        holding its ``n`` bytes then ``TRANSFORM_SLACK`` spare ones, cut off afterwards.
        """
        if start < 0 or (end is not None and end < start) or chunk <= 0:
            raise ValueError(f"bad range start={start} end={end} chunk={chunk}")
        handle = self.open(blob_id)
        return _stream(
            handle, start, end, chunk, inline=isinstance(handle, io.BytesIO), transform=transform
        )

    # -- maintenance ---------------------------------------------------------------------------

    def collect_garbage(self) -> int:
        """Delete temp files and blobs missing from the registry (run at open); returns count."""
        if self._mem is not None or self._root is None:
            return 0
        removed = 0
        for tmp in (self._root / "tmp").iterdir():
            tmp.unlink(missing_ok=True)
            removed += 1
        batch: list[Path] = []
        for fan in self._root.iterdir():
            if fan.name == "tmp" or not fan.is_dir():
                continue
            for path in fan.iterdir():
                batch.append(path)
                if len(batch) >= 500:
                    removed += self._drop_unregistered(batch)
                    batch = []
        return removed + self._drop_unregistered(batch)

    def _drop_unregistered(self, paths: list[Path]) -> int:
        if not paths:
            return 0
        ids = [p.name for p in paths]
        marks = ", ".join("?" for _ in ids)
        known = self._store.read(
            lambda conn: {
                r[0] for r in conn.execute(f"SELECT id FROM {REGISTRY} WHERE id IN ({marks})", ids)
            }
        )
        orphans = [p for p in paths if p.name not in known]
        for path in orphans:
            path.unlink(missing_ok=True)
        return len(orphans)

    def reset(self) -> None:
        """Delete every blob (the registry rows are wiped by ``Store.reset``)."""
        if self._mem is not None:
            self._mem.clear()
        self._pending.clear()
        self._fans.clear()
        if self._root is None or not self._root.exists():
            return
        for fan in self._root.iterdir():
            if fan.name != "tmp" and fan.is_dir():
                shutil.rmtree(fan, ignore_errors=True)

    def close(self) -> None:
        """Finish pending file removals; release memory and, when ephemeral, the spill dir."""
        if self._remover is not None:
            self._closing = True
            self._removals_ready.set()
            self._remover.join()
            self._remover = None
            self._closing = False
        if self._mem is not None:
            self._mem.clear()
        if self._finalizer is not None:
            self._finalizer()

    # -- internals -----------------------------------------------------------------------------

    def _path(self, blob_id: str) -> Path:
        if self._root is None or len(blob_id) < 3 or not blob_id.isalnum():
            return Path("/nonexistent/blob")  # ids are hex; anything else cannot exist
        return self._root / blob_id[:2] / blob_id

    def _spill_root(self) -> Path:
        """The directory large blobs go to: the data dir, or a private temp dir if ephemeral."""
        if self._root is None:
            root = Path(tempfile.mkdtemp(prefix="overcast-blobs-"))
            (root / "tmp").mkdir()
            self._finalizer = weakref.finalize(self, shutil.rmtree, root, ignore_errors=True)
            self._root = root
        return self._root

    def _remove(self, blob_id: str) -> None:
        if self._mem is not None and self._mem.pop(blob_id, None) is not None:
            return
        if self._root is not None:
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                self._path(blob_id).unlink()

    def _remove_later(self, blob_id: str) -> None:
        """``_remove`` on the remover thread (memory blobs at once: that is cheap)."""
        if self._mem is not None and self._mem.pop(blob_id, None) is not None:
            return
        if self._root is None:
            return
        self._doomed.add(blob_id)  # gone for readers from now on, whenever the file goes
        if self._remover is None:
            self._remover = threading.Thread(
                target=self._remove_loop, name="overcast-blob-remover", daemon=True
            )
            self._remover.start()
        self._removals.append(blob_id)
        if not self._removals_ready.is_set():
            self._removals_ready.set()

    def _remove_loop(self) -> None:
        while True:
            self._removals_ready.wait()
            if not self._closing:
                time.sleep(REMOVE_BATCH_S)  # let more removals gather
            self._removals_ready.clear()  # appends from now on set it again
            while self._removals:
                blob_id = self._removals.popleft()
                try:
                    self._remove(blob_id)
                except OSError:
                    log.warning("could not delete blob file %s", blob_id, exc_info=True)
                finally:
                    self._doomed.discard(blob_id)
            if self._closing and not self._removals:
                return

    def _discard_result(self, task: asyncio.Future[Blob]) -> None:
        if not task.cancelled() and task.exception() is None:
            self._remove(task.result().id)


class BlobWriter:
    """One blob being written: memory first when ephemeral, else a temp file.

    Not thread-safe, but not tied to a thread either: the calls may come from different threads
    one after the other (``body.receive`` writes from a worker thread, finishes on the loop).
    """

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.id = os.urandom(16).hex()  # uuid4().hex without the UUID object (3x cheaper)
        self.size = 0
        self.parts: list[bytes] = []
        self.file: BinaryIO | None = None
        self.tmp: Path | None = None
        # Held in memory until it outgrows what may stay there: SPILL_BYTES when ephemeral,
        # INLINE_BYTES on disk (a small blob then never touches the file system).
        self.limit = SPILL_BYTES if blobs._mem is not None else INLINE_BYTES

    def _open_file(self) -> None:
        self.tmp = self.blobs._spill_root() / "tmp" / self.id
        self.file = open(self.tmp, "xb")  # noqa: SIM115 - closed in finish/abort
        for part in self.parts:
            self.file.write(part)
        self.parts = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self.size += len(data)
        if self.file is not None:
            self.file.write(data)
            return
        self.parts.append(bytes(data))
        if self.size > self.limit:
            self._open_file()

    def copy_from(self, src: BinaryIO) -> None:
        """Append all of ``src``: in-kernel (copy_file_range) when both ends are files."""
        if self.file is None or isinstance(src, io.BytesIO):
            while block := src.read(1 << 20):
                self.write(block)
            return
        self.file.flush()
        length = os.fstat(src.fileno()).st_size
        out_fd, in_fd = self.file.fileno(), src.fileno()
        offset = 0
        try:
            while offset < length:
                # Explicit offsets: the file objects' positions are not used nor moved.
                n = os.copy_file_range(in_fd, out_fd, length - offset, offset, self.size + offset)
                if n == 0:
                    break
                offset += n
        except (AttributeError, OSError):  # no copy_file_range here, or across filesystems
            src.seek(offset)
            self.file.seek(self.size + offset)
            shutil.copyfileobj(src, self.file, 1 << 20)
            offset = length
        self.size += offset
        self.file.seek(self.size)

    def finish(self) -> Blob:
        """Make the blob durable and visible under its id."""
        blobs = self.blobs
        if self.file is None:
            data = b"".join(self.parts)
            self.parts = []
            if blobs._mem is not None:
                blobs._mem[self.id] = data
            else:
                blobs._pending[self.id] = data  # stored in the registry row by link()
            return Blob(self.id, self.size)
        assert self.tmp is not None and blobs._root is not None
        self.file.flush()
        if blobs._durable:
            os.fsync(self.file.fileno())
        self.file.close()
        fan = blobs._root / self.id[:2]
        if self.id[:2] not in blobs._fans:  # 256 fan dirs: a mkdir per put is a wasted syscall
            fan.mkdir(exist_ok=True)
            blobs._fans.add(self.id[:2])
        os.replace(self.tmp, fan / self.id)
        if blobs._durable:
            _fsync_dir(fan)
        return Blob(self.id, self.size)

    def finish_or_abort(self) -> Blob:
        try:
            return self.finish()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        self.parts = []
        if self.file is not None:
            self.file.close()
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    """Persist a rename: fsync the directory holding the new name (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


Transform = Callable[[bytearray, int], None]


def _read_transformed(handle: BinaryIO, size: int, transform: Transform) -> bytes:
    """Up to ``size`` bytes read into a buffer of their own, then ``transform``ed in place."""
    buffer = bytearray(size + TRANSFORM_SLACK)
    with memoryview(buffer) as view:
        n = handle.readinto(view[:size])  # type: ignore[attr-defined]
    if n:
        transform(buffer, n)
    del buffer[n:]
    return buffer  # type: ignore[return-value]  # bytes-like: what every consumer takes


async def _stream(
    handle: BinaryIO,
    start: int,
    end: int | None,
    chunk: int,
    *,
    inline: bool,
    transform: Transform | None = None,
) -> AsyncIterator[bytes]:
    try:
        handle.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            size = chunk if remaining is None else min(chunk, remaining)
            if transform is not None:
                if inline or size <= INLINE_READ:
                    data = _read_transformed(handle, size, transform)
                else:
                    data = await asyncio.to_thread(_read_transformed, handle, size, transform)
            elif inline or size <= INLINE_READ:
                data = handle.read(size)
            else:
                data = await asyncio.to_thread(handle.read, size)
            if not data:
                break
            if remaining is not None:
                remaining -= len(data)
            yield data
    finally:
        handle.close()
