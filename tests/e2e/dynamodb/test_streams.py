"""DynamoDB Streams through boto3: stream lifecycle on CreateTable/UpdateTable, records of each
view type, iterators of each type, pagination, expiry and 24-hour retention on the clock."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

Client = Callable[..., Any]


def _table(ddb: Any, view: str | None = "NEW_AND_OLD_IMAGES") -> str:
    name = f"st-{uuid.uuid4().hex[:10]}"
    extra: dict[str, Any] = {}
    if view:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def _shard(streams: Any, arn: str) -> str:
    return streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]


def _records(streams: Any, arn: str, kind: str = "TRIM_HORIZON", **kw: Any) -> list[dict]:
    """The records of every shard (shards roll every four hours of clock time); with a
    SequenceNumber, of the shard whose range holds it."""
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    if "SequenceNumber" in kw:
        seq = int(kw["SequenceNumber"])
        shards = [
            s
            for s in shards
            if int(s["SequenceNumberRange"]["StartingSequenceNumber"]) <= seq
            and seq <= int(s["SequenceNumberRange"].get("EndingSequenceNumber", 10**40))
        ][:1] or shards[:1]
    out: list[dict] = []
    for shard in shards:
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=kind, **kw
        )["ShardIterator"]
        out += streams.get_records(ShardIterator=it)["Records"]
    return out


def _advance(server: ServerProcess, seconds: float) -> None:
    requests.post(server.endpoint + "/_overcast/clock", json={"advance": seconds}, timeout=10)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_stream_is_described_and_listed(client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb, "KEYS_ONLY")
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    arn = table["LatestStreamArn"]
    assert arn == f"{table['TableArn']}/stream/{table['LatestStreamLabel']}"
    listed = streams.list_streams(TableName=name)["Streams"]
    assert listed == [
        {"StreamArn": arn, "TableName": name, "StreamLabel": table["LatestStreamLabel"]}
    ]
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED"
    assert desc["StreamViewType"] == "KEYS_ONLY"
    assert desc["TableName"] == name
    assert desc["KeySchema"] == table["KeySchema"]
    (shard,) = desc["Shards"]
    assert shard["ShardId"].startswith("shardId-")
    assert len(shard["SequenceNumberRange"]["StartingSequenceNumber"]) >= 21
    assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]


def test_records_insert_modify_remove(client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=name, Item={**key, "v": {"S": "one"}, "b": {"B": b"\x00\x01"}})
    ddb.put_item(TableName=name, Item={**key, "v": {"S": "one"}, "b": {"B": b"\x00\x01"}})
    ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": "two"}},
    )
    ddb.delete_item(TableName=name, Key=key)
    ddb.delete_item(TableName=name, Key=key)  # nothing to delete: no record
    records = _records(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    first = records[0]
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventVersion"] == "1.1"
    assert first["awsRegion"] == "us-east-1"
    assert len(first["eventID"]) >= 32
    dyn = first["dynamodb"]
    assert dyn["Keys"] == key
    assert dyn["NewImage"]["b"] == {"B": b"\x00\x01"}
    assert "OldImage" not in dyn
    assert dyn["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert dyn["SizeBytes"] > 0
    assert "ApproximateCreationDateTime" in dyn
    assert records[1]["dynamodb"]["OldImage"]["v"] == {"S": "one"}
    assert records[1]["dynamodb"]["NewImage"]["v"] == {"S": "two"}
    assert "NewImage" not in records[2]["dynamodb"]
    assert records[2]["dynamodb"]["OldImage"]["v"] == {"S": "two"}
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(len(s) >= 21 and s.isdigit() for s in seqs)
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    assert len(set(seqs)) == 3


@pytest.mark.parametrize(
    ("view", "new", "old"),
    [("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False), ("OLD_IMAGE", False, True)],
)
def test_view_types(client: Client, view: str, new: bool, old: bool) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb, view)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    ddb.put_item(TableName=name, Item={**key, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={**key, "v": {"N": "2"}})
    modify = _records(streams, arn)[1]["dynamodb"]
    assert modify["Keys"] == key
    assert ("NewImage" in modify) is new
    assert ("OldImage" in modify) is old
    assert modify["StreamViewType"] == view


def test_iterator_types_and_limit(client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = _shard(streams, arn)
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
    records = _records(streams, arn)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert len(seqs) == 5
    at = _records(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seqs[2])
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == seqs[2:]
    after = _records(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[2])
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == seqs[3:]
    # LATEST taken before the writes sees all of them; one taken now sees none.
    got = streams.get_records(ShardIterator=latest["ShardIterator"])["Records"]
    assert len(got) == 5
    assert _records(streams, arn, "LATEST") == []
    # Limit and NextShardIterator page through the shard.
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    page = streams.get_records(ShardIterator=it, Limit=2)
    assert len(page["Records"]) == 2
    rest = streams.get_records(ShardIterator=page["NextShardIterator"], Limit=10)
    assert [r["dynamodb"]["SequenceNumber"] for r in rest["Records"]] == seqs[2:]
    assert rest["NextShardIterator"]  # the shard is open: the iterator continues
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER"
        )
    assert _code(exc) == "ValidationException"


def test_errors(client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    with pytest.raises(ClientError) as exc:
        streams.describe_stream(StreamArn=arn[:-5] + "00000")
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(
            StreamArn=arn, ShardId="shardId-00000000000000000000-deadbeef",
            ShardIteratorType="LATEST",
        )  # fmt: skip
    assert _code(exc) == "ResourceNotFoundException"
    for token in ("x" * 40, arn + "|1|" + base64.urlsafe_b64encode(b'{"a":1}').decode()):
        with pytest.raises(ClientError) as exc:
            streams.get_records(ShardIterator=token)
        assert _code(exc) == "ValidationException"


def test_disable_and_reenable_makes_a_new_stream(client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb)
    first = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    desc = streams.describe_stream(StreamArn=first)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in desc["Shards"][0]["SequenceNumberRange"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "sk": {"N": "1"}})  # not recorded
    old = _records(streams, first)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in old] == ["a"]
    it = streams.get_shard_iterator(
        StreamArn=first, ShardId=_shard(streams, first), ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert "NextShardIterator" not in streams.get_records(ShardIterator=it)  # closed shard

    ddb.update_table(
        TableName=name,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    second = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    assert second != first
    ddb.put_item(TableName=name, Item={"pk": {"S": "c"}, "sk": {"N": "1"}})
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in _records(streams, second)] == ["c"]
    arns = [s["StreamArn"] for s in streams.list_streams(TableName=name)["Streams"]]
    assert arns == [first, second]


def test_list_streams_pagination(client: Client) -> None:
    ddb, streams = (
        client("dynamodb", region="eu-west-3"),
        client("dynamodbstreams", region="eu-west-3"),
    )
    names = [_table(ddb) for _ in range(3)]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Limit": 1}
    while True:
        page = streams.list_streams(**kwargs)
        seen += [s["TableName"] for s in page["Streams"]]
        if "LastEvaluatedStreamArn" not in page:
            break
        kwargs["ExclusiveStartStreamArn"] = page["LastEvaluatedStreamArn"]
    assert set(names) <= set(seen)


def test_iterator_expiry_and_retention(disk_server: ServerProcess) -> None:
    ddb, streams = disk_server.client("dynamodb"), disk_server.client("dynamodbstreams")
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    seq = _records(streams, arn)[0]["dynamodb"]["SequenceNumber"]
    it = streams.get_shard_iterator(
        StreamArn=arn, ShardId=_shard(streams, arn), ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    _advance(disk_server, 16 * 60)
    with pytest.raises(ClientError) as exc:
        streams.get_records(ShardIterator=it)
    assert _code(exc) == "ExpiredIteratorException"
    assert len(_records(streams, arn)) == 1  # still retained after 16 minutes

    _advance(disk_server, 24 * 3600)
    assert _records(streams, arn) == []
    with pytest.raises(ClientError) as exc:
        _records(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seq)
    assert _code(exc) == "TrimmedDataAccessException"
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "sk": {"N": "1"}})  # trims on write
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in _records(streams, arn)] == ["b"]


def test_records_survive_restart(disk_server: ServerProcess) -> None:
    ddb = disk_server.client("dynamodb")
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    disk_server.kill()
    disk_server.start()
    streams = disk_server.client("dynamodbstreams")
    assert [r["eventName"] for r in _records(streams, arn)] == ["INSERT"]


def test_deleted_table_stream_stays_readable(client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    ddb.delete_table(TableName=name)
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    assert [r["eventName"] for r in _records(streams, arn)] == ["INSERT"]
    assert [s["StreamArn"] for s in streams.list_streams(TableName=name)["Streams"]] == [arn]
