"""Condition nodes (ConditionExpression, FilterExpression) and how they evaluate on an item.

Evaluation follows DynamoDB: a comparison with a missing operand is false (except ``<>``, which
is true), ordering comparisons hold only between two S, two N or two B values, and functions on
a missing attribute are false (``attribute_not_exists`` aside).
"""

from __future__ import annotations

from dataclasses import dataclass

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.expressions.operands import Item, Operand, PathOperand
from overcast.services.dynamodb.expressions.paths import Value


class Condition:
    def evaluate(self, item: Item) -> bool:
        raise NotImplementedError


def _order(a: Value | None, b: Value | None) -> int | None:
    """compare(a, b), or None where the two cannot be ordered."""
    if a is None or b is None:
        return None
    try:
        return av.compare(a, b)
    except TypeError:
        return None


def compare(op: str, a: Value | None, b: Value | None) -> bool:
    if op == "=":
        return a is not None and b is not None and av.equals(a, b)
    if op == "<>":
        return not (a is not None and b is not None and av.equals(a, b))
    order = _order(a, b)
    if order is None:
        return False
    return {"<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[op]


@dataclass(frozen=True)
class Comparison(Condition):
    op: str
    left: Operand
    right: Operand

    def evaluate(self, item: Item) -> bool:
        return compare(self.op, self.left.evaluate(item), self.right.evaluate(item))


@dataclass(frozen=True)
class Between(Condition):
    operand: Operand
    low: Operand
    high: Operand

    def evaluate(self, item: Item) -> bool:
        value = self.operand.evaluate(item)
        low, high = _order(value, self.low.evaluate(item)), _order(value, self.high.evaluate(item))
        return low is not None and high is not None and low >= 0 and high <= 0


@dataclass(frozen=True)
class In(Condition):
    operand: Operand
    choices: tuple[Operand, ...]

    def evaluate(self, item: Item) -> bool:
        value = self.operand.evaluate(item)
        return value is not None and any(
            compare("=", value, c.evaluate(item)) for c in self.choices
        )


def begins_with(value: Value | None, prefix: Value | None) -> bool:
    if value is None or prefix is None:
        return False
    if "S" in value and "S" in prefix:
        return value["S"].startswith(prefix["S"])
    if "B" in value and "B" in prefix:
        return bytes(value["B"]).startswith(bytes(prefix["B"]))
    return False


def contains(value: Value | None, member: Value | None) -> bool:
    """String/binary containment, set membership or list element equality."""
    if value is None or member is None:
        return False
    kind = next(iter(value))
    if kind == "S":
        return "S" in member and member["S"] in value["S"]
    if kind == "B":
        return "B" in member and bytes(member["B"]) in bytes(value["B"])
    element = {"SS": "S", "NS": "N", "BS": "B"}.get(kind)
    if element is not None:
        return element in member and any(av.equals({element: m}, member) for m in value[kind])
    if kind == "L":
        return any(av.equals(m, member) for m in value["L"])
    return False


@dataclass(frozen=True)
class Function(Condition):
    """attribute_exists, attribute_not_exists, attribute_type, begins_with and contains."""

    name: str
    args: tuple[Operand, ...]

    def evaluate(self, item: Item) -> bool:
        first = self.args[0].evaluate(item)
        if self.name == "attribute_exists":
            return first is not None
        if self.name == "attribute_not_exists":
            return first is None
        second = self.args[1].evaluate(item)
        if self.name == "attribute_type":
            return first is not None and second is not None and second.get("S") in first
        if self.name == "begins_with":
            return begins_with(first, second)
        return contains(first, second)


@dataclass(frozen=True)
class And(Condition):
    left: Condition
    right: Condition

    def evaluate(self, item: Item) -> bool:
        return self.left.evaluate(item) and self.right.evaluate(item)


@dataclass(frozen=True)
class Or(Condition):
    left: Condition
    right: Condition

    def evaluate(self, item: Item) -> bool:
        return self.left.evaluate(item) or self.right.evaluate(item)


@dataclass(frozen=True)
class Not(Condition):
    operand: Condition

    def evaluate(self, item: Item) -> bool:
        return not self.operand.evaluate(item)


@dataclass(frozen=True)
class Parenthesized(Condition):
    inner: Condition

    def evaluate(self, item: Item) -> bool:
        return self.inner.evaluate(item)


@dataclass(frozen=True)
class Always(Condition):
    """A condition that always holds: what an absent condition means."""

    def evaluate(self, item: Item) -> bool:
        return True


__all__ = [
    "Always",
    "And",
    "Between",
    "Comparison",
    "Condition",
    "Function",
    "In",
    "Not",
    "Or",
    "Parenthesized",
    "PathOperand",
]
