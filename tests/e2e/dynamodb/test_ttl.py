"""DynamoDB Time to Live through boto3: settings (ENABLING/DISABLING for a clock interval, as on
AWS), errors, and the clock-driven sweeper that deletes expired items as service deletions
(visible on the table's stream)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.services.dynamodb.ttl import TRANSITION
from overcast.testing import ServerProcess
from tests.waiting import wait_until

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


def _describe(ddb: Any, name: str) -> dict[str, Any]:
    return dict(ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"])


def _update(ddb: Any, name: str, enabled: bool, attribute: str = "expires") -> dict[str, Any]:
    spec = {"Enabled": enabled, "AttributeName": attribute}
    return dict(ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec))


def _refused(ddb: Any, name: str, enabled: bool, attribute: str = "expires") -> str:
    with pytest.raises(ClientError) as exc:
        _update(ddb, name, enabled, attribute)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    return str(exc.value.response["Error"]["Message"])


def test_update_and_describe_time_to_live(server: ServerProcess, client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    assert _describe(ddb, name) == {"TimeToLiveStatus": "DISABLED"}
    out = _update(ddb, name, True)
    assert out["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert _describe(ddb, name) == {"TimeToLiveStatus": "ENABLING", "AttributeName": "expires"}
    # Any change while the last one is applied is refused, as on AWS.
    too_often = "Time to live has been modified multiple times within a fixed interval"
    assert _refused(ddb, name, False) == too_often
    assert _refused(ddb, name, True, "other") == too_often
    _advance(server, TRANSITION + 1)
    assert _describe(ddb, name) == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    assert _refused(ddb, name, True) == "TimeToLive is already enabled"
    assert "different AttributeName" in _refused(ddb, name, True, "other")
    assert "different AttributeName" in _refused(ddb, name, False, "other")

    _update(ddb, name, False)
    assert _describe(ddb, name) == {"TimeToLiveStatus": "DISABLING", "AttributeName": "expires"}
    assert _refused(ddb, name, True) == too_often
    _advance(server, TRANSITION + 1)
    assert _describe(ddb, name) == {"TimeToLiveStatus": "DISABLED"}
    assert _refused(ddb, name, False) == "TimeToLive is already disabled"
    # Once disabled, another attribute may be enabled.
    _update(ddb, name, True, "other")
    assert _describe(ddb, name) == {"TimeToLiveStatus": "ENABLING", "AttributeName": "other"}


def test_enabling_outlives_a_restart(disk_server: ServerProcess) -> None:
    ddb = disk_server.client("dynamodb")
    name = _table(ddb)
    _update(ddb, name, True)
    disk_server.kill()
    disk_server.start()
    ddb = disk_server.client("dynamodb")
    assert _describe(ddb, name)["TimeToLiveStatus"] == "ENABLING"
    _advance(disk_server, TRANSITION + 1)
    assert _describe(ddb, name)["TimeToLiveStatus"] == "ENABLED"


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
    def swept() -> bool:
        if "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "old"}}):
            return True
        _advance(server, 61)
        return False

    wait_until(swept, timeout=30, what="the sweeper deleted the expired item")
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

    def events() -> list[str] | None:
        _advance(disk_server, 61)
        it = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        names = [r["eventName"] for r in streams.get_records(ShardIterator=it)["Records"]]
        return names if "REMOVE" in names else None

    names = wait_until(events, timeout=30, what="the sweeper ran after the restart")
    assert names == ["INSERT", "REMOVE"]


def test_status_follows_the_clock() -> None:
    from overcast.services.dynamodb.ttl import in_transition, ttl_status

    on = {"AttributeName": "exp", "Status": "ENABLED", "Since": 1000.0}
    off = {"AttributeName": "exp", "Status": "DISABLED", "Since": 1000.0}
    assert ttl_status(None, 0.0) == "DISABLED"
    assert [ttl_status(on, t) for t in (1000.0, 1000.0 + TRANSITION)] == ["ENABLING", "ENABLED"]
    assert [ttl_status(off, t) for t in (1001.0, 1000.0 + TRANSITION)] == ["DISABLING", "DISABLED"]
    # Settings written before transitions existed have no "Since": settled.
    assert ttl_status({"AttributeName": "exp", "Status": "ENABLED"}, 5.0) == "ENABLED"
    assert in_transition(on, 1000.0) and not in_transition(on, 1000.0 + TRANSITION)
