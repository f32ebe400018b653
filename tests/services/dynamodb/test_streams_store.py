"""DynamoDB Streams' store: sequence numbers, retention and trimming, stream lifecycle; the item
codec used for stored records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from overcast.services.dynamodbstreams import store
from overcast.services.dynamodbstreams.codec import decode_item, encode_item
from overcast.state import Store

DAY = 24 * 3600.0


@pytest.fixture
def db() -> Iterator[Store]:
    s = Store.open(None)
    s.migrate(store.NAMESPACE, store.MIGRATIONS)
    yield s
    s.close()


def _stream(arn: str = "arn:s/1", table: str = "t", created: float = 0.0) -> store.Stream:
    return store.Stream(
        arn=arn, account_id="a", region="r", table_name=table, label="L", view_type="KEYS_ONLY",
        key_schema=[{"AttributeName": "pk", "KeyType": "HASH"}], shard_id="shardId-1",
        start_seq=1, end_seq=None, created=created, disabled_at=None,
    )  # fmt: skip


def test_wire_sequence_numbers() -> None:
    assert store.wire_seq(1) == "100000000000000000001"
    assert len(store.wire_seq(12345)) == 21
    assert store.parse_seq(store.wire_seq(42)) == 42
    assert store.parse_seq("12") is None
    assert store.parse_seq("1000000000000000000x1") is None


def test_sequence_counter_increases(db: Store) -> None:
    first = db.write(lambda c: store.next_seqs(c))
    block = db.write(lambda c: store.next_seqs(c, 3))
    assert (first, block) == (1, 2)
    assert db.read(store.last_seq) == 4


def test_records_retention_and_trim(db: Store) -> None:
    def setup(c) -> None:  # type: ignore[no-untyped-def]
        store.insert_stream(c, _stream())
        for seq, at in ((1, 0.0), (2, 10.0), (3, DAY + 5)):
            store.append_record(c, "arn:s/1", seq, at, {"n": seq})

    db.write(setup)
    now = DAY + 11
    # The two records older than 24 hours are hidden before any trim ran.
    rows = db.read(lambda c: store.read_records(c, "arn:s/1", 0, 100, now))
    assert [seq for seq, _ in rows] == [3]
    assert db.read(lambda c: store.trimmed_through(c, "arn:s/1", now)) == 2
    db.write(lambda c: store.trim(c, now))
    assert db.read(lambda c: store.trimmed_through(c, "arn:s/1", now)) == 2
    assert db.read(store.oldest_record_time) == DAY + 5
    assert [r for _, r in db.read(lambda c: store.read_records(c, "arn:s/1", 0, 1, now))] == [
        {"n": 3}
    ]


def test_disabled_streams_are_listed_for_a_day(db: Store) -> None:
    def setup(c) -> None:  # type: ignore[no-untyped-def]
        store.insert_stream(c, _stream("arn:s/1", "t"))
        store.insert_stream(c, _stream("arn:s/2", "u", created=1.0))
        store.disable_stream(c, "arn:s/1", 100.0)

    db.write(setup)
    assert db.read(lambda c: store.active_stream(c, "a", "r", "t")) is None
    assert db.read(lambda c: store.latest_stream(c, "a", "r", "t")).arn == "arn:s/1"  # type: ignore[union-attr]
    listed = db.read(lambda c: store.list_streams(c, "a", "r", None, 200.0))
    assert [s.arn for s in listed] == ["arn:s/1", "arn:s/2"]
    assert listed[0].end_seq == 0 and not listed[0].enabled
    listed = db.read(lambda c: store.list_streams(c, "a", "r", None, 100.0 + DAY + 1))
    assert [s.arn for s in listed] == ["arn:s/2"]
    db.write(lambda c: store.trim(c, 100.0 + DAY + 1))
    assert db.read(lambda c: store.get_stream(c, "arn:s/1")) is None
    assert [s.arn for s in db.read(lambda c: store.list_streams(c, "a", "r", "u", 0.0))] == [
        "arn:s/2"
    ]


def test_item_codec_round_trip() -> None:
    item = {
        "b": {"B": b"\x00\xff"},
        "bs": {"BS": [b"a", b"b"]},
        "l": {"L": [{"B": b"x"}, {"N": "1"}]},
        "m": {"M": {"inner": {"B": b"y"}, "s": {"S": "z"}}},
        "n": {"NULL": True},
    }
    encoded = encode_item(item)
    assert encoded is not None
    assert encoded["b"] == {"B": "AP8="}
    assert decode_item(encoded) == item
    assert encode_item(None) is None and decode_item(None) is None


def test_reopened_stream_carries_on(db: Store) -> None:
    def run(c) -> store.Stream | None:  # type: ignore[no-untyped-def]
        store.insert_stream(c, _stream())
        store.disable_stream(c, "arn:s/1", 5.0)
        store.reopen_stream(c, "arn:s/1")
        return store.active_stream(c, "a", "r", "t")

    reopened = db.write(run)
    assert reopened is not None and reopened.end_seq is None and reopened.enabled


def test_shard_rolls_on_its_period(db: Store) -> None:
    db.write(lambda c: store.insert_stream(c, _stream()))
    assert db.write(lambda c: store.roll(c, "arn:s/1", store.SHARD_PERIOD - 1)).shard_id == (  # type: ignore[union-attr]
        "shardId-1"
    )
    db.write(lambda c: store.next_seqs(c, 3))
    child = db.write(lambda c: store.roll(c, "arn:s/1", 2.5 * store.SHARD_PERIOD))
    assert child is not None and child.parent_shard_id == "shardId-1"
    assert (child.start_seq, child.created) == (4, 2 * store.SHARD_PERIOD)  # last boundary
    parent, second = db.read(lambda c: store.list_shards(c, "arn:s/1", 3 * store.SHARD_PERIOD))
    assert (parent.end_seq, parent.closed_at) == (3, 2 * store.SHARD_PERIOD)
    assert second.shard_id == child.shard_id and not second.closed
    db.write(lambda c: store.disable_stream(c, "arn:s/1", 3 * store.SHARD_PERIOD))
    assert db.read(lambda c: store.open_shard(c, "arn:s/1")) is None
    db.write(lambda c: store.trim(c, 2 * store.SHARD_PERIOD + DAY + 1))
    remaining = db.read(lambda c: store.list_shards(c, "arn:s/1", 2 * store.SHARD_PERIOD + DAY))
    assert [s.shard_id for s in remaining] == [child.shard_id]


def test_streams_of_an_older_store_get_their_shard() -> None:
    s = Store.open(None)
    try:
        s.migrate(store.NAMESPACE, store.MIGRATIONS[:1])
        s.write(
            lambda c: c.execute(
                "INSERT INTO ddbs_streams (arn, account_id, region, table_name, label, view_type, "
                "key_schema, shard_id, start_seq, end_seq, created, disabled_at) VALUES "
                "('arn:s/old', 'a', 'r', 't', 'L', 'KEYS_ONLY', '[]', 'shardId-old', 3, NULL, "
                "10.0, NULL)"
            )
        )
        s.migrate(store.NAMESPACE, store.MIGRATIONS)
        (shard,) = s.read(lambda c: store.list_shards(c, "arn:s/old", 20.0))
        assert (shard.shard_id, shard.start_seq, shard.closed) == ("shardId-old", 3, False)
    finally:
        s.close()
