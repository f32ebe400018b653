"""Global tables 2017.11.29 through boto3: replicated items carry aws:rep:updateregion,
aws:rep:updatetime and aws:rep:deleting in every replica; 2019.11.21 replicas do not."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

Client = Callable[..., Any]
REP = {"aws:rep:deleting", "aws:rep:updateregion", "aws:rep:updatetime"}


def _table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )


def test_2017_replicas_carry_replication_attributes(client: Client) -> None:
    east, west = client("dynamodb", region="us-east-1"), client("dynamodb", region="eu-west-1")
    name = f"gt17-{uuid.uuid4().hex[:10]}"
    _table(east, name)
    _table(west, name)
    east.create_global_table(
        GlobalTableName=name,
        ReplicationGroup=[{"RegionName": "us-east-1"}, {"RegionName": "eu-west-1"}],
    )
    before = time.time()
    east.put_item(TableName=name, Item={"pk": {"S": "x"}, "v": {"N": "1"}})
    for ddb in (east, west):
        item = ddb.get_item(TableName=name, Key={"pk": {"S": "x"}}, ConsistentRead=True)["Item"]
        assert item["v"] == {"N": "1"}
        assert item["aws:rep:updateregion"] == {"S": "us-east-1"}
        assert item["aws:rep:deleting"] == {"BOOL": False}
        stamp = float(item["aws:rep:updatetime"]["N"])
        assert before - 5 <= stamp <= time.time() + 5
        assert "." in item["aws:rep:updatetime"]["N"]

    # A write in the other region stamps that region, and replicates back.
    west.update_item(
        TableName=name,
        Key={"pk": {"S": "x"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    item = east.get_item(TableName=name, Key={"pk": {"S": "x"}})["Item"]
    assert item["v"] == {"N": "2"} and item["aws:rep:updateregion"] == {"S": "eu-west-1"}

    west.delete_item(TableName=name, Key={"pk": {"S": "x"}})
    assert "Item" not in east.get_item(TableName=name, Key={"pk": {"S": "x"}})


def test_2019_replicas_have_no_replication_attributes(client: Client) -> None:
    east = client("dynamodb", region="us-east-1")
    west = client("dynamodb", region="us-west-2")
    name = f"gt19-{uuid.uuid4().hex[:10]}"
    _table(east, name)
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}])
    east.put_item(TableName=name, Item={"pk": {"S": "x"}})
    for ddb in (east, west):
        item = ddb.get_item(TableName=name, Key={"pk": {"S": "x"}})["Item"]
        assert not REP & set(item)
