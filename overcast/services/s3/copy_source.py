"""The ``x-amz-copy-source*`` headers of CopyObject and UploadPartCopy.

``parse_copy_source`` reads the source (URL-encoded ``bucket/key`` or ``/bucket/key``, with an
optional ``?versionId=``), ``parse_copy_range`` the part range of UploadPartCopy, and
``check_copy_conditions`` the ``x-amz-copy-source-if-*`` preconditions. Unlike GET's, every
failing copy precondition answers 412: a copy has no 304.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote

from overcast.services.s3.conditions import _seconds, etag_matches
from overcast.services.s3.errors import InvalidArgument, InvalidRequest, PreconditionFailed
from overcast.services.s3.models import ObjectVersion

MAX_COPY_SOURCE = 5 * 1024**3  # larger sources must be copied part by part (UploadPartCopy)

_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """``(bucket, key, version_id)`` from an ``x-amz-copy-source`` header value.

    Raises InvalidArgument for a malformed value; access-point and Outposts ARNs are not
    supported here and are refused the same way.
    """
    text = value.strip()
    raw, _, query = text.partition("?")
    path = unquote(raw)
    if path.startswith("/"):
        path = path[1:]
    if path.startswith("arn:"):
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=value,
        )
    bucket, slash, key = path.partition("/")
    if not bucket or not slash or not key:
        raise InvalidArgument(
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=value,
        )
    version_id: str | None = None
    if query:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if "versionId" in params:
            version_id = params["versionId"]
            if not version_id:
                raise InvalidArgument(
                    "Version id cannot be the empty string",
                    ArgumentName="versionId",
                    ArgumentValue="",
                )
    return bucket, key, version_id


def parse_copy_range(value: str, size: int) -> tuple[int, int]:
    """``(start, end)`` inclusive from ``x-amz-copy-source-range: bytes=first-last``.

    S3 requires both offsets; a malformed range or one outside the source is InvalidArgument.
    """
    match = _RANGE.match(value.strip())
    if match is None:
        raise InvalidArgument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
            "and last are the zero-based offsets of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
        )
    start, end = int(match.group(1)), int(match.group(2))
    if start > end or end >= size:
        raise InvalidArgument(
            f"Range specified is not valid for source object of size: {size}",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=value,
        )
    return start, end


def check_copy_conditions(request: dict[str, Any], source: ObjectVersion) -> None:
    """Raise 412 PreconditionFailed when an ``x-amz-copy-source-if-*`` condition fails.

    As S3 documents: if-match true + if-unmodified-since false copies; if-none-match false +
    if-modified-since true fails.
    """
    modified = int(source.last_modified)
    if_match = request.get("CopySourceIfMatch")
    if if_match is not None:
        if not etag_matches(if_match, source.etag):
            raise PreconditionFailed(Condition="x-amz-copy-source-If-Match")
    else:
        since = _seconds(request.get("CopySourceIfUnmodifiedSince"))
        if since is not None and modified > since:
            raise PreconditionFailed(Condition="x-amz-copy-source-If-Unmodified-Since")
    if_none_match = request.get("CopySourceIfNoneMatch")
    if if_none_match is not None:
        if etag_matches(if_none_match, source.etag):
            raise PreconditionFailed(Condition="x-amz-copy-source-If-None-Match")
    else:
        since = _seconds(request.get("CopySourceIfModifiedSince"))
        if since is not None and modified <= since:
            raise PreconditionFailed(Condition="x-amz-copy-source-If-Modified-Since")


def check_copy_size(source: ObjectVersion) -> None:
    """CopyObject refuses sources over 5 GiB (UploadPartCopy copies them by ranges)."""
    if source.size > MAX_COPY_SOURCE:
        raise InvalidRequest(
            "The specified copy source is larger than the maximum allowable size for a copy "
            f"source: {MAX_COPY_SOURCE}"
        )
