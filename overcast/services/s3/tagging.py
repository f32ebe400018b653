"""Object tag sets: validation (S3's limits and messages) and the ``x-amz-tagging`` header.

Objects take at most 10 tags; keys are 1-128 and values 0-256 Unicode characters of letters,
digits, spaces and ``+ - = . _ : / @``; keys are unique and may not start with ``aws:``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from overcast.services.s3.errors import BadRequest, InvalidArgument, InvalidTag, S3Error

MAX_OBJECT_TAGS = 10
MAX_KEY = 128
MAX_VALUE = 256
_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$", re.UNICODE)


def validate_tags(
    pairs: Iterable[tuple[str, str]],
    *,
    limit: int = MAX_OBJECT_TAGS,
    too_many: type[S3Error] = BadRequest,
) -> dict[str, str]:
    """The tag set as a dict, or S3's error: InvalidTag for a bad tag (checked one by one, as
    S3 does, before the count), then ``too_many`` past ``limit`` (an object's 11th tag is
    BadRequest "Object tags cannot be greater than 10", as AWS answers: boto/boto3#1213)."""
    tags: dict[str, str] = {}
    for key, value in pairs:
        if key in tags:
            raise InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        if not key or len(key) > MAX_KEY:
            raise InvalidTag(
                "The TagKey you have provided is too long, max 128"
                if key
                else "The TagKey you have provided is invalid",
                TagKey=key,
            )
        if len(value) > MAX_VALUE:
            raise InvalidTag(
                "The TagValue you have provided is too long, max 256", TagKey=key, TagValue=value
            )
        if key.lower().startswith("aws:"):
            raise InvalidTag("Your TagKey cannot be prefixed with aws:", TagKey=key)
        if not _CHARS.match(key):
            raise InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if not _CHARS.match(value):
            raise InvalidTag(
                "The TagValue you have provided is invalid", TagKey=key, TagValue=value
            )
        tags[key] = value
    if len(tags) > limit:
        raise too_many(f"Object tags cannot be greater than {limit}")
    return tags


def tags_from_header(text: str) -> dict[str, str]:
    """The tags of an ``x-amz-tagging`` header (a URL-encoded query string: ``k1=v1&k2=v2``)."""
    if not text:
        return {}
    try:
        # Not strict: S3 reads a bare name ("foo=bar&bar") as a tag with an empty value.
        pairs = parse_qsl(text, keep_blank_values=True)
    except ValueError:
        pairs = None
    if pairs is None or len({key for key, _ in pairs}) != len(pairs):
        raise InvalidArgument(
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
            "parameters without tag name duplicates.",
            ArgumentName="x-amz-tagging",
            ArgumentValue=text,
        )
    return validate_tags(pairs)


def tags_from_tagging(tagging: Mapping[str, Any] | None) -> dict[str, str]:
    """The tags of a ``Tagging`` request document (PutObjectTagging)."""
    tag_set = (tagging or {}).get("TagSet") or []
    return validate_tags((t.get("Key", ""), t.get("Value", "")) for t in tag_set)


def tag_set(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    """An object's tags as GetObjectTagging lists them: by key (the order S3 answers in, which
    s3-tests' test_put_obj_with_tags, run against AWS, relies on), not the order given."""
    return [{"Key": k, "Value": v} for k, v in sorted((tags or {}).items())]
