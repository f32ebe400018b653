"""DynamoDB's attribute values: validation, canonical form, size, equality and ordering.

An AttributeValue is the wire dict with exactly one key: ``{"S": "x"}``, ``{"N": "1.5"}``,
``{"B": b"..."}`` (the JSON parser already decoded base64), ``{"SS": [...]}``, ``{"NS": [...]}``,
``{"BS": [...]}``, ``{"BOOL": True}``, ``{"NULL": True}``, ``{"L": [...]}``, ``{"M": {...}}``.

Numbers follow DynamoDB's rules: up to 38 significant digits, magnitude between 1E-130 and
9.99..E+125, arithmetic in a 38-digit decimal context, returned in plain canonical notation.
"""

from __future__ import annotations

import base64
import decimal
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from overcast.services.dynamodb.errors import ValidationException

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

TYPES = ("S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M")
SET_TYPES = ("SS", "NS", "BS")
KEY_TYPES = ("S", "N", "B")
MAX_NESTING = 32

#: The decimal context numbers are computed in: 38 significant digits, DynamoDB's exponent range.
CONTEXT = decimal.Context(prec=38, rounding=decimal.ROUND_HALF_EVEN, Emax=125, Emin=-130)


class AttributeValueError(ValidationException):
    """A bad request value (a number that is not one, an empty or repeated set). PutItem,
    UpdateItem and DeleteItem answer it inside AWS's "1 validation error detected: " envelope
    (``enveloped``); the older layer (Scan, batches, transactions) answers it bare."""

    code = "ValidationException"


def enveloped(error: AttributeValueError) -> ValidationException:
    """The error as the current validation layer words it."""
    return ValidationException(f"1 validation error detected: {error.error_message}")


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_INVALID = "One or more parameter values were invalid: "
_SET_EMPTY = {
    "SS": _INVALID + "An string set  may not be empty",
    "NS": _INVALID + "An number set  may not be empty",
    "BS": _INVALID + "Binary sets should not be empty",
}
OVERFLOW = (
    "Number overflow. Attempting to store a number with magnitude larger than supported range"
)
UNDERFLOW = (
    "Number underflow. Attempting to store a number with magnitude smaller than supported range"
)
TOO_PRECISE = "Attempting to store more than 38 significant digits in a Number"
TOO_DEEP = (
    "Nesting Levels have exceeded supported limits: "
    "Attributes in the item have nested levels beyond supported limit"
)


# --- Numbers ------------------------------------------------------------------------------------


def parse_number(text: Any, *, older: bool = False) -> Decimal:
    """The Decimal of a wire number, with DynamoDB's errors for bad text, precision and range.

    ``older`` picks the wording of DynamoDB's older validation layer (Scan, BatchWriteItem,
    transactions), which leaves the colon out for an empty number."""
    if not isinstance(text, str) or not text:
        if older:
            raise AttributeValueError("The parameter cannot be converted to a numeric value")
        raise AttributeValueError("The parameter cannot be converted to a numeric value: ")
    match = _NUMBER.fullmatch(text)
    # An exponent past a 64-bit integer cannot be read at all (a smaller one is range-checked).
    if match is None or (match.group(2) and abs(int(match.group(2)[1:])) > 2**63 - 1):
        raise AttributeValueError(f"The parameter cannot be converted to a numeric value: {text}")
    return check_number(Decimal(text))


def check_number(value: Decimal) -> Decimal:
    """Reject a Decimal DynamoDB cannot store; answer it with trailing zeros stripped.

    Zero is range-checked by the exponent it is written with (``0e126`` overflows)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if value.adjusted() > 125:
        raise ValidationException(OVERFLOW)
    if value.adjusted() < -130:
        raise ValidationException(UNDERFLOW)
    if not any(digits):
        return Decimal(0)
    kept = len(digits)
    while digits[kept - 1] == 0:
        kept -= 1
    if kept > 38:
        raise ValidationException(TOO_PRECISE)
    return Decimal((sign, digits[:kept], exponent + len(digits) - kept))


def format_number(value: Decimal) -> str:
    """DynamoDB's canonical text of a number: plain notation, no trailing zeros, no "-0"."""
    if value.is_zero():
        return "0"
    text = format(value.normalize(decimal.Context(prec=1000)), "f")
    return text


def arithmetic(op: str, a: Decimal, b: Decimal) -> Decimal:
    """``a + b`` or ``a - b`` as DynamoDB computes them (38 digits, range-checked)."""
    context = decimal.Context(prec=38, rounding=decimal.ROUND_HALF_EVEN, Emax=999, Emin=-999)
    result = context.add(a, b) if op == "+" else context.subtract(a, b)
    if result.is_zero():
        return Decimal(0)
    if result.adjusted() > 125:
        raise ValidationException(OVERFLOW)
    if result.adjusted() < -130:
        raise ValidationException(UNDERFLOW)
    return result.normalize(context)


def number(value: AttributeValue) -> Decimal:
    """The Decimal of an ``{"N": ...}`` value already validated."""
    return Decimal(value["N"])


# --- Validation ---------------------------------------------------------------------------------


def value_type(value: Any) -> str:
    """The single type key of a value; AWS's errors for no type or several types."""
    if not isinstance(value, Mapping):
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    present = [k for k in TYPES if k in value and value[k] is not None]
    if not present:
        raise ValidationException(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        )
    if len(present) > 1:
        raise ValidationException(
            "Supplied AttributeValue has more than one datatypes set, "
            "must contain exactly one of the supported datatypes"
        )
    return present[0]


def _render(kind: str, members: list[Any], older: bool) -> str:
    """A set with a repeated member as DynamoDB prints it. The older layer prints the members as
    sent; the current one quotes them, in byte order up to the first repeat, then the repeat,
    then the rest as sent (and joins binaries without a space)."""
    if older:
        shown = members
    else:
        keyed = [(bytes(m) if kind == "BS" else m.encode("utf-8"), m) for m in members]
        seen: dict[bytes, Any] = {}
        for i, (key, member) in enumerate(keyed):
            if key in seen:
                shown = [seen[k] for k in sorted(seen)] + [m for _, m in keyed[i:]]
                break
            seen[key] = member
        else:
            shown = members
    text = [base64.b64encode(m).decode() if kind == "BS" else str(m) for m in shown]
    if older:
        return "[" + ", ".join(text) + "]"
    return "[" + ("," if kind == "BS" else ", ").join(f'"{t}"' for t in text) + "]"


def validate_value(value: Any, depth: int = 1, *, older: bool = False) -> None:
    """Check one AttributeValue (recursively) as DynamoDB checks request values; ``older``
    picks the wording of DynamoDB's older validation layer (Scan, BatchWriteItem,
    transactions) for bad numbers and repeated set members."""
    kind = value_type(value)
    body = value[kind]
    if kind == "S":
        if not isinstance(body, str):
            raise ValidationException("Invalid attribute value type")
    elif kind == "N":
        parse_number(body, older=older)
    elif kind == "B":
        if not isinstance(body, bytes | bytearray):
            raise ValidationException("Invalid attribute value type")
    elif kind == "BOOL":
        if not isinstance(body, bool):
            raise ValidationException("Invalid attribute value type")
    elif kind == "NULL":
        if body is not True:
            raise ValidationException(
                _INVALID + "Null attribute value types must have the value of true"
            )
    elif kind in SET_TYPES:
        _validate_set(kind, body, older)
    elif kind in ("L", "M"):
        if not isinstance(body, list if kind == "L" else Mapping):
            raise ValidationException("Invalid attribute value type")
        if body and depth >= MAX_NESTING:
            raise ValidationException(TOO_DEEP)
        for member in body if kind == "L" else body.values():
            validate_value(member, depth + 1, older=older)


def _validate_set(kind: str, members: Any, older: bool) -> None:
    if not isinstance(members, list):
        raise ValidationException("Invalid attribute value type")
    if not members:
        raise AttributeValueError(_SET_EMPTY[kind])
    if kind == "NS":
        numbers = [parse_number(m, older=older) for m in members]
        if len(set(numbers)) != len(numbers):
            if older:
                raise AttributeValueError("Input collection contains duplicates")
            raise AttributeValueError(f"{_INVALID}Input collection contains duplicates.")
        return
    wanted = str if kind == "SS" else (bytes, bytearray)
    if not all(isinstance(m, wanted) for m in members):
        raise ValidationException("Invalid attribute value type")
    if len({bytes(m) if kind == "BS" else m for m in members}) != len(members):
        shown = _render(kind, members, older)
        of_type = "of type BS" if kind == "BS" else ""
        raise AttributeValueError(
            f"{_INVALID}Input collection {shown}{of_type} contains duplicates."
        )


def validate_item(item: Any, *, what: str = "item", older: bool = False) -> None:
    """Check every attribute of an item (or a map of values) as PutItem's request validation."""
    if not isinstance(item, Mapping):
        raise ValidationException(f"Invalid {what}")
    for value in item.values():
        validate_value(value, older=older)
    # Names are checked once every value passed (a too-deep value is reported first).
    if any(name == "" for name in item) or any(_has_empty_key(v) for v in item.values()):
        raise ValidationException("Empty attribute name")


def _has_empty_key(value: AttributeValue) -> bool:
    if "M" in value:
        return "" in value["M"] or any(_has_empty_key(v) for v in value["M"].values())
    if "L" in value:
        return any(_has_empty_key(v) for v in value["L"])
    return False


def validate_key(
    key: Mapping[str, Any],
    key_schema: list[Mapping[str, str]],
    attribute_definitions: list[Mapping[str, str]],
) -> None:
    """A Key parameter names exactly the table's (or index's) key attributes with their types."""
    names = [k["AttributeName"] for k in key_schema]
    if not isinstance(key, Mapping) or set(key) != set(names):
        raise ValidationException("The provided key element does not match the schema")
    types = {d["AttributeName"]: d["AttributeType"] for d in attribute_definitions}
    for name in names:
        value = key[name]
        validate_value(value)
        kind = value_type(value)
        if kind != types.get(name):
            raise ValidationException("The provided key element does not match the schema")
        check_key_value(name, value)


def check_key_value(name: str, value: AttributeValue) -> None:
    """Key attributes may not be empty strings or empty binaries (other attributes may)."""
    if "S" in value and value["S"] == "":
        raise ValidationException(
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            f"cannot contain an empty string value. Key: {name}"
        )
    if "B" in value and len(value["B"]) == 0:
        raise ValidationException(
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            f"cannot contain an empty binary value. Key: {name}"
        )


# --- Canonical form -----------------------------------------------------------------------------


def normalize(value: AttributeValue) -> AttributeValue:
    """The value as DynamoDB stores and returns it (canonical numbers, NULL true, bytes)."""
    kind = value_type(value)
    body = value[kind]
    if kind == "N":
        return {"N": format_number(parse_number(body))}
    if kind == "NS":
        return {"NS": [format_number(parse_number(m)) for m in body]}
    if kind == "B":
        return {"B": bytes(body)}
    if kind == "BS":
        return {"BS": [bytes(m) for m in body]}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "L":
        return {"L": [normalize(m) for m in body]}
    if kind == "M":
        return {"M": {k: normalize(v) for k, v in body.items()}}
    if kind == "SS":
        return {"SS": list(body)}
    return {kind: body}


def normalize_item(item: Mapping[str, AttributeValue]) -> Item:
    return {name: normalize(value) for name, value in item.items()}


# --- Size ---------------------------------------------------------------------------------------


def _number_size(text: str) -> int:
    """A number's bytes: one, plus one per base-100 digit from the first significant digit to
    the last (pairs aligned on the decimal point, so ``1.5`` costs 3 and ``15`` costs 2), plus
    one for a negative number. This is what AWS measures; the documented "1 byte per two
    significant digits plus 1" is an approximation of it."""
    sign, digits, exponent = Decimal(text).as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 1
    first = len(digits) - 1 + exponent  # power of ten of the leading digit (no leading zeros)
    last = exponent + next(i for i, d in enumerate(reversed(digits)) if d)
    return 1 + (first // 2 - last // 2 + 1) + (1 if sign else 0)


def value_size(value: AttributeValue) -> int:
    """Bytes a value counts for, by DynamoDB's documented sizing rules."""
    kind = next(iter(value))
    body = value[kind]
    if kind == "S":
        return len(body.encode("utf-8"))
    if kind == "N":
        return _number_size(body)
    if kind == "B":
        return len(body)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(m.encode("utf-8")) for m in body)
    if kind == "NS":
        return sum(_number_size(m) for m in body)
    if kind == "BS":
        return sum(len(m) for m in body)
    if kind == "L":
        return 3 + sum(value_size(m) + 1 for m in body)
    # M: 3 bytes of overhead, and per member its name, its value and one byte.
    return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in body.items())


def item_size(item: Mapping[str, AttributeValue]) -> int:
    """An item's size: each attribute's UTF-8 name length plus its value size."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


# --- Equality and order -------------------------------------------------------------------------


def equals(a: AttributeValue, b: AttributeValue) -> bool:
    """DynamoDB equality: same type, numbers by value, sets unordered, documents deeply."""
    ka, kb = next(iter(a)), next(iter(b))
    if ka != kb:
        return False
    va, vb = a[ka], b[kb]
    if ka == "N":
        return Decimal(va) == Decimal(vb)
    if ka == "B":
        return bytes(va) == bytes(vb)
    if ka == "SS":
        return set(va) == set(vb)
    if ka == "NS":
        return {Decimal(m) for m in va} == {Decimal(m) for m in vb}
    if ka == "BS":
        return {bytes(m) for m in va} == {bytes(m) for m in vb}
    if ka == "L":
        return len(va) == len(vb) and all(equals(x, y) for x, y in zip(va, vb, strict=True))
    if ka == "M":
        return va.keys() == vb.keys() and all(equals(va[k], vb[k]) for k in va)
    return va == vb


def compare(a: AttributeValue, b: AttributeValue) -> int:
    """-1, 0 or 1 ordering two S, N or B values of the same type; TypeError otherwise."""
    ka, kb = next(iter(a)), next(iter(b))
    if ka != kb or ka not in KEY_TYPES:
        raise TypeError(f"cannot order {ka} and {kb}")
    if ka == "N":
        x: Any = Decimal(a["N"])
        y: Any = Decimal(b["N"])
    elif ka == "S":
        x, y = a["S"].encode("utf-8"), b["S"].encode("utf-8")
    else:
        x, y = bytes(a["B"]), bytes(b["B"])
    return (x > y) - (x < y)


def _number_bytes(value: Decimal) -> bytes:
    """Order-preserving bytes of a number: sign, biased exponent, then the digits."""
    if value.is_zero():
        return b"\x02"
    value = value.normalize(decimal.Context(prec=1000))
    sign, digits, _ = value.as_tuple()
    exponent = value.adjusted() + 130  # 0..255 over DynamoDB's range
    if not sign:
        return bytes([3, exponent]) + bytes(digits)
    # Negative numbers sort in reverse: complement exponent and digits, and end with a byte
    # above every digit so that a shorter (larger) number sorts after its extensions.
    return bytes([1, 255 - exponent]) + bytes(9 - d for d in digits) + b"\xff"


def sort_key_bytes(value: AttributeValue) -> bytes:
    """Bytes whose order is DynamoDB's order of S (UTF-8), N (numeric) and B (unsigned) values."""
    kind = next(iter(value))
    if kind == "S":
        return value["S"].encode("utf-8")
    if kind == "N":
        return _number_bytes(Decimal(value["N"]))
    if kind == "B":
        return bytes(value["B"])
    raise TypeError(f"{kind} is not a key type")


def hash_key_bytes(value: AttributeValue) -> bytes:
    """A stable, unique encoding of a key value (type tag and canonical body)."""
    kind = next(iter(value))
    if kind == "S":
        return b"S" + value["S"].encode("utf-8")
    if kind == "N":
        return b"N" + format_number(Decimal(value["N"])).encode()
    if kind == "B":
        return b"B" + bytes(value["B"])
    raise TypeError(f"{kind} is not a key type")
