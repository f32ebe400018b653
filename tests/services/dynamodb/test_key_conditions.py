"""KeyConditionExpression and the legacy parameters."""

from __future__ import annotations

import pytest

from overcast.services.dynamodb import legacy
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions import RangeCondition, Usage, parse_key_condition

VALUES = {
    ":p": {"S": "user"},
    ":a": {"S": "a"},
    ":z": {"S": "z"},
    ":n": {"N": "1"},
}


def key(text: str, names=None, range_key: str | None = "sk", **kwargs):
    return parse_key_condition(
        text, names, VALUES, Usage(), hash_key="pk", range_key=range_key, **kwargs
    )


def error_of(text: str, **kwargs) -> str:
    with pytest.raises(ValidationException) as caught:
        key(text, **kwargs)
    return caught.value.error_message


@pytest.mark.parametrize(
    ("text", "op", "values"),
    [
        ("pk = :p AND sk = :a", "=", ("a",)),
        ("pk = :p AND sk < :a", "<", ("a",)),
        ("pk = :p AND :a < sk", ">", ("a",)),  # the key moves to the left
        ("pk = :p AND sk >= :a", ">=", ("a",)),
        ("sk BETWEEN :a AND :z AND pk = :p", "BETWEEN", ("a", "z")),
        ("(pk = :p) AND (begins_with(sk, :a))", "begins_with", ("a",)),
        ("((pk = :p)) AND ((sk = :a))", "=", ("a",)),  # redundancy is allowed here
    ],
)
def test_key_conditions(text, op, values):
    condition = key(text)
    assert condition.hash_value == {"S": "user"}
    assert condition.range == RangeCondition(op, tuple({"S": v} for v in values))


def test_hash_only_and_matching():
    condition = key("#p = :p", names={"#p": "pk"})
    assert condition.range is None
    assert condition.matches({"pk": {"S": "user"}, "sk": {"S": "q"}})
    between = key("pk = :p AND sk BETWEEN :a AND :z")
    assert between.matches({"pk": {"S": "user"}, "sk": {"S": "m"}})
    assert not between.matches({"pk": {"S": "user"}, "sk": {"S": "zz"}})
    assert not between.matches({"pk": {"S": "other"}, "sk": {"S": "m"}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Invalid KeyConditionExpression: The expression can not be empty;"),
        ("sk = :a", "Query condition missed key schema element: pk"),
        ("attr1 = :a", "Query condition missed key schema element: pk"),
        ("pk = :p AND color = :a", "Query condition missed key schema element: sk"),
        ("pk < :p", "Query key condition not supported"),
        ("pk = :p OR sk = :a", "Invalid operator used in KeyConditionExpression: OR"),
        ("NOT pk = :p", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk IN (:p, :a)", "Invalid operator used in KeyConditionExpression: IN"),
        ("pk <> :p", "Invalid operator used in KeyConditionExpression: <>"),
        (
            "pk = :p AND attribute_exists(sk)",
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        ),
        (
            "pk = :p AND contains(sk, :a)",
            "Invalid operator used in KeyConditionExpression: contains",
        ),
        ("pk = :p AND size(sk) = :n", "KeyConditionExpressions cannot contain nested operations"),
        (
            "pk = :p AND sk = :a AND sk = :z",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one "
            "condition per key",
        ),
        (
            "pk = :p AND sk.x = :a",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            "pk = sk",
            "Invalid condition in KeyConditionExpression: "
            "Multiple attribute names used in one condition",
        ),
        (
            "pk = :p AND :a = :z",
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        ),
        (
            "pk = :p AND begins_with(sk, :n)",
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; "
            "operator or function: begins_with, operand type: N",
        ),
        (
            "pk = :p AND sk BETWEEN :z AND :a",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be "
            "greater than or equal to lower bound; lower bound operand: AttributeValue: {S:z}, "
            "upper bound operand: AttributeValue: {S:a}",
        ),
        (
            "status = :p",
            "Invalid KeyConditionExpression: Attribute name is a reserved keyword; "
            "reserved keyword: status",
        ),
    ],
)
def test_key_condition_errors(text, message):
    assert error_of(text) == message


def test_schema_types_are_checked_when_given():
    assert error_of("pk = :n", hash_type="S") == (
        "One or more parameter values were invalid: "
        "Condition parameter type does not match schema type"
    )
    key("pk = :p AND sk > :n", hash_type="S", range_type="N")


def test_hash_only_table_refuses_other_attributes():
    assert error_of("pk = :p AND sk = :a", range_key=None) == (
        "The number of query conditions (2) exceeds the number of key attributes defined in the "
        "schema (1)"
    )


# --- legacy parameters --------------------------------------------------------------------------


def test_expected_value_and_exists_forms():
    condition = legacy.expected_condition(
        {
            "a": {"Value": {"S": "x"}},
            "b": {"Exists": False},
            "c": {"Exists": True, "Value": {"N": "1"}},
        }
    )
    assert condition.evaluate({"a": {"S": "x"}, "c": {"N": "1.0"}})
    assert not condition.evaluate({"a": {"S": "x"}, "b": {"S": ""}, "c": {"N": "1"}})
    either = legacy.expected_condition({"a": {"Value": {"S": "x"}}, "b": {"Exists": False}}, "OR")
    assert either.evaluate({"b": {"S": "y"}, "a": {"S": "x"}})


def test_expected_comparison_operators():
    item = {"n": {"N": "5"}, "s": {"S": "hello"}, "ss": {"SS": ["a"]}}
    cases = [
        ({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "4"}]}}, True),
        ({"n": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "5"}]}}, False),
        ({"n": {"ComparisonOperator": "GE", "Value": {"N": "5"}}}, True),
        ({"absent": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "5"}]}}, True),
        ({"absent": {"ComparisonOperator": "NULL"}}, True),
        ({"n": {"ComparisonOperator": "NOT_NULL"}}, True),
        ({"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "he"}]}}, True),
        ({"ss": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "a"}]}}, True),
        ({"ss": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "a"}]}}, False),
        (
            {"absent": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "a"}]}},
            False,
        ),
        ({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "5"}]}}, True),
        (
            {
                "n": {
                    "ComparisonOperator": "BETWEEN",
                    "AttributeValueList": [{"N": "1"}, {"N": "5"}],
                }
            },
            True,
        ),
    ]
    for expected, holds in cases:
        assert legacy.expected_condition(expected).evaluate(item) is holds, expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"a": {"ComparisonOperator": "EQ", "AttributeValueList": []}},
            "One or more parameter values were invalid: Invalid number of argument(s) for the "
            "EQ ComparisonOperator",
        ),
        (
            {"a": {"ComparisonOperator": "NULL", "AttributeValueList": [{"S": "a"}]}},
            "One or more parameter values were invalid: Invalid number of argument(s) for the "
            "NULL ComparisonOperator",
        ),
        (
            {"a": {"ComparisonOperator": "LT", "AttributeValueList": [{"SS": ["a"]}]}},
            "One or more parameter values were invalid: ComparisonOperator LT is not valid for "
            "SS AttributeValue type",
        ),
        (
            {
                "a": {
                    "ComparisonOperator": "BETWEEN",
                    "AttributeValueList": [{"N": "5"}, {"N": "1"}],
                }
            },
            "The BETWEEN condition was provided a range where the lower bound is greater than the "
            "upper bound",
        ),
        (
            {"a": {"ComparisonOperator": "LT"}},
            "One or more parameter values were invalid: Value or AttributeValueList must be used "
            "with ComparisonOperator: LT for Attribute: a",
        ),
        (
            {"a": {"Exists": True, "ComparisonOperator": "LT"}},
            "One or more parameter values were invalid: Exists and ComparisonOperator cannot be "
            "used together for Attribute: a",
        ),
        (
            {"a": {"ComparisonOperator": "LT", "Value": {"S": "a"}, "AttributeValueList": []}},
            "One or more parameter values were invalid: Value and AttributeValueList cannot be "
            "used together for Attribute: a",
        ),
        (
            {"a": {"AttributeValueList": [{"S": "a"}]}},
            "One or more parameter values were invalid: AttributeValueList can only be used with "
            "a ComparisonOperator for Attribute: a",
        ),
        (
            {"a": {"ComparisonOperator": "BETWEEN", "Value": {"S": "a"}}},
            "One or more parameter values were invalid: Invalid number of argument(s) for the "
            "BETWEEN ComparisonOperator",
        ),
        (
            {"a": {}},
            "One or more parameter values were invalid: Value must be provided when Exists is "
            "null for Attribute: a",
        ),
        (
            {"a": {"Exists": True}},
            "One or more parameter values were invalid: Value must be provided when Exists is "
            "true for Attribute: a",
        ),
        (
            {"a": {"Exists": False, "Value": {"S": "x"}}},
            "One or more parameter values were invalid: Value cannot be used when Exists is false "
            "for Attribute: a",
        ),
    ],
)
def test_legacy_errors(spec, message):
    with pytest.raises(ValidationException) as caught:
        legacy.expected_condition(spec)
    assert caught.value.error_message == message


def test_filter_without_values_counts_arguments():
    with pytest.raises(ValidationException) as caught:
        legacy.filter_condition({"a": {"ComparisonOperator": "EQ"}})
    assert caught.value.error_message == (
        "One or more parameter values were invalid: Invalid number of argument(s) for the EQ "
        "ComparisonOperator"
    )


def test_filters_attributes_to_get_and_key_conditions():
    condition = legacy.filter_condition(
        {"n": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "3"}]}}
    )
    assert condition.evaluate({"n": {"N": "3"}})
    projection = legacy.attributes_to_get(["a", "c"])
    assert projection is not None
    assert projection.apply({"a": {"S": "1"}, "b": {"S": "2"}}) == {"a": {"S": "1"}}
    with pytest.raises(ValidationException, match="Duplicate value in attribute name: a"):
        legacy.attributes_to_get(["a", "a"])
    keys = legacy.key_conditions(
        {
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "u"}]},
            "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "a"}]},
        },
        hash_key="pk",
        range_key="sk",
    )
    assert keys.range == RangeCondition("begins_with", ({"S": "a"},))
    with pytest.raises(ValidationException, match="not an indexable operation"):
        legacy.key_conditions(
            {"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "u"}]}},
            hash_key="pk",
            range_key=None,
        )


def test_attribute_updates():
    update = legacy.attribute_updates(
        {
            "a": {"Action": "PUT", "Value": {"S": "x"}},
            "n": {"Action": "ADD", "Value": {"N": "2"}},
            "ss": {"Action": "DELETE", "Value": {"SS": ["a"]}},
            "gone": {"Action": "DELETE"},
        }
    )
    result = update.apply({"n": {"N": "1"}, "ss": {"SS": ["a", "b"]}, "gone": {"S": "g"}})
    assert result == {"a": {"S": "x"}, "n": {"N": "3"}, "ss": {"SS": ["b"]}}
    assert update.paths == {"a", "n", "ss", "gone"}
    with pytest.raises(ValidationException, match="Only DELETE action is allowed"):
        legacy.attribute_updates({"a": {"Action": "PUT"}})


def test_mixing_expression_and_legacy_parameters():
    legacy.check_not_mixed({"Expected": {}, "UpdateExpression": None})
    with pytest.raises(ValidationException) as caught:
        legacy.check_not_mixed(
            {
                "AttributesToGet": ["a"],
                "Expected": {},
                "ConditionExpression": "x",
                "ProjectionExpression": "a",
            }
        )
    assert caught.value.error_message == (
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {AttributesToGet, Expected} "
        "Expression parameters: {ProjectionExpression, ConditionExpression}"
    )


def test_attribute_updates_add_appends_lists_and_words_type_mismatches():
    update = legacy.attribute_updates({"l": {"Action": "ADD", "Value": {"L": [{"S": "b"}]}}})
    assert update.apply({"l": {"L": [{"S": "a"}]}}) == {"l": {"L": [{"S": "a"}, {"S": "b"}]}}
    mismatch = legacy.attribute_updates({"n": {"Action": "ADD", "Value": {"NS": ["1"]}}})
    with pytest.raises(ValidationException) as caught:
        mismatch.apply({"n": {"N": "1"}})
    assert caught.value.error_message == "Type mismatch for attribute to update"
    with pytest.raises(ValidationException, match="ADD action is not supported for the type S"):
        legacy.attribute_updates({"s": {"Action": "ADD", "Value": {"S": "x"}}})
    with pytest.raises(ValidationException, match="DELETE action with value is not supported"):
        legacy.attribute_updates({"s": {"Action": "DELETE", "Value": {"L": []}}})


def test_key_conditions_have_one_or_two_terms():
    with pytest.raises(ValidationException) as caught:
        key(":a = pk and sk = :a and :a = color")
    assert caught.value.error_message == (
        "The number of query conditions (3) exceeds the number of key attributes defined in the "
        "schema (2)"
    )
    with pytest.raises(ValidationException) as caught:
        legacy.key_conditions({}, hash_key="pk", range_key="sk")
    assert caught.value.error_message == "Conditions can be of length 1 or 2 only"


def test_legacy_value_list_types():
    with pytest.raises(ValidationException, match="must be of same type"):
        legacy.filter_condition(
            {"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "b"}, {"N": "1"}]}}
        )
    contains_null = legacy.filter_condition(
        {"l": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"NULL": True}]}}
    )
    assert contains_null.evaluate({"l": {"L": [{"NULL": True}]}})


def test_conditional_operator_enum():
    with pytest.raises(ValidationException) as caught:
        legacy.filter_condition({"b": {"ComparisonOperator": "NULL"}}, "XOR")
    assert caught.value.error_message == (
        "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]"
    )
    with pytest.raises(ValidationException) as caught:
        legacy.expected_condition({"b": {"Exists": False}}, "XOR")
    assert caught.value.error_message == (
        "1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy "
        "constraint: Member must satisfy enum value set: [OR, AND]"
    )
