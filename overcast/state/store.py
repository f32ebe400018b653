"""The Store: Overcast's system of record, one SQLite database (WAL) plus a blob directory.

Layout of a data dir: ``overcast.db`` (+ ``-wal``/``-shm``), ``blobs/`` and ``overcast.lock``
(held with ``flock`` so two servers never share a data dir). ``Store.open(None)`` is the
``--ephemeral`` mode: an in-memory database and in-memory blobs.

Concurrency model (after Datasette's ``Database``): one writer connection, used by one thread at
a time under a lock; each reading thread gets its own read-only connection, and in WAL mode
readers never block the writer nor are blocked by it. Callers hand the store small functions and
never hold a connection:

* ``write(fn)`` runs ``fn(conn)`` in one transaction on the calling thread and returns after the
  commit. A small write costs ~10-30 µs, cheaper than a hop to a thread, so this is what request
  handlers on the event loop should use for a handful of statements.
* ``await write_grouped(fn)`` runs ``fn`` on the event loop in a transaction shared with the other
  ``write_grouped`` calls of the same loop turn (group commit: concurrent requests pay one
  ``BEGIN``/``COMMIT``, ~30 us, between them); a function that raises is undone alone (through
  savepoints, used only when it had changed rows); it returns after the commit. What request
  handlers with a small write should use when they can await.
* ``awrite(fn)`` queues ``fn`` to the writer thread and awaits the commit. Use it for large or
  slow transactions (the event loop keeps serving meanwhile): the writer thread also commits
  every queued function in one transaction, a failing one undone alone.
* ``read(fn)`` / ``aread(fn)`` run ``fn`` on a consistent snapshot. ``read`` inline is right
  for point lookups; ``aread`` (a small reader thread pool) for scans.

Inside ``write(fn)``, ``fn`` must use the connection it is given; a nested ``write``/``read`` on
the same thread joins the open transaction (a savepoint) instead of deadlocking.

WAL checkpoints (copying committed pages from the WAL into the database file, with an fsync
each side) run on a background thread with its own connection, never inside a commit: SQLite's
automatic checkpoint would stall whichever request crossed the threshold (hundreds of
milliseconds once the database is large).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from overcast.state import dialect, migrations
from overcast.state.blobs import BlobStore
from overcast.state.errors import StateError

if TYPE_CHECKING:
    from overcast.state.collection import Collection

T = TypeVar("T")
log = logging.getLogger("overcast.state")

DB_FILE = "overcast.db"
BLOB_DIR = "blobs"
LOCK_FILE = "overcast.lock"
MAX_BATCH = 256  # functions committed together by the writer thread
CHECKPOINT_EVERY = 256  # commits between background WAL checkpoints (or CHECKPOINT_IDLE seconds)
CHECKPOINT_IDLE = 1.0
RESTART_FRAMES = 4096  # WAL pages (16 MB) past which a checkpoint briefly holds writes back
WAL_SIZE_LIMIT = 64 << 20  # bytes a WAL file is truncated to after a checkpoint restarts it

# The state layer's own tables (blob registry, generic documents); services migrate their own.
INTERNAL_MIGRATIONS = [
    """
    CREATE TABLE _overcast_blobs (
        id TEXT PRIMARY KEY,
        size INTEGER NOT NULL
    );
    CREATE TABLE _overcast_documents (
        namespace TEXT NOT NULL,
        kind TEXT NOT NULL,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        id TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (namespace, kind, account_id, region, id)
    );
    """,
    # Blobs are reference-counted (one blob may back several rows).
    "ALTER TABLE _overcast_blobs ADD COLUMN refs INTEGER NOT NULL DEFAULT 1",
    # Small blobs live in the registry row itself (no file to create, rename and delete).
    "ALTER TABLE _overcast_blobs ADD COLUMN data BLOB",
]


_Grouped = tuple[Callable[[sqlite3.Connection], Any], "asyncio.Future[Any]"]


@dataclass(slots=True)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


class Store:
    """The one place Overcast persists state; see the module docstring for which call to use."""

    path: Path | None  # the data dir; None when ephemeral
    ephemeral: bool
    synchronous: str
    blobs: BlobStore
    keep_on_reset: set[str]  # tables ``reset`` leaves alone (migrations, the clock)

    def __init__(self, path: Path | None, synchronous: str, lock_file: IO[str] | None) -> None:
        """Use ``Store.open``; this assumes the directory checks and lock are done."""
        self.path = path
        self.ephemeral = path is None
        self.synchronous = synchronous
        self.keep_on_reset = {migrations.TABLE}
        self._lock_file = lock_file
        self._db_path = None if path is None else path / DB_FILE
        self._closed = False
        self._lock = threading.RLock()  # guards the writer connection and the fields below
        self._depth = 0  # >0 while a write transaction is open (nesting level)
        self._owner = 0  # thread id running the open write transaction
        self._callbacks: list[Callable[[], None]] = []  # after_commit callbacks of that txn
        self._wconn = dialect.connect(self._db_path, synchronous=synchronous)
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._read_pool: ThreadPoolExecutor | None = None
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        # write_grouped calls waiting for their loop's next turn, per event loop.
        self._grouped: dict[asyncio.AbstractEventLoop, list[_Grouped]] = {}
        self._commits = 0  # commits since the last checkpoint
        self._checkpoint_wake = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._collections: dict[tuple[str, str], Collection] = {}
        self._reset_hooks: list[Callable[[], None]] = []
        self._wconn.execute(migrations.CREATE_TABLE)
        self.migrate("overcast", INTERNAL_MIGRATIONS)
        # Blobs are as durable as commits: fsynced only when SQLite fsyncs each commit (FULL,
        # EXTRA); NORMAL survives kill -9 but not power loss, for blobs and commits alike.
        blob_dir = None if path is None else path / BLOB_DIR
        self.blobs = BlobStore(self, blob_dir, durable=synchronous in ("FULL", "EXTRA"))
        self.blobs.collect_garbage()
        if self._db_path is not None:
            self._wconn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread's job
            self._wconn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            self._checkpointer = threading.Thread(
                target=self._checkpoint_main, name="overcast-checkpoint", daemon=True
            )
            self._checkpointer.start()

    # -- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path | str | None, *, synchronous: str = "NORMAL") -> Store:
        """Open (creating if needed) the store in ``data_dir``; ``None`` means ephemeral.

        ``synchronous`` is SQLite's setting: ``NORMAL`` (default) loses nothing acknowledged on a
        process crash; ``FULL`` also survives power loss at the cost of an fsync per commit.
        Raises ``StateError`` with a one-line message when the directory is unusable.
        """
        mode = synchronous.upper()
        if mode not in dialect.SYNCHRONOUS_MODES:
            raise StateError(
                f"synchronous must be one of {', '.join(dialect.SYNCHRONOUS_MODES)}, "
                f"not {synchronous!r}"
            )
        if data_dir is None:
            return cls(None, mode, None)
        path = Path(data_dir).expanduser().absolute()
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / BLOB_DIR).mkdir(exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create data dir {path}: {exc.strerror or exc}") from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise StateError(f"data dir {path} is not writable")
        lock_file = _lock_data_dir(path)
        try:
            return cls(path, mode, lock_file)
        except sqlite3.Error as exc:
            lock_file.close()
            raise StateError(f"cannot open database in {path}: {exc}") from None
        except BaseException:
            lock_file.close()
            raise

    def close(self) -> None:
        """Finish queued writes, then close every connection and release the data dir."""
        if self._closed:
            return
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
        self._closed = True
        if self._checkpointer is not None:
            self._checkpoint_wake.set()
            self._checkpointer.join()
        if self._read_pool is not None:
            self._read_pool.shutdown(wait=True)
        with self._lock:
            for conn in self._read_conns:
                conn.close()
            self._read_conns.clear()
            self._wconn.close()
        self.blobs.close()
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the flock

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------------------

    def has_namespace(self, namespace: str) -> bool:
        """Whether a service ever created its tables in this store (a migration was applied)."""
        return self.read(lambda conn: migrations.current_version(conn, namespace)) > 0

    def migrate(self, namespace: str, migration_list: Sequence[str]) -> int:
        """Apply ``namespace``'s scripts not yet applied (idempotent); returns how many ran."""
        return self.write(lambda conn: migrations.apply(conn, namespace, migration_list))

    def collection(self, namespace: str, kind: str) -> Collection:
        """The JSON document collection ``kind`` of service ``namespace`` (see ``Collection``)."""
        from overcast.state.collection import Collection

        key = (namespace, kind)
        coll = self._collections.get(key)
        if coll is None:
            coll = self._collections[key] = Collection(self, namespace, kind)
        return coll

    def reset(self) -> None:
        """Empty every table (schema kept; ``keep_on_reset`` tables untouched); delete all blobs."""

        def wipe(conn: sqlite3.Connection) -> None:
            dialect.wipe_tables(conn, keep=self.keep_on_reset)

        self.write(wipe)
        self.blobs.reset()
        _run_callbacks(list(self._reset_hooks))

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after each ``reset`` (to drop in-memory caches of wiped rows)."""
        self._reset_hooks.append(callback)

    # -- writing -------------------------------------------------------------------------------

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in one transaction on this thread; return its result after commit.

        If ``fn`` raises, the transaction is rolled back and the exception propagates. Called
        inside another ``write`` on the same thread, ``fn`` runs in a savepoint of that one.
        """
        self._check_open()
        with self._lock:
            if self._depth:
                return self._nested(fn)
            self._begin()
            try:
                result = self._run_batch([fn], isolate=False)[0][1]
            finally:
                callbacks = self._end()
        _run_callbacks(callbacks)
        return result

    async def write_grouped(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``write(fn)`` in one transaction with the other calls of this event-loop turn.

        Requests served together (the loop runs every ready request before it polls again)
        share one ``BEGIN``/``COMMIT``; one ``fn`` that raises is rolled back alone and its
        exception is raised here (the group is redone with a savepoint per function when the
        failing one had changed rows, so the functions must not have effects outside ``conn``
        other than ``after_commit`` callbacks). Returns ``fn``'s result
        after the commit, so an acknowledged write is durable as with ``write``.
        """
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        queued = self._grouped.get(loop)
        if queued is None:
            queued = self._grouped[loop] = []
            loop.call_soon(self._commit_grouped, loop)
        queued.append((fn, future))
        return await future

    def _commit_grouped(self, loop: asyncio.AbstractEventLoop) -> None:
        queued = self._grouped.pop(loop, [])
        jobs = [(fn, fut) for fn, fut in queued if not fut.done()]  # done: cancelled
        if not jobs:
            return
        if self._closed:
            for _, future in jobs:
                future.set_exception(StateError("the store is closed"))
            return
        with self._lock:
            self._begin()
            try:
                outcomes = self._run_batch([fn for fn, _ in jobs], isolate=len(jobs) > 1)
            except BaseException as exc:
                outcomes = [(False, exc)] * len(jobs)
            finally:
                callbacks = self._end()
        _run_callbacks(callbacks)
        for (_, future), (ok, value) in zip(jobs, outcomes, strict=True):
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    async def awrite(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` in a transaction on the writer thread; return after it commits.

        Functions queued together are committed as one transaction (group commit): a function
        that raises is rolled back alone and its exception is raised here. The others may then
        run a second time (the batch is redone, each in a savepoint), so ``fn`` must have no
        effect outside ``conn`` other than ``after_commit`` callbacks, and no schema changes
        (DDL belongs in ``migrate``).
        """
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_writer()
        self._queue.put(_Job(fn, loop, future))
        return await future

    def after_commit(self, conn: sqlite3.Connection, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the transaction ``conn`` is in commits (never on rollback).

        The callback runs on the committing thread (the event loop for ``write``, the writer
        thread for ``awrite``) right after the commit; it must be quick and thread-safe.
        """
        if conn is not self._wconn or not self._depth or self._owner != threading.get_ident():
            raise StateError("after_commit() must be called inside Store.write with its conn")
        self._callbacks.append(callback)

    def _nested(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._depth += 1
        try:
            ok, value = self._savepoint(fn)
        finally:
            self._depth -= 1
        if not ok:
            raise value
        return value

    def _begin(self) -> None:
        self._depth = 1
        self._owner = threading.get_ident()
        self._callbacks = []

    def _end(self) -> list[Callable[[], None]]:
        callbacks, self._callbacks = self._callbacks, []
        self._depth = 0
        self._owner = 0
        return callbacks

    def _run_batch(
        self, fns: Sequence[Callable[[sqlite3.Connection], Any]], *, isolate: bool
    ) -> list[tuple[bool, Any]]:
        """One transaction over ``fns``; with ``isolate`` a function that raises is undone alone
        (its exception becomes its outcome) and the others commit."""
        conn = self._wconn
        conn.execute(dialect.BEGIN_WRITE)
        try:
            if not isolate:
                outcomes = [(True, fn(conn)) for fn in fns]
            elif (isolated := self._run_unless_undo_needed(fns)) is not None:
                outcomes = isolated
            else:  # a function failed after changing rows: start over, a savepoint each
                self._callbacks.clear()
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                conn.execute(dialect.BEGIN_WRITE)
                outcomes = [self._savepoint(fn) for fn in fns]
            conn.execute("COMMIT")
            self._commits += 1
            if self._commits >= CHECKPOINT_EVERY:
                self._checkpoint_wake.set()
        except BaseException:
            self._callbacks.clear()
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    def _run_unless_undo_needed(
        self, fns: Sequence[Callable[[sqlite3.Connection], Any]]
    ) -> list[tuple[bool, Any]] | None:
        """Run ``fns`` one after the other without savepoints (two statements each, ~20% of a
        small write), or return None as soon as one raises after changing rows: only a
        savepoint could undo those. Requests that fail mostly fail before writing anything
        (validation, access checks), and then there is nothing to undo."""
        conn = self._wconn
        outcomes: list[tuple[bool, Any]] = []
        for fn in fns:
            mark = len(self._callbacks)
            changes = conn.total_changes
            try:
                outcomes.append((True, fn(conn)))
            except Exception as exc:
                if conn.total_changes != changes or not conn.in_transaction:
                    return None
                del self._callbacks[mark:]
                outcomes.append((False, exc))
        return outcomes

    def _savepoint(self, fn: Callable[[sqlite3.Connection], Any]) -> tuple[bool, Any]:
        conn = self._wconn
        mark = len(self._callbacks)
        conn.execute("SAVEPOINT overcast_fn")
        try:
            value = fn(conn)
        except Exception as exc:
            del self._callbacks[mark:]
            if conn.in_transaction:
                conn.execute("ROLLBACK TO overcast_fn")
                conn.execute("RELEASE overcast_fn")
            return False, exc
        conn.execute("RELEASE overcast_fn")
        return True, value

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._writer_main, name="overcast-writer", daemon=True
                    )
                    self._writer.start()

    def _writer_main(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is None:
                break
            batch = [job]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                batch.append(nxt)
            self._commit_jobs(batch)

    def _commit_jobs(self, batch: list[_Job]) -> None:
        callbacks: list[Callable[[], None]] = []
        with self._lock:
            self._begin()
            try:
                outcomes = self._run_batch([j.fn for j in batch], isolate=len(batch) > 1)
            except BaseException as exc:
                outcomes = [(False, exc)] * len(batch)
            finally:
                callbacks = self._end()
        # Callbacks first: once an awrite returns, its after-commit effects have been queued.
        _run_callbacks(callbacks)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(job.loop, []).append((job, ok, value))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # loop already closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, settled)

    def _checkpoint_main(self) -> None:
        """Checkpoint the WAL every CHECKPOINT_EVERY commits, or after CHECKPOINT_IDLE seconds
        with commits pending, without blocking writers (``PASSIVE``)."""
        conn = dialect.connect(self._db_path, synchronous=self.synchronous)
        try:
            while not self._closed:
                self._checkpoint_wake.wait(CHECKPOINT_IDLE)
                self._checkpoint_wake.clear()
                if self._commits and not self._closed:
                    self._commits = 0
                    try:
                        self._checkpoint(conn)
                    except sqlite3.Error as exc:  # e.g. busy: the next round retries
                        log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > RESTART_FRAMES:
            # The WAL restarts from its beginning only once every frame is copied, which never
            # happens while writes keep coming during the checkpoint: it would grow without
            # bound. So the frames appended meanwhile (few) are copied with writes held back.
            with self._lock:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    # -- reading -------------------------------------------------------------------------------

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on a consistent snapshot of committed data; ``fn`` must not write."""
        self._check_open()
        if self._depth and self._owner == threading.get_ident():
            return fn(self._wconn)  # inside a write on this thread: see its own changes
        if self.ephemeral:
            with self._lock:  # the one in-memory connection is shared with writers
                return fn(self._wconn)
        conn = self._read_conn()
        conn.execute(dialect.BEGIN_READ)
        try:
            return fn(conn)
        finally:
            conn.execute("ROLLBACK")

    async def aread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``read`` on a reader thread, for scans that would hold up the event loop."""
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers(), self.read, fn)

    def _read_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = dialect.connect(self._db_path, synchronous=self.synchronous, readonly=True)
            self._local.conn = conn
            with self._lock:
                self._read_conns.append(conn)
        return conn

    def _readers(self) -> ThreadPoolExecutor:
        if self._read_pool is None:
            with self._lock:
                if self._read_pool is None:
                    self._read_pool = ThreadPoolExecutor(4, thread_name_prefix="overcast-read")
        return self._read_pool

    def _check_open(self) -> None:
        if self._closed:
            raise StateError("the store is closed")

    def __repr__(self) -> str:
        where = "ephemeral" if self.path is None else str(self.path)
        return f"<Store {where} synchronous={self.synchronous}>"


def _settle(settled: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in settled:
        if job.future.done():  # the awaiting task was cancelled
            continue
        if ok:
            job.future.set_result(value)
        else:
            job.future.set_exception(value)


def _run_callbacks(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The transaction is committed; a failing callback must not make it look failed.
            log.exception("after_commit callback %r failed", callback)


def _lock_data_dir(path: Path) -> IO[str]:
    """Take an exclusive lock on the data dir so two servers never write the same files."""
    try:
        lock_file = open(path / LOCK_FILE, "a+")  # noqa: SIM115 - held open for the store's life
    except OSError as exc:
        raise StateError(f"data dir {path} is not writable: {exc.strerror or exc}") from None
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; run one server per data dir
        return lock_file
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or "another process"
        lock_file.close()
        raise StateError(f"data dir {path} is in use by {holder}") from None
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(f"pid {os.getpid()}\n")
    lock_file.flush()
    return lock_file
