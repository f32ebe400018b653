"""PartiQL parameters checked as DynamoDB reads them, before the statement runs.

A number parameter is read the way Java's BigDecimal reads a string: an exponent or scale that
does not fit a 32-bit integer cannot be converted at all (the text is echoed), and the
magnitude check works on precision minus scale in 32-bit arithmetic, which wraps
(``1e2147483647`` is an underflow). Values nested deeper than DynamoDB allows are refused. The
first problem in document order is the one reported.
"""

from __future__ import annotations

import re
from typing import Any

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.values import (
    MAX_NESTING,
    OVERFLOW,
    TOO_DEEP,
    TOO_PRECISE,
    UNDERFLOW,
)

_NUMBER = re.compile(r"[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_INT32 = 2**31
UNCONVERTIBLE = "The parameter cannot be converted to a numeric value"


def _wrap32(n: int) -> int:
    return (n + _INT32) % (2 * _INT32) - _INT32


def check_number_parameter(text: str) -> None:
    if text == "":
        raise ValidationException(UNCONVERTIBLE)
    m = _NUMBER.fullmatch(text)
    if m is None or not (m.group(1) or m.group(2)):
        raise ValidationException(f"{UNCONVERTIBLE}: {text}")
    whole, fraction, exponent = m.group(1), m.group(2) or "", m.group(3)
    exp = int(exponent) if exponent else 0
    scale = len(fraction) - exp
    if not -_INT32 <= exp < _INT32 or not -_INT32 <= scale < _INT32:
        raise ValidationException(f"{UNCONVERTIBLE}: {text}")
    digits = (whole + fraction).lstrip("0") or "0"  # zero is range-checked too (0e126)
    adjusted = _wrap32(len(digits) - scale) - 1
    if adjusted > 125:
        raise ValidationException(OVERFLOW)
    if adjusted < -130:
        raise ValidationException(UNDERFLOW)
    if len(digits.rstrip("0")) > 38:
        raise ValidationException(TOO_PRECISE)


def check_parameter(value: Any, depth: int = 1) -> None:
    if not isinstance(value, dict) or len(value) != 1:
        return  # the item operations answer malformed values
    ((kind, v),) = value.items()
    if kind in ("M", "L"):
        if depth > MAX_NESTING:
            raise ValidationException(TOO_DEEP)
        members = list(v.values()) if isinstance(v, dict) else v if isinstance(v, list) else []
        for member in members:
            check_parameter(member, depth + 1)
    elif kind == "N" and isinstance(v, str):
        check_number_parameter(v)
    elif kind == "NS" and isinstance(v, list):
        for member in v:
            if isinstance(member, str):
                check_number_parameter(member)


def check_parameters(params: list[Any]) -> None:
    for value in params:
        check_parameter(value)
