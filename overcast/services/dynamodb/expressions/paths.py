"""Document paths (``a.b[2].#c``): resolving them in items, and DynamoDB's overlap rules.

A path is a tuple of steps: ``str`` for a map key (or a top-level attribute), ``int`` for a list
index. The first step is always an attribute name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from overcast.services.dynamodb.expressions.common import invalid

Step = str | int
DocPath = tuple[Step, ...]
Value = dict[str, Any]


def render(path: DocPath) -> str:
    """A path as DynamoDB prints it in errors: ``[a, b, [2]]``."""
    return "[" + ", ".join(f"[{s}]" if isinstance(s, int) else s for s in path) + "]"


def resolve(item: Mapping[str, Value], path: DocPath) -> Value | None:
    """The value at ``path`` in ``item``, or None where any step is missing or mistyped."""
    value: Value | None = item.get(path[0]) if isinstance(path[0], str) else None
    for step in path[1:]:
        if value is None:
            return None
        if isinstance(step, int):
            elements = value.get("L")
            if elements is None or step >= len(elements):
                return None
            value = elements[step]
        else:
            members = value.get("M")
            if members is None:
                return None
            value = members.get(step)
    return value


class _Node:
    """A step of the path tree: where each path ends, and the branches below."""

    __slots__ = ("born", "children", "ends", "is_index")

    def __init__(self, born: int, is_index: bool) -> None:
        self.born = born  # the first path through this step
        self.is_index = is_index
        self.children: dict[tuple[bool, Step], _Node] = {}
        self.ends: list[int] = []


def _entries(node: _Node) -> list[tuple[int, _Node | None]]:
    """A node's branches and path ends, newest first (an end before a branch on a tie)."""
    entries: list[tuple[int, _Node | None]] = [(c.born, c) for c in node.children.values()]
    entries += [(i, None) for i in node.ends]
    return sorted(entries, key=lambda entry: (-entry[0], entry[1] is not None))


def _end_in(node: _Node) -> int:
    """The path a branch stands for: follow its newest entry down to an end."""
    while True:
        born, child = _entries(node)[0]
        if child is None:
            return born
        node = child


def check_overlaps(kind: str, paths: Sequence[DocPath]) -> None:
    """Reject two paths where one contains the other (or both are the same), or that use one
    attribute both as a list and as a map.

    DynamoDB puts the paths in a tree and reports the first clash it meets walking it, newest
    branch first, naming the earlier path first; this walks the tree the same way.
    """
    root = _Node(-1, False)
    for i, path in enumerate(paths):
        node = root
        for step in path:
            key = (isinstance(step, int), step)
            if key not in node.children:
                node.children[key] = _Node(i, key[0])
            node = node.children[key]
        node.ends.append(i)
    _visit(kind, paths, root)


def _visit(kind: str, paths: Sequence[DocPath], node: _Node) -> None:
    entries = _entries(node)
    for n, (i, child) in enumerate(entries):
        if child is not None:
            _visit(kind, paths, child)
        for m, (j, other) in enumerate(entries):
            if m == n:
                continue
            if child is None or other is None:
                first = i if child is None else _end_in(child)
                second = j if other is None else _end_in(other)
                _clash(kind, "overlap", paths, first, second)
            elif other.is_index != child.is_index:
                _clash(kind, "conflict", paths, _end_in(other), _end_in(child))


def _clash(kind: str, what: str, paths: Sequence[DocPath], x: int, y: int) -> None:
    one, two = paths[min(x, y)], paths[max(x, y)]
    raise invalid(
        kind,
        f"Two document paths {what} with each other; must remove or rewrite one of these "
        f"paths; path one: {render(one)}, path two: {render(two)}",
    )
