"""Tables and SQL of backups and point-in-time recovery (namespace ``dynamodb_backups``).

* ``ddbb_backups``: one row per on-demand backup: the source table's metadata document as it was,
  its name/ARN/id, and the backup's own details.
* ``ddbb_backup_items``: the items of each backup (storage's JSON encoding).
* ``ddbb_history``: the change history of PITR-enabled tables, keyed by the table's TableId: one
  row per item change (``item`` NULL for a deletion) in the writer's transaction, plus a base
  copy of every item when PITR is enabled. The table as of time T is, per key, the last row at
  or before T. Rows older than the recovery period are folded into a new base by ``trim``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from overcast.state import dialect

NAMESPACE = "dynamodb_backups"

MIGRATIONS = [
    f"""
    CREATE TABLE ddbb_backups (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        table_name TEXT NOT NULL,
        table_doc TEXT NOT NULL,
        created REAL NOT NULL,
        size INTEGER NOT NULL,
        item_count INTEGER NOT NULL,
        backup_type TEXT NOT NULL
    );
    CREATE INDEX ddbb_backups_owner ON ddbb_backups (account_id, region, created);
    CREATE TABLE ddbb_backup_items (
        backup_arn TEXT NOT NULL,
        n INTEGER NOT NULL,
        item TEXT NOT NULL,
        PRIMARY KEY (backup_arn, n)
    );
    CREATE TABLE ddbb_history (
        id {dialect.AUTO_ID},
        table_uid TEXT NOT NULL,
        at REAL NOT NULL,
        hk BLOB NOT NULL,
        sk BLOB NOT NULL,
        item TEXT
    );
    CREATE INDEX ddbb_history_table ON ddbb_history (table_uid, at);
    CREATE INDEX ddbb_history_key ON ddbb_history (table_uid, hk, sk, at);
    """,
]


@dataclass(slots=True)
class Backup:
    arn: str
    account_id: str
    region: str
    name: str
    table_name: str
    table_doc: dict[str, Any]
    created: float
    size: int
    item_count: int
    backup_type: str


_COLUMNS = (
    "arn, account_id, region, name, table_name, table_doc, created, size, item_count, backup_type"
)


def _backup(row: tuple[Any, ...]) -> Backup:
    values = list(row)
    values[5] = json.loads(values[5])
    return Backup(*values)


def insert_backup(conn: sqlite3.Connection, b: Backup) -> None:
    conn.execute(
        f"INSERT INTO ddbb_backups ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            b.arn, b.account_id, b.region, b.name, b.table_name, json.dumps(b.table_doc),
            b.created, b.size, b.item_count, b.backup_type,
        ),
    )  # fmt: skip


def add_backup_items(conn: sqlite3.Connection, arn: str, start: int, items: list[str]) -> None:
    conn.executemany(
        "INSERT INTO ddbb_backup_items (backup_arn, n, item) VALUES (?, ?, ?)",
        [(arn, start + i, text) for i, text in enumerate(items)],
    )


def get_backup(conn: sqlite3.Connection, arn: str) -> Backup | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM ddbb_backups WHERE arn = ?", (arn,)).fetchone()
    return _backup(row) if row else None


def list_backups(conn: sqlite3.Connection, account_id: str, region: str) -> list[Backup]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM ddbb_backups WHERE account_id = ? AND region = ? "
        "ORDER BY created, arn",
        (account_id, region),
    ).fetchall()
    return [_backup(r) for r in rows]


def delete_backup(conn: sqlite3.Connection, arn: str) -> None:
    conn.execute("DELETE FROM ddbb_backup_items WHERE backup_arn = ?", (arn,))
    conn.execute("DELETE FROM ddbb_backups WHERE arn = ?", (arn,))


def backup_items(conn: sqlite3.Connection, arn: str) -> Iterator[str]:
    cur = conn.execute("SELECT item FROM ddbb_backup_items WHERE backup_arn = ? ORDER BY n", (arn,))
    for (text,) in cur:
        yield text


# -- point-in-time history -------------------------------------------------------------------


def add_history(
    conn: sqlite3.Connection, table_uid: str, at: float, hk: bytes, sk: bytes, item: str | None
) -> None:
    conn.execute(
        "INSERT INTO ddbb_history (table_uid, at, hk, sk, item) VALUES (?, ?, ?, ?, ?)",
        (table_uid, at, hk, sk, item),
    )


def items_at(conn: sqlite3.Connection, table_uid: str, when: float) -> Iterator[str]:
    """The encoded items of the table as of ``when``: per key, the last change at or before."""
    cur = conn.execute(
        "SELECT h.item FROM ddbb_history h WHERE h.table_uid = ? AND h.at <= ? AND h.id = ("
        "SELECT MAX(id) FROM ddbb_history g WHERE g.table_uid = h.table_uid AND g.hk = h.hk "
        "AND g.sk = h.sk AND g.at <= ?) AND h.item IS NOT NULL",
        (table_uid, when, when),
    )
    for (text,) in cur:
        yield text


def changes_between(
    conn: sqlite3.Connection, table_uid: str, start: float, end: float
) -> Iterator[tuple[str | None, str | None, float]]:
    """Per key changed in ``(start, end]``: (item at ``start``, item at ``end``, last write
    time), items encoded, None where absent."""
    keys = conn.execute(
        "SELECT DISTINCT hk, sk FROM ddbb_history WHERE table_uid = ? AND at > ? AND at <= ?",
        (table_uid, start, end),
    ).fetchall()
    last = (
        "SELECT item, at FROM ddbb_history WHERE table_uid = ? AND hk = ? AND sk = ? AND at <= ? "
        "ORDER BY id DESC LIMIT 1"
    )
    for hk, sk in keys:
        new = conn.execute(last, (table_uid, hk, sk, end)).fetchone()
        old = conn.execute(last, (table_uid, hk, sk, start)).fetchone()
        yield (old[0] if old else None), new[0], new[1]


def forget_history(conn: sqlite3.Connection, table_uid: str) -> None:
    conn.execute("DELETE FROM ddbb_history WHERE table_uid = ?", (table_uid,))


def trim_history(conn: sqlite3.Connection, table_uid: str, cutoff: float) -> None:
    """Fold the changes before ``cutoff`` into one row per key (the state at ``cutoff``)."""
    conn.execute(
        "DELETE FROM ddbb_history WHERE table_uid = ? AND at < ? AND id < ("
        "SELECT MAX(id) FROM ddbb_history g WHERE g.table_uid = ddbb_history.table_uid "
        "AND g.hk = ddbb_history.hk AND g.sk = ddbb_history.sk AND g.at < ?)",
        (table_uid, cutoff, cutoff),
    )
    conn.execute(
        "DELETE FROM ddbb_history WHERE table_uid = ? AND at < ? AND item IS NULL",
        (table_uid, cutoff),
    )
