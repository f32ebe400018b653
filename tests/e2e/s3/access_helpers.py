"""Helpers of the S3 access-control tests (their fixtures are in ``conftest.py``): the second
account's key, unique buckets, error extraction, anonymous requests, the server clock."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

KEY, SECRET, ACCOUNT = "AKIAOVERCASTACCESS01", "access/secret+key", "222222222222"


def new_bucket(s3: Any, *, public: bool = False, acls: bool = False) -> str:
    """A fresh bucket; ``public`` deletes its Block Public Access, ``acls`` enables ACLs, as a
    user must on AWS before making anything public."""
    name = f"acc-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    if public:
        s3.delete_public_access_block(Bucket=name)
    if acls:
        s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
        )
    return name


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def anonymous_get(server: ServerProcess, path: str) -> requests.Response:
    return requests.get(server.endpoint + path, timeout=10)


def advance_clock(server: ServerProcess, seconds: float) -> float:
    """Move the server clock forward; returns the time before, to restore with ``set_clock``."""
    now = requests.get(server.endpoint + "/_overcast/clock", timeout=10).json()["now"]
    requests.post(server.endpoint + "/_overcast/clock", json={"advance": seconds}, timeout=10)
    return float(now)


def set_clock(server: ServerProcess, when: float) -> None:
    requests.post(server.endpoint + "/_overcast/clock", json={"set": when}, timeout=10)
