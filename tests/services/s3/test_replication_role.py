"""Unit tests of replication_role: the role check and the destination policy evaluation."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from overcast.services.s3 import replication_role
from overcast.services.s3.models import Bucket

SOURCE_ACCOUNT, OTHER_ACCOUNT = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/service/replication"
TRUST_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _env(mode: str = "enforce") -> Any:
    return SimpleNamespace(settings=SimpleNamespace(iam_mode=mode))


class _Directory:
    def __init__(self, *records: Any) -> None:
        self.records = {r.arn: r for r in records}

    def principal(self, arn: str) -> Any:
        return self.records.get(arn)


def _role(trust: str = TRUST_S3, account: str = SOURCE_ACCOUNT, arn: str = ROLE) -> Any:
    return SimpleNamespace(arn=arn, kind="role", account_id=account, trust_policy=trust)


def _bucket(name: str, account: str, policy: dict[str, Any] | None = None) -> Bucket:
    config = {"policy": json.dumps(policy)} if policy else {}
    return Bucket(name=name, account_id=account, region="us-east-1", created=0, config=config)


def _policy(bucket: str, effect: str, principal: str = ROLE) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": effect,
                "Principal": {"AWS": principal},
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete"],
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }


def test_assume_needs_an_existing_role_trusting_s3() -> None:
    source = _bucket("src", SOURCE_ACCOUNT)
    session = replication_role.assume(_env(), _Directory(_role()), ROLE, source)
    assert session is not None
    assert session.arn == f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/replication/s3-replication"
    assert session.aliases == (ROLE,)
    assert replication_role.assume(_env(), _Directory(), ROLE, source) is None
    ec2 = TRUST_S3.replace("s3.amazonaws.com", "ec2.amazonaws.com")
    assert replication_role.assume(_env(), _Directory(_role(ec2)), ROLE, source) is None
    assert replication_role.assume(_env(), _Directory(_role("not json")), ROLE, source) is None


def test_assume_refuses_a_role_of_another_account() -> None:
    arn = f"arn:aws:iam::{OTHER_ACCOUNT}:role/replication"
    directory = _Directory(_role(account=OTHER_ACCOUNT, arn=arn))
    source = _bucket("src", SOURCE_ACCOUNT)
    assert replication_role.assume(_env(), directory, arn, source) is None


@pytest.mark.parametrize("mode", ["off", "audit"])
def test_assume_in_relaxed_modes(mode: str) -> None:
    source = _bucket("src", SOURCE_ACCOUNT)
    assert replication_role.assume(_env(mode), _Directory(), ROLE, source) is not None


def test_destination_policy() -> None:
    session = replication_role.assume(
        _env(), _Directory(_role()), ROLE, _bucket("src", SOURCE_ACCOUNT)
    )
    assert session is not None
    source = _bucket("src", SOURCE_ACCOUNT)
    put = ("s3:ReplicateObject",)

    def allows(target: Bucket, actions: tuple[str, ...] = put, mode: str = "enforce") -> bool:
        return replication_role.destination_allows(
            _env(mode), session, source, target, "k", actions
        )

    assert allows(_bucket("same", SOURCE_ACCOUNT))  # same account: no policy needed
    assert not allows(_bucket("denied", SOURCE_ACCOUNT, _policy("denied", "Deny")))
    assert not allows(_bucket("cross", OTHER_ACCOUNT))  # another account must Allow
    assert allows(_bucket("cross", OTHER_ACCOUNT, _policy("cross", "Allow")))
    other = _policy("cross", "Allow", f"arn:aws:iam::{SOURCE_ACCOUNT}:role/else")
    assert not allows(_bucket("cross", OTHER_ACCOUNT, other))
    granted = _bucket("cross", OTHER_ACCOUNT, _policy("cross", "Allow"))
    assert not allows(granted, ("s3:ReplicateObject", "s3:ReplicateTags"))
    assert allows(_bucket("cross", OTHER_ACCOUNT), mode="off")
    assert allows(_bucket("cross", OTHER_ACCOUNT), mode="audit")
