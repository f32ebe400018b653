"""IAM fixtures: a client for the session server, unique names, and the server's clock."""

from __future__ import annotations

import itertools
import json
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

_counter = itertools.count()

ALLOW_S3_READ = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
})  # fmt: skip
TRUST_EC2 = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
})  # fmt: skip


@pytest.fixture
def iam(server: ServerProcess) -> Any:
    return server.client("iam")


@pytest.fixture
def name() -> Callable[..., str]:
    def make(prefix: str = "n") -> str:
        return f"{prefix}{next(_counter)}-{uuid.uuid4().hex[:8]}"

    return make


def clock_now(server: ServerProcess) -> float:
    with urllib.request.urlopen(server.endpoint + "/_overcast/clock", timeout=5) as r:
        return float(json.loads(r.read())["now"])


def advance(server: ServerProcess, seconds: float) -> None:
    body = json.dumps({"advance": seconds}).encode()
    req = urllib.request.Request(
        server.endpoint + "/_overcast/clock", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of a failed call."""
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def raw_bodies(client: Any, operation: str) -> list[bytes]:
    """Collects the raw HTTP bodies of ``operation``'s responses (to see the wire format)."""
    bodies: list[bytes] = []

    def hook(http_response: Any, **_: Any) -> None:
        bodies.append(http_response.content)

    client.meta.events.register(f"after-call.iam.{operation}", hook)
    return bodies
