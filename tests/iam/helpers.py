"""Helpers for the IAM end-to-end tests: principals made through IAM, clients acting as them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from overcast.testing import ServerProcess

ACCOUNT = "000000000000"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def new_user(
    server: ServerProcess, *statements: dict[str, Any], tags: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """A new IAM user with an inline policy of ``statements`` and an access key."""
    iam = server.client("iam")
    name = unique("user")
    iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def from_sts(credentials: dict[str, Any]) -> dict[str, str]:
    """boto3 client arguments for an STS ``Credentials`` answer."""
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def new_role(
    server: ServerProcess,
    trust: dict[str, Any],
    *statements: dict[str, Any],
    max_session: int = 3600,
) -> str:
    """A new role trusting ``trust`` (one statement) with an inline policy; its ARN."""
    iam = server.client("iam")
    name = unique("role")
    arn: str = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        MaxSessionDuration=max_session,
    )["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(*statements))
    return arn


def error_code(exc: Any) -> str:
    return str(exc.value.response["Error"]["Code"])


def error_message(exc: Any) -> str:
    return str(exc.value.response["Error"]["Message"])


def own_server(tmp_path_factory: Any) -> Iterator[ServerProcess]:
    """A server for one test module: these tests sign with verified keys, whose signatures must
    be within 15 minutes of the server's clock, which other modules' tests move forward."""
    log = tmp_path_factory.mktemp("iam-server") / "overcast.log"
    with ServerProcess(log_file=log) as server:
        yield server
