"""Account-wide views (alias, summary, authorization details), policy simulation, account
isolation and durability across a restart and a crash."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.iam.conftest import ALLOW_S3_READ, TRUST_EC2, error

OTHER = "222233334444"
KEY, SECRET = "AKIAOTHERACCOUNT0001", "other-secret"

DENY_SECRET = json.dumps({
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
    ],
})  # fmt: skip


def test_account_alias() -> None:
    with ServerProcess() as own:
        iam = own.client("iam")
        assert iam.list_account_aliases()["AccountAliases"] == []
        iam.create_account_alias(AccountAlias="my-company")
        assert iam.list_account_aliases()["AccountAliases"] == ["my-company"]
        with pytest.raises(ClientError) as info:
            iam.create_account_alias(AccountAlias="Bad_Alias")
        assert error(info)[0] == "ValidationError"
        with pytest.raises(ClientError) as info:
            iam.delete_account_alias(AccountAlias="other-alias")
        assert error(info)[0] == "NoSuchEntity"
        iam.delete_account_alias(AccountAlias="my-company")
        assert iam.list_account_aliases()["AccountAliases"] == []


def test_account_summary_and_authorization_details() -> None:
    with ServerProcess() as own:
        iam = own.client("iam")
        iam.create_user(UserName="u1")
        iam.create_group(GroupName="g1")
        iam.add_user_to_group(GroupName="g1", UserName="u1")
        iam.put_user_policy(UserName="u1", PolicyName="inline", PolicyDocument=ALLOW_S3_READ)
        iam.create_role(RoleName="r1", AssumeRolePolicyDocument=TRUST_EC2)
        iam.attach_role_policy(RoleName="r1", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        arn = iam.create_policy(PolicyName="p1", PolicyDocument=ALLOW_S3_READ)["Policy"]["Arn"]
        iam.attach_group_policy(GroupName="g1", PolicyArn=arn)
        summary = iam.get_account_summary()["SummaryMap"]
        assert (summary["Users"], summary["Groups"], summary["Roles"], summary["Policies"]) == (
            1, 1, 1, 1,
        )  # fmt: skip
        assert summary["UsersQuota"] == 5000 and summary["AccessKeysPerUserQuota"] == 2
        details = iam.get_account_authorization_details()
        user = details["UserDetailList"][0]
        assert user["GroupList"] == ["g1"]
        assert user["UserPolicyList"][0]["PolicyDocument"] == json.loads(ALLOW_S3_READ)
        role = details["RoleDetailList"][0]
        assert role["AttachedManagedPolicies"][0]["PolicyName"] == "ReadOnlyAccess"
        assert role["AssumeRolePolicyDocument"] == json.loads(TRUST_EC2)
        policies = {p["Arn"]: p for p in details["Policies"]}
        assert policies[arn]["PolicyVersionList"][0]["IsDefaultVersion"] is True
        assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in policies
        only_roles = iam.get_account_authorization_details(Filter=["Role"])
        assert only_roles["UserDetailList"] == [] and len(only_roles["RoleDetailList"]) == 1
        page = iam.get_account_authorization_details(MaxItems=2)
        assert page["IsTruncated"] is True
        rest = iam.get_account_authorization_details(Marker=page["Marker"])
        lists = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
        total = sum(len(page[k]) + len(rest[k]) for k in lists)
        assert total == 5


def test_simulate_principal_policy(iam: Any, name: Callable[..., str]) -> None:
    user, group = name("sim"), name("simg")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_group_policy(GroupName=group, PolicyName="g", PolicyDocument=DENY_SECRET)
    arn = f"arn:aws:iam::000000000000:user/{user}"
    results = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "sqs:SendMessage"],
        ResourceArns=["arn:aws:s3:::secret/a", "arn:aws:s3:::public/a"],
    )["EvaluationResults"]  # fmt: skip
    decisions = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in results}
    assert decisions == {
        ("s3:GetObject", "arn:aws:s3:::secret/a"): "explicitDeny",
        ("s3:GetObject", "arn:aws:s3:::public/a"): "allowed",
        ("sqs:SendMessage", "arn:aws:s3:::secret/a"): "implicitDeny",
        ("sqs:SendMessage", "arn:aws:s3:::public/a"): "implicitDeny",
    }
    allowed = next(r for r in results if r["EvalDecision"] == "allowed")
    assert allowed["MatchedStatements"][0]["SourcePolicyId"] == "g"


def test_simulate_with_boundary(iam: Any, name: Callable[..., str]) -> None:
    role = name("simr")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST_EC2,
                    PermissionsBoundary="arn:aws:iam::aws:policy/AmazonSQSFullAccess")  # fmt: skip
    everything = {"Effect": "Allow", "Action": ["s3:*", "sqs:*"], "Resource": "*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [everything]})
    iam.put_role_policy(RoleName=role, PolicyName="all", PolicyDocument=document)
    results = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::000000000000:role/{role}",
        ActionNames=["s3:ListBucket", "sqs:SendMessage"],
    )["EvaluationResults"]  # fmt: skip
    by_action = {r["EvalActionName"]: r for r in results}
    assert by_action["sqs:SendMessage"]["EvalDecision"] == "allowed"
    s3 = by_action["s3:ListBucket"]
    assert s3["EvalDecision"] == "implicitDeny"
    assert s3["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_simulate_custom_policy_with_context(iam: Any) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]})  # fmt: skip

    def decide(ip: str | None) -> dict[str, Any]:
        entries = (
            []
            if ip is None
            else [
                {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [ip], "ContextKeyType": "ip"}
            ]
        )
        return iam.simulate_custom_policy(
            PolicyInputList=[policy], ActionNames=["s3:GetObject"], ContextEntries=entries
        )["EvaluationResults"][0]

    assert decide("10.1.2.3")["EvalDecision"] == "allowed"
    assert decide("192.168.0.1")["EvalDecision"] == "implicitDeny"
    assert decide(None)["MissingContextValues"] == ["aws:SourceIp"]
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[policy])["ContextKeyNames"]
    assert keys == ["aws:SourceIp"]
    with pytest.raises(ClientError) as info:
        iam.simulate_custom_policy(PolicyInputList=["{bad"], ActionNames=["s3:GetObject"])
    assert error(info)[0] == "MalformedPolicyDocument"


# -- isolation and durability ----------------------------------------------------------------


@pytest.fixture(scope="module")
def two_accounts() -> Iterator[ServerProcess]:
    proc = ServerProcess(extra_args=["--credentials", f"{KEY}:{SECRET}:{OTHER}"]).start()
    yield proc
    proc.stop()


def test_accounts_are_isolated(two_accounts: ServerProcess) -> None:
    mine = two_accounts.client("iam")
    theirs = two_accounts.client("iam", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    mine.create_user(UserName="same-name")
    created = theirs.create_user(UserName="same-name")["User"]
    assert created["Arn"] == f"arn:aws:iam::{OTHER}:user/same-name"
    theirs.create_policy(PolicyName="only-theirs", PolicyDocument=ALLOW_S3_READ)
    with pytest.raises(ClientError):
        mine.get_policy(PolicyArn=f"arn:aws:iam::{OTHER}:policy/only-theirs")
    with pytest.raises(ClientError) as info:
        mine.attach_user_policy(
            UserName="same-name", PolicyArn=f"arn:aws:iam::{OTHER}:policy/only-theirs"
        )
    assert error(info)[0] == "NoSuchEntity"
    assert [u["UserName"] for u in theirs.list_users()["Users"]] == ["same-name"]
    # Aliases name sign-in URLs: unique across accounts.
    mine.create_account_alias(AccountAlias="shared-alias-e2e")
    with pytest.raises(ClientError) as info:
        theirs.create_account_alias(AccountAlias="shared-alias-e2e")
    assert error(info)[0] == "EntityAlreadyExists"


def test_state_survives_restart_and_crash(disk_server: ServerProcess) -> None:
    iam = disk_server.client("iam")
    iam.create_user(UserName="durable")
    key = iam.create_access_key(UserName="durable")["AccessKey"]
    iam.create_role(RoleName="durable-role", AssumeRolePolicyDocument=TRUST_EC2)
    iam.attach_role_policy(RoleName="durable-role",
                           PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")  # fmt: skip
    disk_server.restart()
    iam = disk_server.client("iam")
    assert iam.get_user(UserName="durable")["User"]["UserName"] == "durable"
    iam.put_user_policy(UserName="durable", PolicyName="p", PolicyDocument=ALLOW_S3_READ)
    disk_server.kill()
    disk_server.start()
    iam = disk_server.client("iam")
    assert iam.list_user_policies(UserName="durable")["PolicyNames"] == ["p"]
    keys = iam.list_access_keys(UserName="durable")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]
    attached = iam.list_attached_role_policies(RoleName="durable-role")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ReadOnlyAccess"]


def test_policies_granting_service_access(iam: Any, name: Callable[..., str]) -> None:
    user, group = name("gs"), name("gsg")
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="s3read", PolicyDocument=ALLOW_S3_READ)
    iam.attach_group_policy(GroupName=group,
                            PolicyArn="arn:aws:iam::aws:policy/AmazonSQSFullAccess")  # fmt: skip
    arn = f"arn:aws:iam::000000000000:user/{user}"
    answer = iam.list_policies_granting_service_access(Arn=arn, ServiceNamespaces=["s3", "sqs"])
    by_namespace = {
        a["ServiceNamespace"]: a["Policies"] for a in answer["PoliciesGrantingServiceAccess"]
    }
    assert by_namespace["s3"] == [{"PolicyName": "s3read", "PolicyType": "INLINE"}]
    assert by_namespace["sqs"] == [{
        "PolicyName": "AmazonSQSFullAccess", "PolicyType": "MANAGED",
        "PolicyArn": "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
        "EntityType": "GROUP", "EntityName": group,
    }]  # fmt: skip
    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    details = iam.get_service_last_accessed_details(JobId=job)
    assert details["JobStatus"] == "COMPLETED"
    assert {s["ServiceNamespace"] for s in details["ServicesLastAccessed"]} == {"s3", "sqs"}


def test_sts_preferences_in_summary() -> None:
    with ServerProcess() as own:
        iam = own.client("iam")
        assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
        iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
        assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2


def test_organizations_and_outbound_federation() -> None:
    with ServerProcess() as own:
        iam = own.client("iam")
        with pytest.raises(ClientError) as info:
            iam.list_organizations_features()
        assert error(info)[0] == "OrganizationNotFoundException"
        with pytest.raises(ClientError) as info:
            iam.get_outbound_web_identity_federation_info()
        assert error(info)[:1] + error(info)[2:] == ("FeatureDisabled", 404)
        issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
        assert issuer.startswith("https://") and issuer.endswith(".tokens.sts.global.api.aws")
        with pytest.raises(ClientError) as info:
            iam.enable_outbound_web_identity_federation()
        assert error(info)[0] == "FeatureEnabled"
        assert iam.get_outbound_web_identity_federation_info()["IssuerIdentifier"] == issuer
        iam.disable_outbound_web_identity_federation()
        with pytest.raises(ClientError) as info:
            iam.disable_outbound_web_identity_federation()
        assert error(info)[0] == "FeatureDisabled"


def test_context_keys_and_group_simulation(iam: Any, name: Callable[..., str]) -> None:
    group = name("ckg")
    iam.create_group(GroupName=group)
    conditional = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"},
                      "Bool": {"aws:SecureTransport": "true"}}}]})  # fmt: skip
    iam.put_group_policy(GroupName=group, PolicyName="c", PolicyDocument=conditional)
    arn = f"arn:aws:iam::000000000000:group/{group}"
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=arn)["ContextKeyNames"]
    assert sorted(keys) == ["aws:RequestedRegion", "aws:SecureTransport"]
    entries = [
        {"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"],
         "ContextKeyType": "string"},
        {"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["true"],
         "ContextKeyType": "boolean"},
    ]  # fmt: skip
    result = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject"], ContextEntries=entries
    )["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["MissingContextValues"] == []
