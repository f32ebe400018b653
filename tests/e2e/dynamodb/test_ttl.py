"""DynamoDB Time to Live through boto3: settings, errors, and the clock-driven sweeper that
deletes expired items as service deletions (visible on the table's stream)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

Client = Callable[..., Any]


def _table(ddb: Any, **extra: Any) -> str:
    name = f"ttl-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def _advance(server: ServerProcess, seconds: float) -> float:
    r = requests.post(server.endpoint + "/_overcast/clock", json={"advance": seconds}, timeout=10)
    return float(r.json()["now"])


def _now(server: ServerProcess) -> float:
    return float(requests.get(server.endpoint + "/_overcast/clock", timeout=10).json()["now"])


def test_update_and_describe_time_to_live(client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    desc = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert desc == {"TimeToLiveStatus": "DISABLED"}
    out = ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    assert out["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    desc = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert desc == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
        )
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert exc.value.response["Error"]["Message"] == "TimeToLive is already enabled"
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "other"}
        )
    assert "different AttributeName" in exc.value.response["Error"]["Message"]

    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"}
    )
    desc = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert desc["TimeToLiveStatus"] == "DISABLED"
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"}
        )
    assert exc.value.response["Error"]["Message"] == "TimeToLive is already disabled"


def test_time_to_live_of_missing_table(client: Client) -> None:
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.describe_time_to_live(TableName="no-such-table-ttl")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(
            TableName="no-such-table-ttl",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"},
        )
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_sweeper_deletes_expired_items_as_service(server: ServerProcess, client: Client) -> None:
    ddb = client("dynamodb")
    streams = client("dynamodbstreams")
    name = _table(
        ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    now = _now(server)
    ddb.put_item(TableName=name, Item={"pk": {"S": "old"}, "exp": {"N": str(int(now) + 100)}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "new"}, "exp": {"N": str(int(now) + 10**6)}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "text"}, "exp": {"S": "not a number"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "ancient"}, "exp": {"N": "1000"}})

    _advance(server, 200)
    # Expired but maybe not yet swept: still readable until the sweeper runs.
    for _ in range(100):
        if "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "old"}}):
            break
        _advance(server, 61)
        time.sleep(0.05)
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "old"}})
    left = {i["pk"]["S"] for i in ddb.scan(TableName=name)["Items"]}
    assert left == {"new", "text", "ancient"}  # > 5 years past: never deleted, as AWS

    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=it)["Records"]
    removes = [r for r in records if r["eventName"] == "REMOVE"]
    assert len(removes) == 1
    assert removes[0]["userIdentity"] == {
        "PrincipalId": "dynamodb.amazonaws.com",
        "Type": "Service",
    }
    assert removes[0]["dynamodb"]["Keys"] == {"pk": {"S": "old"}}
    assert all("userIdentity" not in r for r in records if r["eventName"] == "INSERT")


def test_sweeper_resumes_after_restart(disk_server: ServerProcess) -> None:
    ddb = disk_server.client("dynamodb")
    name = _table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    now = _now(disk_server)
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "exp": {"N": str(int(now) + 30)}})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    disk_server.kill()
    disk_server.start()
    # Only DynamoDB Streams is called from now on: the sweeper must run without a DynamoDB call.
    streams = disk_server.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    names: list[str] = []
    for _ in range(100):
        _advance(disk_server, 61)
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        names = [r["eventName"] for r in streams.get_records(ShardIterator=it)["Records"]]
        if "REMOVE" in names:
            break
        time.sleep(0.05)
    assert names == ["INSERT", "REMOVE"]
