"""DynamoDB BatchGetItem and BatchWriteItem through boto3."""

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


def _table(ddb: Any) -> str:
    name = f"batch-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_batch_write_then_get(ddb: Any) -> None:
    a, b = _table(ddb), _table(ddb)
    out = ddb.batch_write_item(
        RequestItems={
            a: [
                {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "v": {"N": str(i)}}}}
                for i in range(20)
            ],
            b: [{"PutRequest": {"Item": {"pk": {"S": "only"}}}}],
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["UnprocessedItems"] == {}
    assert {c["TableName"]: c["CapacityUnits"] for c in out["ConsumedCapacity"]} == {
        a: 20.0,
        b: 1.0,
    }
    ddb.batch_write_item(RequestItems={a: [{"DeleteRequest": {"Key": {"pk": {"S": "k0"}}}}]})
    got = ddb.batch_get_item(
        RequestItems={
            a: {
                "Keys": [{"pk": {"S": "k0"}}, {"pk": {"S": "k1"}}, {"pk": {"S": "k2"}}],
                "ProjectionExpression": "v",
            },
            b: {"Keys": [{"pk": {"S": "only"}}], "ConsistentRead": True},
        }
    )
    assert sorted(i["v"]["N"] for i in got["Responses"][a]) == ["1", "2"]
    assert got["Responses"][b] == [{"pk": {"S": "only"}}]
    assert got["UnprocessedKeys"] == {}


def test_batch_limits_and_duplicates(ddb: Any) -> None:
    name = _table(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(
            RequestItems={
                name: [{"PutRequest": {"Item": {"pk": {"S": str(i)}}}} for i in range(26)]
            }
        )
    assert _code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(
            RequestItems={name: {"Keys": [{"pk": {"S": str(i)}} for i in range(101)]}}
        )
    assert _code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={name: {"Keys": [{"pk": {"S": "x"}}, {"pk": {"S": "x"}}]}})
    assert _code(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(
            RequestItems={
                name: [
                    {"PutRequest": {"Item": {"pk": {"S": "x"}}}},
                    {"DeleteRequest": {"Key": {"pk": {"S": "x"}}}},
                ]
            }
        )
    assert _code(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={"missing-table": {"Keys": [{"pk": {"S": "x"}}]}})
    assert _code(exc)[0] == "ResourceNotFoundException"


def test_batch_get_sixteen_megabytes(ddb: Any) -> None:
    name = _table(ddb)
    blob = "x" * (390 * 1024)
    for start in range(0, 50, 25):
        ddb.batch_write_item(
            RequestItems={
                name: [
                    {"PutRequest": {"Item": {"pk": {"S": f"k{i}"}, "d": {"S": blob}}}}
                    for i in range(start, start + 25)
                ]
            }
        )
    keys = [{"pk": {"S": f"k{i}"}} for i in range(50)]
    got = ddb.batch_get_item(RequestItems={name: {"Keys": keys}})
    returned = len(got["Responses"][name])
    assert returned < 50
    left = got["UnprocessedKeys"][name]["Keys"]
    assert returned + len(left) == 50
    again = ddb.batch_get_item(RequestItems={name: {"Keys": left}})
    assert len(again["Responses"][name]) == len(left)


def test_table_arn_as_name_echoed_in_capacity(ddb: Any) -> None:
    name = _table(ddb)
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    out = ddb.batch_write_item(
        RequestItems={arn: [{"PutRequest": {"Item": {"pk": {"S": "a"}}}}]},
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["ConsumedCapacity"] == [{"TableName": arn, "CapacityUnits": 1.0}]
    got = ddb.batch_get_item(
        RequestItems={arn: {"Keys": [{"pk": {"S": "a"}}]}}, ReturnConsumedCapacity="TOTAL"
    )
    assert got["Responses"][arn] == [{"pk": {"S": "a"}}]
    assert got["ConsumedCapacity"] == [{"TableName": arn, "CapacityUnits": 0.5}]
    put = ddb.put_item(TableName=arn, Item={"pk": {"S": "b"}}, ReturnConsumedCapacity="TOTAL")
    assert put["ConsumedCapacity"]["TableName"] == arn
