"""The ``Range`` header of GetObject/HeadObject, and ``partNumber`` reads.

S3 honours one byte range (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``); a header it cannot parse,
or one asking for several ranges, is ignored and the whole object is sent (200). A range starting
at or past the end is 416 InvalidRange; an end past the end is clamped. On an empty object only
a suffix range is satisfiable (it selects nothing, so the answer is a plain 200).
"""

from __future__ import annotations

import re
from typing import Any

from overcast.services.s3.errors import InvalidArgument, InvalidPartNumber, InvalidRange
from overcast.services.s3.models import ObjectVersion

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for ``header`` on an object of ``size`` bytes; None means the
    whole object (no usable range). Raises InvalidRange (416) when unsatisfiable."""
    match = _RANGE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last n bytes
        n = int(last)
        if size == 0:
            return None
        if n == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # syntactically invalid: ignored, as RFC 9110 says
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, min(end, size - 1)


def _unsatisfiable(header: str, size: int) -> InvalidRange:
    error = InvalidRange(RangeRequested=header, ActualObjectSize=size)
    error.headers["Content-Range"] = f"bytes */{size}"
    return error


def part_range(obj: ObjectVersion, part_number: int) -> tuple[int, int, dict[str, Any] | None]:
    """``(start, end, part)`` of part ``part_number`` of ``obj`` (end inclusive; ``part`` is the
    stored part record, None for an object not made by multipart upload)."""
    parts: list[dict[str, Any]] = obj.meta.get("parts") or []
    if part_number < 1 or part_number > 10000:
        raise InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=str(part_number),
        )
    if not parts:
        # A single-part object is its own part 1.
        if part_number != 1:
            raise InvalidPartNumber(PartNumberRequested=part_number, ActualPartCount=1)
        return 0, obj.size - 1, None
    if part_number > len(parts):
        raise InvalidPartNumber(PartNumberRequested=part_number, ActualPartCount=len(parts))
    start = sum(int(p["size"]) for p in parts[: part_number - 1])
    part = parts[part_number - 1]
    return start, start + int(part["size"]) - 1, part
