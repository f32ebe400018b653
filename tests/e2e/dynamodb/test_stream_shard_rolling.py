"""DynamoDB Streams shard rolling through boto3: every four hours of clock time the open shard
closes (EndingSequenceNumber) and a child naming it as ParentShardId opens; a reader following
NextShardIterator to the end of a closed shard gets none and moves on to the child."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

Client = Callable[..., Any]
PERIOD = 4 * 3600


def _advance(server: ServerProcess, seconds: float) -> None:
    requests.post(server.endpoint + "/_overcast/clock", json={"advance": seconds}, timeout=10)


def _stream_table(ddb: Any) -> tuple[str, str]:
    name = f"roll-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    return name, ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]


def _put(ddb: Any, name: str, pk: str) -> None:
    ddb.put_item(TableName=name, Item={"pk": {"S": pk}})


def _read_shard(streams: Any, arn: str, shard_id: str) -> tuple[list[str], int]:
    """Follow NextShardIterator to its end (Limit 1: one page per record); returns the keys
    read and how many pages it took."""
    it = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    keys: list[str] = []
    pages = 0
    while it and pages < 20:
        page = streams.get_records(ShardIterator=it, Limit=1)
        pages += 1
        keys += [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]]
        it = page.get("NextShardIterator")
    assert it is None, "a closed shard read through has no NextShardIterator"
    return keys, pages


def test_shard_rolls_after_four_hours_of_clock_time(server: ServerProcess, client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name, arn = _stream_table(ddb)
    _put(ddb, name, "a")
    _put(ddb, name, "b")
    (first,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert "ParentShardId" not in first
    assert "EndingSequenceNumber" not in first["SequenceNumberRange"]

    _advance(server, PERIOD - 60)
    assert len(streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]) == 1

    _advance(server, 120)  # past four hours: the next write lands in a child shard
    _put(ddb, name, "c")
    parent, child = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert parent["ShardId"] == first["ShardId"]
    assert "EndingSequenceNumber" in parent["SequenceNumberRange"]
    assert child["ParentShardId"] == parent["ShardId"]
    assert child["ShardId"].startswith("shardId-") and child["ShardId"] != parent["ShardId"]
    assert "EndingSequenceNumber" not in child["SequenceNumberRange"]
    assert int(child["SequenceNumberRange"]["StartingSequenceNumber"]) > int(
        parent["SequenceNumberRange"]["EndingSequenceNumber"]
    )

    keys, _ = _read_shard(streams, arn, parent["ShardId"])
    assert keys == ["a", "b"]
    it = streams.get_shard_iterator(
        StreamArn=arn, ShardId=child["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = streams.get_records(ShardIterator=it)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]] == ["c"]
    assert page["NextShardIterator"]  # the child is open

    # The child shards of a shard, as the Kinesis adapter asks for them.
    children = streams.describe_stream(
        StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS", "ShardId": parent["ShardId"]}
    )["StreamDescription"]["Shards"]
    assert [s["ShardId"] for s in children] == [child["ShardId"]]

    # A sequence number of the parent is refused on the child.
    seq = parent["SequenceNumberRange"]["StartingSequenceNumber"]
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(
            StreamArn=arn,
            ShardId=child["ShardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=seq,
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_roll_happens_on_read_without_writes(server: ServerProcess, client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name, arn = _stream_table(ddb)
    _put(ddb, name, "a")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    _advance(server, PERIOD + 1)
    # The read itself closes the shard: LATEST of a closed shard is its end.
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")[
        "ShardIterator"
    ]
    page = streams.get_records(ShardIterator=it)
    assert page["Records"] == [] and "NextShardIterator" not in page
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert [s.get("ParentShardId") for s in shards] == [None, shard]


def test_shards_chain_and_paginate(server: ServerProcess, client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name, arn = _stream_table(ddb)
    for i in range(3):
        _put(ddb, name, f"k{i}")
        _advance(server, PERIOD + 5)
    _put(ddb, name, "last")
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(shards) == 4
    for parent, child in itertools.pairwise(shards):
        assert child["ParentShardId"] == parent["ShardId"]
    assert [k for s in shards[:3] for k in _read_shard(streams, arn, s["ShardId"])[0]] == [
        "k0",
        "k1",
        "k2",
    ]

    seen: list[str] = []
    kwargs: dict[str, Any] = {"StreamArn": arn, "Limit": 3}
    while True:
        desc = streams.describe_stream(**kwargs)["StreamDescription"]
        seen += [s["ShardId"] for s in desc["Shards"]]
        if "LastEvaluatedShardId" not in desc:
            break
        kwargs["ExclusiveStartShardId"] = desc["LastEvaluatedShardId"]
    assert seen == [s["ShardId"] for s in shards]


def test_closed_shards_leave_after_a_day(server: ServerProcess, client: Client) -> None:
    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    name, arn = _stream_table(ddb)
    _put(ddb, name, "a")
    first = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    _advance(server, PERIOD + 1)
    _put(ddb, name, "b")
    _advance(server, 24 * 3600 + 60)
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert first not in [s["ShardId"] for s in shards]
    with pytest.raises(ClientError) as exc:
        streams.get_shard_iterator(StreamArn=arn, ShardId=first, ShardIteratorType="TRIM_HORIZON")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
