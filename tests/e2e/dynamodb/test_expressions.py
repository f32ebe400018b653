"""DynamoDB's expression language through boto3: conditions, filters, key conditions,
projections, updates, the legacy parameters, and AWS's validation errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _create(ddb: Any, range_type: str | None = "S") -> str:
    name = _name("expr")
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_type:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": range_type})
    ddb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=definitions,
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    return name


@pytest.fixture(scope="module")
def ddb(server: Any) -> Any:
    return server.client("dynamodb")


@pytest.fixture(scope="module")
def table(ddb: Any) -> Iterator[str]:
    """A table (pk S, sk S) whose partition "p" holds items of every type."""
    name = _create(ddb)
    items = [
        {"sk": {"S": "a"}, "n": {"N": "1"}, "s": {"S": "apple"}, "ss": {"SS": ["x", "y"]}},
        {"sk": {"S": "b"}, "n": {"N": "2.5"}, "s": {"S": "banana"}, "b": {"B": b"\x01\x02"}},
        {
            "sk": {"S": "c"},
            "n": {"N": "-3"},
            "l": {"L": [{"S": "l0"}, {"N": "7"}]},
            "m": {"M": {"child": {"M": {"deep": {"S": "d"}}}, "k": {"S": "v"}}},
        },
        {"sk": {"S": "d"}, "flag": {"BOOL": True}, "nothing": {"NULL": True}, "ns": {"NS": ["4"]}},
    ]
    for item in items:
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, **item})
    yield name
    ddb.delete_table(TableName=name)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def _validation(call: Callable[..., Any], **kwargs: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    code, message = _error(exc)
    assert code == "ValidationException", message
    return message


def _filtered(ddb: Any, table: str, expression: str, **kwargs: Any) -> list[str]:
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": expression,
        "ExpressionAttributeValues": {":pk": {"S": "p"}, **kwargs.pop("values", {})},
    }
    if "names" in kwargs:
        params["ExpressionAttributeNames"] = kwargs.pop("names")
    items = ddb.query(**params)["Items"]
    return [item["sk"]["S"] for item in items]


# --- filters: every comparator, function and logical operator -----------------------------------


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("n = :v", {":v": {"N": "2.50"}}, ["b"]),
        ("n <> :v", {":v": {"N": "1"}}, ["b", "c", "d"]),  # a missing attribute is "not equal"
        ("n < :v", {":v": {"N": "1"}}, ["c"]),
        ("n <= :v", {":v": {"N": "1"}}, ["a", "c"]),
        ("n > :v", {":v": {"N": "1"}}, ["b"]),
        ("n >= :v", {":v": {"N": "-3"}}, ["a", "b", "c"]),
        ("s > :v", {":v": {"S": "apple"}}, ["b"]),
        ("n BETWEEN :lo AND :hi", {":lo": {"N": "0"}, ":hi": {"N": "2.5"}}, ["a", "b"]),
        ("n IN (:x, :y)", {":x": {"N": "-3"}, ":y": {"N": "1"}}, ["a", "c"]),
        ("attribute_exists(l)", {}, ["c"]),
        ("attribute_not_exists(n)", {}, ["d"]),
        ("attribute_exists(m.child.deep)", {}, ["c"]),
        ("attribute_exists(l[1])", {}, ["c"]),
        ("attribute_type(ss, :t)", {":t": {"S": "SS"}}, ["a"]),
        ("attribute_type(nothing, :t)", {":t": {"S": "NULL"}}, ["d"]),
        ("begins_with(s, :v)", {":v": {"S": "ban"}}, ["b"]),
        ("begins_with(b, :v)", {":v": {"B": b"\x01"}}, ["b"]),
        ("contains(s, :v)", {":v": {"S": "ppl"}}, ["a"]),
        ("contains(ss, :v)", {":v": {"S": "y"}}, ["a"]),
        ("contains(ns, :v)", {":v": {"N": "4"}}, ["d"]),
        ("contains(l, :v)", {":v": {"S": "l0"}}, ["c"]),
        ("size(s) = :v", {":v": {"N": "6"}}, ["b"]),
        ("size(ss) = :v", {":v": {"N": "2"}}, ["a"]),
        ("size(l) > :v", {":v": {"N": "1"}}, ["c"]),
        ("size(m) = :v", {":v": {"N": "2"}}, ["c"]),
        ("flag = :v", {":v": {"BOOL": True}}, ["d"]),
        ("l[1] = :v", {":v": {"N": "7"}}, ["c"]),
        ("m.k = :v", {":v": {"S": "v"}}, ["c"]),
        ("NOT attribute_exists(s)", {}, ["c", "d"]),
        (
            "n = :a OR n = :b AND s = :s",
            {":a": {"N": "1"}, ":b": {"N": "2.5"}, ":s": {"S": "x"}},
            ["a"],
        ),
        (
            "(n = :a OR n = :b) AND s = :s",
            {":a": {"N": "1"}, ":b": {"N": "2.5"}, ":s": {"S": "x"}},
            [],
        ),
        ("n = :a oR (s = :s)", {":a": {"N": "1"}, ":s": {"S": "banana"}}, ["a", "b"]),
    ],
)
def test_filter_expressions(ddb: Any, table: str, expression: str, values: dict, expected: list):
    assert _filtered(ddb, table, expression, values=values) == expected


def test_names_placeholders_for_reserved_words_and_dots(ddb: Any, table: str) -> None:
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": "names"}, "sk": {"S": "1"}, "status": {"S": "on"}, "a.b": {"S": "dot"}},
    )
    items = ddb.query(
        TableName=table,
        KeyConditionExpression="#pk = :pk",
        FilterExpression="#st = :on AND #dot = :dot",
        ExpressionAttributeNames={"#pk": "pk", "#st": "status", "#dot": "a.b"},
        ExpressionAttributeValues={":pk": {"S": "names"}, ":on": {"S": "on"}, ":dot": {"S": "dot"}},
    )["Items"]
    assert len(items) == 1


# --- conditions on writes -----------------------------------------------------------------------


def test_condition_expression_guards_writes(ddb: Any) -> None:
    name = _create(ddb, None)
    key = {"pk": {"S": "k"}}
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
    assert _error(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert exc.value.response.get("Item") == {**key, "v": {"N": "1"}}
    ddb.update_item(
        TableName=name,
        Key=key,
        UpdateExpression="SET v = v + :one",
        ConditionExpression="v < :limit",
        ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": "2"}},
    )
    with pytest.raises(ClientError) as exc:
        ddb.delete_item(
            TableName=name,
            Key=key,
            ConditionExpression="v = :old",
            ExpressionAttributeValues={":old": {"N": "1"}},
        )
    assert _error(exc)[0] == "ConditionalCheckFailedException"
    ddb.delete_item(
        TableName=name,
        Key=key,
        ConditionExpression="v = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    assert "Item" not in ddb.get_item(TableName=name, Key=key)
    ddb.delete_table(TableName=name)


# --- updates ------------------------------------------------------------------------------------


def test_update_expression_actions(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "upd"}, "sk": {"S": "1"}}
    ddb.put_item(
        TableName=table,
        Item={
            **key,
            "count": {"N": "10"},
            "tags": {"SS": ["a", "b"]},
            "list": {"L": [{"S": "x"}, {"S": "y"}, {"S": "z"}]},
            "doc": {"M": {"old": {"S": "o"}}},
            "gone": {"S": "bye"},
            "dropped": {"SS": ["a", "b"]},
        },
    )
    result = ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression=(
            "SET #c = #c + :inc, price = if_not_exists(price, :zero) - :inc, "
            "#l = list_append(#l, :more), doc.added = :s "
            "REMOVE gone ADD tags :newtags, visits :inc DELETE dropped :a"
        ),
        ExpressionAttributeNames={"#c": "count", "#l": "list"},
        ExpressionAttributeValues={
            ":inc": {"N": "1.5"},
            ":zero": {"N": "0"},
            ":more": {"L": [{"S": "w"}]},
            ":s": {"S": "new"},
            ":newtags": {"SS": ["c"]},
            ":a": {"SS": ["a"]},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert result["count"] == {"N": "11.5"}
    assert result["price"] == {"N": "-1.5"}
    assert result["list"] == {"L": [{"S": "x"}, {"S": "y"}, {"S": "z"}, {"S": "w"}]}
    assert result["doc"] == {"M": {"old": {"S": "o"}, "added": {"S": "new"}}}
    assert "gone" not in result
    assert sorted(result["tags"]["SS"]) == ["a", "b", "c"]
    assert result["dropped"] == {"SS": ["b"]}
    assert result["visits"] == {"N": "1.5"}
    ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="DELETE tags :all REMOVE #l[0], #l[2]",
        ExpressionAttributeNames={"#l": "list"},
        ExpressionAttributeValues={":all": {"SS": ["a", "b", "c"]}},
    )
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert "tags" not in item
    assert item["list"] == {"L": [{"S": "y"}, {"S": "w"}]}


def test_update_numbers_keep_38_digits(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "num"}, "sk": {"S": "1"}}
    ddb.put_item(TableName=table, Item={**key, "n": {"N": "0.1"}})
    new = ddb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET n = n + :v",
        ExpressionAttributeValues={":v": {"N": "0.2"}},
        ReturnValues="UPDATED_NEW",
    )["Attributes"]
    assert new == {"n": {"N": "0.3"}}
    message = _validation(
        ddb.update_item,
        TableName=table,
        Key=key,
        UpdateExpression="SET n = :big + :big",
        ExpressionAttributeValues={":big": {"N": "9.9999999999999999999999999999999999999E+125"}},
    )
    assert message.startswith("Number overflow")


def test_update_runtime_type_errors(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "types"}, "sk": {"S": "1"}}
    ddb.put_item(TableName=table, Item={**key, "s": {"S": "text"}})
    for expression, values in [
        ("SET s = s + :one", {":one": {"N": "1"}}),
        ("ADD s :one", {":one": {"N": "1"}}),
        ("SET s = list_append(s, :l)", {":l": {"L": []}}),
    ]:
        message = _validation(
            ddb.update_item,
            TableName=table,
            Key=key,
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
        )
        assert message == "An operand in the update expression has an incorrect data type"
    assert (
        _validation(
            ddb.update_item,
            TableName=table,
            Key=key,
            UpdateExpression="SET nosuch.x = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        == "The document path provided in the update expression is invalid for update"
    )


# --- projections --------------------------------------------------------------------------------


def test_projection_expression_nested_paths_and_indexes(ddb: Any, table: str) -> None:
    item = ddb.get_item(
        TableName=table,
        Key={"pk": {"S": "p"}, "sk": {"S": "c"}},
        ProjectionExpression="#m.child.deep, l[1], sk, absent",
        ExpressionAttributeNames={"#m": "m"},
    )["Item"]
    assert item == {
        "m": {"M": {"child": {"M": {"deep": {"S": "d"}}}}},
        "l": {"L": [{"N": "7"}]},
        "sk": {"S": "c"},
    }


# --- key conditions and sort order --------------------------------------------------------------


@pytest.fixture(scope="module")
def numbers(ddb: Any) -> Iterator[str]:
    name = _create(ddb, "N")
    for n in ["-10", "-2.5", "-0.001", "0", "0.001", "1", "1.5", "10", "1e10", "123.456"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "n"}, "sk": {"N": n}})
    yield name
    ddb.delete_table(TableName=name)


def _sks(items: list[dict]) -> list[Decimal]:
    return [Decimal(item["sk"]["N"]) for item in items]


def test_query_orders_numbers_numerically(ddb: Any, numbers: str) -> None:
    items = ddb.query(
        TableName=numbers,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "n"}},
    )["Items"]
    assert _sks(items) == sorted(_sks(items))
    assert len(items) == 10
    assert {"N": "10000000000"} in [item["sk"] for item in items]  # canonical form


@pytest.mark.parametrize(
    ("condition", "values", "expected"),
    [
        ("sk = :a", {":a": "1.50"}, ["1.5"]),
        ("sk < :a", {":a": "-1"}, ["-10", "-2.5"]),
        ("sk <= :a", {":a": "0"}, ["-10", "-2.5", "-0.001", "0"]),
        ("sk > :a", {":a": "10"}, ["123.456", "1e10"]),
        ("sk >= :a", {":a": "123.456"}, ["123.456", "1e10"]),
        (":a > sk", {":a": "-2.5"}, ["-10"]),
        ("sk BETWEEN :a AND :b", {":a": "-0.001", ":b": "0.001"}, ["-0.001", "0", "0.001"]),
    ],
)
def test_key_conditions_on_numbers(
    ddb: Any, numbers: str, condition: str, values: dict, expected: list
):
    items = ddb.query(
        TableName=numbers,
        KeyConditionExpression=f"pk = :p AND {condition}",
        ExpressionAttributeValues={":p": {"S": "n"}, **{k: {"N": v} for k, v in values.items()}},
    )["Items"]
    assert _sks(items) == [Decimal(e) for e in expected]


def test_key_conditions_on_strings_and_descending(ddb: Any, table: str) -> None:
    def query(condition: str, **values: str) -> list[str]:
        items = ddb.query(
            TableName=table,
            KeyConditionExpression=f"pk = :p AND {condition}",
            ExpressionAttributeValues={
                ":p": {"S": "p"},
                **{f":{k}": {"S": v} for k, v in values.items()},
            },
            ScanIndexForward=False,
        )["Items"]
        return [item["sk"]["S"] for item in items]

    assert query("begins_with(sk, :x)", x="b") == ["b"]
    assert query("((sk = :x))", x="c") == ["c"]
    assert query("sk BETWEEN :x AND :y", x="b", y="c") == ["c", "b"]
    assert query("sk > :x", x="b") == ["d", "c"]


def test_binary_sort_keys_order_as_unsigned_bytes(ddb: Any) -> None:
    name = _create(ddb, "B")
    for raw in [b"\xff", b"\x00", b"\x7f", b"\x80", b"\x00\x01"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "sk": {"B": raw}})
    items = ddb.query(
        TableName=name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "b"}},
    )["Items"]
    assert [item["sk"]["B"] for item in items] == [b"\x00", b"\x00\x01", b"\x7f", b"\x80", b"\xff"]
    ddb.delete_table(TableName=name)


# --- validation errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"FilterExpression": "n >"},
            'Invalid FilterExpression: Syntax error; token: "<EOF>", near: ">"',
        ),
        (
            {"FilterExpression": "status = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
            "Invalid FilterExpression: Attribute name is a reserved keyword; "
            "reserved keyword: status",
        ),
        (
            {"FilterExpression": "#missing = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
            "Invalid FilterExpression: An expression attribute name used in the document path is "
            "not defined; attribute name: #missing",
        ),
        (
            {"FilterExpression": "n = :nope"},
            "Invalid FilterExpression: An expression attribute value used in expression is not "
            "defined; attribute value: :nope",
        ),
        (
            {"FilterExpression": "((n = :v))", "ExpressionAttributeValues": {":v": {"N": "1"}}},
            "Invalid FilterExpression: The expression has redundant parentheses;",
        ),
        (
            {
                "FilterExpression": "begins_with(s, :v)",
                "ExpressionAttributeValues": {":v": {"N": "1"}},
            },
            "Invalid FilterExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N",
        ),
        (
            {"FilterExpression": "Size(s) = :v", "ExpressionAttributeValues": {":v": {"N": "1"}}},
            "Invalid FilterExpression: Invalid function name; function: Size",
        ),
        (
            {"ProjectionExpression": "a, a.b"},
            "Invalid ProjectionExpression: Two document paths overlap with each other; must "
            "remove or rewrite one of these paths; path one: [a], path two: [a, b]",
        ),
        (
            {
                "FilterExpression": "n = :v",
                "ExpressionAttributeValues": {":v": {"N": "1"}, ":w": {"N": "2"}},
            },
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}",
        ),
        (
            {"ProjectionExpression": "n", "ExpressionAttributeNames": {"#u": "x"}},
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#u}",
        ),
        (
            {
                "FilterExpression": "n = :v OR " * 450 + "n = :v",
                "ExpressionAttributeValues": {":v": {"N": "1"}},
            },
            "Invalid FilterExpression: Expression size has exceeded the maximum allowed size; "
            f"expression size: {len('n = :v OR ' * 450 + 'n = :v')}",
        ),
    ],
)
def test_scan_expression_errors(ddb: Any, table: str, params: dict, message: str) -> None:
    assert _validation(ddb.scan, TableName=table, **params) == message


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("sk = :v", "Query condition missed key schema element: pk"),
        ("pk = :p OR sk = :v", "Invalid operator used in KeyConditionExpression: OR"),
        ("pk = :p AND sk <> :v", "Invalid operator used in KeyConditionExpression: <>"),
        (
            "pk = :p AND contains(sk, :v)",
            "Invalid operator used in KeyConditionExpression: contains",
        ),
        ("pk < :p", "Query key condition not supported"),
        (
            "pk = :p AND sk = :v AND sk = :v",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one "
            "condition per key",
        ),
        (
            "pk = :p AND sk.x = :v",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        ("pk = :p AND size(sk) = :v", "KeyConditionExpressions cannot contain nested operations"),
        (
            "pk = :p AND sk = :v AND color = :v",
            "The number of query conditions (3) exceeds the number of key attributes defined in "
            "the schema (2)",
        ),
    ],
)
def test_key_condition_errors(ddb: Any, table: str, condition: str, message: str) -> None:
    values = {":p": {"S": "p"}, ":v": {"S": "v"}}
    values = {k: v for k, v in values.items() if k in condition}
    assert (
        _validation(
            ddb.query,
            TableName=table,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
        == message
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "SET a = :v, a = :v",
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
            "rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "SET a = :v SET b = :v",
            'Invalid UpdateExpression: The "SET" section can only be used once in an update '
            "expression;",
        ),
        (
            "ADD a :v",
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: "
            "ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND",
        ),
        ("SET a = :v,", 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","'),
    ],
)
def test_update_expression_errors(ddb: Any, table: str, expression: str, message: str) -> None:
    assert (
        _validation(
            ddb.update_item,
            TableName=table,
            Key={"pk": {"S": "errs"}, "sk": {"S": "1"}},
            UpdateExpression=expression,
            ExpressionAttributeValues={":v": {"S": "x"}},
        )
        == message
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            {"SS": []},
            "1 validation error detected: One or more parameter values were invalid: "
            "An string set  may not be empty",
        ),
        (
            {"N": "1e126"},
            "Number overflow. Attempting to store a number with magnitude larger than "
            "supported range",
        ),
        (
            {"N": "12345678901234567890123456789012345678901"},
            "Attempting to store more than 38 significant digits in a Number",
        ),
        (
            {"N": "abc"},
            "1 validation error detected: "
            "The parameter cannot be converted to a numeric value: abc",
        ),
    ],
)
def test_put_item_value_errors(ddb: Any, table: str, value: dict, message: str) -> None:
    assert (
        _validation(
            ddb.put_item, TableName=table, Item={"pk": {"S": "bad"}, "sk": {"S": "1"}, "v": value}
        )
        == message
    )


def test_numbers_come_back_canonical(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "canon"}, "sk": {"S": "1"}}
    ddb.put_item(
        TableName=table, Item={**key, "a": {"N": "1.50"}, "b": {"N": "-0"}, "c": {"N": "1E+2"}}
    )
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert (item["a"], item["b"], item["c"]) == ({"N": "1.5"}, {"N": "0"}, {"N": "100"})


# --- legacy parameters --------------------------------------------------------------------------


def test_legacy_parameters(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "legacy"}, "sk": {"S": "1"}}
    ddb.put_item(TableName=table, Item={**key, "v": {"N": "1"}}, Expected={"pk": {"Exists": False}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=key, Expected={"v": {"Value": {"N": "2"}}})
    assert _error(exc)[0] == "ConditionalCheckFailedException"
    ddb.update_item(
        TableName=table,
        Key=key,
        AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "4"}}, "w": {"Value": {"S": "x"}}},
        Expected={"v": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}},
    )
    item = ddb.get_item(TableName=table, Key=key, AttributesToGet=["v", "w"], ConsistentRead=True)[
        "Item"
    ]
    assert item == {"v": {"N": "5"}, "w": {"S": "x"}}
    items = ddb.query(
        TableName=table,
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
        QueryFilter={"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "0"}]}},
    )["Items"]
    assert [i["sk"]["S"] for i in items] == ["a", "b"]
    scanned = ddb.scan(
        TableName=table,
        ScanFilter={
            "s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "app"}]}
        },
    )["Items"]
    assert [i["sk"]["S"] for i in scanned] == ["a"]
    message = _validation(
        ddb.put_item,
        TableName=table,
        Item=key,
        Expected={"pk": {"Exists": False}},
        ConditionExpression="attribute_not_exists(pk)",
    )
    assert message == (
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"
    )


def test_parenthesized_operands_and_utf16_size(ddb: Any, table: str) -> None:
    ddb.put_item(
        TableName=table,
        Item={"pk": {"S": "utf16"}, "sk": {"S": "1"}, "s": {"S": "\u00e9\U0001d11e"}},
    )
    items = ddb.query(
        TableName=table,
        KeyConditionExpression="(pk) = :p",
        FilterExpression="(size(s)) = :three AND (s) <> (:p)",
        ExpressionAttributeValues={":p": {"S": "utf16"}, ":three": {"N": "3"}},
    )["Items"]
    assert len(items) == 1


def test_update_paths_under_missing_containers(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "containers"}, "sk": {"S": "1"}}
    ddb.put_item(TableName=table, Item={**key, "m": {"M": {"k": {"S": "v"}}}})
    ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE m.absent")
    for expression in ("REMOVE nope.x", "REMOVE m[0]"):
        message = _validation(
            ddb.update_item, TableName=table, Key=key, UpdateExpression=expression
        )
        assert (
            message == "The document path provided in the update expression is invalid for update"
        )


def test_overlapping_update_paths_report_the_first_clash(ddb: Any, table: str) -> None:
    message = _validation(
        ddb.update_item,
        TableName=table,
        Key={"pk": {"S": "clash"}, "sk": {"S": "1"}},
        UpdateExpression="SET d[1] = :v, d.b = :v, c[1].a = :v, c = :v",
        ExpressionAttributeValues={":v": {"S": "x"}},
    )
    assert message == (
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or "
        "rewrite one of these paths; path one: [c, [1], a], path two: [c]"
    )


def test_zero_with_an_out_of_range_exponent_overflows(ddb: Any, table: str) -> None:
    message = _validation(
        ddb.put_item,
        TableName=table,
        Item={"pk": {"S": "zero"}, "sk": {"S": "1"}, "z": {"N": "0e126"}},
    )
    assert message.endswith(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )
