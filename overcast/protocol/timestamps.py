"""Timestamp formats of the AWS protocols: iso8601, rfc822 (HTTP date) and unixTimestamp.

Parsers turn any of them into timezone-aware UTC ``datetime``; serializers accept a ``datetime``
(naive means UTC) or epoch seconds and write the format the shape or protocol asks for.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

ISO8601 = "iso8601"
RFC822 = "rfc822"
UNIX = "unixTimestamp"


def to_datetime(value: datetime | float | int | str) -> datetime:
    """Any accepted timestamp value as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return parse_timestamp(value)


def parse_timestamp(text: str) -> datetime:
    """Parse iso8601, rfc822 or epoch-seconds text; raises ValueError if none fits."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    if text[:1].isdigit():
        iso = text.replace("Z", "+00:00").replace("z", "+00:00")
        dt = datetime.fromisoformat(iso)
        return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, IndexError) as exc:
        raise ValueError(f"not a timestamp: {text!r}") from exc
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_timestamp(value: datetime | float | int | str, fmt: str) -> str | float | int:
    """Render in ``fmt``; unixTimestamp gives a number (int when whole), the others text."""
    if fmt == RFC822 and isinstance(value, int | float):
        return _http_date(math.floor(value))  # HTTP dates have whole seconds
    dt = to_datetime(value)
    if fmt == UNIX:
        ts = dt.timestamp()
        return int(ts) if ts == int(ts) else round(ts, 3)
    if fmt == RFC822:
        return format_datetime(dt, usegmt=True)
    # AWS writes milliseconds only when there are any.
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def _http_date(seconds: int) -> str:
    """An epoch second as an HTTP date, remembered: the same few (hot objects' Last-Modified,
    the current second's Date) are written over and over."""
    return format_datetime(datetime.fromtimestamp(seconds, UTC), usegmt=True)
