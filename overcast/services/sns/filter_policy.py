"""Subscription filter policies: validation (AWS's limits) and matching.

A policy is a JSON object whose keys are ANDed; a key's array of conditions is ORed; ``$or``
(a list of sub-policies) ORs whole branches. With scope ``MessageAttributes`` keys name message
attributes (String, String.Array, Number; Binary never matches) and the policy must be flat; with
``MessageBody`` keys follow the JSON body, nesting included, and a key whose value is an array
matches when any element does. Conditions: exact strings, numbers, ``true``/``false``/``null``,
``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or a
``prefix``/``suffix`` form), ``numeric`` ranges, ``exists`` and ``cidr``.
"""

from __future__ import annotations

import ipaddress
import json
import math
from typing import Any

from overcast.services.sns.errors import InvalidParameterException

MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_SIZE = 256 * 1024
NUMERIC_LIMIT = 1e9
_OPERATORS = ("prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists",
              "cidr")  # fmt: skip
_COMPARATORS = {"=", "<", "<=", ">", ">="}
_ABSENT = object()


def _bad(reason: str) -> InvalidParameterException:
    return InvalidParameterException(f"Invalid parameter: FilterPolicy: {reason}")


# -- validation ---------------------------------------------------------------------------------


def parse(text: str, scope: str = "MessageAttributes") -> dict[str, Any]:
    """The policy ``text`` holds, validated for ``scope``; InvalidParameter otherwise."""
    if len(text.encode()) > MAX_SIZE:
        raise _bad("Filter policy is too big")
    try:
        policy = json.loads(text)
    except ValueError:
        raise _bad("failed to parse JSON.") from None
    if not isinstance(policy, dict):
        raise _bad("Filter policy must be a JSON object")
    if not policy:
        return policy
    leaves: list[int] = []  # the number of conditions of each key, per $or branch combined
    combos = _check_object(policy, scope, leaves, nested=False)
    if len(leaves) > MAX_KEYS:
        raise _bad("Filter policy can not have more than 5 keys")
    if combos > MAX_COMBINATIONS:
        raise _bad("Filter policy is too complex")
    return policy


def _check_object(obj: dict[str, Any], scope: str, leaves: list[int], nested: bool) -> int:
    """Validate one object level; returns its number of value combinations."""
    total = 1
    for key, value in obj.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise _bad('"$or" must be an array of at least 2 objects')
            branch_sum = 0
            for branch in value:
                if not isinstance(branch, dict) or not branch:
                    raise _bad('"$or" must be an array of non-empty objects')
                branch_sum += _check_object(branch, scope, leaves, nested)
            total *= branch_sum
        elif isinstance(value, dict):
            if scope == "MessageAttributes":
                raise InvalidParameterException(
                    "Invalid parameter: Filter policy scope MessageAttributes does not support "
                    "nested filter policy"
                )
            if not value:
                raise _bad(f'"{key}" must not be an empty object')
            total *= _check_object(value, scope, leaves, nested=True)
        elif isinstance(value, list):
            if not value:
                raise _bad("Empty arrays are not allowed")
            for condition in value:
                _check_condition(key, condition)
            leaves.append(len(value))
            total *= len(value)
        else:
            raise _bad(f'"{key}" must be an object or an array')
    return total


def _check_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad("Value of numeric must be numeric")
    if not -NUMERIC_LIMIT <= value <= NUMERIC_LIMIT:
        raise _bad("Numeric value must be between -1.0E9 and 1.0E9 inclusive")
    return float(value)


def _check_condition(key: str, condition: Any) -> None:
    if condition is None or isinstance(condition, (str, bool)):
        return
    if isinstance(condition, (int, float)):
        _check_number(condition)
        return
    if isinstance(condition, list):
        raise _bad(f'Match value for "{key}" must be a string, number, boolean or object')
    if len(condition) != 1:
        raise _bad("Only one key allowed in match expression")
    (op, arg), = condition.items()  # fmt: skip
    if op not in _OPERATORS:
        raise _bad(f"Unrecognized match type {op}")
    if op in ("prefix", "suffix", "equals-ignore-case"):
        if not isinstance(arg, str):
            raise _bad(f"{op} match pattern must be a string")
    elif op == "exists":
        if not isinstance(arg, bool):
            raise _bad("exists match pattern must be either true or false.")
    elif op == "cidr":
        try:
            ipaddress.ip_network(arg, strict=False)
        except (TypeError, ValueError):
            raise _bad("Malformed CIDR, one '/' required") from None
    elif op == "numeric":
        _check_numeric(arg)
    else:  # anything-but
        if isinstance(arg, dict):
            if len(arg) != 1 or next(iter(arg)) not in ("prefix", "suffix"):
                raise _bad("Unsupported anything-but pattern: " + ",".join(arg))
            if not isinstance(next(iter(arg.values())), str):
                raise _bad("prefix/suffix match pattern must be a string")
        elif isinstance(arg, list):
            if not arg:
                raise _bad("Empty arrays are not allowed")
            kinds = {isinstance(v, str) for v in arg}
            if len(kinds) > 1 or any(isinstance(v, (bool, dict, list)) or v is None for v in arg):
                raise _bad("Inside anything but list, start|null|boolean is not supported.")
            for v in arg:
                if not isinstance(v, str):
                    _check_number(v)
        elif isinstance(arg, bool) or arg is None:
            raise _bad("Inside anything but list, start|null|boolean is not supported.")
        elif not isinstance(arg, str):
            _check_number(arg)


def _check_numeric(arg: Any) -> None:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        raise _bad("Value of numeric must be an array.")
    ops = arg[0::2]
    if any(op not in _COMPARATORS for op in ops):
        raise _bad(f"Unrecognized numeric range operator: {ops}")
    for value in arg[1::2]:
        _check_number(value)
    if "=" in ops and len(arg) != 2:
        raise _bad("Value of = must be alone in a numeric range")
    if len(arg) == 4:
        lower = {">", ">="}
        if ops[0] not in lower or ops[1] in lower:
            raise _bad("Too many elements in numeric expression")
        if arg[1] >= arg[3]:
            raise _bad("Bottom must be less than top")
    elif len(arg) > 4:
        raise _bad("Too many elements in numeric expression")


# -- matching -----------------------------------------------------------------------------------


def attribute_values(attr: dict[str, Any]) -> list[Any] | None:
    """The values a message attribute offers to conditions; None for one that cannot match."""
    kind = attr.get("DataType", "")
    value = attr.get("StringValue")
    if kind.startswith("Binary") or value is None:
        return None
    if kind.startswith("Number"):
        try:
            return [float(value)]
        except ValueError:
            return [value]
    if kind.startswith("String.Array"):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return parsed if isinstance(parsed, list) else [parsed]
    return [value]


def matches_attributes(policy: dict[str, Any], attributes: dict[str, Any]) -> bool:
    """Whether message ``attributes`` (the API's form) satisfy an attribute-scope policy."""
    data = {}
    for name, attr in attributes.items():
        values = attribute_values(attr)
        data[name] = values if values is not None else _ABSENT
    return _match_object(policy, data, flat=True)


def matches_body(policy: dict[str, Any], body: str) -> bool:
    """Whether a message body (a JSON object, else nothing matches) satisfies the policy."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and _match_object(policy, data, flat=False)


def _match_object(policy: dict[str, Any], data: Any, flat: bool) -> bool:
    for key, spec in policy.items():
        if key == "$or":
            if not any(_match_object(branch, data, flat) for branch in spec):
                return False
            continue
        if isinstance(data, dict) and key in data and data[key] is not _ABSENT:
            value = data[key]
        else:
            value = _ABSENT
        if isinstance(spec, dict):
            children = value if isinstance(value, list) else [value]
            if not any(_match_object(spec, c if isinstance(c, dict) else {}, flat)
                       for c in children):  # fmt: skip
                return False
            continue
        if value is _ABSENT:
            values: list[Any] = []
        elif flat or isinstance(value, list):
            values = value if isinstance(value, list) else [value]
        else:
            values = [value]
        if not any(_match_condition(c, values, value is not _ABSENT) for c in spec):
            return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _match_condition(cond: Any, values: list[Any], present: bool) -> bool:
    if isinstance(cond, dict):
        (op, arg), = cond.items()  # fmt: skip
        if op == "exists":
            return present is arg
        if not present:
            return False
        if op == "anything-but":
            return any(_anything_but(arg, v) for v in values) if values else True
        return any(_match_operator(op, arg, v) for v in values)
    return any(_equal(cond, v) for v in values)


def _equal(cond: Any, value: Any) -> bool:
    if _is_number(cond):
        return _is_number(value) and math.isclose(cond, value, rel_tol=0, abs_tol=1e-5)
    if isinstance(cond, bool) or cond is None:
        return value is cond
    return isinstance(value, str) and value == cond


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        (op, text), = arg.items()  # fmt: skip
        return not _match_operator(op, text, value)
    items = arg if isinstance(arg, list) else [arg]
    return not any(_equal(item, value) for item in items)


def _match_operator(op: str, arg: Any, value: Any) -> bool:
    if op == "numeric":
        if not _is_number(value):
            return False
        for i in range(0, len(arg), 2):
            cmp, bound = arg[i], arg[i + 1]
            ok = {"=": value == bound, "<": value < bound, "<=": value <= bound,
                  ">": value > bound, ">=": value >= bound}[cmp]  # fmt: skip
            if not ok:
                return False
        return True
    if not isinstance(value, str):
        return False
    if op == "prefix":
        return value.startswith(arg)
    if op == "suffix":
        return value.endswith(arg)
    if op == "equals-ignore-case":
        return value.casefold() == arg.casefold()
    if op == "cidr":
        try:
            return ipaddress.ip_address(value) in ipaddress.ip_network(arg, strict=False)
        except ValueError:
            return False
    return False
