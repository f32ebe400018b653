"""KeyConditionExpression: the hash-key equality and the optional sort-key condition of a Query.

The expression is parsed with the condition grammar, then checked against what a key condition
may say (AND of at most one condition per key; =, <, <=, >, >=, BETWEEN, begins_with) with
DynamoDB's messages, which carry no ``Invalid KeyConditionExpression:`` prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions.common import Usage
from overcast.services.dynamodb.expressions.conditions import (
    And,
    Between,
    Comparison,
    Condition,
    Function,
    In,
    Not,
    Or,
    Parenthesized,
    begins_with,
)
from overcast.services.dynamodb.expressions.operands import (
    Operand,
    PathOperand,
    SizeOperand,
    ValueOperand,
)
from overcast.services.dynamodb.expressions.parser import Parser
from overcast.services.dynamodb.expressions.paths import Value

ONE_PER_KEY = "KeyConditionExpressions must only contain one condition per key"
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass(frozen=True)
class RangeCondition:
    op: str  # =, <, <=, >, >=, BETWEEN or begins_with
    values: tuple[Value, ...]

    def matches(self, value: Value | None) -> bool:
        if value is None:
            return False
        if self.op == "begins_with":
            return begins_with(value, self.values[0])
        try:
            orders = [av.compare(value, bound) for bound in self.values]
        except TypeError:
            return False
        if self.op == "BETWEEN":
            return orders[0] >= 0 and orders[1] <= 0
        order = orders[0]
        return {"=": order == 0, "<": order < 0, "<=": order <= 0, ">": order > 0}.get(
            self.op, order >= 0
        )


@dataclass(frozen=True)
class KeyCondition:
    hash_key: str
    hash_value: Value
    range_key: str | None
    range: RangeCondition | None

    def matches(self, item: Mapping[str, Value]) -> bool:
        value = item.get(self.hash_key)
        if value is None or not av.equals(value, self.hash_value):
            return False
        if self.range is None or self.range_key is None:
            return True
        return self.range.matches(item.get(self.range_key))


def _fail(message: str) -> ValidationException:
    return ValidationException(message)


Term = tuple[str, str, tuple[Value, ...]]


def _walk(condition: Condition, terms: list[Term]) -> None:
    """The AND-ed key conditions, checked in the order written as DynamoDB checks them."""
    if isinstance(condition, Parenthesized):
        _walk(condition.inner, terms)
    elif isinstance(condition, And):
        _walk(condition.left, terms)
        _walk(condition.right, terms)
    elif isinstance(condition, Or):
        raise _fail("Invalid operator used in KeyConditionExpression: OR")
    elif isinstance(condition, Not):
        raise _fail("Invalid operator used in KeyConditionExpression: NOT")
    elif isinstance(condition, In):
        raise _fail("Invalid operator used in KeyConditionExpression: IN")
    elif isinstance(condition, Comparison) and condition.op == "<>":
        raise _fail("Invalid operator used in KeyConditionExpression: <>")
    elif isinstance(condition, Function) and condition.name != "begins_with":
        raise _fail(f"Invalid operator used in KeyConditionExpression: {condition.name}")
    else:
        term = _key_term(condition)
        if any(term[0] == seen[0] for seen in terms):
            raise _fail(f"Invalid KeyConditionExpression: {ONE_PER_KEY}")
        terms.append(term)


def _operands(condition: Condition) -> tuple[str, list[Operand]]:
    if isinstance(condition, Comparison):
        return condition.op, [condition.left, condition.right]
    if isinstance(condition, Between):
        return "BETWEEN", [condition.operand, condition.low, condition.high]
    assert isinstance(condition, Function)
    return condition.name, list(condition.args)


def _key_term(condition: Condition) -> Term:
    """(attribute, operator, values) of one key condition, with the key moved to the left."""
    op, operands = _operands(condition)
    if op in ("BETWEEN", "begins_with") and not isinstance(operands[0], PathOperand):
        raise _fail(
            f"Invalid condition in KeyConditionExpression: {op} operator must have the key "
            "attribute as its first operand"
        )
    key: PathOperand | None = None
    index = 0
    for i, operand in enumerate(operands):
        if isinstance(operand, PathOperand):
            if key is not None:
                raise _fail(
                    "Invalid condition in KeyConditionExpression: "
                    "Multiple attribute names used in one condition"
                )
            if len(operand.path) > 1:
                raise _fail("KeyConditionExpressions cannot have conditions on nested attributes")
            key, index = operand, i
        elif isinstance(operand, SizeOperand):
            raise _fail("KeyConditionExpressions cannot contain nested operations")
    if key is None:
        raise _fail("Invalid condition in KeyConditionExpression: No key attribute specified")
    if index != 0:
        op = _FLIPPED[op]
    values = tuple(o.value for o in operands if isinstance(o, ValueOperand))
    return str(key.path[0]), op, values


def build_key_condition(
    terms: list[Term],
    *,
    hash_key: str,
    range_key: str | None,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    """Check the per-key conditions (from an expression or legacy KeyConditions) against the
    key schema and build the KeyCondition."""
    by_name: dict[str, tuple[str, tuple[Value, ...]]] = {}
    for name, op, values in terms:
        if name in by_name:
            raise _fail(ONE_PER_KEY)
        by_name[name] = (op, values)
    if not by_name:
        raise _fail("Conditions can be of length 1 or 2 only")
    key_count = 1 if range_key is None else 2
    if len(by_name) > key_count:
        raise _fail(
            f"The number of query conditions ({len(by_name)}) exceeds the number of key "
            f"attributes defined in the schema ({key_count})"
        )
    if hash_key not in by_name:
        raise _fail(f"Query condition missed key schema element: {hash_key}")
    for name in by_name:
        if name not in (hash_key, range_key):
            if range_key is None:
                raise _fail("Query key condition not supported")
            raise _fail(f"Query condition missed key schema element: {range_key}")
    hash_op, hash_values = by_name[hash_key]
    if hash_op != "=":
        raise _fail("Query key condition not supported")
    _check_types(hash_values, hash_type)
    condition = None
    if range_key is not None and range_key in by_name:
        op, values = by_name[range_key]
        _check_types(values, range_type)
        condition = RangeCondition(op, values)
    return KeyCondition(hash_key, hash_values[0], range_key, condition)


def _check_types(values: tuple[Value, ...], wanted: str | None) -> None:
    if wanted is not None and any(wanted not in value for value in values):
        raise _fail(
            "One or more parameter values were invalid: "
            "Condition parameter type does not match schema type"
        )


def parse_key_condition(
    text: Any,
    names: Mapping[str, str] | None,
    values: Mapping[str, Value] | None,
    usage: Usage,
    *,
    hash_key: str,
    range_key: str | None,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    """A Query's KeyConditionExpression against the (table's or index's) key schema.

    ``hash_type``/``range_type`` (the AttributeDefinitions' S, N or B), when given, make values
    of another type fail with AWS's "Condition parameter type does not match schema type".
    """
    return build_key_condition(
        key_terms(text, names, values, usage),
        hash_key=hash_key,
        range_key=range_key,
        hash_type=hash_type,
        range_type=range_type,
    )


def key_terms(
    text: Any, names: Mapping[str, str] | None, values: Mapping[str, Value] | None, usage: Usage
) -> list[Term]:
    """The key conditions a KeyConditionExpression states, checked without the key schema: AWS
    reports these errors before it looks the table up (a bad operand before
    ResourceNotFoundException)."""
    parser = Parser(text, "KeyConditionExpression", names, values, usage)
    condition = parser.parse_or()
    parser.finish()
    terms: list[Term] = []
    _walk(condition, terms)
    return terms
