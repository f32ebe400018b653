"""SQS's tables and every SQL statement SQS runs; the only SQS module that touches the database.

Functions take the connection of the enclosing ``Store.write``/``Store.read`` so a request is one
transaction. Queue rows carry the three approximate counters (visible, in flight, delayed),
updated by delta in the same transaction as the message change, so reading them is O(1).

Messages are found for receiving through ``(queue_id, state, visible_at)``: the visible ones in
the order they became visible, and the delayed/in-flight ones whose time has come (promoted to
visible lazily, cost proportional to the messages that changed). ``(queue_id, sent)`` serves
the retention sweep.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from overcast.services.sqs.models import DELAYED, INFLIGHT, VISIBLE, Message, Queue
from overcast.state import Store

NAMESPACE = "sqs"

MIGRATIONS = [
    """
    CREATE TABLE sqs_queues (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        fifo INTEGER NOT NULL,
        attrs TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        modified REAL NOT NULL,
        n_visible INTEGER NOT NULL DEFAULT 0,
        n_inflight INTEGER NOT NULL DEFAULT 0,
        n_delayed INTEGER NOT NULL DEFAULT 0,
        purged_at REAL NOT NULL DEFAULT 0,
        seq INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account_id, region, name)
    );
    CREATE TABLE sqs_deleted_queues (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        deleted_at REAL NOT NULL,
        PRIMARY KEY (account_id, region, name)
    );
    CREATE TABLE sqs_messages (
        id INTEGER PRIMARY KEY,
        queue_id INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        attrs TEXT,
        sys_attrs TEXT,
        md5_body TEXT NOT NULL,
        md5_attrs TEXT,
        md5_sys TEXT,
        sent REAL NOT NULL,
        visible_at REAL NOT NULL,
        state INTEGER NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_receive REAL,
        receipt TEXT NOT NULL DEFAULT '',
        group_id TEXT,
        dedup_id TEXT,
        seq_number TEXT
    );
    CREATE INDEX sqs_messages_ready ON sqs_messages (queue_id, state, visible_at);
    CREATE INDEX sqs_messages_age ON sqs_messages (queue_id, sent);
    CREATE TABLE sqs_dedup (
        queue_id INTEGER NOT NULL,
        scope TEXT NOT NULL,
        dedup_id TEXT NOT NULL,
        expires_at REAL NOT NULL,
        message_id TEXT NOT NULL,
        seq_number TEXT,
        PRIMARY KEY (queue_id, scope, dedup_id)
    );
    CREATE TABLE sqs_move_tasks (
        handle TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        source_arn TEXT NOT NULL,
        destination_arn TEXT,
        rate INTEGER,
        status TEXT NOT NULL,
        started REAL NOT NULL,
        moved INTEGER NOT NULL DEFAULT 0,
        to_move INTEGER NOT NULL DEFAULT 0,
        failure TEXT
    );
    CREATE INDEX sqs_move_tasks_by_source ON sqs_move_tasks (source_arn, started);
    """,
]


def migrate(store: Store) -> None:
    store.migrate(NAMESPACE, MIGRATIONS)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- queues ------------------------------------------------------------------------------------

_QCOLS = (
    "id, account_id, region, name, fifo, attrs, tags, created, modified, "
    "n_visible, n_inflight, n_delayed, purged_at"
)


def _queue(row: tuple[Any, ...]) -> Queue:
    return Queue(
        id=row[0], account_id=row[1], region=row[2], name=row[3], fifo=bool(row[4]),
        attrs=json.loads(row[5]), tags=json.loads(row[6]), created=row[7], modified=row[8],
        n_visible=row[9], n_inflight=row[10], n_delayed=row[11], purged_at=row[12],
    )  # fmt: skip


def get_queue(conn: sqlite3.Connection, account_id: str, region: str, name: str) -> Queue | None:
    row = conn.execute(
        f"SELECT {_QCOLS} FROM sqs_queues WHERE account_id = ? AND region = ? AND name = ?",
        (account_id, region, name),
    ).fetchone()
    return _queue(row) if row else None


def get_queue_by_id(conn: sqlite3.Connection, queue_id: int) -> Queue | None:
    row = conn.execute(f"SELECT {_QCOLS} FROM sqs_queues WHERE id = ?", (queue_id,)).fetchone()
    return _queue(row) if row else None


def insert_queue(conn: sqlite3.Connection, queue: Queue) -> int:
    cur = conn.execute(
        "INSERT INTO sqs_queues (account_id, region, name, fifo, attrs, tags, created, modified)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (queue.account_id, queue.region, queue.name, int(queue.fifo), _dumps(queue.attrs),
         _dumps(queue.tags), queue.created, queue.modified),
    )  # fmt: skip
    conn.execute(
        "DELETE FROM sqs_deleted_queues WHERE account_id = ? AND region = ? AND name = ?",
        (queue.account_id, queue.region, queue.name),
    )
    return int(cur.lastrowid or 0)


def update_queue_attrs(conn: sqlite3.Connection, queue: Queue) -> None:
    conn.execute(
        "UPDATE sqs_queues SET attrs = ?, tags = ?, modified = ?, purged_at = ? WHERE id = ?",
        (_dumps(queue.attrs), _dumps(queue.tags), queue.modified, queue.purged_at, queue.id),
    )


def delete_queue(conn: sqlite3.Connection, queue: Queue, now: float) -> None:
    conn.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue.id,))
    conn.execute("DELETE FROM sqs_dedup WHERE queue_id = ?", (queue.id,))
    conn.execute("DELETE FROM sqs_queues WHERE id = ?", (queue.id,))
    conn.execute(
        "INSERT OR REPLACE INTO sqs_deleted_queues (account_id, region, name, deleted_at)"
        " VALUES (?, ?, ?, ?)",
        (queue.account_id, queue.region, queue.name, now),
    )


def deleted_at(conn: sqlite3.Connection, account_id: str, region: str, name: str) -> float | None:
    row = conn.execute(
        "SELECT deleted_at FROM sqs_deleted_queues WHERE account_id = ? AND region = ?"
        " AND name = ?",
        (account_id, region, name),
    ).fetchone()
    return row[0] if row else None


def list_queue_names(
    conn: sqlite3.Connection, account_id: str, region: str, prefix: str, after: str, limit: int
) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqs_queues WHERE account_id = ? AND region = ? AND name >= ?"
        " AND name > ? ORDER BY name LIMIT ?",
        (account_id, region, prefix, after, limit),
    ).fetchall()
    return [r[0] for r in rows if r[0].startswith(prefix)]


def all_queues(conn: sqlite3.Connection) -> list[Queue]:
    return [_queue(r) for r in conn.execute(f"SELECT {_QCOLS} FROM sqs_queues")]


def queues_of(conn: sqlite3.Connection, account_id: str, region: str) -> list[Queue]:
    rows = conn.execute(
        f"SELECT {_QCOLS} FROM sqs_queues WHERE account_id = ? AND region = ? ORDER BY name",
        (account_id, region),
    )
    return [_queue(r) for r in rows]


def add_counts(
    conn: sqlite3.Connection, queue_id: int, visible: int, inflight: int, delayed: int
) -> None:
    if visible or inflight or delayed:
        conn.execute(
            "UPDATE sqs_queues SET n_visible = n_visible + ?, n_inflight = n_inflight + ?,"
            " n_delayed = n_delayed + ? WHERE id = ?",
            (visible, inflight, delayed, queue_id),
        )


def next_sequence(conn: sqlite3.Connection, queue_id: int, count: int) -> int:
    """Reserve ``count`` FIFO sequence numbers; returns the first."""
    row = conn.execute(
        "UPDATE sqs_queues SET seq = seq + ? WHERE id = ? RETURNING seq", (count, queue_id)
    ).fetchone()
    return int(row[0]) - count + 1


def count_delta(states: Iterable[int], sign: int = -1) -> tuple[int, int, int]:
    """(visible, inflight, delayed) deltas for rows leaving (sign -1) or entering states."""
    v = i = d = 0
    for state in states:
        if state == VISIBLE:
            v += sign
        elif state == INFLIGHT:
            i += sign
        else:
            d += sign
    return v, i, d


# --- messages ------------------------------------------------------------------------------

_MCOLS = (
    "id, queue_id, message_id, body, attrs, sys_attrs, md5_body, md5_attrs, md5_sys, sent,"
    " visible_at, state, receive_count, first_receive, receipt, group_id, dedup_id, seq_number"
)


def _message(row: tuple[Any, ...]) -> Message:
    return Message(
        id=row[0], queue_id=row[1], message_id=row[2], body=row[3],
        attrs=json.loads(row[4]) if row[4] else {},
        sys_attrs=json.loads(row[5]) if row[5] else {},
        md5_body=row[6], md5_attrs=row[7], md5_sys=row[8], sent=row[9], visible_at=row[10],
        state=row[11], receive_count=row[12], first_receive=row[13], receipt=row[14],
        group_id=row[15], dedup_id=row[16], seq_number=row[17],
    )  # fmt: skip


def insert_messages(conn: sqlite3.Connection, messages: list[Message]) -> None:
    conn.executemany(
        "INSERT INTO sqs_messages (queue_id, message_id, body, attrs, sys_attrs, md5_body,"
        " md5_attrs, md5_sys, sent, visible_at, state, receive_count, first_receive, receipt,"
        " group_id, dedup_id, seq_number) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (m.queue_id, m.message_id, m.body, _dumps(m.attrs) if m.attrs else None,
             _dumps(m.sys_attrs) if m.sys_attrs else None, m.md5_body, m.md5_attrs, m.md5_sys,
             m.sent, m.visible_at, m.state, m.receive_count, m.first_receive, m.receipt,
             m.group_id, m.dedup_id, m.seq_number)
            for m in messages
        ],
    )  # fmt: skip


def promote(conn: sqlite3.Connection, queue_id: int, now: float) -> None:
    """Make delayed messages whose delay ended, and in-flight ones whose timeout expired,
    visible; adjust the counters. Costs one index probe plus the rows that changed."""
    delayed = conn.execute(
        "UPDATE sqs_messages SET state = 1 WHERE queue_id = ? AND state = 0 AND visible_at <= ?",
        (queue_id, now),
    ).rowcount
    inflight = conn.execute(
        "UPDATE sqs_messages SET state = 1 WHERE queue_id = ? AND state = 2 AND visible_at <= ?",
        (queue_id, now),
    ).rowcount
    add_counts(conn, queue_id, delayed + inflight, -inflight, -delayed)


def visible_messages(conn: sqlite3.Connection, queue_id: int, limit: int) -> list[Message]:
    rows = conn.execute(
        f"SELECT {_MCOLS} FROM sqs_messages WHERE queue_id = ? AND state = 1"
        " ORDER BY visible_at, id LIMIT ?",
        (queue_id, limit),
    ).fetchall()
    return [_message(r) for r in rows]


def fifo_candidates(conn: sqlite3.Connection, queue_id: int, limit: int) -> list[Message]:
    """Visible messages in send order, from groups with nothing in flight."""
    rows = conn.execute(
        f"SELECT {_MCOLS} FROM sqs_messages WHERE queue_id = ?1 AND state = 1"
        " AND group_id NOT IN (SELECT group_id FROM sqs_messages WHERE queue_id = ?1"
        " AND state = 2) ORDER BY id LIMIT ?2",
        (queue_id, limit),
    ).fetchall()
    return [_message(r) for r in rows]


def mark_received(conn: sqlite3.Connection, updates: list[tuple[Any, ...]]) -> None:
    """``(visible_at, receipt, first_receive, id)`` for each message handed out."""
    conn.executemany(
        "UPDATE sqs_messages SET state = 2, visible_at = ?, receipt = ?,"
        " receive_count = receive_count + 1, first_receive = COALESCE(first_receive, ?)"
        " WHERE id = ?",
        updates,
    )


def get_message(conn: sqlite3.Connection, queue_id: int, msg_id: int) -> Message | None:
    row = conn.execute(
        f"SELECT {_MCOLS} FROM sqs_messages WHERE id = ? AND queue_id = ?", (msg_id, queue_id)
    ).fetchone()
    return _message(row) if row else None


def delete_by_receipt(
    conn: sqlite3.Connection, queue_id: int, msg_id: int, receipt: str
) -> int | None:
    """Delete the message if ``receipt`` is its latest; returns its state, None if nothing."""
    row = conn.execute(
        "DELETE FROM sqs_messages WHERE id = ? AND queue_id = ? AND receipt = ? RETURNING state",
        (msg_id, queue_id, receipt),
    ).fetchone()
    return row[0] if row else None


def delete_message_rows(conn: sqlite3.Connection, ids: list[int]) -> None:
    conn.executemany("DELETE FROM sqs_messages WHERE id = ?", [(i,) for i in ids])


def set_visibility(conn: sqlite3.Connection, msg_id: int, visible_at: float, state: int) -> None:
    conn.execute(
        "UPDATE sqs_messages SET visible_at = ?, state = ? WHERE id = ?",
        (visible_at, state, msg_id),
    )


def purge(conn: sqlite3.Connection, queue_id: int) -> None:
    conn.execute("DELETE FROM sqs_messages WHERE queue_id = ?", (queue_id,))
    conn.execute(
        "UPDATE sqs_queues SET n_visible = 0, n_inflight = 0, n_delayed = 0 WHERE id = ?",
        (queue_id,),
    )


def expire(conn: sqlite3.Connection, queue_id: int, sent_before: float, limit: int) -> int:
    """Delete up to ``limit`` messages sent before ``sent_before``; returns how many."""
    rows = conn.execute(
        "DELETE FROM sqs_messages WHERE id IN (SELECT id FROM sqs_messages WHERE queue_id = ?"
        " AND sent < ? ORDER BY sent LIMIT ?) RETURNING state",
        (queue_id, sent_before, limit),
    ).fetchall()
    if rows:
        add_counts(conn, queue_id, *count_delta(r[0] for r in rows))
    return len(rows)


def oldest_messages(conn: sqlite3.Connection, queue_id: int, limit: int) -> list[Message]:
    rows = conn.execute(
        f"SELECT {_MCOLS} FROM sqs_messages WHERE queue_id = ? ORDER BY id LIMIT ?",
        (queue_id, limit),
    ).fetchall()
    return [_message(r) for r in rows]


def message_count(conn: sqlite3.Connection, queue_id: int) -> int:
    row = conn.execute(
        "SELECT n_visible + n_inflight + n_delayed FROM sqs_queues WHERE id = ?", (queue_id,)
    ).fetchone()
    return int(row[0]) if row else 0


# --- FIFO deduplication --------------------------------------------------------------------


def find_duplicate(
    conn: sqlite3.Connection, queue_id: int, scope: str, dedup_id: str, now: float
) -> tuple[str, str | None] | None:
    row = conn.execute(
        "SELECT message_id, seq_number, expires_at FROM sqs_dedup WHERE queue_id = ?"
        " AND scope = ? AND dedup_id = ?",
        (queue_id, scope, dedup_id),
    ).fetchone()
    if row is None or row[2] <= now:
        return None
    return row[0], row[1]


def remember_dedup(
    conn: sqlite3.Connection, queue_id: int, scope: str, dedup_id: str, expires_at: float,
    message_id: str, seq_number: str | None,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT OR REPLACE INTO sqs_dedup (queue_id, scope, dedup_id, expires_at, message_id,"
        " seq_number) VALUES (?, ?, ?, ?, ?, ?)",
        (queue_id, scope, dedup_id, expires_at, message_id, seq_number),
    )


def forget_expired_dedup(conn: sqlite3.Connection, now: float) -> None:
    conn.execute("DELETE FROM sqs_dedup WHERE expires_at <= ?", (now,))


__all__ = ["DELAYED", "INFLIGHT", "VISIBLE"]
