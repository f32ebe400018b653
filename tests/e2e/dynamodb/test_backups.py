"""DynamoDB backups and point-in-time recovery through boto3: backups that really restore the
items (with index overrides), PITR settings and windows, and restores as of a past time."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

Client = Callable[..., Any]


def _name(prefix: str = "bk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _table(ddb: Any, name: str | None = None) -> str:
    name = name or _name()
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _keys(ddb: Any, name: str) -> set[str]:
    return {i["pk"]["S"] for i in ddb.scan(TableName=name)["Items"]}


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _clock(server: ServerProcess, **body: float) -> float:
    if body:
        requests.post(server.endpoint + "/_overcast/clock", json=body, timeout=10)
    return float(requests.get(server.endpoint + "/_overcast/clock", timeout=10).json()["now"])


def test_backup_lifecycle_and_restore(client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    for i in range(3):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}})
    details = ddb.create_backup(TableName=name, BackupName="nightly")["BackupDetails"]
    arn = details["BackupArn"]
    assert details["BackupStatus"] == "CREATING"
    assert details["BackupType"] == "USER"
    assert arn.startswith(ddb.describe_table(TableName=name)["Table"]["TableArn"] + "/backup/")
    ddb.put_item(TableName=name, Item={"pk": {"S": "after"}, "g": {"S": "x"}})

    desc = ddb.describe_backup(BackupArn=arn)["BackupDescription"]
    assert desc["BackupDetails"]["BackupStatus"] == "AVAILABLE"
    assert desc["SourceTableDetails"]["TableName"] == name
    assert desc["SourceTableDetails"]["ItemCount"] == 3
    assert desc["SourceTableDetails"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [
        g["IndexName"] for g in desc["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"]
    ] == ["by-g"]
    summaries = ddb.list_backups(TableName=name)["BackupSummaries"]
    assert [s["BackupArn"] for s in summaries] == [arn]
    assert summaries[0]["BackupName"] == "nightly"

    target = _name("restored")
    out = ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    table = out["TableDescription"]
    assert table["TableStatus"] == "CREATING"
    assert table["RestoreSummary"]["SourceBackupArn"] == arn
    assert table["RestoreSummary"]["RestoreInProgress"] is True
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1})
    described = ddb.describe_table(TableName=target)["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert described["RestoreSummary"]["RestoreInProgress"] is False
    assert _keys(ddb, target) == {"k0", "k1", "k2"}
    by_g = ddb.query(
        TableName=target,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "x"}},
    )
    assert by_g["Count"] == 3

    with pytest.raises(ClientError) as exc:
        ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    assert _code(exc) == "TableAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_from_backup(TargetTableName="bad name!", BackupArn=arn)
    assert _code(exc) == "ValidationException"

    deleted = ddb.delete_backup(BackupArn=arn)["BackupDescription"]
    assert deleted["BackupDetails"]["BackupStatus"] == "DELETED"
    with pytest.raises(ClientError) as exc:
        ddb.describe_backup(BackupArn=arn)
    assert _code(exc) == "BackupNotFoundException"
    assert ddb.list_backups(TableName=name)["BackupSummaries"] == []


def test_restore_with_index_override(client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    arn = ddb.create_backup(TableName=name, BackupName="b11")["BackupDetails"]["BackupArn"]
    target = _name("noidx")
    ddb.restore_table_from_backup(
        TargetTableName=target, BackupArn=arn, GlobalSecondaryIndexOverride=[]
    )
    described = ddb.describe_table(TableName=target)["Table"]
    assert "GlobalSecondaryIndexes" not in described
    assert _keys(ddb, target) == {"a"}


def test_backup_errors(client: Client) -> None:
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.create_backup(TableName="no-such-table-bk", BackupName="x1x")
    assert _code(exc) == "TableNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.describe_backup(BackupArn="arn:aws:dynamodb:us-east-1:000000000000:table/x/backup/0-0")
    assert _code(exc) == "BackupNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.describe_continuous_backups(TableName="no-such-table-bk")
    assert _code(exc) == "TableNotFoundException"


def test_list_backups_pagination_and_filters(client: Client) -> None:
    ddb = client("dynamodb", region="ap-south-1")
    name = _table(ddb)
    arns = [
        ddb.create_backup(TableName=name, BackupName=f"b{i}x")["BackupDetails"]["BackupArn"]
        for i in range(3)
    ]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"TableName": name, "Limit": 2}
    while True:
        page = ddb.list_backups(**kwargs)
        seen += [s["BackupArn"] for s in page["BackupSummaries"]]
        if "LastEvaluatedBackupArn" not in page:
            break
        kwargs["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
    assert seen == arns
    assert ddb.list_backups(TableName=name, BackupType="SYSTEM")["BackupSummaries"] == []
    future = datetime.now(UTC) + timedelta(days=3650)
    assert ddb.list_backups(TableName=name, TimeRangeLowerBound=future)["BackupSummaries"] == []


def test_continuous_backups_settings(client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    desc = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert desc["ContinuousBackupsStatus"] == "ENABLED"
    assert desc["PointInTimeRecoveryDescription"] == {"PointInTimeRecoveryStatus": "DISABLED"}
    out = ddb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 7,
        },
    )["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert out["PointInTimeRecoveryStatus"] == "ENABLED"
    assert out["RecoveryPeriodInDays"] == 7
    assert out["EarliestRestorableDateTime"] <= out["LatestRestorableDateTime"]
    with pytest.raises(ClientError) as exc:
        ddb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True,
                "RecoveryPeriodInDays": 36,
            },
        )
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=_table(ddb), TargetTableName=_name(), UseLatestRestorableTime=True
        )
    assert _code(exc) == "PointInTimeRecoveryUnavailableException"


def test_restore_to_point_in_time(disk_server: ServerProcess) -> None:
    ddb = disk_server.client("dynamodb")
    name = _table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "before"}, "g": {"S": "x"}})
    ddb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    _clock(disk_server, advance=60)
    ddb.put_item(TableName=name, Item={"pk": {"S": "one"}, "g": {"S": "x"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "before"}, "g": {"S": "changed"}})
    _clock(disk_server, advance=600)
    t1 = _clock(disk_server)
    _clock(disk_server, advance=600)
    ddb.delete_item(TableName=name, Key={"pk": {"S": "one"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "two"}, "g": {"S": "x"}})

    target = _name("pitr")
    out = ddb.restore_table_to_point_in_time(
        SourceTableName=name,
        TargetTableName=target,
        RestoreDateTime=datetime.fromtimestamp(t1, UTC),
    )
    assert out["TableDescription"]["RestoreSummary"]["SourceTableArn"].endswith(f"/{name}")
    items = {i["pk"]["S"]: i["g"]["S"] for i in ddb.scan(TableName=target)["Items"]}
    assert items == {"before": "changed", "one": "x"}

    # Latest restorable time is five minutes behind: the last writes are not in it yet.
    latest = _name("latest")
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=latest, UseLatestRestorableTime=True
    )
    assert _keys(ddb, latest) == {"before", "one"}
    _clock(disk_server, advance=301)
    later = _name("later")
    ddb.restore_table_to_point_in_time(
        SourceTableName=name, TargetTableName=later, UseLatestRestorableTime=True
    )
    assert _keys(ddb, later) == {"before", "two"}

    with pytest.raises(ClientError) as exc:
        ddb.restore_table_to_point_in_time(
            SourceTableName=name,
            TargetTableName=_name(),
            RestoreDateTime=datetime.fromtimestamp(t1 - 86400, UTC),
        )
    assert _code(exc) == "InvalidRestoreTimeException"


def test_deleting_a_pitr_table_keeps_a_system_backup(disk_server: ServerProcess) -> None:
    ddb = disk_server.client("dynamodb")
    name = _table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "kept"}, "g": {"S": "x"}})
    ddb.update_continuous_backups(
        TableName=name,
        PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True,
            "RecoveryPeriodInDays": 2,
        },
    )
    ddb.delete_table(TableName=name)
    assert ddb.list_backups(TableName=name)["BackupSummaries"] == []  # USER by default
    (summary,) = ddb.list_backups(TableName=name, BackupType="SYSTEM")["BackupSummaries"]
    assert summary["BackupType"] == "SYSTEM"
    assert summary["BackupName"] == f"{name}$DeletedTableBackup"
    assert "BackupExpiryDateTime" in summary
    target = _name("undeleted")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=summary["BackupArn"])
    assert _keys(ddb, target) == {"kept"}
    _clock(disk_server, advance=2 * 86400 + 1)
    assert ddb.list_backups(TableName=name, BackupType="ALL")["BackupSummaries"] == []
