"""DynamoDB's tables and every SQL statement DynamoDB runs on items; the only module that touches
the database for them.

Layout (namespace ``dynamodb``):

* ``ddb_tables``: one row per table, its metadata as a JSON document (``models.Table``).
* ``ddb_items``: one row per item, keyed ``(table_id, hk, sk)``. ``hk`` is 4 bytes of hash
  followed by ``values.hash_key_bytes`` of the partition key, so a scan walks items in hash
  order as AWS does and a parallel-scan segment is a range of ``hk``; ``sk`` is
  ``values.sort_key_bytes`` of the sort key (empty without one), so an index range scan returns
  a partition in DynamoDB's sort order. ``item`` is the item as JSON (binary values base64).
* ``ddb_index_items``: one row per secondary-index entry, keyed ``(table_id, index_no, hk, sk,
  pk)`` with the index's keys encoded the same way and ``pk`` the table key (for uniqueness and
  for deleting the entry when the item changes); ``item`` is the projected item.
* ``ddb_counts``: item count and bytes per table (``index_no`` 0) and per index, kept by delta.
* ``ddb_tokens``: TransactWriteItems idempotency tokens.

How to use it (every function takes the ``conn`` of the enclosing ``Store.write``/``Store.read``,
so a request is one transaction and index entries and counts change with the item):

* Table metadata: ``catalog = Catalog.of(env.store)``; ``catalog.get(account, region, name)`` is
  a cached read (do not mutate the result). To change a table, inside ``store.write``:
  ``table = catalog.load(conn, account, region, name)`` (fresh copy), change it, then
  ``catalog.save(conn, table)``. ``catalog.insert(conn, table)`` creates one (assigns
  ``table.id``), ``catalog.delete(conn, table)`` drops it with all its items in that
  transaction (DeleteTable instead retires the table and purges its rows in small steps).
* Items: ``get_item(conn, table, key)``; ``put_item(conn, table, item)`` and
  ``delete_item(conn, table, key)`` return the old item; ``apply_change(conn, table, old, new)``
  when you already read the old one. These do NOT emit stream records nor check conditions:
  the provider's write paths call ``_record_change`` themselves, in the same transaction.
  Items given to ``put_item`` must be valid and normalized (``values.normalize_item``).
* Reading many: ``scan(conn, table)`` and ``query(conn, table, ...)`` yield ``(item, size)``
  lazily from a cursor; consume them inside the ``read``/``write`` call (never load a table).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import sqlite3
import struct
import weakref
from collections.abc import Iterator
from typing import Any

import orjson

from overcast.services.dynamodb import values
from overcast.services.dynamodb.models import Index, Table
from overcast.state import Store, dialect

NAMESPACE = "dynamodb"

MIGRATIONS = [
    """
    CREATE TABLE ddb_tables (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (account_id, region, name)
    );
    CREATE TABLE ddb_items (
        table_id INTEGER NOT NULL,
        hk BLOB NOT NULL,
        sk BLOB NOT NULL,
        item TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (table_id, hk, sk)
    );
    CREATE TABLE ddb_index_items (
        table_id INTEGER NOT NULL,
        index_no INTEGER NOT NULL,
        hk BLOB NOT NULL,
        sk BLOB NOT NULL,
        pk BLOB NOT NULL,
        item TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (table_id, index_no, hk, sk, pk)
    );
    CREATE TABLE ddb_counts (
        table_id INTEGER NOT NULL,
        index_no INTEGER NOT NULL,
        items INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (table_id, index_no)
    );
    CREATE TABLE ddb_tokens (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        token TEXT NOT NULL,
        digest TEXT NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (account_id, region, token)
    );
    """,
]

Item = dict[str, Any]
Row = tuple[Item, int]  # an item and its size in bytes

RETIRED = "#retired-"  # name prefix of deleted tables whose rows are being purged (never valid)
_SEGMENT_SPACE = 1 << 32  # hk starts with 4 hash bytes: segment ranges split this space


def migrate(store: Store) -> None:
    store.migrate(NAMESPACE, MIGRATIONS)


# --- encoding ------------------------------------------------------------------------------------


def _b64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot store {type(value).__name__}")


def encode_item(item: Item) -> str:
    """An item as stored: JSON, binary values as base64 (their type key says they are)."""
    return orjson.dumps(item, default=_b64).decode("utf-8")


def decode_item(text: str) -> Item:
    item: Item = orjson.loads(text)
    # Only items with B/BS values (or attributes so named) need the walk; a bare '"B' would
    # also match every BOOL value.
    if '"B":' in text or '"BS":' in text:
        for value in item.values():
            _unb64(value)
    return item


def _unb64(value: dict[str, Any]) -> None:
    for kind, body in value.items():
        if kind == "B":
            value["B"] = base64.b64decode(body)
        elif kind == "BS":
            value["BS"] = [base64.b64decode(m) for m in body]
        elif kind == "L":
            for member in body:
                _unb64(member)
        elif kind == "M":
            for member in body.values():
                _unb64(member)


def partition_bytes(value: dict[str, Any]) -> bytes:
    """``hk`` of a partition key value: 4 hash bytes (scan order, segments), then the value."""
    text = value.get("S")
    if type(text) is str:
        return _string_partition(text)  # the usual key type, cached
    return _hashed(values.hash_key_bytes(value))


@functools.lru_cache(maxsize=65536)
def _string_partition(text: str) -> bytes:
    return _hashed(b"S" + text.encode("utf-8"))


def _hashed(raw: bytes) -> bytes:
    return hashlib.md5(raw, usedforsecurity=False).digest()[:4] + raw


@functools.lru_cache(maxsize=65536)
def _number_sort_bytes(text: str) -> bytes:
    return values.sort_key_bytes({"N": text})


def sort_bytes(value: dict[str, Any] | None) -> bytes:
    if value is None:
        return b""
    number = value.get("N")
    if number is not None:
        return _number_sort_bytes(number)
    return values.sort_key_bytes(value)


def key_bytes(table: Table, item: Item) -> tuple[bytes, bytes]:
    """``(hk, sk)`` of an item (or a key) of ``table``."""
    sk = b"" if table.range_key is None else sort_bytes(item[table.range_key])
    return partition_bytes(item[table.hash_key]), sk


def index_key_bytes(index: Index, item: Item) -> tuple[bytes, bytes] | None:
    """``(hk, sk)`` of ``item`` in ``index``, None when the item is not in it (sparse index)."""
    hv = item.get(index.hash_key)
    if hv is None or index.hash_type not in hv:
        return None
    if index.range_key is None:
        return partition_bytes(hv), b""
    rv = item.get(index.range_key)
    if rv is None or index.range_type not in rv:
        return None
    return partition_bytes(hv), sort_bytes(rv)


def _table_pk(hk: bytes, sk: bytes) -> bytes:
    return struct.pack(">I", len(hk)) + hk + sk


def segment_bounds(segment: int, total: int) -> tuple[bytes, bytes | None]:
    """The ``hk`` range ``[low, high)`` of parallel-scan segment ``segment`` of ``total``."""
    low = struct.pack(">I", segment * _SEGMENT_SPACE // total)
    if segment + 1 == total:
        return low, None
    return low, struct.pack(">I", (segment + 1) * _SEGMENT_SPACE // total)


# --- table metadata ----------------------------------------------------------------------------

_catalogs: weakref.WeakKeyDictionary[Store, Catalog] = weakref.WeakKeyDictionary()


class Catalog:
    """Table metadata of one store, cached in memory and invalidated by every change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[tuple[str, str, str], Table] = {}
        store.on_reset(self._cache.clear)

    @classmethod
    def of(cls, store: Store) -> Catalog:
        """The one catalog of ``store`` (shared by DynamoDB and DynamoDB Streams)."""
        catalog = _catalogs.get(store)
        if catalog is None:
            migrate(store)
            catalog = _catalogs[store] = cls(store)
        return catalog

    def cached(self, account_id: str, region: str, name: str) -> Table | None:
        """The table if it is in the cache (no store read)."""
        return self._cache.get((account_id, region, name))

    def get(self, account_id: str, region: str, name: str) -> Table | None:
        """The table (cached; read-only) or None."""
        key = (account_id, region, name)
        table = self._cache.get(key)
        if table is None:
            table = self.store.read(lambda conn: self.load(conn, account_id, region, name))
            if table is not None:
                self._cache[key] = table
        return table

    def load(
        self, conn: sqlite3.Connection, account_id: str, region: str, name: str
    ) -> Table | None:
        """The table as stored now, uncached: a private copy to change and ``save``."""
        row = conn.execute(
            "SELECT id, doc FROM ddb_tables WHERE account_id = ? AND region = ? AND name = ?",
            (account_id, region, name),
        ).fetchone()
        if row is None:
            return None
        return Table.from_doc(row[0], account_id, region, name, json.loads(row[1]))

    def by_arn(self, conn: sqlite3.Connection, arn: str) -> Table | None:
        """The table whose ``TableArn`` is ``arn`` (its name is the ARN's last part)."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or not parts[5].startswith("table/"):
            return None
        table = self.load(conn, parts[4], parts[3], parts[5][len("table/") :].split("/")[0])
        return table if table is not None and table.arn == arn.split("/stream/")[0] else None

    def names(
        self, conn: sqlite3.Connection, account_id: str, region: str, after: str | None, limit: int
    ) -> list[str]:
        """Table names in order, after ``after``, at most ``limit``."""
        rows = conn.execute(
            "SELECT name FROM ddb_tables WHERE account_id = ? AND region = ? AND name > ?"
            f" AND name NOT LIKE '{RETIRED}%' ORDER BY name LIMIT ?",
            (account_id, region, after or "", limit),
        ).fetchall()
        return [r[0] for r in rows]

    def all(self, conn: sqlite3.Connection) -> Iterator[Table]:
        """Every table of every account and region (for sweepers)."""
        rows = conn.execute(
            "SELECT id, account_id, region, name, doc FROM ddb_tables"
            f" WHERE name NOT LIKE '{RETIRED}%'"
        ).fetchall()
        for row in rows:
            yield Table.from_doc(row[0], row[1], row[2], row[3], json.loads(row[4]))

    def insert(self, conn: sqlite3.Connection, table: Table) -> Table:
        """Create ``table`` (its name must be free); sets and returns it with ``table.id``."""
        cur = conn.execute(
            "INSERT INTO ddb_tables (account_id, region, name, doc) VALUES (?, ?, ?, ?)",
            (table.account_id, table.region, table.name, json.dumps(table.to_doc())),
        )
        table.id = int(cur.lastrowid or 0)
        for number in (0, *(i.number for i in table.indexes)):
            _add_counter(conn, table.id, number)
        self._invalidate(conn, table)
        return table

    def save(self, conn: sqlite3.Connection, table: Table) -> None:
        """Store changed metadata (indexes added here get their counters)."""
        conn.execute(
            "UPDATE ddb_tables SET doc = ? WHERE id = ?", (json.dumps(table.to_doc()), table.id)
        )
        for index in table.indexes:
            _add_counter(conn, table.id, index.number)
        self._invalidate(conn, table)

    def delete(self, conn: sqlite3.Connection, table: Table) -> None:
        """Drop the table with its items, index entries and counters."""
        for sql in (
            "DELETE FROM ddb_items WHERE table_id = ?",
            "DELETE FROM ddb_index_items WHERE table_id = ?",
            "DELETE FROM ddb_counts WHERE table_id = ?",
            "DELETE FROM ddb_tables WHERE id = ?",
        ):
            conn.execute(sql, (table.id,))
        self._invalidate(conn, table)

    def retire(self, conn: sqlite3.Connection, table: Table) -> None:
        """Make the table disappear at once (its name is free again) and leave its rows for
        ``purge`` to delete in small transactions: a large table's deletion never holds the
        writer for long."""
        conn.execute(
            "UPDATE ddb_tables SET name = ? WHERE id = ?", (f"{RETIRED}{table.id}", table.id)
        )
        self._invalidate(conn, table)

    def retired(self, conn: sqlite3.Connection) -> list[int]:
        """Ids of retired tables whose rows are not all purged yet."""
        rows = conn.execute(
            f"SELECT id FROM ddb_tables WHERE name LIKE '{RETIRED}%' ORDER BY id"
        ).fetchall()
        return [r[0] for r in rows]

    def purge(self, conn: sqlite3.Connection, table_id: int, limit: int = 5000) -> bool:
        """Delete up to ``limit`` rows of each kind of a retired table; True once nothing is
        left (its counters and table row are then gone too)."""
        done = True
        for source, columns in (
            ("ddb_items", "hk, sk"),
            ("ddb_index_items", "index_no, hk, sk, pk"),
        ):
            bound = conn.execute(
                f"SELECT {columns} FROM {source} WHERE table_id = ? ORDER BY {columns}"
                " LIMIT 1 OFFSET ?",
                (table_id, limit - 1),
            ).fetchone()
            if bound is None:
                conn.execute(f"DELETE FROM {source} WHERE table_id = ?", (table_id,))
                continue
            marks = ", ".join("?" for _ in bound)
            conn.execute(
                f"DELETE FROM {source} WHERE table_id = ? AND ({columns}) <= ({marks})",
                (table_id, *bound),
            )
            done = False
        if done:
            conn.execute("DELETE FROM ddb_counts WHERE table_id = ?", (table_id,))
            conn.execute("DELETE FROM ddb_tables WHERE id = ?", (table_id,))
        return done

    def counts(self, conn: sqlite3.Connection, table: Table) -> dict[int, tuple[int, int]]:
        """(item count, bytes) per index number, 0 being the table."""
        rows = conn.execute(
            "SELECT index_no, items, bytes FROM ddb_counts WHERE table_id = ?", (table.id,)
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def _invalidate(self, conn: sqlite3.Connection, table: Table) -> None:
        key = (table.account_id, table.region, table.name)
        self._cache.pop(key, None)

        # Again after the commit: a reader may have cached the old row meanwhile.
        def forget() -> None:
            self._cache.pop(key, None)

        self.store.after_commit(conn, forget)


def _add_counter(conn: sqlite3.Connection, table_id: int, number: int) -> None:
    conn.execute(
        dialect.upsert_sql("ddb_counts", ("table_id", "index_no"), ("table_id", "index_no")),
        (table_id, number),
    )


def drop_index(conn: sqlite3.Connection, table: Table, index: Index) -> None:
    """Delete an index's entries and counter (the caller removes it from the metadata)."""
    conn.execute(
        "DELETE FROM ddb_index_items WHERE table_id = ? AND index_no = ?", (table.id, index.number)
    )
    conn.execute(
        "DELETE FROM ddb_counts WHERE table_id = ? AND index_no = ?", (table.id, index.number)
    )


def backfill_index(conn: sqlite3.Connection, table: Table, index: Index) -> int:
    """Add every existing item of ``table`` to a new ``index``; returns the entries written."""
    _add_counter(conn, table.id, index.number)
    projects = index.projects(table)
    written = 0
    cur = conn.execute("SELECT hk, sk, item FROM ddb_items WHERE table_id = ?", (table.id,))
    while rows := cur.fetchmany(500):
        for hk, sk, text in rows:
            item = decode_item(text)
            keys = index_key_bytes(index, item)
            if keys is not None:
                _put_entry(conn, table, index, projects, keys, _table_pk(hk, sk), item)
                written += 1
    return written


# --- items ---------------------------------------------------------------------------------------

_UPSERT_ITEM = dialect.upsert_sql(
    "ddb_items", ("table_id", "hk", "sk", "item", "size"), ("table_id", "hk", "sk")
)
_UPSERT_ENTRY = dialect.upsert_sql(
    "ddb_index_items",
    ("table_id", "index_no", "hk", "sk", "pk", "item", "size"),
    ("table_id", "index_no", "hk", "sk", "pk"),
)
_COUNT = (
    "UPDATE ddb_counts SET items = items + ?, bytes = bytes + ? WHERE table_id = ? AND index_no = ?"
)


def get_item(conn: sqlite3.Connection, table: Table, key: Item) -> Item | None:
    """The item with primary key ``key`` (a dict of the key attributes), or None."""
    hk, sk = key_bytes(table, key)
    row = conn.execute(
        "SELECT item FROM ddb_items WHERE table_id = ? AND hk = ? AND sk = ?", (table.id, hk, sk)
    ).fetchone()
    return None if row is None else decode_item(row[0])


def get_item_sized(
    conn: sqlite3.Connection,
    table: Table,
    key: Item,
    keys: tuple[bytes, bytes] | None = None,
) -> Row | None:
    """``get_item`` with the stored size; ``keys`` (``key_bytes``) saves encoding the key."""
    hk, sk = key_bytes(table, key) if keys is None else keys
    row = conn.execute(
        "SELECT item, size FROM ddb_items WHERE table_id = ? AND hk = ? AND sk = ?",
        (table.id, hk, sk),
    ).fetchone()
    return None if row is None else (decode_item(row[0]), row[1])


def put_item(conn: sqlite3.Connection, table: Table, item: Item) -> Item | None:
    """Create or replace ``item``; returns the item it replaced."""
    old = get_item(conn, table, item)
    apply_change(conn, table, old, item)
    return old


def delete_item(conn: sqlite3.Connection, table: Table, key: Item) -> Item | None:
    """Delete the item with ``key``; returns it (None when there was none)."""
    old = get_item(conn, table, key)
    if old is not None:
        apply_change(conn, table, old, None)
    return old


def apply_change(
    conn: sqlite3.Connection,
    table: Table,
    old: Item | None,
    new: Item | None,
    new_size: int | None = None,
    *,
    old_size: int | None = None,
    keys: tuple[bytes, bytes] | None = None,
) -> None:
    """Replace ``old`` (None: absent) by ``new`` (None: delete), with index entries and counts.

    ``old`` must be the stored item with that key. The sizes and ``keys`` (``key_bytes``), when
    the caller has them, save recomputing them.
    """
    ref = new if new is not None else old
    if ref is None:
        return
    hk, sk = key_bytes(table, ref) if keys is None else keys
    if old is None:
        old_size = 0
    elif old_size is None:
        old_size = values.item_size(old)
    if new is not None:
        size = values.item_size(new) if new_size is None else new_size
        conn.execute(_UPSERT_ITEM, (table.id, hk, sk, encode_item(new), size))
        if old is None or size != old_size:  # a same-size replacement changes no count
            conn.execute(_COUNT, (0 if old is not None else 1, size - old_size, table.id, 0))
    else:
        conn.execute(
            "DELETE FROM ddb_items WHERE table_id = ? AND hk = ? AND sk = ?", (table.id, hk, sk)
        )
        conn.execute(_COUNT, (-1, -old_size, table.id, 0))
    if table.gsis or table.lsis:
        pk = _table_pk(hk, sk)
        for index in table.indexes:
            _change_entry(conn, table, index, pk, old, new)


def _change_entry(
    conn: sqlite3.Connection,
    table: Table,
    index: Index,
    pk: bytes,
    old: Item | None,
    new: Item | None,
) -> None:
    old_keys = index_key_bytes(index, old) if old is not None else None
    new_keys = index_key_bytes(index, new) if new is not None else None
    if old_keys is not None:
        row = conn.execute(
            "SELECT size FROM ddb_index_items WHERE table_id = ? AND index_no = ? AND hk = ?"
            " AND sk = ? AND pk = ?",
            (table.id, index.number, *old_keys, pk),
        ).fetchone()
        if row is not None:
            conn.execute(
                "DELETE FROM ddb_index_items WHERE table_id = ? AND index_no = ? AND hk = ?"
                " AND sk = ? AND pk = ?",
                (table.id, index.number, *old_keys, pk),
            )
            conn.execute(_COUNT, (-1, -row[0], table.id, index.number))
    if new_keys is not None and new is not None:
        _put_entry(conn, table, index, index.projects(table), new_keys, pk, new)


def _put_entry(
    conn: sqlite3.Connection,
    table: Table,
    index: Index,
    projects: frozenset[str] | None,
    keys: tuple[bytes, bytes],
    pk: bytes,
    item: Item,
) -> None:
    entry = item if projects is None else {k: v for k, v in item.items() if k in projects}
    size = values.item_size(entry)
    conn.execute(_UPSERT_ENTRY, (table.id, index.number, *keys, pk, encode_item(entry), size))
    conn.execute(_COUNT, (1, size, table.id, index.number))


def collection_size(conn: sqlite3.Connection, table: Table, hash_value: dict[str, Any]) -> int:
    """Bytes of the item collection of a partition key: its items and their LSI entries."""
    hk = partition_bytes(hash_value)
    total = conn.execute(
        "SELECT COALESCE(SUM(size), 0) FROM ddb_items WHERE table_id = ? AND hk = ?",
        (table.id, hk),
    ).fetchone()[0]
    for index in table.lsis.values():
        total += conn.execute(
            "SELECT COALESCE(SUM(size), 0) FROM ddb_index_items WHERE table_id = ?"
            " AND index_no = ? AND hk = ?",
            (table.id, index.number, hk),
        ).fetchone()[0]
    return int(total)


# --- reading many ------------------------------------------------------------------------------


def query(
    conn: sqlite3.Connection,
    table: Table,
    index: Index | None,
    hash_value: dict[str, Any],
    *,
    low: bytes | None = None,
    low_inclusive: bool = True,
    high: bytes | None = None,
    high_inclusive: bool = True,
    forward: bool = True,
    start: Item | None = None,
) -> Iterator[Row]:
    """Items of one partition of the table (or ``index``) in sort-key order, lazily.

    ``low``/``high`` bound the encoded sort key; ``start`` is an ExclusiveStartKey (the last
    key returned: table keys, plus the index keys for an index).
    """
    hk = partition_bytes(hash_value)
    where = ["table_id = ?"]
    args: list[Any] = [table.id]
    source = "ddb_items"
    order = "sk"
    if index is not None:
        source = "ddb_index_items"
        where.append("index_no = ?")
        args.append(index.number)
        order = "sk, pk"
    where.append("hk = ?")
    args.append(hk)
    if low is not None:
        where.append("sk >= ?" if low_inclusive else "sk > ?")
        args.append(low)
    if high is not None:
        where.append("sk <= ?" if high_inclusive else "sk < ?")
        args.append(high)
    if start is not None:
        op = ">" if forward else "<"
        if index is None:
            where.append(f"sk {op} ?")
            args.append(key_bytes(table, start)[1])
        else:
            where.append(f"(sk, pk) {op} (?, ?)")
            keys = index_key_bytes(index, start)
            args.extend((keys[1] if keys else b"", _table_pk(*key_bytes(table, start))))
    direction = "" if forward else " DESC"
    order = ", ".join(f"{c}{direction}" for c in order.split(", "))
    cur = conn.execute(
        f"SELECT item, size FROM {source} WHERE {' AND '.join(where)} ORDER BY {order}", args
    )
    for text, size in cur:
        yield decode_item(text), size


def scan(
    conn: sqlite3.Connection,
    table: Table,
    index: Index | None = None,
    *,
    segment: int = 0,
    total_segments: int = 1,
    start: Item | None = None,
) -> Iterator[Row]:
    """Every item of the table (or ``index``), or of one parallel-scan segment, lazily, in
    hash order; ``start`` is an ExclusiveStartKey."""
    where = ["table_id = ?"]
    args: list[Any] = [table.id]
    source = "ddb_items"
    columns = ["hk", "sk"]
    if index is not None:
        source = "ddb_index_items"
        where.append("index_no = ?")
        args.append(index.number)
        columns.append("pk")
    if total_segments > 1:
        low, high = segment_bounds(segment, total_segments)
        where.append("hk >= ?")
        args.append(low)
        if high is not None:
            where.append("hk < ?")
            args.append(high)
    if start is not None:
        hk, sk = key_bytes(table, start)
        if index is None:
            where.append("(hk, sk) > (?, ?)")
            args.extend((hk, sk))
        else:
            keys = index_key_bytes(index, start) or (b"", b"")
            where.append("(hk, sk, pk) > (?, ?, ?)")
            args.extend((*keys, _table_pk(hk, sk)))
    cur = conn.execute(
        f"SELECT item, size FROM {source} WHERE {' AND '.join(where)}"
        f" ORDER BY {', '.join(columns)}",
        args,
    )
    for text, size in cur:
        yield decode_item(text), size


# --- idempotency tokens ------------------------------------------------------------------------


def token_digest(
    conn: sqlite3.Connection, account_id: str, region: str, token: str, now: float
) -> str | None:
    """The request digest remembered for a ClientRequestToken still valid at ``now``."""
    row = conn.execute(
        "SELECT digest, expires FROM ddb_tokens WHERE account_id = ? AND region = ? AND token = ?",
        (account_id, region, token),
    ).fetchone()
    if row is None or row[1] <= now:
        return None
    return str(row[0])


def remember_token(
    conn: sqlite3.Connection, account_id: str, region: str, token: str, digest: str, expires: float
) -> None:
    conn.execute("DELETE FROM ddb_tokens WHERE expires <= ?", (expires - 600,))
    conn.execute(
        dialect.upsert_sql(
            "ddb_tokens",
            ("account_id", "region", "token", "digest", "expires"),
            ("account_id", "region", "token"),
        ),
        (account_id, region, token, digest, expires),
    )
