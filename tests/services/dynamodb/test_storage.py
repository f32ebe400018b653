"""DynamoDB storage, capacity and query helpers: pure logic and the SQLite layout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from overcast.services.dynamodb import capacity, storage
from overcast.services.dynamodb.expressions.keys import KeyCondition, RangeCondition
from overcast.services.dynamodb.models import Index, Table
from overcast.services.dynamodb.query import key_bounds, successor
from overcast.state import Store


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.open(None)
    yield s
    s.close()


def _table(store: Store, range_type: str = "N") -> Table:
    table = Table(
        id=0, account_id="1", region="r", name="t", arn="arn:aws:dynamodb:r:1:table/t",
        table_id="id", hash_key="h", hash_type="S", range_key="r", range_type=range_type,
        attribute_definitions=[], billing_mode="PAY_PER_REQUEST", created=0.0,
    )  # fmt: skip
    table.gsis["g"] = Index("g", False, 1, "g", "S", None, None, {"ProjectionType": "KEYS_ONLY"})
    table.next_index = 2
    catalog = storage.Catalog.of(store)
    store.write(lambda conn: catalog.insert(conn, table))
    return table


def test_items_round_trip_with_binary_and_counts(store: Store) -> None:
    table = _table(store)
    item = {"h": {"S": "x"}, "r": {"N": "1"}, "b": {"B": b"\x00\xff"}, "l": {"L": [{"BS": [b"a"]}]}}
    store.write(lambda conn: storage.put_item(conn, table, item))
    assert store.read(lambda conn: storage.get_item(conn, table, item)) == item
    counts = store.read(lambda conn: storage.Catalog.of(store).counts(conn, table))
    assert counts[0][0] == 1 and counts[1] == (0, 0)  # no "g": not in the sparse index
    store.write(lambda conn: storage.delete_item(conn, table, item))
    counts = store.read(lambda conn: storage.Catalog.of(store).counts(conn, table))
    assert counts[0] == (0, 0)


def test_query_orders_numbers_and_resumes(store: Store) -> None:
    table = _table(store)
    numbers = ["-100", "-1.5", "0", "0.25", "3", "20", "1E+3"]
    for n in numbers:
        item = {"h": {"S": "p"}, "r": {"N": n}, "g": {"S": "x"}}
        store.write(lambda conn, item=item: storage.put_item(conn, table, item))

    def read(**kw: object) -> list[str]:
        rows = store.read(lambda conn: list(storage.query(conn, table, None, {"S": "p"}, **kw)))
        return [i["r"]["N"] for i, _ in rows]

    assert read() == numbers
    assert read(forward=False) == list(reversed(numbers))
    assert read(start={"h": {"S": "p"}, "r": {"N": "0"}}) == ["0.25", "3", "20", "1E+3"]
    entries = store.read(lambda conn: list(storage.query(conn, table, table.gsis["g"], {"S": "x"})))
    assert len(entries) == len(numbers) and set(entries[0][0]) == {"h", "r", "g"}


def test_scan_segments_partition_the_table(store: Store) -> None:
    table = _table(store)
    for n in range(50):
        item = {"h": {"S": f"k{n}"}, "r": {"N": "0"}}
        store.write(lambda conn, item=item: storage.put_item(conn, table, item))
    seen = []
    for segment in range(4):
        rows = store.read(
            lambda conn, s=segment: list(storage.scan(conn, table, segment=s, total_segments=4))
        )
        seen += [i["h"]["S"] for i, _ in rows]
    assert sorted(seen) == sorted(f"k{n}" for n in range(50))


def test_successor_and_bounds() -> None:
    assert successor(b"ab") == b"ac"
    assert successor(b"a\xff") == b"b"
    assert successor(b"\xff\xff") is None
    key = KeyCondition("h", {"S": "p"}, "r", RangeCondition("begins_with", ({"S": "ab"},)))
    assert key_bounds(key) == {"low": b"ab", "high": b"ac", "high_inclusive": False}
    key = KeyCondition("h", {"S": "p"}, "r", RangeCondition("<", ({"N": "5"},)))
    assert key_bounds(key)["high_inclusive"] is False


def test_capacity_units() -> None:
    assert capacity.read_units(0, consistent=False) == 0.5
    assert capacity.read_units(4096, consistent=True) == 1.0
    assert capacity.read_units(4097, consistent=True) == 2.0
    assert capacity.read_units(100, consistent=True, transactional=True) == 2.0
    assert capacity.write_units(1024) == 1.0
    assert capacity.write_units(1025) == 2.0
    assert capacity.write_units(10, transactional=True) == 2.0


def test_retired_table_is_hidden_then_purged_in_steps(store: Store) -> None:
    table = _table(store)
    catalog = storage.Catalog.of(store)
    for n in range(30):
        item = {"h": {"S": f"k{n}"}, "r": {"N": "1"}, "g": {"S": "x"}}
        store.write(lambda conn, item=item: storage.put_item(conn, table, item))
    store.write(lambda conn: catalog.retire(conn, table))
    assert catalog.get("1", "r", "t") is None
    assert store.read(lambda conn: catalog.names(conn, "1", "r", None, 10)) == []
    assert store.read(lambda conn: list(catalog.all(conn))) == []
    assert store.read(catalog.retired) == [table.id]
    steps = 0
    while not store.write(lambda conn: catalog.purge(conn, table.id, limit=7)):
        steps += 1
    assert steps >= 4
    assert store.read(catalog.retired) == []
    left = store.read(
        lambda conn: conn.execute(
            "SELECT (SELECT COUNT(*) FROM ddb_items) + (SELECT COUNT(*) FROM ddb_index_items)"
        ).fetchone()[0]
    )
    assert left == 0
