"""S3 bucket tags: Put/Get/DeleteBucketTagging, and the tag rules CreateBucket shares.

Tags live in ``Bucket.config["tagging"]`` as ``{key: value}`` in the order they were given.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3 import store
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import BadRequest, InvalidTag, MalformedXML, NoSuchTagSet
from overcast.services.s3.preconditions import check_expected_owner

MAX_BUCKET_TAGS = 50
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_text_ok(text: str) -> bool:
    """Letters, digits, white space and ``_ . : / = + - @``: the AWS tag alphabet."""
    for ch in text:
        if ch in _TAG_PUNCTUATION:
            continue
        category = unicodedata.category(ch)
        if category[0] not in "LNZ":
            return False
    return True


def _utf16_len(text: str) -> int:
    # AWS counts tag lengths in UTF-16 code units.
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def validate_tags(tag_set: list[dict[str, Any]] | None) -> dict[str, str]:
    """The tags of a TagSet as a dict, or the InvalidTag/BadRequest error S3 gives."""
    tags: dict[str, str] = {}
    for tag in tag_set or []:
        key, value = tag.get("Key"), tag.get("Value")
        if key is None or value is None:
            raise MalformedXML()
        if not 1 <= _utf16_len(key) <= 128 or not _tag_text_ok(key):
            raise InvalidTag("The TagKey you have provided is invalid", TagKey=key)
        if _utf16_len(value) > 256 or not _tag_text_ok(value):
            raise InvalidTag("The TagValue you have provided is invalid", TagValue=value)
        if key.lower().startswith("aws:"):
            raise InvalidTag("System tags cannot be added/updated by requester")
        if key in tags:
            raise InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        tags[key] = value
    if len(tags) > MAX_BUCKET_TAGS:
        raise BadRequest(f"Bucket tags cannot be greater than {MAX_BUCKET_TAGS}")
    return tags


class BucketTagging(S3Base):
    def put_bucket_tagging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]
        tagging = request.get("Tagging")
        if tagging is None or "TagSet" not in tagging:
            raise MalformedXML()
        tags = validate_tags(tagging.get("TagSet"))

        def put(conn: Any) -> None:
            bucket = self._access(ctx, conn, name, "s3:PutBucketTagging")
            check_expected_owner(request, bucket.account_id)
            bucket.config["tagging"] = tags
            store.update_bucket(conn, bucket)

        self._store.write(put)
        return {}

    def get_bucket_tagging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]

        def get(conn: Any) -> dict[str, str] | None:
            bucket = self._access(ctx, conn, name, "s3:GetBucketTagging")
            check_expected_owner(request, bucket.account_id)
            return bucket.config.get("tagging")

        tags = self._store.read(get)
        if not tags:
            raise NoSuchTagSet(BucketName=name)
        return {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}

    def delete_bucket_tagging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]

        def delete(conn: Any) -> None:
            bucket = self._access(ctx, conn, name, "s3:PutBucketTagging")
            check_expected_owner(request, bucket.account_id)
            if bucket.config.pop("tagging", None) is not None:
                store.update_bucket(conn, bucket)

        self._store.write(delete)
        return {}
