"""Operands: document paths, ``:values`` and functions that compute a value from an item.

``evaluate(item)`` answers the operand's AttributeValue, or None when it has none (a missing
attribute, ``size`` of a type without a size). The update functions (``if_not_exists``,
``list_append`` and ``+``/``-``) raise DynamoDB's run-time errors instead of answering None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions.paths import DocPath, Value, resolve

Item = Mapping[str, Value]

WRONG_TYPE = "An operand in the update expression has an incorrect data type"
MISSING = "The provided expression refers to an attribute that does not exist in the item"


class Operand:
    def evaluate(self, item: Item) -> Value | None:
        raise NotImplementedError


@dataclass(frozen=True)
class PathOperand(Operand):
    path: DocPath

    def evaluate(self, item: Item) -> Value | None:
        return resolve(item, self.path)


@dataclass(frozen=True)
class ValueOperand(Operand):
    name: str  # the ``:placeholder``
    value: Value

    def evaluate(self, item: Item) -> Value | None:
        return self.value


@dataclass(frozen=True)
class SizeOperand(Operand):
    """``size(path)``: string length (UTF-16 units), binary length, or element count."""

    operand: Operand

    def evaluate(self, item: Item) -> Value | None:
        value = self.operand.evaluate(item)
        if value is None:
            return None
        kind = next(iter(value))
        body = value[kind]
        if kind == "S":
            # DynamoDB (a Java service) counts a string's UTF-16 code units.
            return {"N": str(len(body.encode("utf-16-le")) // 2)}
        if kind in ("B", "SS", "NS", "BS", "L", "M"):
            return {"N": str(len(body))}
        return None


def _required(operand: Operand, item: Item) -> Value:
    value = operand.evaluate(item)
    if value is None:
        raise ValidationException(MISSING)
    return value


@dataclass(frozen=True)
class IfNotExists(Operand):
    path: PathOperand
    default: Operand

    def evaluate(self, item: Item) -> Value | None:
        value = self.path.evaluate(item)
        return value if value is not None else _required(self.default, item)


@dataclass(frozen=True)
class ListAppend(Operand):
    first: Operand
    second: Operand

    def evaluate(self, item: Item) -> Value | None:
        a, b = _required(self.first, item), _required(self.second, item)
        if "L" not in a or "L" not in b:
            raise ValidationException(WRONG_TYPE)
        return {"L": [*a["L"], *b["L"]]}


@dataclass(frozen=True)
class Arithmetic(Operand):
    op: str  # "+" or "-"
    left: Operand
    right: Operand

    def evaluate(self, item: Item) -> Value | None:
        a, b = _required(self.left, item), _required(self.right, item)
        if "N" not in a or "N" not in b:
            raise ValidationException(WRONG_TYPE)
        result = av.arithmetic(self.op, av.number(a), av.number(b))
        return {"N": av.format_number(result)}
