"""DynamoDB's legacy (pre-expression) parameters, translated to the expression objects.

Expected and QueryFilter/ScanFilter (with ConditionalOperator) become a ``Condition``,
AttributesToGet a ``Projection``, KeyConditions a ``KeyCondition`` and AttributeUpdates an
``Update``, so the operations evaluate one kind of object whichever form the client used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions import Always, Condition, KeyCondition, Projection
from overcast.services.dynamodb.expressions.conditions import (
    And,
    Between,
    Comparison,
    Function,
    In,
    Or,
)
from overcast.services.dynamodb.expressions.keys import build_key_condition
from overcast.services.dynamodb.expressions.operands import Item as ItemView
from overcast.services.dynamodb.expressions.operands import PathOperand, ValueOperand
from overcast.services.dynamodb.expressions.updates import Action, Update

_INVALID = "One or more parameter values were invalid: "

#: Expression parameters and the legacy parameters they replace, in AWS's listing order.
EXPRESSION_PARAMETERS = (
    "ProjectionExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ConditionExpression",
    "UpdateExpression",
)
LEGACY_PARAMETERS = (
    "AttributesToGet",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
    "Expected",
    "ConditionalOperator",
    "AttributeUpdates",
)

#: How many values each ComparisonOperator takes (None: one or more).
_ARITY: dict[str, int | None] = {
    "EQ": 1,
    "NE": 1,
    "LE": 1,
    "LT": 1,
    "GE": 1,
    "GT": 1,
    "NOT_NULL": 0,
    "NULL": 0,
    "CONTAINS": 1,
    "NOT_CONTAINS": 1,
    "BEGINS_WITH": 1,
    "IN": None,
    "BETWEEN": 2,
}
#: The value types each operator accepts (None: any).
_TYPES: dict[str, tuple[str, ...] | None] = {
    "EQ": None,
    "NE": None,
    "LE": ("S", "N", "B"),
    "LT": ("S", "N", "B"),
    "GE": ("S", "N", "B"),
    "GT": ("S", "N", "B"),
    "CONTAINS": ("S", "N", "B", "BOOL", "NULL"),
    "NOT_CONTAINS": ("S", "N", "B", "BOOL", "NULL"),
    "BEGINS_WITH": ("S", "B"),
    "IN": ("S", "N", "B"),
    "BETWEEN": ("S", "N", "B"),
}
_COMPARATORS = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
_KEY_OPERATORS = {
    "EQ": "=",
    "LE": "<=",
    "LT": "<",
    "GE": ">=",
    "GT": ">",
    "BEGINS_WITH": "begins_with",
    "BETWEEN": "BETWEEN",
}


def check_not_mixed(request: Mapping[str, Any]) -> None:
    """AWS refuses a request that mixes expression and legacy parameters."""
    legacy = [name for name in LEGACY_PARAMETERS if request.get(name) is not None]
    modern = [name for name in EXPRESSION_PARAMETERS if request.get(name) is not None]
    if legacy and modern:
        raise ValidationException(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(legacy)}}} "
            f"Expression parameters: {{{', '.join(modern)}}}"
        )


def _values(
    name: str,
    spec: Mapping[str, Any],
    operator: str,
    given: list[Any] | None = None,
    *,
    older: bool = False,
) -> list[dict[str, Any]]:
    """The validated AttributeValueList (or ``given`` values) of one legacy condition; ``older``
    for the wording of the older validation layer (ScanFilter)."""
    if operator not in _ARITY:
        raise ValidationException(
            f"{_INVALID}Unsupported ComparisonOperator {operator} for Attribute: {name}"
        )
    values = list(given if given is not None else spec.get("AttributeValueList") or [])
    for value in values:
        av.validate_value(value, older=older)
    arity = _ARITY.get(operator)
    if (arity is None and not values) or (arity is not None and len(values) != arity):
        raise ValidationException(
            f"{_INVALID}Invalid number of argument(s) for the {operator} ComparisonOperator"
        )
    allowed = _TYPES.get(operator)
    for value in values:
        kind = next(iter(value))
        if allowed is not None and kind not in allowed:
            raise ValidationException(
                f"{_INVALID}ComparisonOperator {operator} is not valid for {kind} "
                "AttributeValue type"
            )
    values = [av.normalize(v) for v in values]
    if operator in ("BETWEEN", "IN") and len({next(iter(v)) for v in values}) > 1:
        raise ValidationException(
            f"{_INVALID}AttributeValues inside AttributeValueList must be of same type"
        )
    if operator == "BETWEEN":
        low, high = values
        if av.compare(low, high) > 0:
            raise ValidationException(
                "The BETWEEN condition was provided a range where the lower bound is greater "
                "than the upper bound"
            )
    return values


def _condition(name: str, operator: str, values: list[dict[str, Any]]) -> Condition:
    path = PathOperand((name,))
    operands = [ValueOperand(":legacy", v) for v in values]
    if operator in _COMPARATORS:
        return Comparison(_COMPARATORS[operator], path, operands[0])
    if operator == "NULL":
        return Function("attribute_not_exists", (path,))
    if operator == "NOT_NULL":
        return Function("attribute_exists", (path,))
    if operator == "CONTAINS":
        return Function("contains", (path, operands[0]))
    if operator == "NOT_CONTAINS":
        return _NotContains(path, operands[0])
    if operator == "BEGINS_WITH":
        return Function("begins_with", (path, operands[0]))
    if operator == "IN":
        return In(path, tuple(operands))
    return Between(path, operands[0], operands[1])


@dataclass(frozen=True)
class _NotContains(Condition):
    """NOT_CONTAINS holds only for an attribute that exists and lacks the value."""

    path: PathOperand
    value: ValueOperand

    def evaluate(self, item: ItemView) -> bool:
        present = self.path.evaluate(item) is not None
        return present and not Function("contains", (self.path, self.value)).evaluate(item)


def _combine(conditions: list[Condition], conditional_operator: str | None) -> Condition:
    if not conditions:
        return Always()
    result = conditions[0]
    for condition in conditions[1:]:
        result = Or(result, condition) if conditional_operator == "OR" else And(result, condition)
    return result


def _check_conditional_operator(conditional_operator: str | None, *, filtering: bool) -> None:
    """ConditionalOperator is AND or OR; AWS words the refusal differently for the filters of
    Query and Scan than for Expected."""
    if conditional_operator is None or conditional_operator in ("AND", "OR"):
        return
    if filtering:
        raise ValidationException(
            "Failed to satisfy constraint: Member must satisfy enum value set: [ALL, OR]"
        )
    raise ValidationException(
        f"1 validation error detected: Value '{conditional_operator}' at "
        "'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value "
        "set: [OR, AND]"
    )


def filter_condition(
    conditions: Mapping[str, Any] | None,
    conditional_operator: str | None = None,
    *,
    older: bool = False,
) -> Condition:
    """QueryFilter or ScanFilter (ComparisonOperator + AttributeValueList per attribute);
    ``older`` for the Scan layer's wording of bad values."""
    _check_conditional_operator(conditional_operator, filtering=True)
    parts = []
    for name, spec in (conditions or {}).items():
        operator = spec.get("ComparisonOperator")
        parts.append(_condition(name, operator, _values(name, spec, operator, older=older)))
    return _combine(parts, conditional_operator)


def expected_condition(
    expected: Mapping[str, Any] | None, conditional_operator: str | None = None
) -> Condition:
    """Expected: the Value/Exists form or the ComparisonOperator form, per attribute."""
    _check_conditional_operator(conditional_operator, filtering=False)
    parts: list[Condition] = []
    for name, spec in (expected or {}).items():
        operator = spec.get("ComparisonOperator")
        value = spec.get("Value")
        exists = spec.get("Exists")
        value_list = spec.get("AttributeValueList")
        if value_list is not None and operator is None:
            raise ValidationException(
                f"{_INVALID}AttributeValueList can only be used with a ComparisonOperator "
                f"for Attribute: {name}"
            )
        if operator is not None:
            if exists is not None:
                raise ValidationException(
                    f"{_INVALID}Exists and ComparisonOperator cannot be used together "
                    f"for Attribute: {name}"
                )
            if value is not None and value_list is not None:
                raise ValidationException(
                    f"{_INVALID}Value and AttributeValueList cannot be used together "
                    f"for Attribute: {name}"
                )
            if value is None and value_list is None and _ARITY.get(operator, 1) != 0:
                raise ValidationException(
                    f"{_INVALID}Value or AttributeValueList must be used with "
                    f"ComparisonOperator: {operator} for Attribute: {name}"
                )
            # A single Value stands in for a one-element AttributeValueList.
            given = [value] if value is not None else None
            parts.append(_condition(name, operator, _values(name, spec, operator, given)))
        elif exists is False:
            if value is not None:
                raise ValidationException(
                    f"{_INVALID}Value cannot be used when Exists is false for Attribute: {name}"
                )
            parts.append(Function("attribute_not_exists", (PathOperand((name,)),)))
        else:
            if value is None:
                raise ValidationException(
                    f"{_INVALID}Value must be provided when Exists is "
                    f"{'true' if exists else 'null'} for Attribute: {name}"
                )
            av.validate_value(value)
            path = PathOperand((name,))
            parts.append(Comparison("=", path, ValueOperand(":legacy", av.normalize(value))))
    return _combine(parts, conditional_operator)


def attributes_to_get(names: list[str] | None) -> Projection | None:
    """AttributesToGet as a projection of top-level attributes (None when absent)."""
    if names is None:
        return None
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValidationException(f"{_INVALID}Duplicate value in attribute name: {name}")
        seen.add(name)
    return Projection([(name,) for name in names])


def key_conditions(
    conditions: Mapping[str, Any],
    *,
    hash_key: str,
    range_key: str | None,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    """KeyConditions (EQ on the hash key; EQ/LE/LT/GE/GT/BEGINS_WITH/BETWEEN on the range key).

    AWS's order: the count, then the names against the key schema, then the operators."""
    if not 1 <= len(conditions) <= 2:
        raise ValidationException("Conditions can be of length 1 or 2 only")
    if hash_key not in conditions:
        raise ValidationException(f"Query condition missed key schema element: {hash_key}")
    if range_key is not None and any(n not in (hash_key, range_key) for n in conditions):
        raise ValidationException(f"Query condition missed key schema element: {range_key}")
    terms = []
    for name, spec in conditions.items():
        operator = spec.get("ComparisonOperator")
        values = _values(name, spec, operator)
        if operator not in _KEY_OPERATORS:
            raise ValidationException(
                "Attempted conditional constraint is not an indexable operation"
            )
        terms.append((name, _KEY_OPERATORS[operator], tuple(values)))
    return build_key_condition(
        terms, hash_key=hash_key, range_key=range_key, hash_type=hash_type, range_type=range_type
    )


def attribute_updates(updates: Mapping[str, Any]) -> Update:
    """AttributeUpdates: PUT, ADD and DELETE (with or without a value) per attribute."""
    actions = []
    for name, spec in updates.items():
        action = spec.get("Action") or "PUT"
        value = spec.get("Value")
        if value is None:
            if action != "DELETE":
                raise ValidationException(
                    f"{_INVALID}Only DELETE action is allowed when no attribute value is specified"
                )
            actions.append(Action("REMOVE", (name,)))
            continue
        av.validate_value(value)
        value = av.normalize(value)
        kind = next(iter(value))
        if action == "ADD" and kind not in ("N", "L", *av.SET_TYPES):
            raise ValidationException(f"{_INVALID}ADD action is not supported for the type {kind}")
        if action == "DELETE" and kind not in av.SET_TYPES:
            raise ValidationException(
                f"{_INVALID}DELETE action with value is not supported for the type {kind}"
            )
        section = {"PUT": "SET", "ADD": "ADD", "DELETE": "DELETE"}[action]
        actions.append(Action(section, (name,), ValueOperand(":legacy", value)))
    return Update(actions, mismatch="Type mismatch for attribute to update")


__all__ = [
    "attribute_updates",
    "attributes_to_get",
    "check_not_mixed",
    "expected_condition",
    "filter_condition",
    "key_conditions",
]
