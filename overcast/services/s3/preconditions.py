"""Request members that every bucket operation checks the same way."""

from __future__ import annotations

from typing import Any

from overcast.services.s3.errors import AccessDenied


def check_expected_owner(request: dict[str, Any], owner_account: str) -> None:
    """``x-amz-expected-bucket-owner``: S3 answers 403 when the bucket's owner differs."""
    expected = request.get("ExpectedBucketOwner")
    if expected is not None and expected != owner_account:
        raise AccessDenied()
