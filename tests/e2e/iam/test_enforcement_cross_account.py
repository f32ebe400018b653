"""Cross-account evaluation, end to end: a principal of one account acting on another account's
role, bucket and queue needs both its own identity policy and the resource's policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.services.s3.common import canonical_user_id
from overcast.testing import ServerProcess
from tests.iam.helpers import ACCOUNT, allow, doc, error_message, from_sts, unique

OTHER = "222233334444"
OTHER_KEY = {"aws_access_key_id": "AKIDOTHERACCOUNT0000", "aws_secret_access_key": "other-secret"}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("cross") / "overcast.log"
    key = f"{OTHER_KEY['aws_access_key_id']}:{OTHER_KEY['aws_secret_access_key']}:{OTHER}"
    with ServerProcess(extra_args=["--credentials", key], log_file=log) as server:
        yield server


def user_in_default_account(
    server: ServerProcess, *statements: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    iam = server.client("iam")
    name = unique("user")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    return arn, {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def test_cross_account_assume_role(cloud: ServerProcess) -> None:
    other_iam = cloud.client("iam", **OTHER_KEY)
    role_name = unique("shared")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
        ],
    }
    role = other_iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    role_arn = role["Role"]["Arn"]
    assert f":{OTHER}:" in role_arn
    _, allowed = user_in_default_account(cloud, allow("sts:AssumeRole", role_arn))
    _, bare = user_in_default_account(cloud)
    session = cloud.client("sts", **allowed).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    me = cloud.client("sts", **from_sts(session["Credentials"])).get_caller_identity()
    assert me["Account"] == OTHER
    with pytest.raises(ClientError) as exc:  # the trust policy allows, the caller's policy not
        cloud.client("sts", **bare).assume_role(RoleArn=role_arn, RoleSessionName="x2")
    assert "because no identity-based policy allows the sts:AssumeRole action" in (
        error_message(exc)
    )


def test_cross_account_bucket_needs_both_sides(cloud: ServerProcess) -> None:
    other_s3 = cloud.client("s3", **OTHER_KEY)
    bucket = unique("other-bkt")
    other_s3.create_bucket(Bucket=bucket)
    other_s3.put_object(Bucket=bucket, Key="k", Body=b"theirs")
    user_arn, with_policy = user_in_default_account(
        cloud, allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*")
    )
    with pytest.raises(ClientError):  # the identity policy allows, the bucket policy not yet
        cloud.client("s3", **with_policy).get_object(Bucket=bucket, Key="k")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    other_s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    body = cloud.client("s3", **with_policy).get_object(Bucket=bucket, Key="k")["Body"].read()
    assert body == b"theirs"
    _, without = user_in_default_account(cloud)
    policy["Statement"][0]["Principal"] = {"AWS": ACCOUNT}
    other_s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    with pytest.raises(ClientError):  # the bucket policy allows, the caller's policy not
        cloud.client("s3", **without).get_object(Bucket=bucket, Key="k")


def test_cross_account_queue(cloud: ServerProcess) -> None:
    other_sqs = cloud.client("sqs", **OTHER_KEY)
    url = other_sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{OTHER}:{url.rsplit('/', 1)[-1]}"
    _, creds = user_in_default_account(cloud, allow("sqs:SendMessage", arn))
    sqs = cloud.client("sqs", **creds)
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="no queue policy yet")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ACCOUNT},
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }
        ],
    }
    other_sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sqs.send_message(QueueUrl=url, MessageBody="both sides allow")


def test_queue_policy_naming_a_role_admits_its_sessions(cloud: ServerProcess) -> None:
    other_sqs = cloud.client("sqs", **OTHER_KEY)
    url = other_sqs.create_queue(QueueName=unique("q"))["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{OTHER}:{url.rsplit('/', 1)[-1]}"
    user_arn, creds = user_in_default_account(cloud, allow("sts:AssumeRole"))
    iam = cloud.client("iam")
    role_name = unique("sender")
    trust = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
    role_arn = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=role_name, PolicyName="send", PolicyDocument=doc(allow("sqs:SendMessage", arn))
    )
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": "sqs:SendMessage",
        "Resource": arn,
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    other_sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    session = cloud.client("sts", **creds).assume_role(RoleArn=role_arn, RoleSessionName="snd")
    cloud.client("sqs", **from_sts(session["Credentials"])).send_message(
        QueueUrl=url, MessageBody="from a role session"
    )


def test_cross_account_acl_grant_needs_the_identity_policy_too(cloud: ServerProcess) -> None:
    # An ACL grants an account: its users also need their own identity policy (the engine
    # decides that side), and the grant itself is S3's own check (docs/iam-policies.md).
    other_s3 = cloud.client("s3", **OTHER_KEY)
    bucket = unique("acl-bkt")
    other_s3.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
    other_s3.put_object(Bucket=bucket, Key="granted", Body=b"shared")
    other_s3.put_object(Bucket=bucket, Key="private", Body=b"theirs")
    grantee = canonical_user_id(ACCOUNT)
    other_s3.put_object_acl(Bucket=bucket, Key="granted", GrantRead=f'id="{grantee}"')
    _, reader = user_in_default_account(cloud, allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*"))
    _, bare = user_in_default_account(cloud)
    s3 = cloud.client("s3", **reader)
    assert s3.get_object(Bucket=bucket, Key="granted")["Body"].read() == b"shared"
    with pytest.raises(ClientError) as exc:  # the identity policy allows, no grant
        s3.get_object(Bucket=bucket, Key="private")
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as exc:  # the grant, but no identity policy
        cloud.client("s3", **bare).get_object(Bucket=bucket, Key="granted")
    assert "no identity-based policy allows the s3:GetObject action" in error_message(exc)
