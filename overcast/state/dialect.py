"""Everything specific to SQLite, in one place.

Services' stores write plain, standard SQL (``SELECT``/``INSERT``/``UPDATE``/``DELETE``, ``TEXT``,
``INTEGER``, ``REAL``, ``BLOB`` columns, ``?`` parameters) so that a server database can later take
SQLite's place by swapping this module. What is not portable lives here: connection PRAGMAs, the
statement that opens a write transaction, the upsert spelling, the auto-assigned id column type,
statement splitting and the catalogue query used by ``Store.reset``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from pathlib import Path

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

# Column type for an id the database assigns on insert (``cursor.lastrowid``).
AUTO_ID = "INTEGER PRIMARY KEY"

# Opens a write transaction that takes the write lock at once, so a transaction never fails
# half-way with SQLITE_BUSY when upgrading a read lock.
BEGIN_WRITE = "BEGIN IMMEDIATE"
BEGIN_READ = "BEGIN"

# Reserved prefix for the state layer's own tables; services must not use it.
INTERNAL_PREFIX = "_overcast_"


def connect(
    path: Path | None, *, synchronous: str = "NORMAL", readonly: bool = False
) -> sqlite3.Connection:
    """Open a connection with Overcast's settings; ``path=None`` is a private in-memory database.

    Connections are in autocommit mode (``isolation_level=None``): the store issues ``BEGIN`` and
    ``COMMIT`` itself, so a transaction is exactly one ``Store.write`` call.
    """
    target = ":memory:" if path is None else str(path)
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    if path is not None:
        # WAL: one writer and any number of readers that never block it (nor are blocked by it).
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot enable WAL journal mode (got {mode})")
        # NORMAL in WAL mode: a commit survives a process crash (kill -9); FULL adds an fsync per
        # commit so it also survives power loss.
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA cache_size = -16000")  # 16 MB of page cache per connection
    if readonly:
        conn.execute("PRAGMA query_only = ON")
    return conn


def upsert_sql(table: str, columns: Sequence[str], key: Sequence[str]) -> str:
    """``INSERT`` that replaces the non-key columns when a row with the same key exists."""
    cols = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    conflict = ", ".join(key)
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({conflict}) {action}"


def split_statements(script: str) -> list[str]:
    """Split a migration script into single statements (trigger bodies stay whole)."""
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\r\n;"):
                statements.append(current.strip())
            current = ""
    if current.strip(" \t\r\n;"):
        statements.append(current.strip().rstrip(";"))
    return statements


def wipe_tables(conn: sqlite3.Connection, *, keep: Collection[str]) -> None:
    """Delete every row of every table not in ``keep``, inside the caller's transaction."""
    # Foreign keys are checked at commit, when all tables are empty, so order does not matter.
    conn.execute("PRAGMA defer_foreign_keys = ON")
    for table in user_tables(conn):
        if table not in keep:
            conn.execute(f'DELETE FROM "{table}"')
    reset_sequences(conn)


def user_tables(conn: sqlite3.Connection) -> list[str]:
    """Names of every table in the database except SQLite's own."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return [r[0] for r in rows]


def reset_sequences(conn: sqlite3.Connection) -> None:
    """Restart ``AUTOINCREMENT`` counters (only present if some table uses that keyword)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'"
    ).fetchone()
    if exists:
        conn.execute("DELETE FROM sqlite_sequence")
