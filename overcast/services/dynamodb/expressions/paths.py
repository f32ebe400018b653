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


def check_overlaps(kind: str, paths: Sequence[DocPath]) -> None:
    """Reject two paths where one contains the other, or that disagree on a container's type."""
    for i, first in enumerate(paths):
        for second in paths[i + 1 :]:
            for a, b in zip(first, second, strict=False):
                if a == b and type(a) is type(b):
                    continue
                if isinstance(a, int) != isinstance(b, int):
                    raise invalid(
                        kind,
                        "Two document paths conflict with each other; must remove or rewrite "
                        f"one of these paths; path one: {render(first)}, path two: "
                        f"{render(second)}",
                    )
                break
            else:
                raise invalid(
                    kind,
                    "Two document paths overlap with each other; must remove or rewrite one of "
                    f"these paths; path one: {render(first)}, path two: {render(second)}",
                )
