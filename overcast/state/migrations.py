"""Versioned schema migrations, one ordered list per namespace.

Each service owns a namespace (``"s3"``, ``"sqs"``) and an ordered list of SQL scripts; script
``i`` is version ``i + 1``. Applied versions are recorded in ``_overcast_migrations`` so that
``apply`` is idempotent: running it again applies only the scripts added since. Scripts are never
edited once released; a change is a new script appended to the list.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from overcast.state import dialect
from overcast.state.errors import StateError

TABLE = "_overcast_migrations"

CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    namespace TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (namespace, version)
)
"""


def current_version(conn: sqlite3.Connection, namespace: str) -> int:
    """Highest applied version of ``namespace`` (0 when none)."""
    row = conn.execute(f"SELECT MAX(version) FROM {TABLE} WHERE namespace = ?", (namespace,))
    value = row.fetchone()[0]
    return int(value or 0)


def apply(conn: sqlite3.Connection, namespace: str, migrations: Sequence[str]) -> int:
    """Apply the scripts of ``namespace`` not applied yet, inside the caller's transaction.

    Returns the number applied. Raises ``StateError`` when the database is at a later version than
    this code knows (a data dir written by a newer Overcast).
    """
    if not namespace:
        raise ValueError("migration namespace must not be empty")
    done = current_version(conn, namespace)
    if done > len(migrations):
        raise StateError(
            f"the data dir's '{namespace}' schema is at version {done} but this Overcast knows "
            f"only {len(migrations)}: it was written by a newer Overcast"
        )
    for version, script in enumerate(migrations[done:], start=done + 1):
        for statement in dialect.split_statements(script):
            conn.execute(statement)
        conn.execute(
            f"INSERT INTO {TABLE} (namespace, version) VALUES (?, ?)", (namespace, version)
        )
    return len(migrations) - done
