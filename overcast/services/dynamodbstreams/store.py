"""DynamoDB Streams' tables and every SQL statement on them (shared by both providers).

A table with a stream has one stream row per enabling (re-enabling makes a new stream ARN). Each
stream has a single shard for its whole life. Records carry a sequence number drawn from one
counter in the item write's transaction, so they increase across every stream; the wire form is
that number plus 10**20 (21 digits, as AWS's are). Records older than the 24-hour retention and
streams disabled more than 24 hours ago are trimmed by ``trim``; readers also filter by age, so a
clock moved forward is honoured before any trim ran.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

NAMESPACE = "dynamodbstreams"
RETENTION = 24 * 3600.0
SEQ_BASE = 10**20  # wire sequence number = SEQ_BASE + counter: 21 digits

MIGRATIONS = [
    """
    CREATE TABLE ddbs_streams (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        table_name TEXT NOT NULL,
        label TEXT NOT NULL,
        view_type TEXT NOT NULL,
        key_schema TEXT NOT NULL,
        shard_id TEXT NOT NULL,
        start_seq INTEGER NOT NULL,
        end_seq INTEGER,
        created REAL NOT NULL,
        disabled_at REAL
    );
    CREATE INDEX ddbs_streams_table ON ddbs_streams (account_id, region, table_name);
    CREATE TABLE ddbs_records (
        seq INTEGER PRIMARY KEY,
        stream_arn TEXT NOT NULL,
        created REAL NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX ddbs_records_stream ON ddbs_records (stream_arn, seq);
    CREATE INDEX ddbs_records_age ON ddbs_records (created);
    CREATE TABLE ddbs_counter (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
]

_STREAM_COLUMNS = (
    "arn, account_id, region, table_name, label, view_type, key_schema, shard_id, start_seq, "
    "end_seq, created, disabled_at"
)


@dataclass(slots=True)
class Stream:
    arn: str
    account_id: str
    region: str
    table_name: str
    label: str
    view_type: str
    key_schema: list[dict[str, str]]
    shard_id: str
    start_seq: int
    end_seq: int | None
    created: float
    disabled_at: float | None

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None


def _stream(row: tuple[Any, ...]) -> Stream:
    values = list(row)
    values[6] = json.loads(values[6])
    return Stream(*values)


def wire_seq(seq: int) -> str:
    return str(SEQ_BASE + seq)


def parse_seq(text: str) -> int | None:
    """The counter value of a wire sequence number, or None when it is not one."""
    if not text.isdigit() or not 21 <= len(text) <= 40:
        return None
    return int(text) - SEQ_BASE


def next_seqs(conn: sqlite3.Connection, count: int = 1) -> int:
    """Reserve ``count`` sequence numbers; returns the first."""
    row = conn.execute("SELECT value FROM ddbs_counter WHERE name = 'seq'").fetchone()
    last = row[0] if row else 0
    if row is None:
        conn.execute("INSERT INTO ddbs_counter (name, value) VALUES ('seq', ?)", (count,))
    else:
        conn.execute("UPDATE ddbs_counter SET value = ? WHERE name = 'seq'", (last + count,))
    return last + 1


def last_seq(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM ddbs_counter WHERE name = 'seq'").fetchone()
    return row[0] if row else 0


def insert_stream(conn: sqlite3.Connection, s: Stream) -> None:
    conn.execute(
        f"INSERT INTO ddbs_streams ({_STREAM_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            s.arn, s.account_id, s.region, s.table_name, s.label, s.view_type,
            json.dumps(s.key_schema), s.shard_id, s.start_seq, s.end_seq, s.created,
            s.disabled_at,
        ),
    )  # fmt: skip


def get_stream(conn: sqlite3.Connection, arn: str) -> Stream | None:
    row = conn.execute(
        f"SELECT {_STREAM_COLUMNS} FROM ddbs_streams WHERE arn = ?", (arn,)
    ).fetchone()
    return _stream(row) if row else None


def active_stream(
    conn: sqlite3.Connection, account_id: str, region: str, table_name: str
) -> Stream | None:
    """The enabled stream of a table, if any."""
    row = conn.execute(
        f"SELECT {_STREAM_COLUMNS} FROM ddbs_streams WHERE account_id = ? AND region = ? "
        "AND table_name = ? AND disabled_at IS NULL",
        (account_id, region, table_name),
    ).fetchone()
    return _stream(row) if row else None


def latest_stream(
    conn: sqlite3.Connection, account_id: str, region: str, table_name: str
) -> Stream | None:
    """The table's most recent stream, enabled or not (DescribeTable's LatestStreamArn)."""
    row = conn.execute(
        f"SELECT {_STREAM_COLUMNS} FROM ddbs_streams WHERE account_id = ? AND region = ? "
        "AND table_name = ? ORDER BY created DESC, start_seq DESC LIMIT 1",
        (account_id, region, table_name),
    ).fetchone()
    return _stream(row) if row else None


def disable_stream(conn: sqlite3.Connection, arn: str, now: float) -> None:
    conn.execute(
        "UPDATE ddbs_streams SET disabled_at = ?, end_seq = ? WHERE arn = ? "
        "AND disabled_at IS NULL",
        (now, last_seq(conn), arn),
    )


def reopen_stream(conn: sqlite3.Connection, arn: str) -> None:
    conn.execute("UPDATE ddbs_streams SET disabled_at = NULL, end_seq = NULL WHERE arn = ?", (arn,))


def list_streams(
    conn: sqlite3.Connection, account_id: str, region: str, table_name: str | None, now: float
) -> list[Stream]:
    """Streams still readable (enabled, or disabled less than 24 hours ago), oldest first."""
    sql = (
        f"SELECT {_STREAM_COLUMNS} FROM ddbs_streams WHERE account_id = ? AND region = ? "
        "AND (disabled_at IS NULL OR disabled_at > ?)"
    )
    args: list[Any] = [account_id, region, now - RETENTION]
    if table_name is not None:
        sql += " AND table_name = ?"
        args.append(table_name)
    rows = conn.execute(sql + " ORDER BY created, arn", args).fetchall()
    return [_stream(r) for r in rows]


def append_record(
    conn: sqlite3.Connection, stream_arn: str, seq: int, created: float, record: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO ddbs_records (seq, stream_arn, created, record) VALUES (?, ?, ?, ?)",
        (seq, stream_arn, created, json.dumps(record, separators=(",", ":"))),
    )


def read_records(
    conn: sqlite3.Connection, stream_arn: str, from_seq: int, limit: int, now: float
) -> list[tuple[int, dict[str, Any]]]:
    """Up to ``limit`` retained records with ``seq >= from_seq``, in order."""
    rows = conn.execute(
        "SELECT seq, record FROM ddbs_records WHERE stream_arn = ? AND seq >= ? AND created > ? "
        "ORDER BY seq LIMIT ?",
        (stream_arn, from_seq, now - RETENTION, limit),
    ).fetchall()
    return [(seq, json.loads(text)) for seq, text in rows]


def trimmed_through(conn: sqlite3.Connection, stream_arn: str, now: float) -> int:
    """The highest sequence number of the stream's records past retention (0 if none)."""
    row = conn.execute(
        "SELECT MAX(seq) FROM ddbs_records WHERE stream_arn = ? AND created <= ?",
        (stream_arn, now - RETENTION),
    ).fetchone()
    trimmed = row[0] or 0
    row = conn.execute(
        "SELECT value FROM ddbs_counter WHERE name = ?", (f"trimmed:{stream_arn}",)
    ).fetchone()
    return max(trimmed, row[0] if row else 0)


def trim(conn: sqlite3.Connection, now: float) -> None:
    """Delete records past retention (remembering each stream's trim point) and old streams."""
    cutoff = now - RETENTION
    rows = conn.execute(
        "SELECT stream_arn, MAX(seq) FROM ddbs_records WHERE created <= ? GROUP BY stream_arn",
        (cutoff,),
    ).fetchall()
    for arn, seq in rows:
        conn.execute("DELETE FROM ddbs_counter WHERE name = ?", (f"trimmed:{arn}",))
        conn.execute(
            "INSERT INTO ddbs_counter (name, value) VALUES (?, ?)", (f"trimmed:{arn}", seq)
        )
    conn.execute("DELETE FROM ddbs_records WHERE created <= ?", (cutoff,))
    old = [
        r[0]
        for r in conn.execute(
            "SELECT arn FROM ddbs_streams WHERE disabled_at IS NOT NULL AND disabled_at <= ?",
            (cutoff,),
        )
    ]
    for arn in old:
        conn.execute("DELETE FROM ddbs_records WHERE stream_arn = ?", (arn,))
        conn.execute("DELETE FROM ddbs_counter WHERE name = ?", (f"trimmed:{arn}",))
        conn.execute("DELETE FROM ddbs_streams WHERE arn = ?", (arn,))


def oldest_record_time(conn: sqlite3.Connection) -> float | None:
    row = conn.execute("SELECT MIN(created) FROM ddbs_records").fetchone()
    return row[0] if row else None
