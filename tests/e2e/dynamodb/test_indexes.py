"""DynamoDB secondary indexes through boto3: GSIs and LSIs, projections, sparse indexes,
backfill through UpdateTable, limits and consistent reads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


@pytest.fixture
def ddb(client: Client) -> Any:
    return client("dynamodb")


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def _gsi(
    name: str, hash_key: str, range_key: str | None = None, **projection: Any
) -> dict[str, Any]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {
        "IndexName": name,
        "KeySchema": schema,
        "Projection": projection or {"ProjectionType": "ALL"},
    }


def _orders(ddb: Any) -> str:
    """Orders by customer (pk) and id (sk); GSI by status/total, LSI by date."""
    name = f"idx-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "total", "AttributeType": "N"},
            {"AttributeName": "date", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            _gsi("by-status", "status", "total", ProjectionType="KEYS_ONLY"),
            _gsi("by-status-all", "status"),
        ],
        LocalSecondaryIndexes=[
            _gsi(
                "by-date", "customer", "date", ProjectionType="INCLUDE", NonKeyAttributes=["note"]
            ),
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    rows = [
        ("alice", "o1", "open", "30", "2024-01-03"),
        ("alice", "o2", "shipped", "10", "2024-01-01"),
        ("alice", "o3", "open", "20", "2024-01-02"),
        ("bob", "o4", "open", "5", "2024-02-01"),
        ("bob", "o5", None, "7", "2024-02-02"),  # no status: not in the GSIs (sparse)
    ]
    for customer, oid, status, total, date in rows:
        item = {
            "customer": {"S": customer},
            "id": {"S": oid},
            "total": {"N": total},
            "date": {"S": date},
            "note": {"S": f"note {oid}"},
            "secret": {"S": "x"},
        }
        if status:
            item["status"] = {"S": status}
        ddb.put_item(TableName=name, Item=item)
    return name


def test_gsi_query_order_projection_and_sparse(ddb: Any) -> None:
    name = _orders(ddb)
    out = ddb.query(
        TableName=name,
        IndexName="by-status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "open"}},
    )
    assert [i["total"]["N"] for i in out["Items"]] == ["5", "20", "30"]
    # KEYS_ONLY: the index and table keys, nothing else.
    assert set(out["Items"][0]) == {"status", "total", "customer", "id"}
    assert "LastEvaluatedKey" not in out
    page = ddb.query(
        TableName=name,
        IndexName="by-status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "open"}},
        Limit=2,
    )
    assert set(page["LastEvaluatedKey"]) == {"status", "total", "customer", "id"}
    rest = ddb.query(
        TableName=name,
        IndexName="by-status",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "open"}},
        ExclusiveStartKey=page["LastEvaluatedKey"],
    )
    assert [i["total"]["N"] for i in rest["Items"]] == ["30"]
    scanned = ddb.scan(TableName=name, IndexName="by-status-all")
    assert scanned["Count"] == 4  # bob's o5 has no status
    desc = ddb.describe_table(TableName=name)["Table"]
    gsis = {g["IndexName"]: g for g in desc["GlobalSecondaryIndexes"]}
    assert gsis["by-status"]["ItemCount"] == 4 and gsis["by-status"]["IndexStatus"] == "ACTIVE"
    assert desc["LocalSecondaryIndexes"][0]["ItemCount"] == 5


def test_gsi_refuses_consistent_reads_and_all_attributes(ddb: Any) -> None:
    name = _orders(ddb)
    base = {
        "TableName": name,
        "IndexName": "by-status",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "open"}},
    }
    with pytest.raises(ClientError) as exc:
        ddb.query(**base, ConsistentRead=True)
    assert _code(exc) == (
        "ValidationException",
        "Consistent reads are not supported on global secondary indexes",
    )
    with pytest.raises(ClientError) as exc:
        ddb.query(**base, Select="ALL_ATTRIBUTES")
    assert _code(exc)[0] == "ValidationException"


def test_lsi_order_and_fetches_unprojected_attributes(ddb: Any) -> None:
    name = _orders(ddb)
    base = {
        "TableName": name,
        "IndexName": "by-date",
        "KeyConditionExpression": "customer = :c",
        "ExpressionAttributeValues": {":c": {"S": "alice"}},
    }
    out = ddb.query(**base, ConsistentRead=True)
    assert [i["id"]["S"] for i in out["Items"]] == ["o2", "o3", "o1"]
    assert "secret" not in out["Items"][0] and out["Items"][0]["note"]["S"] == "note o2"
    full = ddb.query(**base, Select="ALL_ATTRIBUTES")
    assert full["Items"][0]["secret"] == {"S": "x"}


def test_update_moves_index_entries(ddb: Any) -> None:
    name = _orders(ddb)
    ddb.update_item(
        TableName=name,
        Key={"customer": {"S": "alice"}, "id": {"S": "o1"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "shipped"}},
    )
    ddb.delete_item(TableName=name, Key={"customer": {"S": "alice"}, "id": {"S": "o3"}})

    def totals(status: str) -> list[str]:
        out = ddb.query(
            TableName=name,
            IndexName="by-status",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
        )
        return [i["total"]["N"] for i in out["Items"]]

    assert totals("open") == ["5"]
    assert totals("shipped") == ["10", "30"]


def test_gsi_backfill_and_delete_via_update_table(ddb: Any) -> None:
    name = _orders(ddb)
    with pytest.raises(ClientError) as exc:  # the key's definition must come with the index
        ddb.update_table(
            TableName=name,
            GlobalSecondaryIndexUpdates=[{"Create": _gsi("by-status-2", "status")}],
        )
    assert _code(exc)[0] == "ValidationException" and "AttributeDefinitions" in _code(exc)[1]
    out = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "note", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": _gsi("by-note", "note")}],
    )["TableDescription"]
    created = next(g for g in out["GlobalSecondaryIndexes"] if g["IndexName"] == "by-note")
    assert created["IndexStatus"] == "CREATING" and created["Backfilling"] is True
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    desc = ddb.describe_table(TableName=name)["Table"]
    created = next(g for g in desc["GlobalSecondaryIndexes"] if g["IndexName"] == "by-note")
    assert created["IndexStatus"] == "ACTIVE" and created["ItemCount"] == 5
    found = ddb.query(
        TableName=name,
        IndexName="by-note",
        KeyConditionExpression="note = :n",
        ExpressionAttributeValues={":n": {"S": "note o4"}},
    )["Items"]
    assert [i["id"]["S"] for i in found] == ["o4"]
    assert {"AttributeName": "note", "AttributeType": "S"} in desc["AttributeDefinitions"]
    ddb.update_table(
        TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-note"}}]
    )
    desc = ddb.describe_table(TableName=name)["Table"]
    assert "by-note" not in [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]]
    assert all(d["AttributeName"] != "note" for d in desc["AttributeDefinitions"])


def test_index_limits(ddb: Any) -> None:
    defs = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    defs += [{"AttributeName": f"a{i}", "AttributeType": "S"} for i in range(21)]
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=f"lim-{uuid.uuid4().hex[:8]}",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=defs,
            GlobalSecondaryIndexes=[_gsi(f"gsi{i}", f"a{i}") for i in range(21)],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _code(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the "
        "per-table limit of 20",
    )
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=f"lim-{uuid.uuid4().hex[:8]}",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=defs[:8],
            LocalSecondaryIndexes=[_gsi(f"lsi{i}", "pk", f"a{i}") for i in range(6)],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _code(exc)[0] == "ValidationException"
    assert "LocalSecondaryIndexes exceeds per-table limit of 5" in _code(exc)[1]
