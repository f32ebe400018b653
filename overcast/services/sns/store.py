"""SNS's tables and every SQL statement SNS runs; the only SNS module that touches the database.

Functions take the connection of the enclosing ``Store.write``/``Store.read``, so a request is one
transaction. Topics and subscriptions keep their attributes as JSON; ``sns_progress`` remembers
which subscriptions of a published message were already served, so a retried fan-out (the event
bus redelivers after a failure or a restart) never delivers twice to the ones that succeeded.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from overcast.services.sns.models import Subscription, Topic
from overcast.state import Store

NAMESPACE = "sns"

MIGRATIONS = [
    """
    CREATE TABLE sns_topics (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        attrs TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        dpp TEXT NOT NULL DEFAULT '',
        seq INTEGER NOT NULL DEFAULT 0,
        deleted_subs INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sns_topics_by_account ON sns_topics (account_id, region, arn);
    CREATE TABLE sns_subscriptions (
        arn TEXT PRIMARY KEY,
        topic_arn TEXT NOT NULL,
        owner TEXT NOT NULL,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        attrs TEXT NOT NULL,
        confirmed INTEGER NOT NULL,
        token TEXT NOT NULL,
        authenticated INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (topic_arn, arn);
    CREATE INDEX sns_subscriptions_by_token ON sns_subscriptions (token);
    CREATE TABLE sns_dedup (
        topic_arn TEXT NOT NULL,
        dedup_id TEXT NOT NULL,
        expires_at REAL NOT NULL,
        message_id TEXT NOT NULL,
        seq_number TEXT NOT NULL,
        PRIMARY KEY (topic_arn, dedup_id)
    );
    CREATE TABLE sns_progress (
        event_id INTEGER NOT NULL,
        sub_arn TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        done INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (event_id, sub_arn)
    );
    CREATE TABLE sns_captured (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        topic_arn TEXT NOT NULL,
        sub_arn TEXT NOT NULL,
        protocol TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE TABLE sns_signing (
        id INTEGER PRIMARY KEY,
        key_pem TEXT NOT NULL,
        cert_pem TEXT NOT NULL
    );
    """,
    # When the confirmation token was issued: tokens expire after three days.
    "ALTER TABLE sns_subscriptions ADD COLUMN token_at REAL NOT NULL DEFAULT 0",
    # HTTP(S) retries, each due at its delivery policy's time (see delivery.py and retry.py).
    """
    CREATE TABLE sns_retries (
        id INTEGER PRIMARY KEY,
        sub_arn TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        due REAL NOT NULL
    );
    CREATE INDEX sns_retries_by_due ON sns_retries (due, id);
    """,
    # Mobile push (platform applications and their endpoints) and SMS settings.
    """
    CREATE TABLE sns_platform_apps (
        arn TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        attrs TEXT NOT NULL
    );
    CREATE TABLE sns_platform_endpoints (
        arn TEXT PRIMARY KEY,
        app_arn TEXT NOT NULL,
        token TEXT NOT NULL,
        attrs TEXT NOT NULL
    );
    CREATE INDEX sns_platform_endpoints_by_app ON sns_platform_endpoints (app_arn, arn);
    CREATE INDEX sns_platform_endpoints_by_token ON sns_platform_endpoints (app_arn, token);
    CREATE TABLE sns_sms_attrs (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        attrs TEXT NOT NULL,
        PRIMARY KEY (account_id, region)
    );
    CREATE TABLE sns_opted_out (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        phone TEXT NOT NULL,
        PRIMARY KEY (account_id, region, phone)
    );
    """,
    # Delivery status records (feedback.py), kept for a future CloudWatch Logs service.
    """
    CREATE TABLE sns_delivery_status (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        topic_arn TEXT NOT NULL,
        log_group TEXT NOT NULL,
        status TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX sns_delivery_status_by_topic ON sns_delivery_status (topic_arn, id);
    """,
]


def migrate(store: Store) -> None:
    store.migrate(NAMESPACE, MIGRATIONS)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- topics ------------------------------------------------------------------------------------

_TCOLS = "arn, account_id, region, name, attrs, tags, dpp, seq"


def _topic(row: tuple[Any, ...]) -> Topic:
    return Topic(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), row[6],
                 row[7])  # fmt: skip


def get_topic(conn: sqlite3.Connection, arn: str) -> Topic | None:
    row = conn.execute(f"SELECT {_TCOLS} FROM sns_topics WHERE arn = ?", (arn,)).fetchone()
    return _topic(row) if row else None


def put_topic(conn: sqlite3.Connection, topic: Topic) -> None:
    conn.execute(
        "INSERT INTO sns_topics (arn, account_id, region, name, attrs, tags, dpp) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO UPDATE SET attrs = excluded.attrs, "
        "tags = excluded.tags, dpp = excluded.dpp",
        (topic.arn, topic.account_id, topic.region, topic.name, _dumps(topic.attrs),
         _dumps(topic.tags), topic.data_protection_policy),
    )  # fmt: skip


def delete_topic(conn: sqlite3.Connection, arn: str) -> None:
    conn.execute("DELETE FROM sns_topics WHERE arn = ?", (arn,))
    conn.execute("DELETE FROM sns_subscriptions WHERE topic_arn = ?", (arn,))
    conn.execute("DELETE FROM sns_dedup WHERE topic_arn = ?", (arn,))


def list_topics(
    conn: sqlite3.Connection, account: str, region: str, after: str, limit: int
) -> list[str]:
    rows = conn.execute(
        "SELECT arn FROM sns_topics WHERE account_id = ? AND region = ? AND arn > ? "
        "ORDER BY arn LIMIT ?",
        (account, region, after, limit),
    ).fetchall()
    return [r[0] for r in rows]


def subscription_counts(conn: sqlite3.Connection, topic_arn: str) -> tuple[int, int, int]:
    """``(confirmed, pending, deleted)`` subscriptions of a topic."""
    confirmed, pending = conn.execute(
        "SELECT COALESCE(SUM(confirmed), 0), COALESCE(SUM(1 - confirmed), 0) "
        "FROM sns_subscriptions WHERE topic_arn = ?",
        (topic_arn,),
    ).fetchone()
    row = conn.execute("SELECT deleted_subs FROM sns_topics WHERE arn = ?", (topic_arn,))
    deleted = (row.fetchone() or (0,))[0]
    return confirmed, pending, deleted


def next_sequence(conn: sqlite3.Connection, topic_arn: str) -> int:
    conn.execute("UPDATE sns_topics SET seq = seq + 1 WHERE arn = ?", (topic_arn,))
    return conn.execute("SELECT seq FROM sns_topics WHERE arn = ?", (topic_arn,)).fetchone()[0]


def find_duplicate(
    conn: sqlite3.Connection, topic_arn: str, dedup_id: str, now: float
) -> tuple[str, str] | None:
    row = conn.execute(
        "SELECT message_id, seq_number FROM sns_dedup WHERE topic_arn = ? AND dedup_id = ? "
        "AND expires_at > ?",
        (topic_arn, dedup_id, now),
    ).fetchone()
    return (row[0], row[1]) if row else None


def remember_dedup(
    conn: sqlite3.Connection, topic_arn: str, dedup_id: str, expires: float, message_id: str,
    seq: str,
) -> None:  # fmt: skip
    conn.execute(
        "INSERT OR REPLACE INTO sns_dedup VALUES (?, ?, ?, ?, ?)",
        (topic_arn, dedup_id, expires, message_id, seq),
    )


# --- subscriptions -----------------------------------------------------------------------------

_SCOLS = (
    "arn, topic_arn, owner, protocol, endpoint, attrs, confirmed, token, authenticated, token_at"
)


def _sub(row: tuple[Any, ...]) -> Subscription:
    return Subscription(row[0], row[1], row[2], row[3], row[4], json.loads(row[5]),
                        bool(row[6]), row[7], bool(row[8]), row[9])  # fmt: skip


def get_subscription(conn: sqlite3.Connection, arn: str) -> Subscription | None:
    row = conn.execute(f"SELECT {_SCOLS} FROM sns_subscriptions WHERE arn = ?", (arn,))
    found = row.fetchone()
    return _sub(found) if found else None


def find_subscription(
    conn: sqlite3.Connection, topic_arn: str, protocol: str, endpoint: str
) -> Subscription | None:
    row = conn.execute(
        f"SELECT {_SCOLS} FROM sns_subscriptions WHERE topic_arn = ? AND protocol = ? "
        "AND endpoint = ?",
        (topic_arn, protocol, endpoint),
    ).fetchone()
    return _sub(row) if row else None


def by_token(conn: sqlite3.Connection, token: str) -> Subscription | None:
    row = conn.execute(f"SELECT {_SCOLS} FROM sns_subscriptions WHERE token = ?", (token,))
    found = row.fetchone()
    return _sub(found) if found else None


def put_subscription(conn: sqlite3.Connection, sub: Subscription) -> None:
    conn.execute(
        f"INSERT OR REPLACE INTO sns_subscriptions ({_SCOLS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (sub.arn, sub.topic_arn, sub.owner, sub.protocol, sub.endpoint, _dumps(sub.attrs),
         int(sub.confirmed), sub.token, int(sub.authenticated), sub.token_at),
    )  # fmt: skip


def delete_subscription(conn: sqlite3.Connection, sub: Subscription) -> None:
    conn.execute("DELETE FROM sns_subscriptions WHERE arn = ?", (sub.arn,))
    conn.execute(
        "UPDATE sns_topics SET deleted_subs = deleted_subs + 1 WHERE arn = ?", (sub.topic_arn,)
    )


def topic_subscriptions(conn: sqlite3.Connection, topic_arn: str) -> list[Subscription]:
    rows = conn.execute(
        f"SELECT {_SCOLS} FROM sns_subscriptions WHERE topic_arn = ? ORDER BY arn", (topic_arn,)
    ).fetchall()
    return [_sub(r) for r in rows]


def list_subscriptions(
    conn: sqlite3.Connection, account: str, region: str, topic_arn: str | None, after: str,
    limit: int,
) -> list[Subscription]:  # fmt: skip
    if topic_arn is not None:
        rows = conn.execute(
            f"SELECT {_SCOLS} FROM sns_subscriptions WHERE topic_arn = ? AND arn > ? "
            "ORDER BY arn LIMIT ?",
            (topic_arn, after, limit),
        ).fetchall()
    else:
        # Subscriptions belong to the topic's account and region (their ARN starts with it).
        prefix = f"arn:%:sns:{region}:{account}:%"
        rows = conn.execute(
            f"SELECT {_SCOLS} FROM sns_subscriptions WHERE arn LIKE ? AND arn > ? "
            "ORDER BY arn LIMIT ?",
            (prefix, after, limit),
        ).fetchall()
    return [_sub(r) for r in rows]


# --- platform applications and endpoints, SMS settings ----------------------------------------


def get_app(conn: sqlite3.Connection, arn: str) -> dict[str, str] | None:
    row = conn.execute("SELECT attrs FROM sns_platform_apps WHERE arn = ?", (arn,)).fetchone()
    return json.loads(row[0]) if row else None


def put_app(
    conn: sqlite3.Connection, arn: str, account: str, region: str, attrs: dict[str, str]
) -> None:
    conn.execute(
        "INSERT INTO sns_platform_apps VALUES (?, ?, ?, ?) "
        "ON CONFLICT (arn) DO UPDATE SET attrs = excluded.attrs",
        (arn, account, region, _dumps(attrs)),
    )


def delete_app(conn: sqlite3.Connection, arn: str) -> None:
    conn.execute("DELETE FROM sns_platform_apps WHERE arn = ?", (arn,))
    conn.execute("DELETE FROM sns_platform_endpoints WHERE app_arn = ?", (arn,))


def list_apps(
    conn: sqlite3.Connection, account: str, region: str, after: str, limit: int
) -> list[tuple[str, dict[str, str]]]:
    rows = conn.execute(
        "SELECT arn, attrs FROM sns_platform_apps WHERE account_id = ? AND region = ? "
        "AND arn > ? ORDER BY arn LIMIT ?",
        (account, region, after, limit),
    ).fetchall()
    return [(r[0], json.loads(r[1])) for r in rows]


def get_endpoint(conn: sqlite3.Connection, arn: str) -> tuple[str, dict[str, str]] | None:
    """``(application ARN, attributes)`` of a platform endpoint."""
    row = conn.execute(
        "SELECT app_arn, attrs FROM sns_platform_endpoints WHERE arn = ?", (arn,)
    ).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def endpoint_by_token(
    conn: sqlite3.Connection, app_arn: str, token: str
) -> tuple[str, dict[str, str]] | None:
    row = conn.execute(
        "SELECT arn, attrs FROM sns_platform_endpoints WHERE app_arn = ? AND token = ?",
        (app_arn, token),
    ).fetchone()
    return (row[0], json.loads(row[1])) if row else None


def put_endpoint(conn: sqlite3.Connection, arn: str, app_arn: str, attrs: dict[str, str]) -> None:
    conn.execute(
        "INSERT INTO sns_platform_endpoints VALUES (?, ?, ?, ?) ON CONFLICT (arn) DO UPDATE "
        "SET token = excluded.token, attrs = excluded.attrs",
        (arn, app_arn, attrs.get("Token", ""), _dumps(attrs)),
    )


def delete_endpoint(conn: sqlite3.Connection, arn: str) -> None:
    conn.execute("DELETE FROM sns_platform_endpoints WHERE arn = ?", (arn,))


def list_endpoints(
    conn: sqlite3.Connection, app_arn: str, after: str, limit: int
) -> list[tuple[str, dict[str, str]]]:
    rows = conn.execute(
        "SELECT arn, attrs FROM sns_platform_endpoints WHERE app_arn = ? AND arn > ? "
        "ORDER BY arn LIMIT ?",
        (app_arn, after, limit),
    ).fetchall()
    return [(r[0], json.loads(r[1])) for r in rows]


def sms_attributes(conn: sqlite3.Connection, account: str, region: str) -> dict[str, str]:
    row = conn.execute(
        "SELECT attrs FROM sns_sms_attrs WHERE account_id = ? AND region = ?", (account, region)
    ).fetchone()
    return json.loads(row[0]) if row else {}


def put_sms_attributes(
    conn: sqlite3.Connection, account: str, region: str, attrs: dict[str, str]
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sns_sms_attrs VALUES (?, ?, ?)", (account, region, _dumps(attrs))
    )


def opted_out(conn: sqlite3.Connection, account: str, region: str, phone: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sns_opted_out WHERE account_id = ? AND region = ? AND phone = ?",
        (account, region, phone),
    ).fetchone()
    return row is not None


def set_opted_out(
    conn: sqlite3.Connection, account: str, region: str, phone: str, out: bool
) -> None:
    if out:
        conn.execute(
            "INSERT OR IGNORE INTO sns_opted_out VALUES (?, ?, ?)", (account, region, phone)
        )
    else:
        conn.execute(
            "DELETE FROM sns_opted_out WHERE account_id = ? AND region = ? AND phone = ?",
            (account, region, phone),
        )


def list_opted_out(
    conn: sqlite3.Connection, account: str, region: str, after: str, limit: int
) -> list[str]:
    rows = conn.execute(
        "SELECT phone FROM sns_opted_out WHERE account_id = ? AND region = ? AND phone > ? "
        "ORDER BY phone LIMIT ?",
        (account, region, after, limit),
    ).fetchall()
    return [r[0] for r in rows]


# --- delivery progress, captured deliveries, signing key ---------------------------------------


def progress(conn: sqlite3.Connection, event_id: int) -> dict[str, tuple[int, bool]]:
    rows = conn.execute(
        "SELECT sub_arn, attempts, done FROM sns_progress WHERE event_id = ?", (event_id,)
    ).fetchall()
    return {r[0]: (r[1], bool(r[2])) for r in rows}


def record_progress(
    conn: sqlite3.Connection, event_id: int, updates: dict[str, tuple[int, bool]]
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO sns_progress VALUES (?, ?, ?, ?)",
        [(event_id, arn, attempts, int(done)) for arn, (attempts, done) in updates.items()],
    )


def forget_progress(conn: sqlite3.Connection, event_id: int) -> None:
    conn.execute("DELETE FROM sns_progress WHERE event_id = ?", (event_id,))


def add_retry(
    conn: sqlite3.Connection, sub_arn: str, payload: dict[str, Any], attempts: int, due: float
) -> None:
    conn.execute(
        "INSERT INTO sns_retries (sub_arn, payload, attempts, due) VALUES (?, ?, ?, ?)",
        (sub_arn, _dumps(payload), attempts, due),
    )


def due_retries(
    conn: sqlite3.Connection, now: float, limit: int
) -> list[tuple[int, str, dict[str, Any], int]]:
    """``(id, sub_arn, payload, attempts)`` of the retries due at ``now``, oldest first."""
    rows = conn.execute(
        "SELECT id, sub_arn, payload, attempts FROM sns_retries WHERE due <= ? "
        "ORDER BY due, id LIMIT ?",
        (now, limit),
    ).fetchall()
    return [(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]


def reschedule_retry(
    conn: sqlite3.Connection, retry_id: int, attempts: int, due: float,
    payload: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    conn.execute(
        "UPDATE sns_retries SET attempts = ?, due = ? WHERE id = ?", (attempts, due, retry_id)
    )
    if payload is not None:
        conn.execute("UPDATE sns_retries SET payload = ? WHERE id = ?", (_dumps(payload), retry_id))


def delete_retry(conn: sqlite3.Connection, retry_id: int) -> None:
    conn.execute("DELETE FROM sns_retries WHERE id = ?", (retry_id,))


def next_retry_due(conn: sqlite3.Connection) -> float | None:
    return conn.execute("SELECT MIN(due) FROM sns_retries").fetchone()[0]


def capture(
    conn: sqlite3.Connection, at: float, topic_arn: str, sub_arn: str, protocol: str,
    endpoint: str, message: dict[str, Any],
) -> None:  # fmt: skip
    conn.execute(
        "INSERT INTO sns_captured (at, topic_arn, sub_arn, protocol, endpoint, message) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (at, topic_arn, sub_arn, protocol, endpoint, _dumps(message)),
    )


def captured(conn: sqlite3.Connection, filters: dict[str, str]) -> list[dict[str, Any]]:
    where, args = [], []
    for column in ("topic_arn", "protocol", "endpoint", "sub_arn"):
        if filters.get(column):
            where.append(f"{column} = ?")
            args.append(filters[column])
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        "SELECT at, topic_arn, sub_arn, protocol, endpoint, message FROM sns_captured"
        f"{clause} ORDER BY id",
        args,
    ).fetchall()
    keys = ("timestamp", "topic_arn", "subscription_arn", "protocol", "endpoint")
    return [{**dict(zip(keys, r[:5], strict=True)), "message": json.loads(r[5])} for r in rows]


def clear_captured(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM sns_captured")


def log_status(
    conn: sqlite3.Connection, at: float, topic_arn: str, group: str, record: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO sns_delivery_status (at, topic_arn, log_group, status, record) "
        "VALUES (?, ?, ?, ?, ?)",
        (at, topic_arn, group, record["status"], _dumps(record)),
    )


def delivery_status(conn: sqlite3.Connection, filters: dict[str, str]) -> list[dict[str, Any]]:
    """Logged delivery outcomes, oldest first, as CloudWatch Logs events of their log group."""
    where, args = [], []
    for column in ("topic_arn", "log_group", "status"):
        if filters.get(column):
            where.append(f"{column} = ?")
            args.append(filters[column])
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT at, topic_arn, log_group, record FROM sns_delivery_status{clause} ORDER BY id",
        args,
    ).fetchall()
    return [
        {"timestamp": round(r[0] * 1000), "topicArn": r[1], "logGroupName": r[2],
         "message": json.loads(r[3])}
        for r in rows
    ]  # fmt: skip


def signing_key(conn: sqlite3.Connection) -> tuple[str, str] | None:
    row = conn.execute("SELECT key_pem, cert_pem FROM sns_signing WHERE id = 1").fetchone()
    return (row[0], row[1]) if row else None


def save_signing_key(conn: sqlite3.Connection, key_pem: str, cert_pem: str) -> None:
    conn.execute("INSERT OR IGNORE INTO sns_signing VALUES (1, ?, ?)", (key_pem, cert_pem))
