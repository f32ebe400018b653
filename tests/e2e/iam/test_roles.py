"""Roles (trust policies, session duration, boundaries), service-linked roles, instance profiles."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.iam.conftest import ALLOW_S3_READ, TRUST_EC2, error, raw_bodies


def test_create_role(iam: Any, name: Callable[..., str]) -> None:
    role = name("r")
    created = iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=TRUST_EC2, Description="d", MaxSessionDuration=7200
    )["Role"]
    assert re.fullmatch(r"AROA[A-Z2-7]{17}", created["RoleId"])
    got = iam.get_role(RoleName=role)["Role"]
    assert got["Arn"] == f"arn:aws:iam::000000000000:role/{role}"
    assert got["AssumeRolePolicyDocument"] == json.loads(TRUST_EC2)
    assert got["MaxSessionDuration"] == 7200
    assert got["Description"] == "d"


def test_trust_policy_on_the_wire_is_url_encoded(iam: Any, name: Callable[..., str]) -> None:
    role = name("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    bodies = raw_bodies(iam, "GetRole")
    iam.get_role(RoleName=role)
    assert b"<AssumeRolePolicyDocument>%7B%22Version%22" in bodies[0]


def test_trust_policy_validation(iam: Any, name: Callable[..., str]) -> None:
    with pytest.raises(ClientError) as info:
        iam.create_role(RoleName=name("r"), AssumeRolePolicyDocument="not json")
    assert error(info)[0] == "MalformedPolicyDocument"
    with_resource = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole", "Resource": "*"}]})  # fmt: skip
    with pytest.raises(ClientError) as info:
        iam.create_role(RoleName=name("r"), AssumeRolePolicyDocument=with_resource)
    assert error(info) == ("MalformedPolicyDocument", "Has prohibited field Resource", 400)


def test_max_session_duration_range(
    iam: Any, server: ServerProcess, name: Callable[..., str]
) -> None:
    unchecked = server.client("iam", config=Config(parameter_validation=False))
    for bad in (3599, 43201):
        with pytest.raises(ClientError) as info:
            unchecked.create_role(
                RoleName=name("r"), AssumeRolePolicyDocument=TRUST_EC2, MaxSessionDuration=bad
            )
        code, message, status = error(info)
        assert (code, status) == ("ValidationError", 400)
        assert f"Value '{bad}' at 'maxSessionDuration' failed to satisfy constraint" in message
    role = name("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.update_role(RoleName=role, MaxSessionDuration=43200)
    assert iam.get_role(RoleName=role)["Role"]["MaxSessionDuration"] == 43200


def test_update_assume_role_policy(iam: Any, name: Callable[..., str]) -> None:
    role = name("r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
        "Action": "sts:AssumeRole"}]})  # fmt: skip
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=trust)
    got = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert got["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}


def test_role_tags_and_list(iam: Any, name: Callable[..., str]) -> None:
    path = f"/{name('rp')}/"
    role = name("r")
    iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=TRUST_EC2,
                    Tags=[{"Key": "env", "Value": "dev"}])  # fmt: skip
    iam.tag_role(RoleName=role, Tags=[{"Key": "team", "Value": "x"}])
    iam.untag_role(RoleName=role, TagKeys=["env"])
    assert iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "team", "Value": "x"}]
    listed = iam.list_roles(PathPrefix=path)["Roles"]
    assert [r["RoleName"] for r in listed] == [role]
    assert "Tags" not in listed[0]


def test_delete_role_conflicts(iam: Any, name: Callable[..., str]) -> None:
    role, profile = name("r"), name("ip")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2)
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with pytest.raises(ClientError) as info:
        iam.delete_role(RoleName=role)
    assert error(info) == (
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
        409,
    )
    iam.detach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    with pytest.raises(ClientError) as info:
        iam.delete_role(RoleName=role)
    assert error(info)[1] == "Cannot delete entity, must remove roles from instance profile first."
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_role(RoleName=role)
    with pytest.raises(ClientError) as info:
        iam.get_role(RoleName=role)
    assert error(info) == ("NoSuchEntity", f"The role with name {role} cannot be found.", 404)


def test_permissions_boundary(iam: Any, name: Callable[..., str]) -> None:
    role, user = name("r"), name("u")
    arn = "arn:aws:iam::aws:policy/PowerUserAccess"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2, PermissionsBoundary=arn)
    assert iam.get_role(RoleName=role)["Role"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn,
    }  # fmt: skip
    iam.delete_role_permissions_boundary(RoleName=role)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=role)["Role"]
    iam.create_user(UserName=user)
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=arn)
    assert (
        iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    )
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PermissionsBoundaryUsageCount"] >= 1
    boundaries = iam.list_policies(Scope="AWS", PolicyUsageFilter="PermissionsBoundary")
    assert arn in {p["Arn"] for p in boundaries["Policies"]}
    with pytest.raises(ClientError) as info:
        iam.put_user_permissions_boundary(
            UserName=user, PermissionsBoundary="arn:aws:iam::000000000000:policy/none"
        )
    assert error(info)[0] == "InvalidInput"
    iam.delete_user_permissions_boundary(UserName=user)


def test_service_linked_role(iam: Any) -> None:
    role = iam.create_service_linked_role(
        AWSServiceName="elasticbeanstalk.amazonaws.com", CustomSuffix="e2e"
    )["Role"]
    assert role["RoleName"] == "AWSServiceRoleForElasticBeanstalk_e2e"
    assert role["Path"] == "/aws-service-role/elasticbeanstalk.amazonaws.com/"
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": ["elasticbeanstalk.amazonaws.com"]}
    name = role["RoleName"]
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSElasticBeanstalkServiceRolePolicy"]
    with pytest.raises(ClientError) as info:
        iam.delete_role(RoleName=name)
    assert error(info)[0] == "UnmodifiableEntity"
    with pytest.raises(ClientError) as info:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=ALLOW_S3_READ)
    assert error(info)[0] == "UnmodifiableEntity"
    task = iam.delete_service_linked_role(RoleName=name)["DeletionTaskId"]
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"]
    assert status == "SUCCEEDED"
    with pytest.raises(ClientError):
        iam.get_role(RoleName=name)


def test_reserved_service_role_path(iam: Any, name: Callable[..., str]) -> None:
    with pytest.raises(ClientError) as info:
        iam.create_role(RoleName=name("r"), Path="/aws-service-role/x/",
                        AssumeRolePolicyDocument=TRUST_EC2)  # fmt: skip
    assert error(info)[0] == "InvalidInput"


def test_instance_profiles(iam: Any, name: Callable[..., str]) -> None:
    profile, role, other = name("ip"), name("r"), name("r")
    created = iam.create_instance_profile(InstanceProfileName=profile, Path="/ip/")
    assert re.fullmatch(r"AIPA[A-Z2-7]{17}", created["InstanceProfile"]["InstanceProfileId"])
    for r in (role, other):
        iam.create_role(RoleName=r, AssumeRolePolicyDocument=TRUST_EC2)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role)
    with pytest.raises(ClientError) as info:
        iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=other)
    assert error(info)[0] == "LimitExceeded"
    got = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Arn"] == f"arn:aws:iam::000000000000:instance-profile/ip/{profile}"
    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [profile]
    iam.tag_instance_profile(InstanceProfileName=profile, Tags=[{"Key": "a", "Value": "b"}])
    assert iam.list_instance_profile_tags(InstanceProfileName=profile)["Tags"] == [
        {"Key": "a", "Value": "b"}
    ]
    with pytest.raises(ClientError) as info:
        iam.delete_instance_profile(InstanceProfileName=profile)
    assert error(info)[0] == "DeleteConflict"
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=profile)
    with pytest.raises(ClientError) as info:
        iam.get_instance_profile(InstanceProfileName=profile)
    assert error(info) == ("NoSuchEntity", f"Instance Profile {profile} cannot be found.", 404)
