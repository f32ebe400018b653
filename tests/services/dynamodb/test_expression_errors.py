"""Which error DynamoDB reports for malformed expressions (cases as AWS answers them)."""

from __future__ import annotations

import pytest

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions import (
    Usage,
    parse_condition,
    parse_key_condition,
    parse_update,
)

UNDEFINED_NAME = "An expression attribute name used in the document path is not defined; "
ARITY = "Incorrect number of operands for operator or function; operator or function: "


def filter_error(text: str, names=None, values=None) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_condition(text, names, values, Usage(), kind="FilterExpression")
    message = caught.value.error_message
    assert message.startswith("Invalid FilterExpression: ")
    return message.removeprefix("Invalid FilterExpression: ")


def update_error(text: str) -> str:
    names = {"#a": "a", "#b": "b"}
    values = {":a": {"S": "a"}, ":b": {"S": "a"}}
    with pytest.raises(ValidationException) as caught:
        parse_update(text, names, values, Usage())
    message = caught.value.error_message
    assert message.startswith("Invalid UpdateExpression: ")
    return message.removeprefix("Invalid UpdateExpression: ")


@pytest.mark.parametrize(
    "text",
    [
        "things are not gonna be ok",
        "a > 4",
        "attribute_exists(Pictures-RearView)",
        'attribute_exists("Pictures.RearView")',
        "attribute_exists(Pictures..RearView)",
        "attribute_exists(Pi#ctures.RearView)",
        "attribute_exists(asdf[a])",
        "a in b, c",
        "a > between",
        "a in (b,c,)",
        "(a)between(b.(c.d))and(c)",
        "(a)between(b.c.d)and((c)",
        "#$.b > a",
        "a > :things.stuff",
        "b[:a] > a",
        "b[#_] > a",
        "\u00fc > a",
        "(a)between(b.c[4.5].#d)and(:a)",
        "size(a).b > a",
        "(size(a)).b > a",
        "size(a)[0] > a",
        "(size(a))[0] > a",
    ],
)
def test_filter_syntax_errors(text):
    assert filter_error(text).startswith("Syntax error; token: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a=a and a > ((views))", "The expression has redundant parentheses;"),
        ("(a)between(((b.c)).d)and(c)", "The expression has redundant parentheses;"),
        ("a > whatever((:things), ((a)))", "The expression has redundant parentheses;"),
        ("a=a AND ((a=a AND a=a)) AND a=a", "The expression has redundant parentheses;"),
        ("a=a and whatever((:things)) > a", "Invalid function name; function: whatever"),
        ("attRIbute_exIsts((views), #a)", "Invalid function name; function: attRIbute_exIsts"),
        (
            "attribute_exists(views, #a)",
            "Attribute name is a reserved keyword; reserved keyword: views",
        ),
        (":a < abOrT", "Attribute name is a reserved keyword; reserved keyword: abOrT"),
        (
            "#4g > a",
            UNDEFINED_NAME + "attribute name: #4g",
        ),
        (
            "(#P between :lo and :hi) and (#PC in (:cat1, :cat2))",
            UNDEFINED_NAME + "attribute name: #P",
        ),
        (
            ":a < :b",
            "An expression attribute value used in expression is not defined; attribute value: :a",
        ),
        (
            "attribute_type(things)",
            ARITY + "attribute_type, number of operands: 1",
        ),
        (
            "begins_with(things, size(a), b)",
            ARITY + "begins_with, number of operands: 3",
        ),
    ],
)
def test_filter_error_precedence(text, message):
    assert filter_error(text) == message


@pytest.mark.parametrize(
    ("text", "function"),
    [
        ("a=a and attribute_exists((views), (#a)) > b", "attribute_exists"),
        ("attribute_type(things, :a) > b", "attribute_type"),
        ("contains(:things, c) > b", "contains"),
        ("size(contains(a, b)) > a", "contains"),
        ("size(things)", "size"),
        ("a between b and attribute_exists(things)", "attribute_exists"),
        ("a in (b, attribute_exists(things))", "attribute_exists"),
    ],
)
def test_functions_used_the_wrong_way(text, function):
    assert filter_error(text) == (
        f"The function is not allowed to be used this way in an expression; function: {function}"
    )


@pytest.mark.parametrize(
    ("text", "value", "function", "kind"),
    [
        ("attribute_type(a, size(a)) and a=a and a=:a", {"N": "1"}, "attribute_type", "N"),
        ("attribute_type(a, :a)", {"BOOL": True}, "attribute_type", "BOOL"),
        ("begins_with(a, size(a)) and a=:a", {"N": "1"}, "begins_with", "N"),
        ("begins_with(:a, a)", {"SS": ["1"]}, "begins_with", "SS"),
        ("size(size(a)) > :a", {"N": "1"}, "size", "N"),
        ("attribute_not_exists(size(:a))", {"N": "1"}, "size", "N"),
        ("size(:a) > a", {"NULL": True}, "size", "NULL"),
    ],
)
def test_operand_types_known_before_evaluation(text, value, function, kind):
    assert filter_error(text, values={":a": value}) == (
        "Incorrect operand type for operator or function; "
        f"operator or function: {function}, operand type: {kind}"
    )


def test_parenthesized_operands():
    values = {":v": {"N": "1"}}
    item = {"a": {"S": "xy"}, "n": {"N": "1"}}
    assert parse_condition("(n) = :v", None, values, Usage()).evaluate(item)
    assert not parse_condition("(size(a)) > (:v) AND (n) <> :v", None, values, Usage()).evaluate(
        item
    )


@pytest.mark.parametrize(
    "text",
    [
        "whatever",
        "set a",
        "set a=set",
        "remove a = b",
        "delete a b",
        "delete a if_not_exist(b)",
        "remove a b",
        "set :a = b",
        "remove :a",
        "set a = b / c",
        'set a[1] = "eight"',
        "set a[1] = 1",
        "SET a = if_not_exist(a, 100)",
        "SET if_not_exist(a, b) = a",
        "set (a = (b + c))",
        "set a = (b.c).d + e",
        "set a = b + c + d",
    ],
)
def test_update_syntax_errors(text):
    assert update_error(text).startswith("Syntax error; token: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            " set #c = :c set abOrt = true ",
            "Attribute name is a reserved keyword; reserved keyword: abOrt",
        ),
        ("set #c = if_not_exist(:c) set c = d", "Invalid function name; function: if_not_exist"),
        (
            "set a = #c set c = :d",
            'The "SET" section can only be used once in an update expression;',
        ),
        (
            "remove #d set a = b remove e",
            'The "REMOVE" section can only be used once in an update expression;',
        ),
        (
            "SET #c = if_not_exists(:c)",
            UNDEFINED_NAME + "attribute name: #c",
        ),
        (
            "SET #a = if_not_exists(:c)",
            "An expression attribute value used in expression is not defined; attribute value: :c",
        ),
        (
            "set a = if_not_exists(c)",
            ARITY + "if_not_exists, number of operands: 1",
        ),
        (
            "set a = if_not_exists(if_not_exists(a, b), c)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
    ],
)
def test_update_error_precedence(text, message):
    assert update_error(text) == message


def key_error(text: str, values=None) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_key_condition(text, None, values, Usage(), hash_key="a", range_key="b")
    return caught.value.error_message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            ":a between size(b) and size(a) and b > :b",
            "BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "begins_with(:a, b) and a > :b",
            "begins_with operator must have the key attribute as its first operand",
        ),
        ("b > a.b", "Multiple attribute names used in one condition"),
        ("a between b and size(a)", "Multiple attribute names used in one condition"),
        (":b > :a AND a < :b", "No key attribute specified"),
    ],
)
def test_key_condition_checks_in_written_order(text, message):
    values = {":a": {"S": "1"}, ":b": {"S": "1"}}
    assert key_error(text, values) == f"Invalid condition in KeyConditionExpression: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "size(b) > a AND a.b > b AND b > c",
            "KeyConditionExpressions cannot contain nested operations",
        ),
        ("a > size(b.d)", "KeyConditionExpressions cannot contain nested operations"),
        (
            "b.d > a AND c.d > e.f",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        ("b[0] > a", "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("a > b and size(b) > c or a > c", "Invalid operator used in KeyConditionExpression: OR"),
        ("a in (b, size(c), d)", "Invalid operator used in KeyConditionExpression: IN"),
        ("not a > b", "Invalid operator used in KeyConditionExpression: NOT"),
    ],
)
def test_key_condition_structure(text, message):
    assert key_error(text) == message


def test_attribute_type_needs_a_value():
    assert key_error("attribute_type(a, b)").startswith(
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
        "operator or function: attribute_type, operand type:"
    )
