"""EC2's ``Filters`` parameter: ``[{"Name": ..., "Values": [...]}]`` with ``*``/``?`` wildcards.

Every filter must match (AND); within a filter any value may match (OR), as EC2 documents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from overcast.errors import ServiceError

T = TypeVar("T")


class InvalidParameterValue(ServiceError):
    status = 400


def apply_filters(
    items: Iterable[T],
    filters: list[dict[str, Any]] | None,
    fields: Mapping[str, Callable[[T], str | None]],
) -> list[T]:
    """Keep the items that every filter matches; an unknown filter name is an error."""
    result = list(items)
    for f in filters or ():
        name = f.get("Name", "")
        getter = fields.get(name)
        if getter is None:
            raise InvalidParameterValue(f"The filter '{name}' is invalid")
        values = f.get("Values") or []
        result = [
            item
            for item in result
            if (value := getter(item)) is not None and any(fnmatchcase(value, v) for v in values)
        ]
    return result
