"""Bucket replication: configuration rules and errors, asynchronous copies of new versions with
their metadata and tags, x-amz-replication-status, delete-marker replication per rule."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.waiting import wait_until

ROLE = "arn:aws:iam::000000000000:role/replication"
TRUST_S3 = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


# The permissions policy AWS's "Setting up permissions for live replication" gives the role.
REPLICATION_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": "arn:aws:s3:::*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": "arn:aws:s3:::*/*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
                "s3:ObjectOwnerOverrideToBucketOwner",
            ],
            "Resource": "arn:aws:s3:::*/*",
        },
    ],
}


def ensure_role(iam: Any, name: str = "replication", trust: dict[str, Any] = TRUST_S3) -> str:
    """The replication role S3 assumes (it must exist and trust s3.amazonaws.com), with the
    permissions replication needs."""
    try:
        arn = str(
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
                "Arn"
            ]
        )
    except iam.exceptions.EntityAlreadyExistsException:
        arn = str(iam.get_role(RoleName=name)["Role"]["Arn"])
    policy = json.dumps(REPLICATION_POLICY)
    iam.put_role_policy(RoleName=name, PolicyName="replication", PolicyDocument=policy)
    return arn


@pytest.fixture
def s3(client: Any) -> Any:
    ensure_role(client("iam"))
    return client("s3")


def _bucket(s3: Any, versioned: bool = True, region: str | None = None) -> str:
    name = f"repl-{uuid.uuid4().hex[:12]}"
    if region is None:
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _rule(dest: str, **extra: Any) -> dict[str, Any]:
    return {
        "ID": "all",
        "Priority": 1,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": f"arn:aws:s3:::{dest}"},
        **extra,
    }


def _wait_status(s3: Any, bucket: str, key: str, version: str, want: str) -> dict[str, Any]:
    def head() -> dict[str, Any] | None:
        found = s3.head_object(Bucket=bucket, Key=key, VersionId=version)
        return found if found.get("ReplicationStatus") == want else None

    return wait_until(head, what=f"{key} {version} replication {want}")


def _absent(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return True
    return False


def test_configuration_errors(s3: Any) -> None:
    plain = _bucket(s3, versioned=False)
    dest = _bucket(s3)
    config = {"Role": ROLE, "Rules": [_rule(dest)]}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_replication(Bucket=plain, ReplicationConfiguration=config)
    assert err.value.response["Error"]["Code"] == "InvalidRequest"
    assert "Versioning must be 'Enabled'" in err.value.response["Error"]["Message"]
    source = _bucket(s3)
    unversioned = {"Role": ROLE, "Rules": [_rule(plain)]}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_replication(Bucket=source, ReplicationConfiguration=unversioned)
    assert "versioning enabled" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        s3.get_bucket_replication(Bucket=source)
    assert err.value.response["Error"]["Code"] == "ReplicationConfigurationNotFoundError"
    s3.put_bucket_replication(Bucket=source, ReplicationConfiguration=config)
    got = s3.get_bucket_replication(Bucket=source)["ReplicationConfiguration"]
    assert got["Role"] == ROLE
    assert got["Rules"][0]["ID"] == "all"
    s3.delete_bucket_replication(Bucket=source)
    with pytest.raises(ClientError):
        s3.get_bucket_replication(Bucket=source)


def test_new_versions_are_copied_with_metadata_and_tags(s3: Any, client: Any) -> None:
    source = _bucket(s3)
    west = client("s3", region="eu-west-1")
    dest = _bucket(west, region="eu-west-1")  # cross region
    rule = _rule(dest, Filter={"Prefix": "docs/"}, Destination={
        "Bucket": f"arn:aws:s3:::{dest}", "StorageClass": "STANDARD_IA"})  # fmt: skip
    s3.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": [rule]}
    )
    put = s3.put_object(
        Bucket=source,
        Key="docs/a.txt",
        Body=b"replicate me",
        ContentType="text/plain",
        Metadata={"colour": "blue"},
        Tagging="team=storage",
    )
    head = _wait_status(s3, source, "docs/a.txt", put["VersionId"], "COMPLETED")
    assert head["ReplicationStatus"] == "COMPLETED"
    replica = west.get_object(Bucket=dest, Key="docs/a.txt")
    assert replica["Body"].read() == b"replicate me"
    assert replica["VersionId"] == put["VersionId"]
    assert replica["ReplicationStatus"] == "REPLICA"
    assert replica["ContentType"] == "text/plain"
    assert replica["Metadata"] == {"colour": "blue"}
    assert replica["StorageClass"] == "STANDARD_IA"
    tags = west.get_object_tagging(Bucket=dest, Key="docs/a.txt")["TagSet"]
    assert tags == [{"Key": "team", "Value": "storage"}]
    # Tag changes follow the version to its replica.
    s3.put_object_tagging(
        Bucket=source, Key="docs/a.txt", Tagging={"TagSet": [{"Key": "team", "Value": "db"}]}
    )
    wait_until(
        lambda: (
            west.get_object_tagging(Bucket=dest, Key="docs/a.txt")["TagSet"]
            == [{"Key": "team", "Value": "db"}]
        ),
        what="the replica's new tags",
    )
    # Outside the rule's prefix: no status, no copy.
    other = s3.put_object(Bucket=source, Key="other.txt", Body=b"x")
    head = s3.head_object(Bucket=source, Key="other.txt", VersionId=other["VersionId"])
    assert "ReplicationStatus" not in head
    with pytest.raises(ClientError):
        west.head_object(Bucket=dest, Key="other.txt")


def test_delete_markers_follow_the_rule(s3: Any) -> None:
    source, kept, mirrored = _bucket(s3), _bucket(s3), _bucket(s3)
    rules = [
        _rule(kept, ID="keep", Priority=1, Filter={"Prefix": "keep/"}),
        _rule(
            mirrored,
            ID="mirror",
            Priority=2,
            Filter={"Prefix": "mirror/"},
            DeleteMarkerReplication={"Status": "Enabled"},
        ),
    ]
    s3.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": rules}
    )
    for key in ("keep/x", "mirror/x"):
        version = s3.put_object(Bucket=source, Key=key, Body=b"1")["VersionId"]
        _wait_status(s3, source, key, version, "COMPLETED")
        s3.delete_object(Bucket=source, Key=key)
    wait_until(lambda: _absent(s3, mirrored, "mirror/x"), what="the replicated delete marker")
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=mirrored, Key="mirror/x")
    assert err.value.response["Error"]["Code"] == "404"
    assert s3.head_object(Bucket=kept, Key="keep/x")["ReplicationStatus"] == "REPLICA"


def test_failed_when_destination_is_gone(s3: Any, client: Any) -> None:
    sqs = client("sqs")
    source, dest = _bucket(s3), _bucket(s3)
    metrics = {"Bucket": f"arn:aws:s3:::{dest}", "Metrics": {"Status": "Enabled"}}
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={"Role": ROLE, "Rules": [_rule(dest, Destination=metrics)]},
    )
    url = _failure_queue(sqs, s3, source)
    s3.delete_bucket(Bucket=dest)
    version = s3.put_object(Bucket=source, Key="k", Body=b"1")["VersionId"]
    head = _wait_status(s3, source, "k", version, "FAILED")
    assert head["ReplicationStatus"] == "FAILED"
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    [rec] = json.loads(got[0]["Body"])["Records"]
    assert rec["eventName"] == "Replication:OperationFailedReplication"
    assert rec["eventVersion"] == "2.2"
    assert rec["userIdentity"]["principalId"] == "s3.amazonaws.com"
    data = rec["replicationEventData"]
    assert data["failureReason"] == "DstBucketNotFound"
    assert data["replicationRuleId"] == "all"
    assert data["destinationBucket"] == f"arn:aws:s3:::{dest}"


def test_replication_survives_kill_9(disk_server: Any) -> None:
    ensure_role(disk_server.client("iam"))
    s3 = disk_server.client("s3")
    source, dest = _bucket(s3), _bucket(s3)
    s3.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": [_rule(dest)]}
    )
    versions = {
        f"k{i:02d}": s3.put_object(Bucket=source, Key=f"k{i:02d}", Body=b"v")["VersionId"]
        for i in range(20)
    }
    disk_server.kill()  # some copies may still be pending in the outbox
    disk_server.start()
    s3 = disk_server.client("s3")
    for key, version in versions.items():
        assert _wait_status(s3, source, key, version, "COMPLETED")["ReplicationStatus"] == (
            "COMPLETED"
        )
        assert s3.head_object(Bucket=dest, Key=key)["VersionId"] == version


def test_cross_account_with_owner_override(keyed_server: Any) -> None:
    from tests.e2e.s3.access_helpers import ACCOUNT, KEY, SECRET

    ensure_role(keyed_server.client("iam"))
    owner = keyed_server.client("s3")
    other = keyed_server.client("s3", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    source, dest = _bucket(owner), _bucket(other)
    other.put_bucket_policy(Bucket=dest, Policy=json.dumps(_destination_policy(dest)))
    rule = _rule(
        dest,
        Destination={
            "Bucket": f"arn:aws:s3:::{dest}",
            "Account": ACCOUNT,
            "AccessControlTranslation": {"Owner": "Destination"},
        },
    )
    owner.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": [rule]}
    )
    version = owner.put_object(Bucket=source, Key="shared", Body=b"data")["VersionId"]
    _wait_status(owner, source, "shared", version, "COMPLETED")
    got = other.get_object(Bucket=dest, Key="shared")
    assert got["Body"].read() == b"data"
    assert got["ReplicationStatus"] == "REPLICA"


def test_versioning_cannot_be_suspended_under_replication(s3: Any) -> None:
    source, dest = _bucket(s3), _bucket(s3)
    s3.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": [_rule(dest)]}
    )
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Suspended"})
    assert err.value.response["Error"]["Code"] == "InvalidBucketState"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    s3.delete_bucket_replication(Bucket=source)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Suspended"})


def _destination_policy(dest: str, effect: str = "Allow") -> dict[str, Any]:
    """A destination bucket policy for the replication role, as AWS's cross-account guide."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": effect,
                "Principal": {"AWS": ROLE},
                "Action": [
                    "s3:ReplicateObject",
                    "s3:ReplicateDelete",
                    "s3:ReplicateTags",
                    "s3:ObjectOwnerOverrideToBucketOwner",
                ],
                "Resource": f"arn:aws:s3:::{dest}/*",
            }
        ],
    }


def _failure_queue(sqs: Any, s3: Any, source: str) -> str:
    """A queue subscribed to the source's replication failures (its test event consumed)."""
    url = sqs.create_queue(QueueName=f"repl-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    allow = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }
        ]
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(allow)})
    s3.put_bucket_notification_configuration(
        Bucket=source,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:Replication:OperationFailedReplication"]}
            ]
        },
    )
    [test] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=test["ReceiptHandle"])
    return str(url)


def _failure_reason(sqs: Any, url: str) -> str:
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    [rec] = json.loads(got[0]["Body"])["Records"]
    return str(rec["replicationEventData"]["failureReason"])


@pytest.mark.parametrize("problem", ["missing", "untrusted"])
def test_role_must_exist_and_trust_s3(s3: Any, client: Any, problem: str) -> None:
    iam, sqs = client("iam"), client("sqs")
    name = f"repl-{problem}-{uuid.uuid4().hex[:8]}"
    role = f"arn:aws:iam::000000000000:role/{name}"
    if problem == "untrusted":  # a role only EC2 may assume
        trust = json.loads(json.dumps(TRUST_S3))
        trust["Statement"][0]["Principal"] = {"Service": "ec2.amazonaws.com"}
        ensure_role(iam, name, trust)
    source, dest = _bucket(s3), _bucket(s3)
    metrics = {"Bucket": f"arn:aws:s3:::{dest}", "Metrics": {"Status": "Enabled"}}
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={"Role": role, "Rules": [_rule(dest, Destination=metrics)]},
    )
    url = _failure_queue(sqs, s3, source)
    version = s3.put_object(Bucket=source, Key="k", Body=b"1")["VersionId"]
    assert _wait_status(s3, source, "k", version, "FAILED")["ReplicationStatus"] == "FAILED"
    assert _failure_reason(sqs, url) == "AssumeRoleNotPermitted"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=dest, Key="k")
    # Once the role exists and trusts S3, new versions replicate.
    if problem == "untrusted":
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(TRUST_S3))
    else:
        ensure_role(iam, name)
    version = s3.put_object(Bucket=source, Key="k", Body=b"2")["VersionId"]
    assert _wait_status(s3, source, "k", version, "COMPLETED")["ReplicationStatus"] == "COMPLETED"
    assert s3.head_object(Bucket=dest, Key="k")["VersionId"] == version


def test_destination_policy_deny_fails_replication(s3: Any, client: Any) -> None:
    sqs = client("sqs")
    source, dest = _bucket(s3), _bucket(s3)
    metrics = {"Bucket": f"arn:aws:s3:::{dest}", "Metrics": {"Status": "Enabled"}}
    s3.put_bucket_replication(
        Bucket=source,
        ReplicationConfiguration={"Role": ROLE, "Rules": [_rule(dest, Destination=metrics)]},
    )
    s3.put_bucket_policy(Bucket=dest, Policy=json.dumps(_destination_policy(dest, "Deny")))
    url = _failure_queue(sqs, s3, source)
    version = s3.put_object(Bucket=source, Key="k", Body=b"1")["VersionId"]
    assert _wait_status(s3, source, "k", version, "FAILED")["ReplicationStatus"] == "FAILED"
    assert _failure_reason(sqs, url) == "DstPutObjectNotPermitted"


def test_cross_account_needs_the_destination_policy(keyed_server: Any) -> None:
    from tests.e2e.s3.access_helpers import ACCOUNT, KEY, SECRET

    ensure_role(keyed_server.client("iam"))
    owner = keyed_server.client("s3")
    other = keyed_server.client("s3", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    source, dest = _bucket(owner), _bucket(other)
    rule = _rule(dest, Destination={"Bucket": f"arn:aws:s3:::{dest}", "Account": ACCOUNT})
    owner.put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": [rule]}
    )
    version = owner.put_object(Bucket=source, Key="k", Body=b"1")["VersionId"]
    assert _wait_status(owner, source, "k", version, "FAILED")["ReplicationStatus"] == "FAILED"
    # A policy granting another principal is not enough; one naming the role is.
    elsewhere = _destination_policy(dest)
    elsewhere["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::000000000000:role/other"}
    other.put_bucket_policy(Bucket=dest, Policy=json.dumps(elsewhere))
    version = owner.put_object(Bucket=source, Key="k", Body=b"2")["VersionId"]
    assert _wait_status(owner, source, "k", version, "FAILED")["ReplicationStatus"] == "FAILED"
    other.put_bucket_policy(Bucket=dest, Policy=json.dumps(_destination_policy(dest)))
    version = owner.put_object(Bucket=source, Key="k", Body=b"3")["VersionId"]
    assert _wait_status(owner, source, "k", version, "COMPLETED")["ReplicationStatus"] == (
        "COMPLETED"
    )
    assert other.get_object(Bucket=dest, Key="k")["Body"].read() == b"3"


def test_iam_mode_off_skips_the_role_check() -> None:
    from overcast.testing import ServerProcess

    proc = ServerProcess(extra_args=["--iam-mode", "off"]).start()
    try:
        s3 = proc.client("s3")
        source, dest = _bucket(s3), _bucket(s3)
        role = "arn:aws:iam::000000000000:role/never-created"
        s3.put_bucket_replication(
            Bucket=source, ReplicationConfiguration={"Role": role, "Rules": [_rule(dest)]}
        )
        version = s3.put_object(Bucket=source, Key="k", Body=b"1")["VersionId"]
        head = _wait_status(s3, source, "k", version, "COMPLETED")
        assert head["ReplicationStatus"] == "COMPLETED"
    finally:
        proc.stop()
