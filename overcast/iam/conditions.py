"""IAM condition operators and the evaluation of a statement's ``Condition`` block.

A block is a map ``operator -> {key -> value(s)}``: every operator and every key must hold (AND);
the values of one key are alternatives (OR). Operators may carry the ``...IfExists`` suffix (true
when the key is absent) and the ``ForAnyValue:``/``ForAllValues:`` set qualifiers for
multi-valued keys. A negated operator (``StringNotEquals``...) holds when the key is absent, as
the IAM reference documents ("If the policy condition requires that the key is not matched ...
and the right key is not present, the condition is true").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from overcast.iam.matching import (
    ContextValue,
    MissingVariable,
    has_variables,
    match_substituted,
    substitute,
    wildcard_match,
)

Test = Callable[[str, str], bool]  # (policy value, request value) -> match


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _date(text: str) -> float | None:
    """ISO 8601 (any precision, with or without zone) or epoch seconds, as IAM accepts."""
    text = text.strip()
    number = _number(text)
    if number is not None and text.lstrip("-").replace(".", "", 1).isdigit():
        return number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _compare(parse: Callable[[str], float | None], check: Callable[[float, float], bool]) -> Test:
    def test(policy: str, request: str) -> bool:
        p, r = parse(policy), parse(request)
        return p is not None and r is not None and check(r, p)

    return test


def _ip(policy: str, request: str) -> bool:
    try:
        network = ipaddress.ip_network(policy.strip(), strict=False)
        address = ipaddress.ip_address(request.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network


def _arn(policy: str, request: str) -> bool:
    """ARNs match component by component (the resource part may itself contain colons)."""
    p_parts = policy.split(":", 5)
    r_parts = request.split(":", 5)
    if len(p_parts) != 6 or len(r_parts) != 6:
        return policy == "*" or wildcard_match(policy, request)
    return all(wildcard_match(p, r) for p, r in zip(p_parts, r_parts, strict=True))


def _bool(policy: str, request: str) -> bool:
    return policy.lower() == request.lower()


@dataclass(frozen=True)
class _Base:
    test: Test
    negated: bool = False
    wildcards: bool = False  # substituted variable values keep their * and ? literal
    variables: bool = False  # policy values may hold ${...} variables


_STRING_EQ: Test = lambda p, r: p == r  # noqa: E731
_STRING_EQ_IC: Test = lambda p, r: p.lower() == r.lower()  # noqa: E731
_STRING_LIKE: Test = lambda p, r: match_substituted(p, r)  # noqa: E731

OPERATORS: dict[str, _Base] = {
    "StringEquals": _Base(_STRING_EQ, variables=True),
    "StringNotEquals": _Base(_STRING_EQ, negated=True, variables=True),
    "StringEqualsIgnoreCase": _Base(_STRING_EQ_IC, variables=True),
    "StringNotEqualsIgnoreCase": _Base(_STRING_EQ_IC, negated=True, variables=True),
    "StringLike": _Base(_STRING_LIKE, wildcards=True, variables=True),
    "StringNotLike": _Base(_STRING_LIKE, negated=True, wildcards=True, variables=True),
    "NumericEquals": _Base(_compare(_number, lambda r, p: r == p)),
    "NumericNotEquals": _Base(_compare(_number, lambda r, p: r == p), negated=True),
    "NumericLessThan": _Base(_compare(_number, lambda r, p: r < p)),
    "NumericLessThanEquals": _Base(_compare(_number, lambda r, p: r <= p)),
    "NumericGreaterThan": _Base(_compare(_number, lambda r, p: r > p)),
    "NumericGreaterThanEquals": _Base(_compare(_number, lambda r, p: r >= p)),
    "DateEquals": _Base(_compare(_date, lambda r, p: r == p)),
    "DateNotEquals": _Base(_compare(_date, lambda r, p: r == p), negated=True),
    "DateLessThan": _Base(_compare(_date, lambda r, p: r < p)),
    "DateLessThanEquals": _Base(_compare(_date, lambda r, p: r <= p)),
    "DateGreaterThan": _Base(_compare(_date, lambda r, p: r > p)),
    "DateGreaterThanEquals": _Base(_compare(_date, lambda r, p: r >= p)),
    "Bool": _Base(_bool),
    "BinaryEquals": _Base(_STRING_EQ),
    "IpAddress": _Base(_ip),
    "NotIpAddress": _Base(_ip, negated=True),
    "ArnEquals": _Base(_arn, wildcards=True, variables=True),
    "ArnLike": _Base(_arn, wildcards=True, variables=True),
    "ArnNotEquals": _Base(_arn, negated=True, wildcards=True, variables=True),
    "ArnNotLike": _Base(_arn, negated=True, wildcards=True, variables=True),
}


@dataclass(frozen=True)
class Operator:
    """A parsed operator name: the base, the set qualifier and IfExists."""

    name: str  # as written in the policy
    base: str
    qualifier: str | None  # "ForAnyValue", "ForAllValues" or None
    if_exists: bool

    @classmethod
    def parse(cls, name: str) -> Operator | None:
        qualifier = None
        rest = name
        for prefix in ("ForAnyValue:", "ForAllValues:"):
            if rest.lower().startswith(prefix.lower()):
                qualifier, rest = prefix[:-1], rest[len(prefix) :]
                break
        if_exists = False
        if rest.endswith("IfExists"):
            if_exists, rest = True, rest[: -len("IfExists")]
        if rest == "Null":
            return None if if_exists else cls(name, "Null", qualifier, False)
        if rest not in OPERATORS:
            return None
        return cls(name, rest, qualifier, if_exists)


@dataclass(frozen=True)
class Condition:
    operator: Operator
    key: str
    values: tuple[str, ...]


def parse_block(block: Any) -> list[Condition]:
    """The conditions of a ``Condition`` element; ValueError with AWS's message when invalid."""
    if not isinstance(block, dict):
        raise ValueError("Syntax errors in policy.")
    out: list[Condition] = []
    for op_name, entries in block.items():
        operator = Operator.parse(op_name)
        if operator is None:
            raise ValueError(f"Invalid Condition type : {op_name}")
        if not isinstance(entries, dict):
            raise ValueError("Syntax errors in policy.")
        for key, raw in entries.items():
            if not isinstance(key, str) or ":" not in key.strip(":"):
                raise ValueError("Policy has an invalid condition key")
            values = raw if isinstance(raw, list) else [raw]
            if not values:
                raise ValueError("Syntax errors in policy.")
            texts = []
            for v in values:
                if isinstance(v, bool):
                    texts.append("true" if v else "false")
                elif isinstance(v, int | float | str):
                    texts.append(str(v))
                else:
                    raise ValueError("Syntax errors in policy.")
            out.append(Condition(operator, key, tuple(texts)))
    return out


def _request_values(value: ContextValue | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def evaluate_condition(
    condition: Condition,
    lookup: Callable[[str], ContextValue | None],
) -> bool:
    operator = condition.operator
    present = _request_values(lookup(condition.key))
    if operator.base == "Null":
        absent = not present
        return any((v.lower() == "true") == absent for v in condition.values)
    base = OPERATORS[operator.base]
    policy_values: list[str] = []
    for value in condition.values:
        if base.variables and has_variables(value):
            try:
                value = substitute(value, lookup, escape_wildcards=base.wildcards)
            except MissingVariable:
                continue  # an unresolvable variable matches nothing
        policy_values.append(value)

    def matches(request_value: str) -> bool:
        return any(base.test(p, request_value) for p in policy_values)

    if present is None:
        if operator.if_exists or operator.qualifier == "ForAllValues":
            return True
        if operator.qualifier == "ForAnyValue":
            return False
        return base.negated
    if operator.qualifier == "ForAllValues":
        return all(matches(v) != base.negated for v in present)
    if operator.qualifier == "ForAnyValue":
        return any(matches(v) != base.negated for v in present)
    if base.negated:
        return not any(matches(v) for v in present)
    return any(matches(v) for v in present)
