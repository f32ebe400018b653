"""Condition and filter expressions: parsing errors with AWS's messages, and evaluation."""

from __future__ import annotations

import pytest

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions import (
    Usage,
    check_unused,
    parse_condition,
    validate_attribute_maps,
)

ITEM = {
    "pk": {"S": "user#1"},
    "n": {"N": "5"},
    "s": {"S": "hello"},
    "b": {"B": b"\x01\x02\x03"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "l": {"L": [{"S": "x"}, {"N": "2"}, {"M": {"deep": {"S": "y"}}}]},
    "m": {"M": {"k": {"S": "v"}, "child": {"M": {"z": {"N": "0"}}}}},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "a.b": {"S": "dotted"},
}
VALUES = {
    ":n3": {"N": "3"},
    ":n5": {"N": "5.0"},
    ":n9": {"N": "9"},
    ":hel": {"S": "hel"},
    ":hello": {"S": "hello"},
    ":a": {"S": "a"},
    ":x": {"S": "x"},
    ":one": {"N": "1"},
    ":b12": {"B": b"\x01\x02"},
    ":ss": {"S": "SS"},
    ":bad_type": {"S": "STRING"},
    ":true": {"BOOL": True},
    ":list": {"L": [{"S": "x"}]},
    ":z": {"S": "z"},
    ":dotted": {"S": "dotted"},
}


def holds(text: str, names: dict[str, str] | None = None, item=ITEM) -> bool:
    return parse_condition(text, names, VALUES, Usage()).evaluate(item)


def error_of(text: str, names=None, values=VALUES, kind="ConditionExpression") -> str:
    with pytest.raises(ValidationException) as caught:
        parse_condition(text, names, values, Usage(), kind=kind)
    return caught.value.error_message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n = :n5", True),
        ("n <> :n5", False),
        ("n < :n9", True),
        ("n <= :n5", True),
        ("n > :n3", True),
        ("n >= :n9", False),
        (":n9 > n", True),
        ("s > :hel", True),
        ("b > :b12", True),
        ("n = :hello", False),  # different types are never equal
        ("n < :hello", False),  # nor ordered
        ("absent = :n5", False),
        ("absent <> :n5", True),
        ("n BETWEEN :n3 AND :n9", True),
        ("n BETWEEN :n3 AND :n3", False),
        ("s BETWEEN :hel AND :z", True),
        ("n IN (:n3, :n5)", True),
        ("n IN (:n3, :n9)", False),
        ("s IN (:hello)", True),
        ("attribute_exists(n)", True),
        ("attribute_exists(absent)", False),
        ("attribute_not_exists(absent)", True),
        ("attribute_exists(m.child.z)", True),
        ("attribute_exists(m.child.y)", False),
        ("attribute_exists(l[2].deep)", True),
        ("attribute_exists(l[3])", False),
        ("attribute_exists(m[0])", False),
        ("attribute_type(ss, :ss)", True),
        ("attribute_type(n, :ss)", False),
        ("begins_with(s, :hel)", True),
        ("begins_with(b, :b12)", True),
        ("begins_with(n, :hel)", False),
        ("contains(s, :hel)", True),
        ("contains(ss, :a)", True),
        ("contains(ss, :x)", False),
        ("contains(ns, :one)", True),
        ("contains(l, :x)", True),
        ("contains(m, :x)", False),
        ("size(s) = :n5", True),
        ("size(ss) < :n3", True),
        ("size(l) = :n3", True),
        ("size(m) > :one", True),
        ("size(b) = :n3", True),
        ("size(n) = :one", False),  # numbers have no size
        ("size(absent) = :one", False),
        ("NOT n = :n5", False),
        ("NOT NOT n = :n5", True),
        ("n = :n3 OR n = :n5", True),
        ("n = :n3 AND n = :n5", False),
        # AND binds tighter than OR, NOT tighter than AND
        ("n = :n5 OR n = :n3 AND n = :n9", True),
        ("(n = :n5 OR n = :n3) AND n = :n9", False),
        ("NOT n = :n3 AND n = :n5", True),
        ("flag = :true", True),
        ("#dotted = :dotted", True),
        ("#m.#k = :x", False),
        ("l[0] = :x AND l[1] = :n3", False),
        ("n = :n5 and s = :hello", True),  # keywords are case-insensitive
    ],
)
def test_evaluation(text, expected):
    names = {"#dotted": "a.b", "#m": "m", "#k": "k"} if "#" in text else None
    assert holds(text, names) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The expression can not be empty;"),
        ("n >", 'Syntax error; token: "<EOF>", near: ">"'),
        ("n = :n5 AND", 'Syntax error; token: "<EOF>", near: "AND"'),
        ("n == :n5", 'Syntax error; token: "=", near: "== :n5"'),
        ("my-attr = :n5", 'Syntax error; token: "-", near: "my-attr"'),
        ("a = :x AND __typename = :x", 'Syntax error; token: "_", near: "AND __"'),
        ("status = :x", "Attribute name is a reserved keyword; reserved keyword: status"),
        ("m.Name = :x", "Attribute name is a reserved keyword; reserved keyword: Name"),
        (
            "#nope = :x",
            "An expression attribute name used in the document path is not defined; "
            "attribute name: #nope",
        ),
        (
            "n = :nope",
            "An expression attribute value used in expression is not defined; "
            "attribute value: :nope",
        ),
        ("((n = :n5))", "The expression has redundant parentheses;"),
        ("BegIns_WiTh(s, :hel)", "Invalid function name; function: BegIns_WiTh"),
        (
            "if_not_exists(s, :hel) = :x",
            "The function is not allowed in a condition expression; function: if_not_exists",
        ),
        (
            "size(s)",
            "The function is not allowed to be used this way in an expression; function: size",
        ),
        (
            "attribute_exists(s) = :x",
            "The function is not allowed to be used this way in an expression; "
            "function: attribute_exists",
        ),
        (
            "size(s, n) = :n3",
            "Incorrect number of operands for operator or function; "
            "operator or function: size, number of operands: 2",
        ),
        (
            "attribute_exists(s, n)",
            "Incorrect number of operands for operator or function; "
            "operator or function: attribute_exists, number of operands: 2",
        ),
        (
            "attribute_exists(:x)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "begins_with(s, :n3)",
            "Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N",
        ),
        (
            "n < :true",
            "Incorrect operand type for operator or function; "
            "operator or function: <, operand type: BOOL",
        ),
        (
            "attribute_type(s, :bad_type)",
            "Invalid attribute type name found; type: STRING, "
            "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "contains(s, s)",
            "The first operand must be distinct from the remaining operands for this operator "
            "or function; operator: contains, first operand: [s]",
        ),
        (
            "n BETWEEN :n9 AND :n3",
            "The BETWEEN operator requires upper bound to be greater than or equal to lower "
            "bound; "
            "lower bound operand: AttributeValue: {N:9}, upper bound operand: "
            "AttributeValue: {N:3}",
        ),
        (
            "n BETWEEN :n3 AND :z",
            "The BETWEEN operator requires same data type for lower and upper bounds; "
            "lower bound operand: AttributeValue: {N:3}, upper bound operand: "
            "AttributeValue: {S:z}",
        ),
    ],
)
def test_errors(text, message):
    assert error_of(text) == f"Invalid ConditionExpression: {message}"


def test_error_prefix_names_the_expression_kind():
    assert error_of("#x = :x", kind="FilterExpression") == (
        "Invalid FilterExpression: An expression attribute name used in the document path is "
        "not defined; attribute name: #x"
    )


def test_size_limit():
    text = "n = :n5 OR " * 400 + "n = :n5"
    size = len(text)
    assert error_of(text) == (
        "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; "
        f"expression size: {size}"
    )


def test_path_depth_limit():
    deep = ".".join(["m"] * 33)
    assert error_of(f"attribute_exists({deep})") == (
        "Invalid ConditionExpression: The document path has too many nesting levels; "
        "nesting levels: 33"
    )


def test_in_takes_at_most_100_operands():
    values = {f":v{i}": {"N": str(i)} for i in range(101)}
    ok = "n IN (" + ", ".join(f":v{i}" for i in range(100)) + ")"
    parse_condition(ok, None, values, Usage())
    too_many = "n IN (" + ", ".join(f":v{i}" for i in range(101)) + ")"
    assert "IN" in error_of(too_many, values=values)


def test_deep_parentheses_fail_cleanly():
    text = "(" * 300 + "n = :n5" + ")" * 300
    assert error_of(text).startswith("Invalid ConditionExpression:")


def test_invalid_value_in_attribute_values():
    with pytest.raises(ValidationException) as caught:
        parse_condition("n = :e", None, {":e": {"SS": []}}, Usage())
    assert caught.value.error_message == (
        "One or more parameter values were invalid: An string set  may not be empty"
    )
    with pytest.raises(ValidationException) as caught:
        validate_attribute_maps(None, {":e": {"N": ""}}, older=True)
    assert caught.value.error_message == (
        "ExpressionAttributeValues contains invalid value: The parameter cannot be converted to "
        "a numeric value for key :e"
    )


def test_usage_and_unused_names_and_values():
    usage = Usage()
    names = {"#a": "n", "#unused": "x"}
    values = {":v": {"N": "1"}, ":w": {"N": "2"}}
    parse_condition("#a = :v", names, values, usage)
    with pytest.raises(ValidationException) as caught:
        check_unused(names, values, usage)
    assert caught.value.error_message == (
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"
    )
    del names["#unused"]
    with pytest.raises(ValidationException) as caught:
        check_unused(names, values, usage)
    assert caught.value.error_message == (
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"
    )
    parse_condition("n < :w", names, values, usage)
    check_unused(names, values, usage)


def test_unknown_attribute_type_literal_is_fine_for_existing_types():
    for kind in ("S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M"):
        values = {":t": {"S": kind}}
        parse_condition("attribute_type(n, :t)", None, values, Usage())


def test_names_and_reserved_words_are_reported_before_placeholders():
    # The undefined value comes first in the text, the reserved word wins.
    assert error_of("n = :nope AND status = :x") == (
        "Invalid ConditionExpression: Attribute name is a reserved keyword; "
        "reserved keyword: status"
    )
    assert error_of("n = :nope AND #x = :x") == (
        "Invalid ConditionExpression: An expression attribute value used in expression is not "
        "defined; attribute value: :nope"
    )


def test_list_index_range_and_size_of_values():
    assert error_of("l[2147483648] = :x") == (
        "Invalid ConditionExpression: List index is not within the allowable range; "
        "index: [2147483648]"
    )
    assert holds("size(:hello) = :n5")
    assert error_of("size(:n3) = :n3") == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; "
        "operator or function: size, operand type: N"
    )


def test_in_operand_limit_message():
    values = {f":v{i}": {"N": str(i)} for i in range(101)}
    text = "n IN (" + ", ".join(f":v{i}" for i in range(101)) + ")"
    assert error_of(text, values=values) == (
        "Invalid ConditionExpression: The IN operator is provided with too many operands; "
        "number of operands: 101"
    )


def test_operator_count_limit():
    text = " OR ".join(["n < :n3"] * 301)
    assert error_of(text) == (
        "Invalid ConditionExpression: The expression contains too many operators; "
        "operator count: 301"
    )


@pytest.mark.parametrize(
    ("names", "values", "expressions", "message"),
    [
        (
            {"s": "x"},
            None,
            True,
            'ExpressionAttributeNames contains invalid key: Syntax error; key: "s"',
        ),
        (
            {"#s": ""},
            None,
            True,
            "ExpressionAttributeNames contains invalid value: Empty attribute name for key #s",
        ),
        (
            None,
            {"v": {"S": "x"}},
            True,
            'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"',
        ),
        ({}, None, True, "ExpressionAttributeNames must not be empty"),
        (None, {}, True, "ExpressionAttributeValues must not be empty"),
        (
            {"#s": "x"},
            None,
            False,
            "ExpressionAttributeNames can only be specified when using expressions",
        ),
        (
            None,
            {":v": {"S": "x"}},
            False,
            "ExpressionAttributeValues can only be specified when using expressions",
        ),
    ],
)
def test_attribute_map_validation(names, values, expressions, message):
    with pytest.raises(ValidationException) as caught:
        validate_attribute_maps(names, values, expressions=expressions)
    assert caught.value.error_message == message


@pytest.mark.parametrize(
    "text",
    [
        "NOT " * 900 + "n = :n5",
        "(" * 900 + "n = :n5" + ")" * 900,
        "size(" * 500 + "s" + ")" * 500 + " = :n5",
    ],
)
def test_deep_nesting_is_a_validation_error_not_a_crash(text):
    assert error_of(text).startswith("Invalid ConditionExpression: ")


def test_size_of_a_string_counts_utf16_code_units():
    item = {"s": {"S": "\u00e9\U0001d11e"}}
    assert parse_condition("size(s) = :n3", None, VALUES, Usage()).evaluate(item)
