"""Unit tests of replication_role: the role check and the actions each change needs (the
policy evaluation itself is tested end to end: tests/e2e/s3/test_replication_permissions.py)."""

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
    return SimpleNamespace(
        settings=SimpleNamespace(iam_mode=mode), clock=SimpleNamespace(now=lambda: 1000.0)
    )


class _Directory:
    def __init__(self, *records: Any) -> None:
        self.records = {r.arn: r for r in records}

    def principal(self, arn: str) -> Any:
        return self.records.get(arn)


def _role(trust: str = TRUST_S3, account: str = SOURCE_ACCOUNT, arn: str = ROLE) -> Any:
    return SimpleNamespace(
        arn=arn, id="AROAEXAMPLE", kind="role", account_id=account, trust_policy=trust, tags={}
    )


def _bucket(name: str, account: str, policy: dict[str, Any] | None = None) -> Bucket:
    config = {"policy": json.dumps(policy)} if policy else {}
    return Bucket(name=name, account_id=account, region="us-east-1", created=0, config=config)


def test_assume_needs_an_existing_role_trusting_s3() -> None:
    source = _bucket("src", SOURCE_ACCOUNT)
    session = replication_role.assume(_env(), _Directory(_role()), ROLE, source)
    assert session is not None
    assert session.arn == f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/replication/s3-replication"
    assert session.kind == "assumed-role"
    assert session.source_arn == ROLE
    assert session.user_id == "AROAEXAMPLE:s3-replication"
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


def test_version_needs() -> None:
    actions = [n.action for n in replication_role.version_needs(False, False)]
    assert actions == [
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:ReplicateObject",
    ]
    both = replication_role.version_needs(True, True)
    reasons = {n.action: n.reason for n in both}
    assert reasons["s3:GetObjectVersionTagging"] == "SrcGetTaggingNotPermitted"
    assert reasons["s3:ReplicateTags"] == "DstPutTaggingNotPermitted"
    assert reasons["s3:ObjectOwnerOverrideToBucketOwner"] == "DstPutObjectNotPermitted"
    assert {n.on for n in both if n.action.startswith("s3:Replicate")} == {"destination"}
    marker = {n.action: n.reason for n in replication_role.MARKER_NEEDS}
    assert marker["s3:ReplicateDelete"] == "DstDelObjNotPermitted"


def test_refusal_evaluates_nothing_when_iam_is_off() -> None:
    session = replication_role.assume(_env("off"), _Directory(), ROLE, _bucket("s", SOURCE_ACCOUNT))
    assert session is not None
    source, target = _bucket("src", SOURCE_ACCOUNT), _bucket("dst", OTHER_ACCOUNT)
    needs = replication_role.version_needs(True, True)
    assert replication_role.refusal(_env("off"), session, source, target, "k", "v", needs) is None
