"""DynamoDB Streams' tables and every SQL statement on them (shared by both providers).

A table with a stream has one stream row per enabling (re-enabling makes a new stream ARN). A
stream's shards form a chain: the open shard closes every ``SHARD_PERIOD`` seconds of clock time
(checked lazily on each write and read, by ``roll``) and a child shard naming it as parent opens;
disabling the stream closes its open shard. A shard is a range of sequence numbers of its
stream: a closed shard ends at the counter's value when it closed. Records carry a sequence
number drawn from one counter in the item write's transaction, so they increase across every
stream; the wire form is that number plus 10**20 (21 digits, as AWS's are). Records older than
the 24-hour retention, shards closed and streams disabled more than 24 hours ago are trimmed by
``trim``; readers also filter by age, so a clock moved forward is honoured before any trim ran.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

NAMESPACE = "dynamodbstreams"
RETENTION = 24 * 3600.0
SHARD_PERIOD = 4 * 3600.0  # AWS rolls a stream's shards about every four hours
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
    """
    CREATE TABLE ddbs_shards (
        stream_arn TEXT NOT NULL,
        shard_id TEXT NOT NULL,
        parent_shard_id TEXT,
        start_seq INTEGER NOT NULL,
        end_seq INTEGER,
        created REAL NOT NULL,
        closed_at REAL,
        PRIMARY KEY (stream_arn, shard_id)
    );
    CREATE INDEX ddbs_shards_open ON ddbs_shards (stream_arn, end_seq);
    INSERT INTO ddbs_shards (stream_arn, shard_id, parent_shard_id, start_seq, end_seq, created,
                             closed_at)
        SELECT arn, shard_id, NULL, start_seq, end_seq, created, disabled_at FROM ddbs_streams;
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


@dataclass(slots=True)
class Shard:
    stream_arn: str
    shard_id: str
    parent_shard_id: str | None
    start_seq: int
    end_seq: int | None
    created: float
    closed_at: float | None

    @property
    def closed(self) -> bool:
        return self.end_seq is not None


_SHARD_COLUMNS = "stream_arn, shard_id, parent_shard_id, start_seq, end_seq, created, closed_at"


def new_shard_id(now: float) -> str:
    """A shard id as AWS writes them: ``shardId-<20-digit ms>-<8 hex>``."""
    return f"shardId-{int(now * 1000):020d}-{os.urandom(4).hex()}"


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
    _insert_shard(
        conn, Shard(s.arn, s.shard_id, None, s.start_seq, s.end_seq, s.created, s.disabled_at)
    )


def _insert_shard(conn: sqlite3.Connection, sh: Shard) -> None:
    conn.execute(
        f"INSERT INTO ddbs_shards ({_SHARD_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
        (
            sh.stream_arn, sh.shard_id, sh.parent_shard_id, sh.start_seq, sh.end_seq,
            sh.created, sh.closed_at,
        ),
    )  # fmt: skip


def list_shards(conn: sqlite3.Connection, stream_arn: str, now: float) -> list[Shard]:
    """The stream's shards still within retention (open, or closed less than 24 hours ago),
    oldest first."""
    rows = conn.execute(
        f"SELECT {_SHARD_COLUMNS} FROM ddbs_shards WHERE stream_arn = ? "
        "AND (closed_at IS NULL OR closed_at > ?) ORDER BY start_seq, created",
        (stream_arn, now - RETENTION),
    ).fetchall()
    return [Shard(*r) for r in rows]


def open_shard(conn: sqlite3.Connection, stream_arn: str) -> Shard | None:
    row = conn.execute(
        f"SELECT {_SHARD_COLUMNS} FROM ddbs_shards WHERE stream_arn = ? AND end_seq IS NULL",
        (stream_arn,),
    ).fetchone()
    return Shard(*row) if row else None


def roll_due(shard: Shard | None, now: float) -> bool:
    return shard is not None and shard.end_seq is None and now >= shard.created + SHARD_PERIOD


def roll(conn: sqlite3.Connection, stream_arn: str, now: float) -> Shard | None:
    """Close the stream's open shard when its period is over and open its child; returns the
    open shard. The child opens at the last period boundary before ``now``: a clock moved past
    several periods with no reads or writes makes one child, not one per period."""
    shard = open_shard(conn, stream_arn)
    if shard is None or not roll_due(shard, now):
        return shard
    periods = int((now - shard.created) // SHARD_PERIOD)
    boundary = shard.created + periods * SHARD_PERIOD
    end = last_seq(conn)
    conn.execute(
        "UPDATE ddbs_shards SET end_seq = ?, closed_at = ? WHERE stream_arn = ? AND shard_id = ?",
        (end, boundary, stream_arn, shard.shard_id),
    )
    child = Shard(stream_arn, new_shard_id(boundary), shard.shard_id, end + 1, None, boundary, None)
    _insert_shard(conn, child)
    return child


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
    """Disable the stream and close its open shard."""
    end = last_seq(conn)
    conn.execute(
        "UPDATE ddbs_streams SET disabled_at = ?, end_seq = ? WHERE arn = ? "
        "AND disabled_at IS NULL",
        (now, end, arn),
    )
    conn.execute(
        "UPDATE ddbs_shards SET end_seq = ?, closed_at = ? WHERE stream_arn = ? "
        "AND end_seq IS NULL",
        (end, now, arn),
    )


def reopen_stream(conn: sqlite3.Connection, arn: str) -> None:
    """Re-enable a stream disabled within the same millisecond: its last shard reopens."""
    conn.execute("UPDATE ddbs_streams SET disabled_at = NULL, end_seq = NULL WHERE arn = ?", (arn,))
    row = conn.execute(
        "SELECT shard_id FROM ddbs_shards WHERE stream_arn = ? ORDER BY start_seq DESC, "
        "created DESC LIMIT 1",
        (arn,),
    ).fetchone()
    if row is not None:
        conn.execute(
            "UPDATE ddbs_shards SET end_seq = NULL, closed_at = NULL WHERE stream_arn = ? "
            "AND shard_id = ?",
            (arn, row[0]),
        )


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
    conn: sqlite3.Connection,
    stream_arn: str,
    from_seq: int,
    limit: int,
    now: float,
    to_seq: int | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """Up to ``limit`` retained records with ``from_seq <= seq (<= to_seq)``, in order."""
    upper = to_seq if to_seq is not None else 2**62
    rows = conn.execute(
        "SELECT seq, record FROM ddbs_records WHERE stream_arn = ? AND seq >= ? AND seq <= ? "
        "AND created > ? ORDER BY seq LIMIT ?",
        (stream_arn, from_seq, upper, now - RETENTION, limit),
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
    conn.execute(
        "DELETE FROM ddbs_shards WHERE closed_at IS NOT NULL AND closed_at <= ?", (cutoff,)
    )
    for arn in old:
        conn.execute("DELETE FROM ddbs_shards WHERE stream_arn = ?", (arn,))
        conn.execute("DELETE FROM ddbs_records WHERE stream_arn = ?", (arn,))
        conn.execute("DELETE FROM ddbs_counter WHERE name = ?", (f"trimmed:{arn}",))
        conn.execute("DELETE FROM ddbs_streams WHERE arn = ?", (arn,))


def oldest_record_time(conn: sqlite3.Connection) -> float | None:
    row = conn.execute("SELECT MIN(created) FROM ddbs_records").fetchone()
    return row[0] if row else None
