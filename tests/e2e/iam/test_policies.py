"""Managed policies (versions, default version, attachments), inline policies, AWS's catalogue."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam.conftest import ALLOW_S3_READ, TRUST_EC2, error, raw_bodies

S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def doc(action: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    })  # fmt: skip


def test_create_and_get_policy(iam: Any, name: Callable[..., str]) -> None:
    policy = name("pol")
    created = iam.create_policy(
        PolicyName=policy, Path="/app/", PolicyDocument=ALLOW_S3_READ, Description="read",
        Tags=[{"Key": "k", "Value": "v"}],
    )["Policy"]  # fmt: skip
    arn = created["Arn"]
    assert arn == f"arn:aws:iam::000000000000:policy/app/{policy}"
    assert re.fullmatch(r"ANPA[A-Z2-7]{17}", created["PolicyId"])
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["DefaultVersionId"] == "v1"
    assert got["AttachmentCount"] == 0
    assert got["Description"] == "read"
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(ALLOW_S3_READ)
    assert version["IsDefaultVersion"] is True
    with pytest.raises(ClientError) as info:
        iam.create_policy(PolicyName=policy, PolicyDocument=ALLOW_S3_READ)
    assert error(info) == (
        "EntityAlreadyExists",
        f"A policy called {policy} already exists. Duplicate names are not allowed.",
        409,
    )


def test_malformed_policy_documents(iam: Any, name: Callable[..., str]) -> None:
    bad = [
        "{not json",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "s3:*",
                                                            "Resource": "*"}]}),
        json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}),
    ]  # fmt: skip
    for text in bad:
        with pytest.raises(ClientError) as info:
            iam.create_policy(PolicyName=name("bad"), PolicyDocument=text)
        assert error(info)[0] == "MalformedPolicyDocument", text
        assert error(info)[2] == 400


def test_policy_size_quota(iam: Any, name: Callable[..., str]) -> None:
    actions = [f"s3:GetObject{i:05d}" for i in range(400)]
    big = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": "*"}]})  # fmt: skip
    with pytest.raises(ClientError) as info:
        iam.create_policy(PolicyName=name("big"), PolicyDocument=big)
    assert error(info) == ("LimitExceeded", "Cannot exceed the quota for PolicySize: 6144.", 409)


def test_versions(iam: Any, name: Callable[..., str]) -> None:
    arn = iam.create_policy(PolicyName=name("v"), PolicyDocument=doc("s3:GetObject"))["Policy"][
        "Arn"
    ]
    for i in range(2, 6):
        created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(f"s3:Get{i}"))
        assert created["PolicyVersion"]["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as info:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc("s3:Nope"))
    code, message, status = error(info)
    assert (code, status) == ("LimitExceeded", 409)
    assert message.startswith("A managed policy can have up to 5 versions.")
    with pytest.raises(ClientError) as info:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert error(info) == ("DeleteConflict", "Cannot delete the default version of a policy.", 409)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    new = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc("s3:Put"), SetAsDefault=True)
    assert new["PolicyVersion"]["VersionId"] == "v6"
    assert new["PolicyVersion"]["IsDefaultVersion"] is True
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v6", "v5", "v4", "v3", "v2"]
    assert [v["IsDefaultVersion"] for v in versions] == [True, False, False, False, False]
    with pytest.raises(ClientError) as info:
        iam.delete_policy(PolicyArn=arn)
    assert error(info)[0] == "DeleteConflict"
    for version in ("v5", "v4", "v3", "v2"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as info:
        iam.get_policy(PolicyArn=arn)
    assert error(info) == ("NoSuchEntity", f"Policy {arn} was not found.", 404)


def test_attach_detach_and_entities(iam: Any, name: Callable[..., str]) -> None:
    user, group, role = name("u"), name("g"), name("r")
    arn = iam.create_policy(PolicyName=name("att"), PolicyDocument=ALLOW_S3_READ)["Policy"]["Arn"]
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)  # twice is a no-op
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == [user]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == [group]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == [role]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn}]
    with pytest.raises(ClientError) as info:
        iam.delete_policy(PolicyArn=arn)
    assert error(info) == ("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    with pytest.raises(ClientError) as info:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert error(info)[0] == "NoSuchEntity"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2


def test_attach_unknown_policy(iam: Any, name: Callable[..., str]) -> None:
    user = name("u")
    iam.create_user(UserName=user)
    missing = "arn:aws:iam::000000000000:policy/not-there"
    with pytest.raises(ClientError) as info:
        iam.attach_user_policy(UserName=user, PolicyArn=missing)
    assert error(info) == (
        "NoSuchEntity",
        f"Policy {missing} does not exist or is not attachable.",
        404,
    )
    service_role = "arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy"
    with pytest.raises(ClientError) as info:
        iam.attach_user_policy(UserName=user, PolicyArn=service_role)
    assert error(info) == (
        "PolicyNotAttachable",
        "Cannot attach a Service Role Policy to a Customer Role.",
        400,
    )
    with pytest.raises(ClientError) as info:
        iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:s3:::not-a-policy-arn")
    assert error(info) == ("InvalidInput", "ARN arn:aws:s3:::not-a-policy-arn is not valid.", 400)


def test_attached_policies_quota(iam: Any, name: Callable[..., str]) -> None:
    role = name("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    arns = [
        iam.create_policy(PolicyName=name("q"), PolicyDocument=ALLOW_S3_READ)["Policy"]["Arn"]
        for _ in range(11)
    ]
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    with pytest.raises(ClientError) as info:
        iam.attach_role_policy(RoleName=role, PolicyArn=arns[10])
    assert error(info) == ("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10", 409)


def test_inline_policies(iam: Any, name: Callable[..., str]) -> None:
    user, group, role = name("u"), name("g"), name("r")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.put_user_policy(UserName=user, PolicyName="b", PolicyDocument=ALLOW_S3_READ)
    iam.put_user_policy(UserName=user, PolicyName="a", PolicyDocument=doc("sqs:*"))
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == ["a", "b"]
    bodies = raw_bodies(iam, "GetUserPolicy")
    got = iam.get_user_policy(UserName=user, PolicyName="a")
    assert got["PolicyDocument"] == json.loads(doc("sqs:*"))
    assert b"<PolicyDocument>%7B%22Version%22%3A" in bodies[0]
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=ALLOW_S3_READ)
    assert iam.get_group_policy(GroupName=group, PolicyName="g")["GroupName"] == group
    iam.put_role_policy(RoleName=role, PolicyName="r", PolicyDocument=ALLOW_S3_READ)
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["r"]
    iam.delete_role_policy(RoleName=role, PolicyName="r")
    with pytest.raises(ClientError) as info:
        iam.get_role_policy(RoleName=role, PolicyName="r")
    assert error(info) == ("NoSuchEntity", "The role policy with name r cannot be found.", 404)
    with pytest.raises(ClientError) as info:
        iam.put_user_policy(UserName=user, PolicyName="bad", PolicyDocument='{"Statement": 1}')
    assert error(info)[0] == "MalformedPolicyDocument"


def test_aws_managed_catalogue(iam: Any, name: Callable[..., str]) -> None:
    policy = iam.get_policy(PolicyArn=S3_READ_ONLY)["Policy"]
    assert policy["PolicyName"] == "AmazonS3ReadOnlyAccess"
    version = iam.get_policy_version(PolicyArn=S3_READ_ONLY, VersionId=policy["DefaultVersionId"])
    statements = version["PolicyVersion"]["Document"]["Statement"]
    assert any("s3:Get*" in s["Action"] for s in statements)
    role = name("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.attach_role_policy(RoleName=role, PolicyArn=S3_READ_ONLY)
    assert iam.get_policy(PolicyArn=S3_READ_ONLY)["Policy"]["AttachmentCount"] >= 1
    aws = iam.list_policies(Scope="AWS", MaxItems=1000)
    assert aws["IsTruncated"] is True
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws["Policies"])
    names = {p["PolicyName"] for p in iam.get_paginator("list_policies").paginate(Scope="AWS")
             .build_full_result()["Policies"]}  # fmt: skip
    assert {"AdministratorAccess", "ReadOnlyAccess", "AmazonS3ReadOnlyAccess"} <= names
    attached = iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
    assert S3_READ_ONLY in {p["Arn"] for p in attached}
    with pytest.raises(ClientError) as info:
        iam.create_policy_version(PolicyArn=S3_READ_ONLY, PolicyDocument=ALLOW_S3_READ)
    assert error(info)[2] == 403
    with pytest.raises(ClientError) as info:
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAtAll")
    assert error(info)[0] == "NoSuchEntity"


def test_local_scope_lists_only_own_policies(iam: Any, name: Callable[..., str]) -> None:
    policy = name("loc")
    iam.create_policy(PolicyName=policy, PolicyDocument=ALLOW_S3_READ)
    local = iam.get_paginator("list_policies").paginate(Scope="Local").build_full_result()
    arns = [p["Arn"] for p in local["Policies"]]
    assert f"arn:aws:iam::000000000000:policy/{policy}" in arns
    assert not any(":aws:policy/" in a for a in arns)


def test_policy_tags(iam: Any, name: Callable[..., str]) -> None:
    arn = iam.create_policy(PolicyName=name("t"), PolicyDocument=ALLOW_S3_READ)["Policy"]["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "a", "Value": "1"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == []
