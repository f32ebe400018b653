"""DynamoDB items through boto3: every type, conditions, ReturnValues, capacity, limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


@pytest.fixture
def ddb(client: Client) -> Any:
    return client("dynamodb")


def _table(ddb: Any, *, range_key: bool = True, **extra: Any) -> str:
    name = f"items-{uuid.uuid4().hex[:10]}"
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    defs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        defs.append({"AttributeName": "sk", "AttributeType": "N"})
    ddb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=defs + extra.pop("extra_defs", []),
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


EVERY_TYPE = {
    "pk": {"S": "k"},
    "sk": {"N": "1"},
    "s": {"S": "héllo"},
    "n": {"N": "-12.500"},
    "b": {"B": b"\x00\x01\xff"},
    "bool": {"BOOL": False},
    "null": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"x", b"y"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"B": b"z"}}}]},
    "m": {"M": {"a": {"SS": ["q"]}, "e": {"S": ""}}},
}


def test_every_type_round_trips(ddb: Any) -> None:
    name = _table(ddb)
    ddb.put_item(TableName=name, Item=EVERY_TYPE)
    item = ddb.get_item(TableName=name, Key={"pk": {"S": "k"}, "sk": {"N": "1"}})["Item"]
    expected = dict(EVERY_TYPE)
    expected["n"] = {"N": "-12.5"}  # numbers come back canonical
    assert {k: v for k, v in item.items() if k not in ("ss", "ns", "bs")} == {
        k: v for k, v in expected.items() if k not in ("ss", "ns", "bs")
    }
    assert sorted(item["ss"]["SS"]) == ["a", "b"]
    assert sorted(item["ns"]["NS"]) == ["1", "2.5"]
    assert sorted(item["bs"]["BS"]) == [b"x", b"y"]
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["ItemCount"] == 1 and table["TableSizeBytes"] > 0


def test_resource_table_high_level(client: Client) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    import boto3

    resource = boto3.resource(
        "dynamodb",
        endpoint_url=ddb.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    table = resource.Table(name)
    table.put_item(Item={"pk": "a", "sk": 2, "price": Decimal("9.99"), "tags": {"x", "y"}})
    got = table.get_item(Key={"pk": "a", "sk": 2})["Item"]
    assert got["price"] == Decimal("9.99") and got["tags"] == {"x", "y"}


def test_missing_item_and_bad_keys(ddb: Any) -> None:
    name = _table(ddb)
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "no"}, "sk": {"N": "0"}})
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key={"pk": {"S": "no"}})
    assert _code(exc) == (
        "ValidationException",
        "The provided key element does not match the schema",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "x"}})
    assert _code(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Missing the key sk in the item",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"N": "1"}, "sk": {"N": "1"}})
    assert _code(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
    )
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName="no-such-table", Key={"pk": {"S": "x"}})
    assert _code(exc) == ("ResourceNotFoundException", "Requested resource not found")


def test_conditions_and_return_values(ddb: Any) -> None:
    name = _table(ddb, range_key=False)
    key = {"pk": {"S": "c"}}
    ddb.put_item(
        TableName=name,
        Item={**key, "v": {"N": "1"}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item={**key, "v": {"N": "2"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert _code(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert exc.value.response["Item"] == {**key, "v": {"N": "1"}}
    old = ddb.put_item(TableName=name, Item={**key, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert old["Attributes"] == {**key, "v": {"N": "1"}}
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item=key, ReturnValues="ALL_NEW")
    assert _code(exc) == ("ValidationException", "Return values set to invalid value")
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET v = v + :one, w = :w",
        ExpressionAttributeValues={":one": {"N": "1"}, ":w": {"S": "new"}},
        ReturnValues="UPDATED_OLD",
    )
    assert out["Attributes"] == {"v": {"N": "2"}}
    out = ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="REMOVE w",
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"] == {**key, "v": {"N": "3"}}
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=name,
            Key=key,
            UpdateExpression="SET pk = :x",
            ExpressionAttributeValues={":x": {"S": "y"}},
        )
    assert _code(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute "
        "is part of the key",
    )
    gone = ddb.delete_item(
        TableName=name,
        Key=key,
        ConditionExpression="v = :v",
        ExpressionAttributeValues={":v": {"N": "3"}},
        ReturnValues="ALL_OLD",
    )
    assert gone["Attributes"]["v"] == {"N": "3"}
    assert "Item" not in ddb.get_item(TableName=name, Key=key)


def test_update_creates_item_and_legacy_parameters(ddb: Any) -> None:
    name = _table(ddb, range_key=False)
    key = {"pk": {"S": "u"}}
    out = ddb.update_item(
        TableName=name,
        Key=key,
        AttributeUpdates={"n": {"Action": "ADD", "Value": {"N": "5"}}},
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"] == {**key, "n": {"N": "5"}}
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=name,
            Item=key,
            Expected={"n": {"Value": {"N": "4"}}},
        )
    assert _code(exc)[0] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item=key, Expected={}, ConditionalOperator="OR")
    assert _code(exc) == (
        "ValidationException",
        "ConditionalOperator can only be used when Filter or Expected has two or more elements",
    )
    # An update of only removals creates no missing item.
    ddb.update_item(TableName=name, Key={"pk": {"S": "ghost"}}, UpdateExpression="REMOVE x")
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "ghost"}})
    ddb.update_item(TableName=name, Key={"pk": {"S": "bare"}})
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "bare"}})["Item"] == {"pk": {"S": "bare"}}
    got = ddb.get_item(TableName=name, Key=key, AttributesToGet=["n"])["Item"]
    assert got == {"n": {"N": "5"}}
    got = ddb.get_item(
        TableName=name, Key=key, ProjectionExpression="#n", ExpressionAttributeNames={"#n": "n"}
    )
    assert got["Item"] == {"n": {"N": "5"}}


def test_item_size_limit(ddb: Any) -> None:
    name = _table(ddb, range_key=False)
    ddb.put_item(TableName=name, Item={"pk": {"S": "ok"}, "d": {"S": "x" * (400 * 1024 - 10)}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "big"}, "d": {"S": "x" * (400 * 1024)}})
    assert _code(exc) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=name,
            Key={"pk": {"S": "ok"}},
            UpdateExpression="SET e = :e",
            ExpressionAttributeValues={":e": {"S": "y" * 100}},
        )
    # UpdateItem has its own wording for a result past 400 KB.
    assert _code(exc) == (
        "ValidationException",
        "Item size to update has exceeded the maximum allowed size",
    )


def test_consumed_capacity(ddb: Any) -> None:
    name = _table(
        ddb,
        range_key=False,
        extra_defs=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    out = ddb.put_item(
        TableName=name,
        Item={"pk": {"S": "a"}, "g": {"S": "x"}, "d": {"S": "z" * 1500}},
        ReturnConsumedCapacity="INDEXES",
    )
    cc = out["ConsumedCapacity"]
    assert cc["TableName"] == name
    assert cc["Table"] == {"CapacityUnits": 2.0}
    assert cc["GlobalSecondaryIndexes"] == {"by-g": {"CapacityUnits": 2.0}}
    assert cc["CapacityUnits"] == 4.0
    out = ddb.put_item(TableName=name, Item={"pk": {"S": "b"}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 1.0}
    eventually = ddb.get_item(
        TableName=name, Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL"
    )["ConsumedCapacity"]
    strongly = ddb.get_item(
        TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )["ConsumedCapacity"]
    assert (eventually["CapacityUnits"], strongly["CapacityUnits"]) == (0.5, 1.0)
    assert "ConsumedCapacity" not in ddb.get_item(TableName=name, Key={"pk": {"S": "a"}})


def test_item_collection_metrics_with_lsi(ddb: Any) -> None:
    name = _table(
        ddb,
        extra_defs=[{"AttributeName": "alt", "AttributeType": "S"}],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-alt",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "alt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    out = ddb.put_item(
        TableName=name,
        Item={"pk": {"S": "p"}, "sk": {"N": "1"}, "alt": {"S": "a"}},
        ReturnItemCollectionMetrics="SIZE",
    )
    metrics = out["ItemCollectionMetrics"]
    assert metrics["ItemCollectionKey"] == {"pk": {"S": "p"}}
    assert metrics["SizeEstimateRangeGB"] == [0.0, 1.0]
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": "2"}, "alt": {"N": "1"}})
    assert _code(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for Index Key alt Expected: S "
        "Actual: N IndexName: by-alt",
    )


def test_throughput_enforcement_and_error_probability(tmp_path: Any) -> None:
    import botocore.config

    from overcast.testing import ServerProcess

    proc = ServerProcess(
        extra_args=["--ephemeral", "--dynamodb-enforce-throughput"],
        log_file=tmp_path / "log",
    ).start()
    try:
        ddb = proc.client("dynamodb", config=botocore.config.Config(retries={"max_attempts": 0}))
        ddb.create_table(
            TableName="slow",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 2},
        )
        codes = []
        for n in range(6):
            try:
                ddb.put_item(TableName="slow", Item={"pk": {"S": str(n)}})
                codes.append("ok")
            except ClientError as error:
                codes.append(error.response["Error"]["Code"])
        assert codes[:2] == ["ok", "ok"]
        assert "ProvisionedThroughputExceededException" in codes
    finally:
        proc.stop()
    proc = ServerProcess(
        extra_args=["--ephemeral", "--dynamodb-error-probability", "1"],
        log_file=tmp_path / "log2",
    ).start()
    try:
        ddb = proc.client("dynamodb", config=botocore.config.Config(retries={"max_attempts": 0}))
        ddb.create_table(
            TableName="flaky",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        with pytest.raises(ClientError) as exc:
            ddb.get_item(TableName="flaky", Key={"pk": {"S": "x"}})
        assert _code(exc)[0] == "ProvisionedThroughputExceededException"
    finally:
        proc.stop()


def test_key_size_limits(ddb: Any) -> None:
    name = _table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "p" * 2048}, "sk": {"N": "1"}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p" * 2049}, "sk": {"N": "1"}})
    assert _code(exc) == (
        "ValidationException",
        "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
        "size limit of2048 bytes",
    )
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key={"pk": {"S": "é" * 1025}, "sk": {"N": "1"}})
    assert "Size of hashkey" in _code(exc)[1]
    sname = f"items-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=sname,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "B"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=sname, Item={"pk": {"S": "p"}, "sk": {"B": b"x" * 1024}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=sname, Item={"pk": {"S": "p"}, "sk": {"B": b"x" * 1025}})
    assert "Aggregated size of all range keys" in _code(exc)[1]
