"""ProjectionExpression: a comma-separated list of document paths, and how it cuts an item.

Projecting ``a.b`` keeps ``{"a": {"M": {"b": ...}}}``; projecting ``l[3]`` and ``l[1]`` keeps a
list with the two elements in index order. Paths that are missing in the item are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from overcast.services.dynamodb.expressions.common import Usage
from overcast.services.dynamodb.expressions.parser import Parser
from overcast.services.dynamodb.expressions.paths import DocPath, Value, check_overlaps, resolve


class Projection:
    def __init__(self, paths: list[DocPath]) -> None:
        self.paths = paths

    @property
    def attributes(self) -> set[str]:
        """The top-level attributes the projection reads."""
        return {str(path[0]) for path in self.paths}

    def apply(self, item: Mapping[str, Value]) -> dict[str, Value]:
        tree: dict[Any, Any] = {}
        for path in self.paths:
            value = resolve(item, path)
            if value is None:
                continue
            node = tree
            for step in path[:-1]:
                node = node.setdefault(step, {})
            node[path[-1]] = _Leaf(value)
        return {str(name): _build(node) for name, node in tree.items()}


class _Leaf:
    __slots__ = ("value",)

    def __init__(self, value: Value) -> None:
        self.value = value


def _build(node: Any) -> Value:
    if isinstance(node, _Leaf):
        return node.value
    if all(isinstance(step, int) for step in node):
        return {"L": [_build(node[i]) for i in sorted(node)]}
    return {"M": {str(step): _build(child) for step, child in node.items()}}


class ProjectionParser(Parser):
    def parse_projection(self) -> Projection:
        paths = [self.parse_path()]
        while self.stream.accept_op(","):
            paths.append(self.parse_path())
        self.finish()
        check_overlaps(self.kind, paths)
        return Projection(paths)


def parse_projection(text: Any, names: Mapping[str, str] | None, usage: Usage) -> Projection:
    return ProjectionParser(text, "ProjectionExpression", names, None, usage).parse_projection()
