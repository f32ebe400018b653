"""DynamoDB TransactWriteItems and TransactGetItems through boto3."""

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
    name = f"txn-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _get(ddb: Any, name: str, pk: str) -> dict[str, Any] | None:
    return ddb.get_item(TableName=name, Key={"pk": {"S": pk}}).get("Item")


def test_all_or_nothing_with_reasons(ddb: Any) -> None:
    name = _table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "acct"}, "balance": {"N": "10"}})
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": name,
                    "Key": {"pk": {"S": "acct"}},
                    "UpdateExpression": "SET balance = balance - :n",
                    "ConditionExpression": "balance >= :n",
                    "ExpressionAttributeValues": {":n": {"N": "4"}},
                }
            },
            {"Put": {"TableName": name, "Item": {"pk": {"S": "log1"}}}},
        ]
    )
    assert _get(ddb, name, "acct")["balance"] == {"N": "6"}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "log2"}}}},
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": {"pk": {"S": "acct"}},
                        "ConditionExpression": "balance >= :n",
                        "ExpressionAttributeValues": {":n": {"N": "100"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
                {"Delete": {"TableName": name, "Key": {"pk": {"S": "log1"}}}},
            ]
        )
    err = exc.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    assert err["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ConditionalCheckFailed, None]"
    )
    reasons = err["CancellationReasons"]
    assert reasons[0] == {"Code": "None"} and reasons[2] == {"Code": "None"}
    assert reasons[1]["Code"] == "ConditionalCheckFailed"
    assert reasons[1]["Item"] == {"pk": {"S": "acct"}, "balance": {"N": "6"}}
    # Nothing of the cancelled transaction was applied.
    assert _get(ddb, name, "log2") is None and _get(ddb, name, "log1") is not None


def test_same_item_twice_refused(ddb: Any) -> None:
    name = _table(ddb)
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "x"}}}},
                {"Delete": {"TableName": name, "Key": {"pk": {"S": "x"}}}},
            ]
        )
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Transaction request cannot include multiple operations on one item",
    } | {k: v for k, v in exc.value.response["Error"].items() if k not in ("Code", "Message")}


def test_idempotency_token(client: Client, server: Any) -> None:
    ddb = client("dynamodb")
    name = _table(ddb)
    token = uuid.uuid4().hex
    items = [
        {
            "Update": {
                "TableName": name,
                "Key": {"pk": {"S": "n"}},
                "UpdateExpression": "ADD c :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    assert _get(ddb, name, "n")["c"] == {"N": "1"}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": {"pk": {"S": "other"}}}}],
            ClientRequestToken=token,
        )
    assert exc.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_transact_get(ddb: Any) -> None:
    name = _table(ddb)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "1"}})
    out = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": name, "Key": {"pk": {"S": "a"}}, "ProjectionExpression": "v"}},
            {"Get": {"TableName": name, "Key": {"pk": {"S": "missing"}}}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["Responses"] == [{"Item": {"v": {"S": "1"}}}, {}]
    assert out["ConsumedCapacity"] == [{"TableName": name, "CapacityUnits": 4.0}]


def test_idempotency_token_expires_after_ten_minutes(tmp_path: Any) -> None:
    import requests

    from overcast.testing import ServerProcess

    proc = ServerProcess(log_file=tmp_path / "log").start()
    try:
        ddb = proc.client("dynamodb")
        name = _table(ddb)
        items = [
            {
                "Update": {
                    "TableName": name,
                    "Key": {"pk": {"S": "n"}},
                    "UpdateExpression": "ADD c :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
        ]
        ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok")
        requests.post(proc.endpoint + "/_overcast/clock", json={"advance": 590}, timeout=10)
        ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok")
        assert _get(ddb, name, "n")["c"] == {"N": "1"}  # still the same request
        requests.post(proc.endpoint + "/_overcast/clock", json={"advance": 20}, timeout=10)
        ddb.transact_write_items(TransactItems=items, ClientRequestToken="tok")
        assert _get(ddb, name, "n")["c"] == {"N": "2"}  # the token expired: applied again
    finally:
        proc.stop()
