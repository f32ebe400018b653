"""DynamoDB behaviours corrected after running public, AWS-recorded conformance cases against
Overcast (see docs/dynamodb-conformance.md): error wording, validation order and limits."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

Client = Callable[..., Any]
_ENVELOPE = "1 validation error detected: "


@pytest.fixture
def ddb(client: Client) -> Any:
    # Client-side validation off: the server must answer malformed requests itself.
    return client("dynamodb", config=Config(parameter_validation=False))


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _hash_table(ddb: Any, kind: str = "S") -> str:
    name = _name("cf")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": kind}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _range_table(ddb: Any) -> str:
    """pk/sk, an LSI and a GSI both keyed on ``alt`` (the LSI sorts first by creation)."""
    name = _name("cf")
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "alt", "AttributeType": "S"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "z-local",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "alt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "a-global",
                "KeySchema": [{"AttributeName": "alt", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _error(call: Callable[..., Any], **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**params)
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


# --- bad values: the current layer's envelope, the older layer's bare wording ----------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"N": "twelve"}, "The parameter cannot be converted to a numeric value: twelve"),
        (
            {"SS": ["x", "x"]},
            'One or more parameter values were invalid: Input collection ["x", "x"] contains '
            "duplicates.",
        ),
        ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty"),
    ],
)
def test_single_item_writes_wrap_bad_values(ddb: Any, value: dict, message: str) -> None:
    table = _hash_table(ddb)
    item = {"pk": {"S": "k"}, "v": value}
    assert _error(ddb.put_item, TableName=table, Item=item) == (
        "ValidationException",
        _ENVELOPE + message,
    )
    assert _error(
        ddb.update_item,
        TableName=table,
        Key={"pk": {"S": "k"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": value},
    ) == ("ValidationException", _ENVELOPE + message)
    assert _error(
        ddb.delete_item,
        TableName=table,
        Key={"pk": {"S": "k"}},
        ConditionExpression="v = :v",
        ExpressionAttributeValues={":v": value},
    ) == ("ValidationException", _ENVELOPE + message)


def test_batch_writes_and_transactions_use_the_older_wording(ddb: Any) -> None:
    table = _hash_table(ddb)
    bad_number = {"pk": {"S": "k"}, "v": {"N": "twelve"}}
    repeated = {"pk": {"S": "k"}, "v": {"SS": ["x", "x"]}}
    assert _error(
        ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": bad_number}}]}
    ) == (
        "ValidationException",
        "The parameter cannot be converted to a numeric value: twelve",
    )
    assert _error(
        ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": repeated}}]}
    ) == (
        "ValidationException",
        "One or more parameter values were invalid: Input collection [x, x] contains duplicates.",
    )
    code, message = _error(
        ddb.transact_write_items, TransactItems=[{"Put": {"TableName": table, "Item": bad_number}}]
    )
    assert (code, message) == (
        "ValidationException",
        "The parameter cannot be converted to a numeric value: twelve",
    )
    assert _error(
        ddb.scan,
        TableName=table,
        FilterExpression="v = :v",
        ExpressionAttributeValues={":v": {"N": "twelve"}},
    ) == (
        "ValidationException",
        "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to "
        "a numeric value: twelve for key :v",
    )


def test_transaction_update_expression_size_is_reported(ddb: Any) -> None:
    table = _hash_table(ddb)
    text = "SET " + ", ".join(f"a{i} = :v" for i in range(700))
    code, message = _error(
        ddb.transact_write_items,
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "k"}},
                    "UpdateExpression": text,
                    "ExpressionAttributeValues": {":v": {"S": "x"}},
                }
            }
        ],
    )
    assert code == "ValidationException"
    assert message == (
        "Invalid UpdateExpression: Expression size has exceeded the maximum allowed size; "
        f"expression size: {len(text)}"
    )


# --- Query ---------------------------------------------------------------------------------------


def test_query_reports_a_bad_key_condition_before_a_missing_table(ddb: Any) -> None:
    assert _error(
        ddb.query, TableName=_name("missing"), KeyConditionExpression="pk = :undefined"
    ) == (
        "ValidationException",
        "Invalid KeyConditionExpression: An expression attribute value used in expression is "
        "not defined; attribute value: :undefined",
    )
    code, _ = _error(
        ddb.query,
        TableName=_name("missing"),
        KeyConditionExpression="pk = :v",
        ExpressionAttributeValues={":v": {"S": "x"}},
    )
    assert code == "ResourceNotFoundException"


def test_query_start_key_values_are_checked_first(ddb: Any) -> None:
    table = _range_table(ddb)
    # A NULL key condition is not indexable, but the bad start key is reported first.
    assert _error(
        ddb.query,
        TableName=table,
        KeyConditions={"pk": {"ComparisonOperator": "NULL"}},
        ExclusiveStartKey={"pk": {"N": "b"}},
    ) == (
        "ValidationException",
        "The provided starting key is invalid: The parameter cannot be converted to a numeric "
        "value: b",
    )


def test_query_start_key_must_satisfy_the_range_predicate(ddb: Any) -> None:
    table = _range_table(ddb)
    assert _error(
        ddb.query,
        TableName=table,
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "m"}},
        ExclusiveStartKey={"pk": {"S": "a"}, "sk": {"S": "b"}},
    ) == ("ValidationException", "The provided starting key does not match the range key predicate")
    out = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p AND sk > :s",
        ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"S": "m"}},
        ExclusiveStartKey={"pk": {"S": "a"}, "sk": {"S": "n"}},
    )
    assert out["Count"] == 0


def test_legacy_key_conditions_check_names_before_operators(ddb: Any) -> None:
    table = _range_table(ddb)
    assert _error(
        ddb.query, TableName=table, KeyConditions={"other": {"ComparisonOperator": "NULL"}}
    ) == ("ValidationException", "Query condition missed key schema element: pk")
    assert _error(
        ddb.query,
        TableName=table,
        KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
            "other": {"ComparisonOperator": "NULL"},
        },
    ) == ("ValidationException", "Query condition missed key schema element: sk")
    three = {n: {"ComparisonOperator": "NULL"} for n in ("pk", "sk", "other")}
    assert _error(ddb.query, TableName=table, KeyConditions=three) == (
        "ValidationException",
        "Conditions can be of length 1 or 2 only",
    )


# --- CreateTable ----------------------------------------------------------------------------------


def test_create_table_name_length_wording(ddb: Any) -> None:
    assert _error(
        ddb.create_table,
        TableName="ab",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    ) == (
        "ValidationException",
        "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: "
        "Member must have length greater than or equal to 3",
    )


@pytest.mark.parametrize(
    ("definitions", "schema", "message"),
    [
        (
            ["pk"],
            [("pk", "HASH"), ("pk", "RANGE")],
            "Invalid KeySchema: Some index key attribute have no definition",
        ),
        (
            ["pk", "sk"],
            [("pk", "HASH"), ("pk", "HASH")],
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ),
        (
            ["pk", "sk"],
            [("pk", "HASH"), ("sk", "HASH")],
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
        ),
    ],
)
def test_create_table_key_schema_order(
    ddb: Any, definitions: list[str], schema: list[tuple[str, str]], message: str
) -> None:
    assert _error(
        ddb.create_table,
        TableName=_name("ks"),
        KeySchema=[{"AttributeName": n, "KeyType": k} for n, k in schema],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in definitions],
        BillingMode="PAY_PER_REQUEST",
    ) == ("ValidationException", message)


def test_create_table_three_key_elements_rendered_as_aws(ddb: Any) -> None:
    _, message = _error(
        ddb.create_table,
        TableName=_name("ks"),
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
            {"AttributeName": "x", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "x")
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    assert message == (
        "1 validation error detected: Value '[KeySchemaElement(attributeName=pk, keyType=HASH), "
        "KeySchemaElement(attributeName=sk, keyType=RANGE), KeySchemaElement(attributeName=x, "
        "keyType=RANGE)]' at 'keySchema' failed to satisfy constraint: Member must have length "
        "less than or equal to 2"
    )


# --- batches ------------------------------------------------------------------------------------


def test_batch_write_key_type_mismatch_is_a_schema_mismatch(ddb: Any) -> None:
    table = _hash_table(ddb)
    for value in ({"N": "5"}, {"L": [{"S": "x"}]}):
        assert _error(
            ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": {"pk": value}}}]}
        ) == ("ValidationException", "The provided key element does not match the schema")
    for value in ({"NULL": True}, {"M": {"a": {"S": "x"}}}):
        assert _error(
            ddb.transact_write_items,
            TransactItems=[{"Put": {"TableName": table, "Item": {"pk": value}}}],
        ) == ("ValidationException", "The provided key element does not match the schema")
    # PutItem keeps its own wording.
    assert _error(ddb.put_item, TableName=table, Item={"pk": {"N": "5"}}) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
    )


def test_index_key_errors_name_the_alphabetically_first_index(ddb: Any) -> None:
    table = _range_table(ddb)
    item = {"pk": {"S": "a"}, "sk": {"S": "b"}, "alt": {"N": "5"}}
    assert _error(ddb.batch_write_item, RequestItems={table: [{"PutRequest": {"Item": item}}]}) == (
        "ValidationException",
        "One or more parameter values were invalid: Type mismatch for Index Key alt Expected: S "
        "Actual: N IndexName: a-global",
    )


def test_batch_get_refuses_projection_styles_mixed_across_tables(ddb: Any) -> None:
    a, b = _hash_table(ddb), _hash_table(ddb)
    code, message = _error(
        ddb.batch_get_item,
        RequestItems={
            a: {"Keys": [{"pk": {"S": "x"}}], "ProjectionExpression": "pk"},
            b: {"Keys": [{"pk": {"S": "y"}}], "AttributesToGet": ["pk"]},
        },
    )
    assert code == "ValidationException"
    assert message.startswith(
        "Can not use both expression and non-expression parameters in the same request"
    )


# --- the write hot path -----------------------------------------------------------------------


def test_identical_put_on_a_streamed_table_records_nothing(ddb: Any, client: Client) -> None:
    """The change comparison still runs where a stream listens (it is skipped elsewhere)."""
    name = _name("cfs")
    desc = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    item = {"pk": {"S": "k"}, "v": {"N": "1"}}
    ddb.put_item(TableName=name, Item=item)
    ddb.put_item(TableName=name, Item=item)
    streams = client("dynamodbstreams")
    arn = desc["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]


def test_writes_without_stream_still_round_trip(ddb: Any) -> None:
    table = _hash_table(ddb)
    item = {"pk": {"S": "k"}, "flag": {"BOOL": True}, "b": {"B": b"\x00\x01"}}
    ddb.put_item(TableName=table, Item=item)
    ddb.put_item(TableName=table, Item=item)
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "k"}})["Item"] == item


# --- request errors before ResourceNotFoundException ----------------------------------------


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        (
            "put_item",
            {"Item": {"a": {"S": "a", "N": "1"}}},
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one "
            "of the supported datatypes",
        ),
        (
            "put_item",
            {"Item": {"a": {"S": "k"}, "b": {"S": "x" * (400 * 1024)}}},
            "Item size has exceeded the maximum allowed size",
        ),
        (
            "put_item",
            {"Item": {}, "Expected": {"a": {"ComparisonOperator": "LT"}}},
            "One or more parameter values were invalid: Value or AttributeValueList must be used "
            "with ComparisonOperator: LT for Attribute: a",
        ),
        ("put_item", {"Item": {}, "ReturnValues": "ALL_NEW"}, "Return values set to invalid value"),
        (
            "get_item",
            {"Key": {"a": {"S": "x"}}, "ProjectionExpression": "a, a"},
            "Invalid ProjectionExpression: Two document paths overlap with each other; must "
            "remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "update_item",
            {"Key": {"a": {"S": "x"}}, "UpdateExpression": "SET"},
            'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET"',
        ),
        (
            "delete_item",
            {"Key": {"a": {"N": "1e126"}}},
            "Number overflow. Attempting to store a number with magnitude larger than supported "
            "range",
        ),
    ],
)
def test_request_errors_come_before_a_missing_table(
    ddb: Any, operation: str, params: dict, message: str
) -> None:
    assert _error(getattr(ddb, operation), TableName=_name("missing"), **params) == (
        "ValidationException",
        message,
    )


def test_a_valid_request_on_a_missing_table_is_not_found(ddb: Any) -> None:
    code, _ = _error(ddb.put_item, TableName=_name("missing"), Item={"a": {"S": "x"}})
    assert code == "ResourceNotFoundException"


def test_scan_checks_its_request_before_the_table_in_aws_order(ddb: Any) -> None:
    missing = _name("missing")
    bad_filter = {"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"NS": ["1", "1"]}]}}
    # ScanFilter values first (older wording), then the start key, then the segments.
    assert _error(
        ddb.scan, TableName=missing, Segment=1, ExclusiveStartKey={"a": {}}, ScanFilter=bad_filter
    ) == ("ValidationException", "Input collection contains duplicates")
    assert _error(ddb.scan, TableName=missing, Segment=1, ExclusiveStartKey={"a": {"N": "x"}}) == (
        "ValidationException",
        "The provided starting key is invalid: The parameter cannot be converted to a numeric "
        "value: x",
    )
    assert _error(ddb.scan, TableName=missing, Segment=1) == (
        "ValidationException",
        "The TotalSegments parameter is required but was not present in the request when "
        "Segment parameter is present",
    )
    assert _error(ddb.scan, TableName=missing, FilterExpression="") == (
        "ValidationException",
        "Invalid FilterExpression: The expression can not be empty;",
    )
    code, _ = _error(ddb.scan, TableName=missing, FilterExpression="a > b")
    assert code == "ResourceNotFoundException"


def test_an_update_past_400_kb_has_the_update_wording(ddb: Any) -> None:
    table = _hash_table(ddb)
    big = {":b": {"S": "a" * (400 * 1024)}}
    assert _error(
        ddb.update_item,
        TableName=table,
        Key={"pk": {"S": "k"}},
        UpdateExpression="SET b = :b",
        ExpressionAttributeValues=big,
    ) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "k"}},
                        "UpdateExpression": "SET b = :b",
                        "ExpressionAttributeValues": big,
                    }
                }
            ]
        )
    reasons = exc.value.response["CancellationReasons"]
    assert reasons == [
        {
            "Code": "ValidationError",
            "Message": "Item size to update has exceeded the maximum allowed size",
        }
    ]


# --- The DynamoDB validation dialect (overcast/protocol/dialects.py) -------------------------


def _message(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    return str(exc.value.response["Error"]["Message"])


def _enum_text(path: str, value: str, listed: str) -> str:
    return (
        f"{_ENVELOPE}Value '{value}' at '{path}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{listed}]"
    )


def test_enums_are_listed_in_dynamodbs_order(ddb: Any) -> None:
    table = _hash_table(ddb)
    assert _message(
        lambda: ddb.create_table(
            TableName=_name("cf"),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "X"}],
            BillingMode="PAY_PER_REQUEST",
        )
    ) == _enum_text("attributeDefinitions.1.member.attributeType", "X", "B, N, S")
    assert _message(
        lambda: ddb.query(
            TableName=table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "a"}},
            Select="BAD",
        )
    ) == _enum_text(
        "select", "BAD", "SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES"
    )
    assert _message(
        lambda: ddb.update_item(TableName=table, Key={"pk": {"S": "a"}}, ReturnValues="BAD")
    ) == _enum_text("returnValues", "BAD", "ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW")


def test_empty_request_items_are_required_parameters(ddb: Any) -> None:
    assert _message(lambda: ddb.batch_write_item(RequestItems={})) == (
        "The requestItems parameter is required for BatchWriteItem"
    )
    assert _message(lambda: ddb.batch_get_item(RequestItems={})) == (
        "The requestItems parameter is required for BatchGetItem"
    )


def test_create_table_without_a_name(ddb: Any) -> None:
    assert _message(
        lambda: ddb.create_table(
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    ) == ("The parameter 'TableName' is required but was not present in the request")


def test_over_25_writes_echo_the_map_java_style(ddb: Any) -> None:
    table = _hash_table(ddb)
    writes = [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(26)]
    message = _message(lambda: ddb.batch_write_item(RequestItems={table: writes}))
    assert message.startswith(
        f"{_ENVELOPE}Value '{{{table}=[{{PutRequest={{Item={{pk={{S=k0}}}}}}}}, "
    )
    assert message.endswith(
        "}]}' at 'requestItems' failed to satisfy constraint: Map value must satisfy "
        "constraint: [Member must have length less than or equal to 25, "
        "Member must have length greater than or equal to 1]"
    )
    assert "'PutRequest'" not in message  # no Python repr


def test_over_100_keys_are_reported_without_an_echo(ddb: Any) -> None:
    table = _hash_table(ddb)
    keys = [{"pk": {"S": f"k{i}"}} for i in range(101)]
    assert _message(lambda: ddb.batch_get_item(RequestItems={table: {"Keys": keys}})) == (
        f"{_ENVELOPE}Value at 'RequestItems.{table}.member.Keys' failed to satisfy constraint: "
        "Member must have length less than or equal to 100"
    )


def test_an_invalid_table_class_has_dynamodbs_wording(ddb: Any) -> None:
    expected = (
        "Invalid table-class parameter provided. Please try again with a valid table-class "
        "value: [STANDARD, STANDARD_INFREQUENT_ACCESS]."
    )
    assert (
        _message(
            lambda: ddb.create_table(
                TableName=_name("cf"),
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                TableClass="BAD",
            )
        )
        == expected
    )
    table = _hash_table(ddb)
    assert _message(lambda: ddb.update_table(TableName=table, TableClass="BAD")) == expected
