"""KeyConditionExpression refusals through boto3, with AWS's messages (the public dynalite and
nubo-db captures): operators, operands, one condition per key, BETWEEN bounds, key types."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]
_SCHEMA = (
    "One or more parameter values were invalid: Condition parameter type does not match schema type"
)


def _operand(op: str, kind: str) -> str:
    return (
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
        f"operator or function: {op}, operand type: {kind}"
    )


@pytest.fixture(scope="module")
def tables(server: Any) -> dict[str, str]:
    ddb = server.client("dynamodb")
    names = {"range": f"kc-{uuid.uuid4().hex[:10]}", "hash": f"kh-{uuid.uuid4().hex[:10]}"}
    ddb.create_table(
        TableName=names["range"],
        KeySchema=[
            {"AttributeName": "a", "KeyType": "HASH"},
            {"AttributeName": "b", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "a", "AttributeType": "S"},
            {"AttributeName": "b", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName=names["hash"],
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return names


def _message(ddb: Any, **kw: Any) -> str:
    with pytest.raises(ClientError) as exc:
        ddb.query(**kw)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    return str(exc.value.response["Error"]["Message"])


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        (
            "a between :b and :a",
            {":a": {"S": "a"}, ":b": {"N": "1"}},
            "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for "
            "lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound "
            "operand: AttributeValue: {S:a}",
        ),
        (
            "a between :b and :a",
            {":a": {"S": "a"}, ":b": {"S": "b"}},
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be "
            "greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, "
            "upper bound operand: AttributeValue: {S:a}",
        ),
        (
            "b > :a AND b < :a and c = :a and d = :a",
            {":a": {"N": "1"}},
            "KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "a > b and size(b) > c or a > c",
            None,
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            ":b > :a AND a < :b",
            {":a": {"N": "1"}, ":b": {"N": "1"}},
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        ),
        (
            "begins_with(:a, b) and a > :b",
            {":a": {"S": "1"}, ":b": {"S": "1"}},
            "Invalid condition in KeyConditionExpression: begins_with operator must have the "
            "key attribute as its first operand",
        ),
        ("a.d > c", None, "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("a > size(b.d)", None, "KeyConditionExpressions cannot contain nested operations"),
        (
            "b > a.b",
            None,
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one "
            "condition",
        ),
    ],
)
def test_expression_refusals_before_the_table(
    client: Client, expression: str, values: dict[str, Any] | None, message: str
) -> None:
    kw: dict[str, Any] = {"TableName": f"missing-{uuid.uuid4().hex[:8]}"}
    kw["KeyConditionExpression"] = expression
    if values:
        kw["ExpressionAttributeValues"] = values
    assert message in _message(client("dynamodb"), **kw)


@pytest.mark.parametrize(
    ("table", "expression", "values", "message"),
    [
        (
            "range",
            "b = :n",
            {":n": {"N": "1"}},
            "Query condition missed key schema element: a",
        ),
        (
            "range",
            "a > :s",
            {":s": {"S": "x"}},
            "Query key condition not supported",
        ),
        (
            "range",
            "a = :s AND c = :s",
            {":s": {"S": "x"}},
            "Query condition missed key schema element: b",
        ),
        (
            "range",
            "a = :s AND b = :s",
            {":s": {"S": "x"}},
            "One or more parameter values were invalid: Condition parameter type does not match "
            "schema type",
        ),
        (
            "range",
            "a = :s AND begins_with(b, :n)",
            {":s": {"S": "x"}, ":n": {"N": "1"}},
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N",
        ),
        # A real AWS answer reported for a hash-only table queried on two attributes (dynalite's
        # older "Query key condition not supported" no longer holds).
        (
            "hash",
            "a = :s AND b = :s",
            {":s": {"S": "x"}},
            "The number of query conditions (2) exceeds the number of key attributes defined in "
            "the schema (1)",
        ),
        (
            "range",
            "a = :s AND b > :n AND extra = :n",
            {":s": {"S": "x"}, ":n": {"N": "1"}},
            "The number of query conditions (3) exceeds the number of key attributes defined in "
            "the schema (2)",
        ),
        # An operand no key type satisfies fails as an operand error naming the operator as
        # written; a key type that is not the attribute's fails the schema check.
        (
            "range",
            "a = :s AND begins_with(b, :v)",
            {":v": {"BOOL": True}},
            _operand("begins_with", "BOOL"),
        ),
        ("range", "a = :s AND begins_with(b, :v)", {":v": {"S": "a"}}, _SCHEMA),
        ("range", "a = :s AND b < :v", {":v": {"BOOL": True}}, _operand("<", "BOOL")),
        ("range", "a = :s AND :v >= b", {":v": {"BOOL": True}}, _operand(">=", "BOOL")),
        (
            "range",
            "a = :s AND b BETWEEN :v AND :w",
            {":v": {"BOOL": False}, ":w": {"BOOL": True}},
            _operand("BETWEEN", "BOOL"),
        ),
        ("range", "a = :s AND b = :v", {":v": {"BOOL": True}}, _SCHEMA),
        (
            "range",
            "a = :s AND b > :v AND b < :w",
            {":v": {"N": "1"}, ":w": {"N": "5"}},
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one "
            "condition per key",
        ),
    ],
)
def test_refusals_against_the_key_schema(
    client: Client,
    tables: dict[str, str],
    table: str,
    expression: str,
    values: dict[str, Any],
    message: str,
) -> None:
    got = _message(
        client("dynamodb"),
        TableName=tables[table],
        KeyConditionExpression=expression,
        ExpressionAttributeValues={":s": {"S": "x"}, **values},
    )
    assert got == message
