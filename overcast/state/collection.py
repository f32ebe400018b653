"""Generic collections of JSON documents keyed by (account_id, region, id).

Most resources (queues, topics, roles, functions) are a JSON document per id; a service gets a
collection with ``store.collection("sqs", "queue")`` instead of writing SQL. Every call takes the
account and region, which is how per-account and per-region isolation is built in: there is no
call that reaches across them except ``scan`` (for background sweepers). Global resources (IAM,
S3 bucket names) use ``region=""``.

All collections share one table, ``_overcast_documents``, so a new kind needs no migration. Every
method takes an optional ``conn``: pass the connection of an enclosing ``Store.write`` to make the
call part of that transaction; without it, reads use ``Store.read`` and writes their own
``Store.write``. Services that need indexes or joins keep their own tables (with ``account_id``
and ``region`` columns) through ``Store.migrate`` and raw SQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from overcast.state import dialect

if TYPE_CHECKING:
    from overcast.state.store import Store

T = TypeVar("T")
Doc = dict[str, Any]
TABLE = "_overcast_documents"
_UPSERT = dialect.upsert_sql(
    TABLE,
    ["namespace", "kind", "account_id", "region", "id", "doc"],
    ["namespace", "kind", "account_id", "region", "id"],
)


@dataclass(slots=True)
class Page:
    """One page of ``Collection.list``: ``(id, doc)`` pairs in id order and the next token."""

    items: list[tuple[str, Doc]] = field(default_factory=list)
    next_token: str | None = None  # pass as ``after`` for the next page; None on the last page


class Collection:
    """The documents of one kind of one service (see the module docstring)."""

    def __init__(self, store: Store, namespace: str, kind: str) -> None:
        self.store = store
        self.namespace = namespace
        self.kind = kind

    def get(
        self, account_id: str, region: str, id: str, *, conn: sqlite3.Connection | None = None
    ) -> Doc | None:
        """The document, or None."""

        def run(c: sqlite3.Connection) -> Doc | None:
            row = c.execute(
                f"SELECT doc FROM {TABLE} WHERE namespace = ? AND kind = ? AND account_id = ? "
                "AND region = ? AND id = ?",
                (self.namespace, self.kind, account_id, region, id),
            ).fetchone()
            return None if row is None else json.loads(row[0])

        return self._read(run, conn)

    def put(
        self,
        account_id: str,
        region: str,
        id: str,
        doc: Doc,
        *,
        conn: sqlite3.Connection | None = None,
    ) -> None:
        """Create or replace the document."""
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        params = (self.namespace, self.kind, account_id, region, id, text)
        self._write(lambda c: c.execute(_UPSERT, params), conn)

    def insert(
        self,
        account_id: str,
        region: str,
        id: str,
        doc: Doc,
        *,
        conn: sqlite3.Connection | None = None,
    ) -> bool:
        """Create the document unless one exists; returns whether it was created."""
        text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

        def run(c: sqlite3.Connection) -> bool:
            try:
                c.execute(
                    f"INSERT INTO {TABLE} (namespace, kind, account_id, region, id, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (self.namespace, self.kind, account_id, region, id, text),
                )
            except sqlite3.IntegrityError:
                return False
            return True

        return self._write(run, conn)

    def delete(
        self, account_id: str, region: str, id: str, *, conn: sqlite3.Connection | None = None
    ) -> bool:
        """Delete the document; returns whether it existed."""

        def run(c: sqlite3.Connection) -> bool:
            cur = c.execute(
                f"DELETE FROM {TABLE} WHERE namespace = ? AND kind = ? AND account_id = ? "
                "AND region = ? AND id = ?",
                (self.namespace, self.kind, account_id, region, id),
            )
            return cur.rowcount > 0

        return self._write(run, conn)

    def list(
        self,
        account_id: str,
        region: str,
        *,
        prefix: str = "",
        after: str | None = None,
        limit: int = 1000,
        conn: sqlite3.Connection | None = None,
    ) -> Page:
        """Documents whose id starts with ``prefix``, in id order, ``limit`` at a time.

        ``after`` is the previous page's ``next_token`` (the last id it returned).
        """
        if limit <= 0:
            raise ValueError("limit must be positive")
        sql = (
            f"SELECT id, doc FROM {TABLE} WHERE namespace = ? AND kind = ? AND account_id = ? "
            "AND region = ?"
        )
        params: list[Any] = [self.namespace, self.kind, account_id, region]
        if prefix:
            # The range keeps the primary-key index usable; SUBSTR makes the match exact.
            sql += " AND id >= ? AND SUBSTR(id, 1, ?) = ?"
            params += [prefix, len(prefix), prefix]
        if after is not None:
            sql += " AND id > ?"
            params.append(after)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit + 1)

        def run(c: sqlite3.Connection) -> Page:
            rows = c.execute(sql, params).fetchall()
            page = Page([(r[0], json.loads(r[1])) for r in rows[:limit]])
            if len(rows) > limit:
                page.next_token = page.items[-1][0]
            return page

        return self._read(run, conn)

    def all(
        self, account_id: str, region: str, *, prefix: str = "", page_size: int = 1000
    ) -> Iterator[tuple[str, Doc]]:
        """Every matching ``(id, doc)``, fetched a page at a time."""
        after: str | None = None
        while True:
            page = self.list(account_id, region, prefix=prefix, after=after, limit=page_size)
            yield from page.items
            if page.next_token is None:
                return
            after = page.next_token

    def scan(self, *, conn: sqlite3.Connection | None = None) -> list[tuple[str, str, str, Doc]]:
        """Every document of this kind in every account and region: ``(account, region, id, doc)``.

        For background workers (expiry sweepers); request handlers use ``get``/``list``.
        """

        def run(c: sqlite3.Connection) -> list[tuple[str, str, str, Doc]]:
            rows = c.execute(
                f"SELECT account_id, region, id, doc FROM {TABLE} WHERE namespace = ? AND kind = ? "
                "ORDER BY account_id, region, id",
                (self.namespace, self.kind),
            ).fetchall()
            return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

        return self._read(run, conn)

    def _read(self, fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection | None) -> T:
        return fn(conn) if conn is not None else self.store.read(fn)

    def _write(self, fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection | None) -> T:
        return fn(conn) if conn is not None else self.store.write(fn)

    def __repr__(self) -> str:
        return f"<Collection {self.namespace}/{self.kind}>"
