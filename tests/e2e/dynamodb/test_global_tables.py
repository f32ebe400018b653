"""DynamoDB global tables through boto3: version 2019.11.21 replicas created by UpdateTable
(real tables in other regions, writes replicated both ways), version 2017.11.29 operations, and
Kinesis streaming destination settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]
KINESIS = "arn:aws:kinesis:us-east-1:000000000000:stream/ddb-changes"


def _table(ddb: Any, name: str | None = None, stream: bool = False) -> str:
    name = name or f"gt-{uuid.uuid4().hex[:10]}"
    extra: dict[str, Any] = {}
    if stream:
        extra["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_replica_updates_create_real_replicas(client: Client) -> None:
    east, west = client("dynamodb", region="us-east-1"), client("dynamodb", region="us-west-2")
    name = _table(east)
    east.put_item(TableName=name, Item={"pk": {"S": "before"}})
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}])

    table = east.describe_table(TableName=name)["Table"]
    assert table["GlobalTableVersion"] == "2019.11.21"
    assert [r["RegionName"] for r in table["Replicas"]] == ["us-west-2"]
    assert table["Replicas"][0]["ReplicaStatus"] == "ACTIVE"
    replica = west.describe_table(TableName=name)["Table"]
    assert replica["TableArn"].startswith("arn:aws:dynamodb:us-west-2:")
    assert [r["RegionName"] for r in replica["Replicas"]] == ["us-east-1"]
    # Existing items were copied; new writes go both ways.
    assert "Item" in west.get_item(TableName=name, Key={"pk": {"S": "before"}})
    east.put_item(TableName=name, Item={"pk": {"S": "e"}, "v": {"N": "1"}})
    west.put_item(TableName=name, Item={"pk": {"S": "w"}, "v": {"N": "2"}})
    west.put_item(TableName=name, Item={"pk": {"S": "e"}, "v": {"N": "3"}})  # last writer wins
    assert east.get_item(TableName=name, Key={"pk": {"S": "w"}})["Item"]["v"] == {"N": "2"}
    assert east.get_item(TableName=name, Key={"pk": {"S": "e"}})["Item"]["v"] == {"N": "3"}
    east.delete_item(TableName=name, Key={"pk": {"S": "w"}})
    assert "Item" not in west.get_item(TableName=name, Key={"pk": {"S": "w"}})

    east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "us-west-2"}}])
    with pytest.raises(ClientError) as exc:
        west.describe_table(TableName=name)
    assert _code(exc) == "ResourceNotFoundException"
    assert "Replicas" not in east.describe_table(TableName=name)["Table"]


def test_replica_errors(client: Client) -> None:
    east, west = client("dynamodb", region="us-east-1"), client("dynamodb", region="eu-north-1")
    name = _table(east)
    _table(west, name)
    with pytest.raises(ClientError) as exc:
        east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "eu-north-1"}}])
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "us-east-2"}}])
    assert _code(exc) == "ValidationException"


def test_global_tables_2017(client: Client) -> None:
    east, west = client("dynamodb", region="us-east-1"), client("dynamodb", region="eu-west-1")
    name = _table(east, stream=True)
    _table(west, name, stream=True)
    desc = east.create_global_table(
        GlobalTableName=name,
        ReplicationGroup=[{"RegionName": "us-east-1"}, {"RegionName": "eu-west-1"}],
    )["GlobalTableDescription"]
    assert desc["GlobalTableName"] == name
    assert desc["GlobalTableArn"] == f"arn:aws:dynamodb::000000000000:global-table/{name}"
    assert {r["RegionName"] for r in desc["ReplicationGroup"]} == {"us-east-1", "eu-west-1"}
    got = west.describe_global_table(GlobalTableName=name)["GlobalTableDescription"]
    assert got["GlobalTableStatus"] == "ACTIVE"
    listed = east.list_global_tables(RegionName="eu-west-1")["GlobalTables"]
    assert name in [g["GlobalTableName"] for g in listed]

    east.put_item(TableName=name, Item={"pk": {"S": "x"}})
    assert "Item" in west.get_item(TableName=name, Key={"pk": {"S": "x"}})

    with pytest.raises(ClientError) as exc:
        east.create_global_table(
            GlobalTableName=name, ReplicationGroup=[{"RegionName": "us-east-1"}]
        )
    assert _code(exc) == "GlobalTableAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        east.update_global_table(
            GlobalTableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "ap-east-1"}}]
        )
    assert _code(exc) == "ReplicaNotFoundException"
    out = east.update_global_table(
        GlobalTableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "eu-west-1"}}]
    )["GlobalTableDescription"]
    assert [r["RegionName"] for r in out["ReplicationGroup"]] == ["us-east-1"]
    east.put_item(TableName=name, Item={"pk": {"S": "y"}})
    assert "Item" not in west.get_item(TableName=name, Key={"pk": {"S": "y"}})


def test_global_table_errors(client: Client) -> None:
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.describe_global_table(GlobalTableName="no-such-global")
    assert _code(exc) == "GlobalTableNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.create_global_table(
            GlobalTableName="no-such-global", ReplicationGroup=[{"RegionName": "us-east-1"}]
        )
    assert _code(exc) == "TableNotFoundException"
    name = _table(ddb)  # no stream
    with pytest.raises(ClientError) as exc:
        ddb.create_global_table(
            GlobalTableName=name, ReplicationGroup=[{"RegionName": "us-east-1"}]
        )
    assert _code(exc) == "ValidationException"


def test_kinesis_streaming_destination(client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    out = ddb.describe_kinesis_streaming_destination(TableName=name)
    assert out == {
        "TableName": name,
        "KinesisDataStreamDestinations": [],
        "ResponseMetadata": out["ResponseMetadata"],
    }
    enabled = ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=KINESIS)
    assert enabled["DestinationStatus"] == "ENABLING"
    (dest,) = ddb.describe_kinesis_streaming_destination(TableName=name)[
        "KinesisDataStreamDestinations"
    ]
    assert dest == {
        "StreamArn": KINESIS,
        "DestinationStatus": "ACTIVE",
        "ApproximateCreationDateTimePrecision": "MILLISECOND",
    }
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=KINESIS)
    assert _code(exc) == "ValidationException"
    updated = ddb.update_kinesis_streaming_destination(
        TableName=name,
        StreamArn=KINESIS,
        UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"},
    )
    assert updated["DestinationStatus"] == "UPDATING"
    disabled = ddb.disable_kinesis_streaming_destination(TableName=name, StreamArn=KINESIS)
    assert disabled["DestinationStatus"] == "DISABLING"
    (dest,) = ddb.describe_kinesis_streaming_destination(TableName=name)[
        "KinesisDataStreamDestinations"
    ]
    assert dest["DestinationStatus"] == "DISABLED"
    assert dest["ApproximateCreationDateTimePrecision"] == "MICROSECOND"
    with pytest.raises(ClientError) as exc:
        ddb.disable_kinesis_streaming_destination(TableName=name, StreamArn=KINESIS)
    assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(
            TableName=name, StreamArn="arn:aws:sqs:us-east-1:000000000000:not-a-stream"
        )
    assert _code(exc) == "ValidationException"


def test_global_table_settings_2017(client: Client) -> None:
    east, west = client("dynamodb", region="us-east-1"), client("dynamodb", region="ca-central-1")
    name = _table(east, stream=True)
    _table(west, name, stream=True)
    east.create_global_table(
        GlobalTableName=name,
        ReplicationGroup=[{"RegionName": "us-east-1"}, {"RegionName": "ca-central-1"}],
    )
    out = east.update_global_table_settings(
        GlobalTableName=name,
        GlobalTableBillingMode="PROVISIONED",
        GlobalTableProvisionedWriteCapacityUnits=7,
        ReplicaSettingsUpdate=[
            {"RegionName": "us-east-1", "ReplicaProvisionedReadCapacityUnits": 3},
            {"RegionName": "ca-central-1", "ReplicaProvisionedReadCapacityUnits": 4},
        ],
    )
    by_region = {r["RegionName"]: r for r in out["ReplicaSettings"]}
    assert by_region["us-east-1"]["ReplicaProvisionedWriteCapacityUnits"] == 7
    assert by_region["ca-central-1"]["ReplicaProvisionedReadCapacityUnits"] == 4
    assert by_region["ca-central-1"]["ReplicaBillingModeSummary"]["BillingMode"] == "PROVISIONED"
    table = west.describe_table(TableName=name)["Table"]
    assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 4
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    described = east.describe_global_table_settings(GlobalTableName=name)
    assert {r["RegionName"] for r in described["ReplicaSettings"]} == {"us-east-1", "ca-central-1"}
    with pytest.raises(ClientError) as exc:
        east.update_global_table_settings(
            GlobalTableName=name,
            ReplicaSettingsUpdate=[
                {"RegionName": "eu-south-1", "ReplicaProvisionedReadCapacityUnits": 3}
            ],
        )
    assert _code(exc) == "ReplicaNotFoundException"


def test_table_replica_auto_scaling(client: Client) -> None:
    east = client("dynamodb", region="us-east-1")
    name = _table(east)
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": "sa-east-1"}}])
    scaling = {
        "MinimumUnits": 5,
        "MaximumUnits": 50,
        "ScalingPolicyUpdate": {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.0}},
    }
    out = east.update_table_replica_auto_scaling(
        TableName=name,
        ProvisionedWriteCapacityAutoScalingUpdate=scaling,
        ReplicaUpdates=[
            {"RegionName": "sa-east-1", "ReplicaProvisionedReadCapacityAutoScalingUpdate": scaling}
        ],
    )["TableAutoScalingDescription"]
    replicas = {r["RegionName"]: r for r in out["Replicas"]}
    assert set(replicas) == {"us-east-1", "sa-east-1"}
    read = replicas["sa-east-1"]["ReplicaProvisionedReadCapacityAutoScalingSettings"]
    assert read["MinimumUnits"] == 5 and read["MaximumUnits"] == 50
    assert read["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"] == {
        "TargetValue": 70.0
    }
    described = east.describe_table_replica_auto_scaling(TableName=name)
    assert described["TableAutoScalingDescription"]["TableName"] == name
    east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": "sa-east-1"}}])
