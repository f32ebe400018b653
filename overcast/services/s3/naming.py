"""S3's rules for general purpose bucket names and location constraints."""

from __future__ import annotations

import re

from overcast.services.s3.errors import InvalidBucketName

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid general purpose bucket name, or None when it is."""
    if not 3 <= len(name) <= 63:
        return "length"
    if not _NAME.fullmatch(name):
        return "characters"
    if ".." in name:
        return "adjacent periods"
    if _IP.fullmatch(name):
        return "IP address"
    if name.startswith(_RESERVED_PREFIXES):
        return "reserved prefix"
    if name.endswith(_RESERVED_SUFFIXES):
        return "reserved suffix"
    return None


def check_bucket_name(name: str) -> None:
    """Raise InvalidBucketName (with the name, as S3 does) unless ``name`` is valid."""
    if bucket_name_problem(name) is not None:
        raise InvalidBucketName(BucketName=name)


# The legacy constraint "EU" names eu-west-1; GetBucketLocation keeps answering "EU".
LEGACY_CONSTRAINTS = {"EU": "eu-west-1"}
