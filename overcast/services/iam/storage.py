"""IAM's tables and every SQL statement IAM runs; the only IAM module that touches the database.

IAM is global: rows are keyed by account only. Most resources are one JSON document per
``(account, kind, key)`` where ``key`` is the lower-cased name, since IAM names are unique
without regard to case while keeping the case they were created with. Relations that are queried
from both sides get their own tables: policy attachments (ListEntitiesForPolicy, AttachmentCount,
the attached policies of an entity), group membership, and access keys (found by id alone when a
request is signed with one).

Every write goes through ``write``, which bumps the store's IAM generation after the commit; the
directory's caches compare generations to know when to drop what they hold.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from overcast.state import Store

T = TypeVar("T")
Doc = dict[str, Any]
NAMESPACE = "iam"

MIGRATIONS = [
    """
    CREATE TABLE iam_resources (
        account_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        doc TEXT NOT NULL,
        PRIMARY KEY (account_id, kind, key)
    );
    CREATE TABLE iam_attachments (
        account_id TEXT NOT NULL,
        entity_kind TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        policy_arn TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (account_id, entity_kind, entity_key, policy_arn)
    );
    CREATE INDEX iam_attachments_by_policy ON iam_attachments (account_id, policy_arn);
    CREATE TABLE iam_members (
        account_id TEXT NOT NULL,
        group_key TEXT NOT NULL,
        user_key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (account_id, group_key, user_key)
    );
    CREATE INDEX iam_members_by_user ON iam_members (account_id, user_key);
    CREATE TABLE iam_access_keys (
        access_key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        user_key TEXT NOT NULL,
        doc TEXT NOT NULL,
        last_used REAL,
        last_service TEXT,
        last_region TEXT
    );
    CREATE INDEX iam_access_keys_by_user ON iam_access_keys (account_id, user_key);
    """,
    # Keys IAM deleted: requests signed with one are refused (InvalidClientTokenId), rather than
    # mistaken for an unknown key (which Overcast maps to the default account's root).
    """
    CREATE TABLE iam_deleted_keys (
        access_key_id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL
    );
    """,
]

# Resource kinds stored in iam_resources.
USER = "user"
GROUP = "group"
ROLE = "role"
POLICY = "policy"
INSTANCE_PROFILE = "instance-profile"
LOGIN_PROFILE = "login-profile"
MFA = "mfa"
OIDC = "oidc"
SAML = "saml"
SERVER_CERT = "server-certificate"
ACCOUNT = "account"  # alias, password policy, credential report


def key_of(name: str) -> str:
    return name.lower()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- generations: cache invalidation for the directory ----------------------------------------

# One mutable cell per store, so a reader holding it checks the generation with one index.
_generations: weakref.WeakKeyDictionary[Store, list[int]] = weakref.WeakKeyDictionary()
_gen_lock = threading.Lock()


def generation_cell(store: Store) -> list[int]:
    """``[n]``: n changes after every committed IAM write (and every store reset)."""
    cell = _generations.get(store)
    if cell is None:
        with _gen_lock:
            cell = _generations.get(store)
            if cell is None:
                cell = _generations[store] = [0]
                store.on_reset(lambda: bump(store))
    return cell


def generation(store: Store) -> int:
    return generation_cell(store)[0]


def bump(store: Store) -> None:
    cell = generation_cell(store)
    with _gen_lock:
        cell[0] += 1


_migrated: weakref.WeakSet[Store] = weakref.WeakSet()


def migrate(store: Store) -> None:
    if store not in _migrated:
        store.migrate(NAMESPACE, MIGRATIONS)
        _migrated.add(store)


def write(store: Store, fn: Callable[[sqlite3.Connection], T]) -> T:
    """``store.write(fn)``, then a generation bump once it commits."""
    migrate(store)
    generation(store)  # registers the reset hook

    def run(conn: sqlite3.Connection) -> T:
        store.after_commit(conn, lambda: bump(store))
        return fn(conn)

    return store.write(run)


def read(store: Store, fn: Callable[[sqlite3.Connection], T]) -> T:
    migrate(store)
    return store.read(fn)


# --- documents -----------------------------------------------------------------------------


def get(conn: sqlite3.Connection, account: str, kind: str, name: str) -> Doc | None:
    row = conn.execute(
        "SELECT doc FROM iam_resources WHERE account_id = ? AND kind = ? AND key = ?",
        (account, kind, key_of(name)),
    ).fetchone()
    return None if row is None else json.loads(row[0])


def put(conn: sqlite3.Connection, account: str, kind: str, name: str, doc: Doc) -> None:
    conn.execute(
        "DELETE FROM iam_resources WHERE account_id = ? AND kind = ? AND key = ?",
        (account, kind, key_of(name)),
    )
    conn.execute(
        "INSERT INTO iam_resources (account_id, kind, key, doc) VALUES (?, ?, ?, ?)",
        (account, kind, key_of(name), dumps(doc)),
    )


def insert(conn: sqlite3.Connection, account: str, kind: str, name: str, doc: Doc) -> bool:
    """Create the document unless one exists under the same (case-insensitive) name."""
    try:
        conn.execute(
            "INSERT INTO iam_resources (account_id, kind, key, doc) VALUES (?, ?, ?, ?)",
            (account, kind, key_of(name), dumps(doc)),
        )
    except sqlite3.IntegrityError:
        return False
    return True


def delete(conn: sqlite3.Connection, account: str, kind: str, name: str) -> bool:
    cur = conn.execute(
        "DELETE FROM iam_resources WHERE account_id = ? AND kind = ? AND key = ?",
        (account, kind, key_of(name)),
    )
    return cur.rowcount > 0


def all_of(conn: sqlite3.Connection, account: str, kind: str) -> list[Doc]:
    """Every document of ``kind`` in the account, in key order."""
    rows = conn.execute(
        "SELECT doc FROM iam_resources WHERE account_id = ? AND kind = ? ORDER BY key",
        (account, kind),
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def count(conn: sqlite3.Connection, account: str, kind: str) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM iam_resources WHERE account_id = ? AND kind = ?", (account, kind)
    ).fetchone()
    return int(row[0])


def accounts(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT DISTINCT account_id FROM iam_resources").fetchall()
    return [r[0] for r in rows]


# --- policy attachments --------------------------------------------------------------------


def _next_seq(conn: sqlite3.Connection, table: str) -> int:
    row = conn.execute(f"SELECT COALESCE(MAX(seq), 0) + 1 FROM {table}").fetchone()
    return int(row[0])


def attach(conn: sqlite3.Connection, account: str, kind: str, name: str, arn: str) -> bool:
    """Attach; returns False when it already was (attaching twice is a no-op in AWS)."""
    exists = conn.execute(
        "SELECT 1 FROM iam_attachments WHERE account_id = ? AND entity_kind = ? "
        "AND entity_key = ? AND policy_arn = ?",
        (account, kind, key_of(name), arn),
    ).fetchone()
    if exists:
        return False
    conn.execute(
        "INSERT INTO iam_attachments (account_id, entity_kind, entity_key, policy_arn, seq)"
        " VALUES (?, ?, ?, ?, ?)",
        (account, kind, key_of(name), arn, _next_seq(conn, "iam_attachments")),
    )
    return True


def detach(conn: sqlite3.Connection, account: str, kind: str, name: str, arn: str) -> bool:
    cur = conn.execute(
        "DELETE FROM iam_attachments WHERE account_id = ? AND entity_kind = ? AND entity_key = ?"
        " AND policy_arn = ?",
        (account, kind, key_of(name), arn),
    )
    return cur.rowcount > 0


def attached(conn: sqlite3.Connection, account: str, kind: str, name: str) -> list[str]:
    """Policy ARNs attached to the entity, in attachment order."""
    rows = conn.execute(
        "SELECT policy_arn FROM iam_attachments WHERE account_id = ? AND entity_kind = ? "
        "AND entity_key = ? ORDER BY seq",
        (account, kind, key_of(name)),
    ).fetchall()
    return [r[0] for r in rows]


def entities_for(conn: sqlite3.Connection, account: str, arn: str) -> list[tuple[str, str]]:
    """``(entity kind, entity key)`` of everything the policy is attached to."""
    rows = conn.execute(
        "SELECT entity_kind, entity_key FROM iam_attachments WHERE account_id = ? "
        "AND policy_arn = ? ORDER BY entity_kind, entity_key",
        (account, arn),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def attachment_counts(conn: sqlite3.Connection, account: str) -> dict[str, int]:
    """Policy ARN -> how many entities of the account it is attached to."""
    rows = conn.execute(
        "SELECT policy_arn, COUNT(*) FROM iam_attachments WHERE account_id = ? GROUP BY policy_arn",
        (account,),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def detach_all(conn: sqlite3.Connection, account: str, kind: str, name: str) -> None:
    conn.execute(
        "DELETE FROM iam_attachments WHERE account_id = ? AND entity_kind = ? AND entity_key = ?",
        (account, kind, key_of(name)),
    )


def rename_entity(conn: sqlite3.Connection, account: str, kind: str, old: str, new: str) -> None:
    """Re-key a renamed user's or group's attachments, memberships and access keys."""
    old_key, new_key = key_of(old), key_of(new)
    conn.execute(
        "UPDATE iam_attachments SET entity_key = ? WHERE account_id = ? AND entity_kind = ?"
        " AND entity_key = ?",
        (new_key, account, kind, old_key),
    )
    if kind == USER:
        conn.execute(
            "UPDATE iam_members SET user_key = ? WHERE account_id = ? AND user_key = ?",
            (new_key, account, old_key),
        )
        conn.execute(
            "UPDATE iam_access_keys SET user_key = ? WHERE account_id = ? AND user_key = ?",
            (new_key, account, old_key),
        )
    elif kind == GROUP:
        conn.execute(
            "UPDATE iam_members SET group_key = ? WHERE account_id = ? AND group_key = ?",
            (new_key, account, old_key),
        )


# --- group membership ----------------------------------------------------------------------


def add_member(conn: sqlite3.Connection, account: str, group: str, user: str) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO iam_members (account_id, group_key, user_key, seq)"
        " VALUES (?, ?, ?, ?)",
        (account, key_of(group), key_of(user), _next_seq(conn, "iam_members")),
    )


def remove_member(conn: sqlite3.Connection, account: str, group: str, user: str) -> bool:
    cur = conn.execute(
        "DELETE FROM iam_members WHERE account_id = ? AND group_key = ? AND user_key = ?",
        (account, key_of(group), key_of(user)),
    )
    return cur.rowcount > 0


def groups_of(conn: sqlite3.Connection, account: str, user: str) -> list[str]:
    """Keys of the user's groups, in the order they were joined."""
    rows = conn.execute(
        "SELECT group_key FROM iam_members WHERE account_id = ? AND user_key = ? ORDER BY seq",
        (account, key_of(user)),
    ).fetchall()
    return [r[0] for r in rows]


def members_of(conn: sqlite3.Connection, account: str, group: str) -> list[str]:
    rows = conn.execute(
        "SELECT user_key FROM iam_members WHERE account_id = ? AND group_key = ? ORDER BY seq",
        (account, key_of(group)),
    ).fetchall()
    return [r[0] for r in rows]


# --- access keys ---------------------------------------------------------------------------


def insert_key(conn: sqlite3.Connection, account: str, user: str, doc: Doc) -> None:
    conn.execute(
        "INSERT INTO iam_access_keys (access_key_id, account_id, user_key, doc)"
        " VALUES (?, ?, ?, ?)",
        (doc["AccessKeyId"], account, key_of(user), dumps(doc)),
    )


def _key_row(row: tuple[Any, ...]) -> Doc:
    doc = json.loads(row[0])
    doc["LastUsed"] = None if row[1] is None else {
        "LastUsedDate": row[1], "ServiceName": row[2], "Region": row[3],
    }  # fmt: skip
    return doc


_KEY_COLS = "doc, last_used, last_service, last_region, account_id"


def get_key(conn: sqlite3.Connection, access_key_id: str) -> tuple[str, Doc] | None:
    """``(account, doc)`` of the key (its doc carries ``LastUsed``), or None."""
    row = conn.execute(
        f"SELECT {_KEY_COLS} FROM iam_access_keys WHERE access_key_id = ?", (access_key_id,)
    ).fetchone()
    return None if row is None else (row[4], _key_row(row))


def keys_of(conn: sqlite3.Connection, account: str, user: str) -> list[Doc]:
    rows = conn.execute(
        f"SELECT {_KEY_COLS} FROM iam_access_keys WHERE account_id = ? AND user_key = ?",
        (account, key_of(user)),
    ).fetchall()
    return sorted((_key_row(r) for r in rows), key=lambda d: (d["CreateDate"], d["AccessKeyId"]))


def update_key(conn: sqlite3.Connection, doc: Doc) -> None:
    stored = {k: v for k, v in doc.items() if k != "LastUsed"}
    conn.execute(
        "UPDATE iam_access_keys SET doc = ? WHERE access_key_id = ?",
        (dumps(stored), doc["AccessKeyId"]),
    )


def delete_key(conn: sqlite3.Connection, access_key_id: str) -> bool:
    """Delete the key, leaving its tombstone (``deleted_key_account``)."""
    row = conn.execute(
        "SELECT account_id FROM iam_access_keys WHERE access_key_id = ?", (access_key_id,)
    ).fetchone()
    if row is None:
        return False
    conn.execute("DELETE FROM iam_access_keys WHERE access_key_id = ?", (access_key_id,))
    conn.execute("DELETE FROM iam_deleted_keys WHERE access_key_id = ?", (access_key_id,))
    conn.execute(
        "INSERT INTO iam_deleted_keys (access_key_id, account_id) VALUES (?, ?)",
        (access_key_id, row[0]),
    )
    return True


def deleted_key_account(conn: sqlite3.Connection, access_key_id: str) -> str | None:
    """The account of a key IAM deleted (its id is never reissued); None for other keys."""
    row = conn.execute(
        "SELECT account_id FROM iam_deleted_keys WHERE access_key_id = ?", (access_key_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def record_key_use(
    conn: sqlite3.Connection, access_key_id: str, when: float, service: str, region: str
) -> None:
    conn.execute(
        "UPDATE iam_access_keys SET last_used = ?, last_service = ?, last_region = ?"
        " WHERE access_key_id = ?",
        (when, service, region, access_key_id),
    )
