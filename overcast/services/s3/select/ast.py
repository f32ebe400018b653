"""The syntax tree of an S3 Select query: plain frozen dataclasses (``sql.py`` builds them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Node:
    """Base of every expression node."""


@dataclass(frozen=True, slots=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a path: a field name (``quoted`` names are case-sensitive) or an index."""

    name: str | None = None
    index: int | None = None
    quoted: bool = False
    wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Path(Node):
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-", "NOT"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # arithmetic, comparison, "AND", "OR", "||"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Like(Node):
    value: Node
    pattern: Node
    escape: Node | None
    negated: bool


@dataclass(frozen=True, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class In(Node):
    value: Node
    options: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Is(Node):
    value: Node
    what: str  # "NULL" or "MISSING"
    negated: bool


@dataclass(frozen=True, slots=True)
class Cast(Node):
    value: Node
    type_name: str


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str  # upper case
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Aggregate(Node):
    name: str  # COUNT, SUM, AVG, MIN, MAX
    arg: Node | None  # None: COUNT(*)
    slot: int  # index of this aggregate's accumulator


@dataclass(frozen=True, slots=True)
class Case(Node):
    subject: Node | None
    branches: tuple[tuple[Node, Node], ...]
    default: Node | None


@dataclass(frozen=True, slots=True)
class Item:
    """One element of the select list, with the name it takes in JSON output."""

    expr: Node
    alias: str | None


@dataclass(frozen=True, slots=True)
class Query:
    items: tuple[Item, ...] | None  # None: SELECT *
    source_path: tuple[Step, ...]  # after S3Object: [*], .name...
    alias: str | None
    where: Node | None
    limit: int | None
    aggregates: int = 0  # how many Aggregate nodes the select list holds
    star_alias: bool = field(default=False)  # SELECT s.* / SELECT alias.*
