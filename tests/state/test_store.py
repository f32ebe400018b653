"""Store: transactions, nesting, group commit, after_commit, migrations, reset, opening."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from overcast.state import StateError, Store

SCHEMA = ["CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"]


def insert(name: str):
    def fn(conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT INTO items (name) VALUES (?)", (name,)).lastrowid

    return fn


def names(store: Store) -> list[str]:
    return store.read(lambda c: [r[0] for r in c.execute("SELECT name FROM items ORDER BY id")])


def test_write_commits_and_returns_result(store: Store) -> None:
    store.migrate("t", SCHEMA)
    assert store.write(insert("a")) == 1
    assert names(store) == ["a"]


def test_write_rolls_back_on_error(store: Store) -> None:
    store.migrate("t", SCHEMA)

    def boom(conn: sqlite3.Connection) -> None:
        insert("x")(conn)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.write(boom)
    assert names(store) == []
    store.write(insert("after"))  # the connection is usable again
    assert names(store) == ["after"]


def test_nested_write_is_a_savepoint(store: Store) -> None:
    store.migrate("t", SCHEMA)

    def outer(conn: sqlite3.Connection) -> None:
        insert("outer")(conn)
        with pytest.raises(ValueError):
            store.write(lambda c: (insert("inner")(c), (_ for _ in ()).throw(ValueError())))
        store.write(insert("inner-ok"))
        # a read inside the write sees the uncommitted rows
        assert store.read(lambda c: c.execute("SELECT COUNT(*) FROM items").fetchone()[0]) == 2

    store.write(outer)
    assert names(store) == ["outer", "inner-ok"]


def test_after_commit_runs_only_on_commit(store: Store) -> None:
    store.migrate("t", SCHEMA)
    seen: list[str] = []

    def ok(conn: sqlite3.Connection) -> None:
        store.after_commit(conn, lambda: seen.append("ok"))

    def bad(conn: sqlite3.Connection) -> None:
        store.after_commit(conn, lambda: seen.append("bad"))
        raise RuntimeError

    store.write(ok)
    with pytest.raises(RuntimeError):
        store.write(bad)
    assert seen == ["ok"]
    with pytest.raises(StateError):
        store.read(lambda c: store.after_commit(c, lambda: None))


def test_after_commit_callback_failure_does_not_fail_write(store: Store) -> None:
    store.migrate("t", SCHEMA)

    def fn(conn: sqlite3.Connection) -> int:
        store.after_commit(conn, lambda: 1 / 0)
        return insert("a")(conn)

    assert store.write(fn) == 1
    assert names(store) == ["a"]


def test_awrite_and_aread(store: Store) -> None:
    store.migrate("t", SCHEMA)

    async def main() -> list[str]:
        await store.awrite(insert("a"))
        return await store.aread(lambda c: [r[0] for r in c.execute("SELECT name FROM items")])

    assert asyncio.run(main()) == ["a"]


def test_group_commit_isolates_failures(store: Store) -> None:
    store.migrate("t", SCHEMA)
    seen: list[str] = []

    def failing(conn: sqlite3.Connection) -> None:
        insert("bad")(conn)
        store.after_commit(conn, lambda: seen.append("bad"))
        raise KeyError("nope")

    def good(name: str):
        def fn(conn: sqlite3.Connection) -> int:
            store.after_commit(conn, lambda: seen.append(name))
            return insert(name)(conn)

        return fn

    async def main() -> list[object]:
        jobs = [store.awrite(good(f"g{i}")) for i in range(50)]
        jobs.insert(25, store.awrite(failing))
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[25], KeyError)
    assert sum(isinstance(r, int) for r in results) == 50
    assert "bad" not in names(store) and len(names(store)) == 50
    assert "bad" not in seen and len(seen) == 50


def test_write_grouped_shares_one_transaction_and_isolates_failures(store: Store) -> None:
    store.migrate("t", SCHEMA)
    seen: list[str] = []
    commits: list[int] = []
    conn_ids: set[int] = set()

    def failing(conn: sqlite3.Connection) -> None:
        insert("bad")(conn)
        store.after_commit(conn, lambda: seen.append("bad"))
        raise KeyError("nope")

    def good(name: str):
        def fn(conn: sqlite3.Connection) -> int:
            conn_ids.add(id(conn))
            # Nothing of this turn is committed yet: every fn sees the same open transaction.
            assert conn.in_transaction
            store.after_commit(conn, lambda: seen.append(name))
            return insert(name)(conn)

        return fn

    async def main() -> list[object]:
        jobs = [store.write_grouped(good(f"g{i}")) for i in range(20)]
        jobs.insert(10, store.write_grouped(failing))
        out = await asyncio.gather(*jobs, return_exceptions=True)
        commits.append(len(names(store)))
        # A later turn is a new transaction that sees the earlier commit.
        out.append(await store.write_grouped(good("later")))
        return out

    results = asyncio.run(main())
    assert isinstance(results[10], KeyError)
    assert sum(isinstance(r, int) for r in results) == 21
    assert commits == [20]
    assert "bad" not in names(store) and len(names(store)) == 21
    assert "bad" not in seen and len(seen) == 21
    assert len(conn_ids) == 1


def test_group_commit_runs_each_function_once_when_a_failure_changed_nothing(
    store: Store,
) -> None:
    store.migrate("t", SCHEMA)
    runs: list[str] = []

    def refuse(conn: sqlite3.Connection) -> None:
        runs.append("refuse")
        conn.execute("SELECT 1").fetchone()
        raise KeyError("validation failed before any write")

    def good(name: str):
        def fn(conn: sqlite3.Connection) -> int:
            runs.append(name)
            return insert(name)(conn)

        return fn

    async def main() -> list[object]:
        jobs = [store.write_grouped(good("a")), store.write_grouped(refuse)]
        jobs.append(store.write_grouped(good("b")))
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[1], KeyError)
    assert runs == ["a", "refuse", "b"]  # no redo: nothing needed undoing
    assert names(store) == ["a", "b"]


def test_write_grouped_skips_cancelled_callers(store: Store) -> None:
    store.migrate("t", SCHEMA)

    async def main() -> None:
        kept = asyncio.ensure_future(store.write_grouped(insert("kept")))
        dropped = asyncio.ensure_future(store.write_grouped(insert("dropped")))
        await asyncio.sleep(0)  # both queued
        dropped.cancel()
        await kept

    asyncio.run(main())
    assert names(store) == ["kept"]


def test_checkpoints_run_in_the_background(disk_dir: Path) -> None:
    from overcast.state import store as store_module

    store = Store.open(disk_dir)
    try:
        store.migrate("t", SCHEMA)
        for i in range(store_module.CHECKPOINT_EVERY + 10):
            store.write(insert(f"n{i}"))
        wal = disk_dir / "overcast.db-wal"
        deadline = time.monotonic() + 5
        # The checkpointer copies the WAL into the database; no commit did it (autocheckpoint
        # is off), so the database file grows only through the background thread.
        while time.monotonic() < deadline and (disk_dir / "overcast.db").stat().st_size < 8192:
            time.sleep(0.05)
        assert (disk_dir / "overcast.db").stat().st_size >= 8192
        assert wal.exists()
        assert store._wconn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    finally:
        store.close()
    reopened = Store.open(disk_dir)
    try:
        assert len(names(reopened)) == store_module.CHECKPOINT_EVERY + 10
    finally:
        reopened.close()


def test_wal_stays_bounded_under_continuous_writes(
    disk_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from overcast.state import store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 16)
    monkeypatch.setattr(store_module, "RESTART_FRAMES", 64)
    store = Store.open(disk_dir)
    wal = disk_dir / "overcast.db-wal"
    try:
        store.migrate("t", SCHEMA)
        biggest = 0
        for i in range(4000):  # never a pause: the WAL must still restart from its start
            store.write(insert(f"{i:05d}" + "x" * 2000))
            if i % 100 == 0:
                time.sleep(0.001)  # let the checkpointer thread be scheduled on a busy machine
                biggest = max(biggest, wal.stat().st_size)
        # Unbounded, the WAL would hold every commit: ~4000 pages (16 MB).
        assert biggest < 8 << 20
    finally:
        store.close()


def test_writes_from_threads(store: Store) -> None:
    store.migrate("t", SCHEMA)

    def work(n: int) -> None:
        for i in range(50):
            store.write(insert(f"{n}-{i}"))
            store.read(lambda c: c.execute("SELECT COUNT(*) FROM items").fetchone())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names(store)) == 200


def test_migrations_are_versioned_and_idempotent(store: Store) -> None:
    v1 = ["CREATE TABLE a (x INTEGER); CREATE TABLE b (y TEXT);"]
    assert store.migrate("svc", v1) == 1
    assert store.migrate("svc", v1) == 0
    v2 = [*v1, "ALTER TABLE a ADD COLUMN z TEXT; INSERT INTO b (y) VALUES ('a;b');"]
    assert store.migrate("svc", v2) == 1
    assert store.read(lambda c: c.execute("SELECT y FROM b").fetchone()[0]) == "a;b"
    # another namespace has its own version counter
    assert store.migrate("other", ["CREATE TABLE c (x INTEGER)"]) == 1
    with pytest.raises(StateError, match="newer Overcast"):
        store.migrate("svc", v1)


def test_failed_migration_applies_nothing(store: Store) -> None:
    with pytest.raises(sqlite3.OperationalError):
        store.migrate("svc", ["CREATE TABLE ok (x INTEGER); CREATE TABLE broken (;"])
    assert store.migrate("svc", ["CREATE TABLE ok (x INTEGER)"]) == 1


def test_migrations_persist_across_reopen(disk_dir: Path) -> None:
    with Store.open(disk_dir) as s:
        s.migrate("t", SCHEMA)
        s.write(insert("kept"))
    with Store.open(disk_dir) as s:
        assert s.migrate("t", SCHEMA) == 0
        assert names(s) == ["kept"]


def test_reset_empties_tables_keeps_schema(store: Store) -> None:
    store.migrate("t", SCHEMA)
    store.migrate(
        "fk",
        [
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
            "CREATE TABLE child (pid INTEGER REFERENCES parent (id));"
        ],
    )
    store.write(insert("a"))
    store.write(lambda c: c.execute("INSERT INTO parent (id) VALUES (1)"))
    store.write(lambda c: c.execute("INSERT INTO child (pid) VALUES (1)"))
    store.collection("s", "k").put("1", "r", "x", {})
    blob = store.blobs.put_bytes(b"x")
    store.write(lambda c: store.blobs.link(c, blob))
    store.reset()
    assert names(store) == []
    assert store.collection("s", "k").get("1", "r", "x") is None
    assert not store.blobs.exists(blob.id)
    assert store.migrate("t", SCHEMA) == 0
    store.write(insert("b"))
    assert names(store) == ["b"]


def test_unwritable_data_dir_is_a_state_error(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(StateError, match="cannot create data dir"):
        Store.open(afile / "sub")


def test_bad_synchronous_value(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="synchronous"):
        Store.open(tmp_path, synchronous="sometimes")


def test_data_dir_is_locked_while_open(disk_dir: Path) -> None:
    with Store.open(disk_dir, synchronous="full") as s:
        assert s.synchronous == "FULL"
        with pytest.raises(StateError, match="in use by pid"):
            Store.open(disk_dir)
    Store.open(disk_dir).close()  # released on close


def test_disk_layout_and_wal(disk_dir: Path) -> None:
    with Store.open(disk_dir) as s:
        assert s.path == disk_dir and not s.ephemeral
        mode = s.read(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
        assert mode == "wal"
    assert (disk_dir / "overcast.db").exists() and (disk_dir / "blobs").is_dir()


def test_closed_store_refuses(store: Store) -> None:
    store.close()
    with pytest.raises(StateError, match="closed"):
        store.write(lambda c: None)
    store.close()  # idempotent


def test_read_is_read_only_on_disk(disk_dir: Path) -> None:
    with Store.open(disk_dir) as s:
        s.migrate("t", SCHEMA)
        with pytest.raises(sqlite3.OperationalError):
            s.read(insert("x"))
