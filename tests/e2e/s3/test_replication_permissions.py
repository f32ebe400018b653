"""Replication as the role's session: the role's identity policies (inline and attached), its
permissions boundary and the buckets' policies decide, as on AWS; a refused action fails the
version with AWS's failure reason."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3.test_replication import (
    REPLICATION_POLICY,
    TRUST_S3,
    _bucket,
    _failure_queue,
    _failure_reason,
    _rule,
    _wait_status,
)
from tests.waiting import wait_until

ACCOUNT = "000000000000"


def _without(*actions: str) -> dict[str, Any]:
    """AWS's replication policy minus ``actions``."""
    policy = json.loads(json.dumps(REPLICATION_POLICY))
    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a not in actions]
    return policy


def _document(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _statement(effect: str, action: str | list[str], resource: str, **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def _deny(action: str, resource: str = "arn:aws:s3:::*/*") -> dict[str, Any]:
    return _document(_statement("Deny", action, resource))


def _role(iam: Any, policy: dict[str, Any] | None = REPLICATION_POLICY) -> tuple[str, str]:
    """A new role trusting S3 with ``policy`` inline: (name, ARN)."""
    name = f"repl-perm-{uuid.uuid4().hex[:10]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_S3))["Role"][
        "Arn"
    ]
    if policy is not None:
        _set_policy(iam, name, policy)
    return name, str(arn)


def _set_policy(iam: Any, name: str, policy: dict[str, Any]) -> None:
    iam.put_role_policy(RoleName=name, PolicyName="replication", PolicyDocument=json.dumps(policy))


def _managed(iam: Any, document: dict[str, Any]) -> str:
    name = f"repl-{uuid.uuid4().hex[:10]}"
    return str(
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    )


def _configure(s3: Any, source: str, dest: str, role: str, **destination: Any) -> None:
    target = {"Bucket": f"arn:aws:s3:::{dest}", "Metrics": {"Status": "Enabled"}, **destination}
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={"Role": role, "Rules": [_rule(dest, Destination=target)]},
    )


def _watched(s3: Any, sqs: Any, role: str) -> tuple[str, str, str]:
    """A source replicating as ``role`` to a new destination, with a queue of its replication
    failures: (source, destination, queue URL)."""
    source, dest = _bucket(s3), _bucket(s3)
    _configure(s3, source, dest, role)
    return source, dest, _failure_queue(sqs, s3, source)


def _failure(s3: Any, sqs: Any, source: str, url: str, **extra: Any) -> str:
    """Put a version that fails to replicate; the failure reason."""
    assert _status(s3, source, _put(s3, source, **extra), "FAILED") == "FAILED"
    return _failure_reason(sqs, url)


def _put(s3: Any, bucket: str, key: str = "k", **extra: Any) -> str:
    return str(s3.put_object(Bucket=bucket, Key=key, Body=b"data", **extra)["VersionId"])


def _status(s3: Any, bucket: str, version: str, want: str, key: str = "k") -> str:
    return str(_wait_status(s3, bucket, key, version, want)["ReplicationStatus"])


def _decisions(endpoint: str, principal: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"principal": principal})
    with urllib.request.urlopen(f"{endpoint}/_overcast/iam/decisions?{query}") as answer:
        return list(json.load(answer)["decisions"])


def _session(role_name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/s3-replication"


@pytest.fixture
def iam(client: Any) -> Any:
    return client("iam")


@pytest.fixture
def s3(client: Any) -> Any:
    return client("s3")


def test_attached_managed_policy_lets_the_role_replicate(s3: Any, iam: Any) -> None:
    name, role = _role(iam, policy=None)
    iam.attach_role_policy(RoleName=name, PolicyArn=_managed(iam, REPLICATION_POLICY))
    source, dest = _bucket(s3), _bucket(s3)
    _configure(s3, source, dest, role)
    version = _put(s3, source, Tagging="team=storage")
    assert _status(s3, source, version, "COMPLETED") == "COMPLETED"
    assert s3.head_object(Bucket=dest, Key="k")["ReplicationStatus"] == "REPLICA"
    assert s3.get_object_tagging(Bucket=dest, Key="k")["TagSet"] == [
        {"Key": "team", "Value": "storage"}
    ]


def test_without_replicate_object_the_version_fails(
    s3: Any, iam: Any, client: Any, server: Any
) -> None:
    sqs = client("sqs")
    name, role = _role(iam, _without("s3:ReplicateObject"))
    source, dest, url = _watched(s3, sqs, role)
    assert _failure(s3, sqs, source, url) == "DstPutObjectNotPermitted"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=dest, Key="k")
    # The decision is logged for the role's session, with the engine's explanation.
    denied = [d for d in _decisions(server.endpoint, _session(name)) if d["decision"] == "deny"]
    assert denied[0]["action"] == "s3:ReplicateObject"
    assert denied[0]["resources"] == [f"arn:aws:s3:::{dest}/k"]
    assert denied[0]["reason"] == "no identity-based policy allows"
    # A policy change applies to the next version at once (nothing stale is cached).
    _set_policy(iam, name, REPLICATION_POLICY)
    version = _put(s3, source)
    assert _status(s3, source, version, "COMPLETED") == "COMPLETED"
    assert s3.head_object(Bucket=dest, Key="k")["VersionId"] == version


@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ("s3:GetObjectVersionForReplication", "SrcGetObjectNotPermitted"),
        ("s3:GetObjectVersionAcl", "SrcGetAclNotPermitted"),
        ("s3:GetObjectVersionTagging", "SrcGetTaggingNotPermitted"),
        ("s3:ReplicateTags", "DstPutTaggingNotPermitted"),
    ],
)
def test_each_missing_permission_has_its_reason(
    s3: Any, iam: Any, client: Any, missing: str, reason: str
) -> None:
    sqs = client("sqs")
    _, role = _role(iam, _without(missing))
    source, _, url = _watched(s3, sqs, role)
    assert _failure(s3, sqs, source, url, Tagging="team=storage") == reason
    if missing in ("s3:GetObjectVersionTagging", "s3:ReplicateTags"):
        # Tags are only read and written when the version has some.
        version = _put(s3, source, key="untagged")
        assert _status(s3, source, version, "COMPLETED", key="untagged") == "COMPLETED"


@pytest.mark.parametrize("where", ["identity", "boundary"])
def test_explicit_deny_fails_the_version(s3: Any, iam: Any, client: Any, where: str) -> None:
    sqs = client("sqs")
    name, role = _role(iam)
    deny = _deny("s3:ReplicateObject")
    if where == "identity":
        iam.put_role_policy(RoleName=name, PolicyName="deny", PolicyDocument=json.dumps(deny))
    else:
        boundary = _document(_statement("Allow", "s3:*", "*"), *deny["Statement"])
        arn = _managed(iam, boundary)
        iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=arn)
    source, _, url = _watched(s3, sqs, role)
    assert _failure(s3, sqs, source, url) == "DstPutObjectNotPermitted"


def test_a_boundary_that_does_not_allow_fails_the_version(s3: Any, iam: Any) -> None:
    name, role = _role(iam)
    reads_only = _document(_statement("Allow", ["s3:Get*", "s3:List*"], "*"))
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=_managed(iam, reads_only))
    source, dest = _bucket(s3), _bucket(s3)
    _configure(s3, source, dest, role)
    assert _status(s3, source, _put(s3, source), "FAILED") == "FAILED"
    iam.delete_role_permissions_boundary(RoleName=name)
    assert _status(s3, source, _put(s3, source), "COMPLETED") == "COMPLETED"


def test_same_account_destination_policy_allows_or_denies(s3: Any, iam: Any) -> None:
    # The role's policies grant only the source reads: a destination bucket policy naming the
    # role grants the write (same account: either allows).
    _, role = _role(iam, _without("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"))
    source, dest = _bucket(s3), _bucket(s3)
    _configure(s3, source, dest, role)
    assert _status(s3, source, _put(s3, source), "FAILED") == "FAILED"
    grant = _document(
        _statement("Allow", "s3:ReplicateObject", f"arn:aws:s3:::{dest}/*", Principal={"AWS": role})
    )
    s3.put_bucket_policy(Bucket=dest, Policy=json.dumps(grant))
    assert _status(s3, source, _put(s3, source), "COMPLETED") == "COMPLETED"
    # An explicit deny in the source bucket's policy refuses the reads, whatever the role has.
    deny = _deny("s3:GetObjectVersionForReplication", f"arn:aws:s3:::{source}/*")
    deny["Statement"][0]["Principal"] = {"AWS": role}
    s3.put_bucket_policy(Bucket=source, Policy=json.dumps(deny))
    assert _status(s3, source, _put(s3, source), "FAILED") == "FAILED"


def test_delete_markers_need_replicate_delete(s3: Any, iam: Any, server: Any) -> None:
    name, role = _role(iam, _without("s3:ReplicateDelete"))
    source, dest = _bucket(s3), _bucket(s3)
    rule = _rule(dest, DeleteMarkerReplication={"Status": "Enabled"})
    s3.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": role, "Rules": [rule]}
    )
    assert _status(s3, source, _put(s3, source), "COMPLETED") == "COMPLETED"
    s3.delete_object(Bucket=source, Key="k")

    def refused() -> bool:
        found = _decisions(server.endpoint, _session(name))
        return any(d["action"] == "s3:ReplicateDelete" and d["decision"] == "deny" for d in found)

    wait_until(refused, what="the refused s3:ReplicateDelete")
    # Refused before the write: the replica stays current.
    assert s3.head_object(Bucket=dest, Key="k")["ReplicationStatus"] == "REPLICA"
    _set_policy(iam, name, REPLICATION_POLICY)
    assert _status(s3, source, _put(s3, source, key="j"), "COMPLETED", key="j") == "COMPLETED"
    s3.delete_object(Bucket=source, Key="j")

    def gone() -> bool:
        try:
            s3.head_object(Bucket=dest, Key="j")
        except ClientError:
            return True
        return False

    wait_until(gone, what="the replicated delete marker")


def test_cross_account_needs_the_role_policy_and_the_bucket_policy(keyed_server: Any) -> None:
    from tests.e2e.s3.access_helpers import ACCOUNT as OTHER
    from tests.e2e.s3.access_helpers import KEY, SECRET

    iam = keyed_server.client("iam")
    owner = keyed_server.client("s3")
    other = keyed_server.client("s3", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    name, role = _role(iam, _without("s3:ReplicateObject"))
    source, dest = _bucket(owner), _bucket(other)
    replicate = ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"]
    grant = _document(
        _statement("Allow", replicate, f"arn:aws:s3:::{dest}/*", Principal={"AWS": role})
    )
    other.put_bucket_policy(Bucket=dest, Policy=json.dumps(grant))
    _configure(owner, source, dest, role, Account=OTHER)
    # The destination's policy alone is not enough across accounts: the role must allow too.
    assert _status(owner, source, _put(owner, source), "FAILED") == "FAILED"
    _set_policy(iam, name, REPLICATION_POLICY)
    version = _put(owner, source)
    assert _status(owner, source, version, "COMPLETED") == "COMPLETED"
    assert other.head_object(Bucket=dest, Key="k")["VersionId"] == version
    # Nor is the role's policy alone.
    other.delete_bucket_policy(Bucket=dest)
    assert _status(owner, source, _put(owner, source), "FAILED") == "FAILED"


def test_audit_mode_logs_and_replicates() -> None:
    from overcast.testing import ServerProcess

    proc = ServerProcess(extra_args=["--iam-mode", "audit"]).start()
    try:
        iam, s3 = proc.client("iam"), proc.client("s3")
        name, role = _role(iam, policy=None)
        source, dest = _bucket(s3), _bucket(s3)
        _configure(s3, source, dest, role)
        assert _status(s3, source, _put(s3, source), "COMPLETED") == "COMPLETED"
        found = _decisions(proc.endpoint, _session(name))
        assert {d["decision"] for d in found} == {"audit-deny"}
    finally:
        proc.stop()
