"""Values of S3 Select: None is SQL NULL, ``MISSING`` an absent field; numbers are int, float
or Decimal; timestamps are aware datetimes. Conversions (CAST) and comparisons live here."""

from __future__ import annotations

import datetime
import decimal
import re
from typing import Any

from overcast.services.s3.select.errors import CastFailed, InvalidDataType


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_INT = re.compile(r"^\s*[-+]?\d+\s*$")


def is_absent(value: Any) -> bool:
    return value is None or value is MISSING


def as_number(value: Any) -> int | float | decimal.Decimal | None:
    """A number from a number or a numeric string (CSV fields are strings); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | decimal.Decimal):
        return value
    if isinstance(value, str) and _NUMBER.match(value):
        return int(value) if _INT.match(value) else float(value)
    return None


def parse_timestamp(text: str) -> datetime.datetime:
    """An ISO 8601 timestamp as S3 Select reads them (date, minute, second or fraction)."""
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    if raw.endswith("T"):
        raw = raw[:-1]
    try:
        moment = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise CastFailed() from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def format_timestamp(moment: datetime.datetime) -> str:
    text = moment.isoformat()
    return text.replace("+00:00", "Z")


def cast(value: Any, type_name: str) -> Any:
    if is_absent(value):
        return value
    try:
        if type_name == "STRING":
            return to_string(value)
        if type_name == "INT":
            if isinstance(value, bool):
                return int(value)
            if isinstance(value, str):
                number = as_number(value)
                if number is None:
                    raise CastFailed()
                return int(number)
            return int(value)
        if type_name == "FLOAT":
            if isinstance(value, str) and as_number(value) is None:
                raise CastFailed()
            return float(value)
        if type_name == "DECIMAL":
            if isinstance(value, str) and as_number(value) is None:
                raise CastFailed()
            return decimal.Decimal(str(value).strip())
        if type_name == "BOOL":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            if isinstance(value, int | float | decimal.Decimal):
                return value != 0
            raise CastFailed()
        if type_name == "TIMESTAMP":
            if isinstance(value, datetime.datetime):
                return value
            if isinstance(value, str):
                return parse_timestamp(value)
            raise CastFailed()
    except (ValueError, TypeError, decimal.InvalidOperation, OverflowError):
        raise CastFailed() from None
    raise InvalidDataType()


def to_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return format_timestamp(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(value)
    return str(value)


def compare(left: Any, right: Any) -> int | None:
    """-1, 0 or 1; None when either side is absent or the types do not compare."""
    if is_absent(left) or is_absent(right):
        return None
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(left, bool) and isinstance(right, bool):
            return (left > right) - (left < right)
        if isinstance(left, str) and isinstance(right, bool):
            left = (
                left.strip().lower() == "true"
                if left.strip().lower() in ("true", "false")
                else left
            )
        elif isinstance(right, str) and isinstance(left, bool):
            right = (
                right.strip().lower() == "true"
                if right.strip().lower() in ("true", "false")
                else right
            )
        if not (isinstance(left, bool) and isinstance(right, bool)):
            return None
        return (left > right) - (left < right)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    if isinstance(left, datetime.datetime) or isinstance(right, datetime.datetime):
        try:
            a = left if isinstance(left, datetime.datetime) else parse_timestamp(str(left))
            b = right if isinstance(right, datetime.datetime) else parse_timestamp(str(right))
        except CastFailed:
            return None
        return (a > b) - (a < b)
    x: Any = as_number(left)
    y: Any = as_number(right)
    if x is None or y is None:
        return None
    if isinstance(x, decimal.Decimal) != isinstance(y, decimal.Decimal):
        x, y = decimal.Decimal(str(x)), decimal.Decimal(str(y))
    return int(x > y) - int(x < y)
