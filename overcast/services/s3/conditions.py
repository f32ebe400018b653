"""Conditional requests: If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since.

Reads (GET/HEAD) follow RFC 9110's order, which is what S3 does: a failing ``If-Match`` answers
412, else a failing ``If-Unmodified-Since`` (only looked at without ``If-Match``) answers 412;
then a failing ``If-None-Match`` answers 304, else a failing ``If-Modified-Since`` (only looked
at without ``If-None-Match``) answers 304. So ``If-Match`` true + ``If-Unmodified-Since`` false
is a 200, and ``If-None-Match`` false + ``If-Modified-Since`` true is a 304, as S3 documents.

Writes (PutObject, CopyObject, CompleteMultipartUpload) take ``If-None-Match: *`` (fail when the
key has a current object) and ``If-Match: <etag>`` (fail when it has none: 404 NoSuchKey, or a
different ETag: 412).

Dates have second granularity: an object's ``last_modified`` (a float) is compared truncated to
the second, as it appears in its Last-Modified header. Unparseable dates are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from overcast.errors import ServiceError
from overcast.protocol.timestamps import to_datetime
from overcast.services.s3.errors import (
    NoSuchKey,
    NotImplemented_,
    NotModified,
    PreconditionFailed,
)
from overcast.services.s3.models import ObjectVersion


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match/If-None-Match list (``"a", "b"``, ``*``) names ``etag``.

    ``etag`` is the stored, quoted ETag; list items may come quoted, unquoted or weak (``W/``).
    """
    bare = etag.strip('"')
    for item in header.split(","):
        item = item.strip()
        if item == "*":
            return True
        if item.startswith("W/"):
            item = item[2:]
        if item.strip('"') == bare:
            return True
    return False


def _seconds(value: Any) -> int | None:
    """A header date as whole epoch seconds, or None when absent or unparseable."""
    if value is None or value == "":
        return None
    try:
        dt: datetime = to_datetime(value)
    except (ValueError, OverflowError, TypeError):
        return None
    return int(dt.timestamp())


def check_read_conditions(
    obj: ObjectVersion,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: Any = None,
    if_unmodified_since: Any = None,
) -> None:
    """Raise 412 PreconditionFailed or 304 NotModified for a GET/HEAD of ``obj``.

    Dates may be ``datetime``s (as the parser gives them), epoch seconds or HTTP-date text.
    The 304 carries the object's ETag and Last-Modified headers, as S3 sends them.
    """
    modified = int(obj.last_modified)
    if if_match is not None:
        if not etag_matches(if_match, obj.etag):
            raise PreconditionFailed(Condition="If-Match")
    else:
        since = _seconds(if_unmodified_since)
        if since is not None and modified > since:
            raise PreconditionFailed(Condition="If-Unmodified-Since")
    if if_none_match is not None:
        if etag_matches(if_none_match, obj.etag):
            raise _not_modified(obj)
    else:
        since = _seconds(if_modified_since)
        if since is not None and modified <= since:
            raise _not_modified(obj)


def _not_modified(obj: ObjectVersion) -> ServiceError:
    from overcast.protocol.timestamps import RFC822, format_timestamp

    error = NotModified()
    error.headers["ETag"] = obj.etag
    error.headers["Last-Modified"] = str(format_timestamp(int(obj.last_modified), RFC822))
    return error


def read_conditions(request: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``check_read_conditions`` from a GetObject/HeadObject input."""
    return {
        "if_match": request.get("IfMatch"),
        "if_none_match": request.get("IfNoneMatch"),
        "if_modified_since": request.get("IfModifiedSince"),
        "if_unmodified_since": request.get("IfUnmodifiedSince"),
    }


def check_write_conditions(
    current: ObjectVersion | None,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    key: str = "",
) -> None:
    """Conditional writes (PutObject, CopyObject, CompleteMultipartUpload) against the key's
    current version ``current`` (None or a delete marker: no object).

    ``If-None-Match`` accepts only ``*`` (anything else is 501 NotImplemented, as S3 answers);
    it fails with 412 when an object exists. ``If-Match`` fails with 404 NoSuchKey when there
    is no object and 412 when the ETag differs. Call it inside the write transaction.
    """
    exists = current is not None and not current.delete_marker
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise NotImplemented_(Header="If-None-Match")
        if exists:
            raise PreconditionFailed(Condition="If-None-Match")
    if if_match is not None:
        if not exists:
            raise NoSuchKey(Key=key) if key else NoSuchKey()
        assert current is not None
        if not etag_matches(if_match, current.etag):
            raise PreconditionFailed(Condition="If-Match")
