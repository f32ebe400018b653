"""ImportTable's ION input: DynamoDB's Ion export format read back into items.

Each top-level value is ``{Item:{...}}``; Ion types map to attribute types as DynamoDB's export
writes them: strings and symbols S, ints and decimals (and floats) N, blobs B, bools BOOL, nulls
NULL, lists L, structs M, and lists annotated ``$dynamodb_SS``/``$dynamodb_NS``/
``$dynamodb_BS`` string, number and binary sets. Parsed with the ``amazon.ion`` library.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from amazon.ion import simpleion  # type: ignore[import-untyped]
from amazon.ion.core import IonType  # type: ignore[import-untyped]

from overcast.services.dynamodb.export_formats import BadLine, Item

_SETS = {"$dynamodb_SS": "SS", "$dynamodb_NS": "NS", "$dynamodb_BS": "BS"}


def ion_items(text: str) -> list[Item | BadLine]:
    """The items of an ION import file (a BadLine per value that is not one; one BadLine for a
    file Ion cannot parse)."""
    try:
        values = simpleion.loads(text, single_value=False)
    except Exception as exc:  # the library raises plain Exceptions on malformed text
        return [BadLine(f"not Ion text: {exc}")]
    out: list[Item | BadLine] = []
    for value in values:
        try:
            if getattr(value, "ion_type", None) != IonType.STRUCT or "Item" not in value:
                raise BadLine("a value must be {Item:{...}}")
            item = value["Item"]
            if getattr(item, "ion_type", None) != IonType.STRUCT:
                raise BadLine("Item must be a struct")
            out.append({str(k): _attribute(v) for k, v in item.items()})
        except BadLine as exc:
            out.append(exc)
    return out


def _annotation(value: Any) -> str | None:
    for token in getattr(value, "ion_annotations", ()):
        text = getattr(token, "text", token)
        if text in _SETS:
            return _SETS[text]
    return None


def _number(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise BadLine("a number must be finite")
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    return str(int(value))


def _attribute(value: Any) -> dict[str, Any]:
    kind = getattr(value, "ion_type", None)
    if kind is None or kind == IonType.NULL or getattr(value, "is_null", False):
        return {"NULL": True}
    if kind == IonType.BOOL:
        return {"BOOL": bool(value)}
    if kind in (IonType.INT, IonType.DECIMAL, IonType.FLOAT):
        return {"N": _number(value)}
    if kind in (IonType.STRING, IonType.SYMBOL):
        return {"S": str(getattr(value, "text", value))}
    if kind in (IonType.BLOB, IonType.CLOB):
        return {"B": bytes(value)}
    if kind in (IonType.LIST, IonType.SEXP):
        set_kind = _annotation(value)
        if set_kind is None:
            return {"L": [_attribute(v) for v in value]}
        members = [_attribute(v) for v in value]
        member = set_kind[0]
        if any(member not in m for m in members):
            raise BadLine(f"a {set_kind} member of another type")
        return {set_kind: [m[member] for m in members]}
    if kind == IonType.STRUCT:
        return {"M": {str(k): _attribute(v) for k, v in value.items()}}
    raise BadLine(f"Ion type {kind.name} has no DynamoDB attribute type")
