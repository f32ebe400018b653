"""AWS's policy evaluation logic, table-driven: each case cites the documented rule it checks
(the IAM User Guide page and the rule's name on it)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from overcast.iam.evaluation import NamedPolicy, Policies, PolicyKind, Reason, authorize
from overcast.iam.matching import ContextValue
from overcast.iam.policy import Policy, Principal, RequestInfo

GUIDE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
LOGIC = GUIDE + "reference_policies_evaluation-logic.html"
CROSS = GUIDE + "reference_policies_evaluation-logic-cross-account.html"
BOUNDARIES = GUIDE + "access_policies_boundaries.html"
SESSION = GUIDE + "access_policies.html#policies_session"
CONDITIONS = GUIDE + "reference_policies_elements_condition_operators.html"
MULTI = GUIDE + "reference_policies_condition-single-vs-multi-valued-context-keys.html"
VARIABLES = GUIDE + "reference_policies_variables.html"
NOT_ACTION = GUIDE + "reference_policies_elements_notaction.html"
NOT_RESOURCE = GUIDE + "reference_policies_elements_notresource.html"
NOT_PRINCIPAL = GUIDE + "reference_policies_elements_notprincipal.html"
ACTION = GUIDE + "reference_policies_elements_action.html"

ACCOUNT = "111122223333"
OTHER = "444455556666"
ALICE = Principal(account=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/alice")
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/reader"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/s1"
READER = Principal(account=ACCOUNT, arn=SESSION_ARN, aliases=(ROLE_ARN,))
BUCKET_OBJ = "arn:aws:s3:::bucket/key"


def identity(*statements: dict[str, Any], name: str = "identity") -> NamedPolicy:
    body = {"Version": "2012-10-17", "Statement": list(statements)}
    return NamedPolicy(name, Policy.parse(json.dumps(body), resource_policy=False))


def resource(*statements: dict[str, Any]) -> NamedPolicy:
    body = {"Version": "2012-10-17", "Statement": list(statements)}
    return NamedPolicy("bucket policy", Policy.parse(json.dumps(body)))


def allow(action: str = "s3:GetObject", res: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": res, **extra}


def deny(action: str = "s3:GetObject", res: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": res, **extra}


def grant_to(who: str, effect: str = "Allow", action: str = "s3:GetObject") -> dict[str, Any]:
    return {"Effect": effect, "Principal": {"AWS": who}, "Action": action, "Resource": "*"}


@dataclass(frozen=True)
class Case:
    rule: str  # "<page URL> :: <rule name>"
    policies: Policies
    allowed: bool
    reason: Reason
    principal: Principal = ALICE
    action: str = "s3:GetObject"
    resource: str = BUCKET_OBJ
    context: dict[str, ContextValue] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "implicit deny by default": Case(
        f"{LOGIC} :: By default, all requests are implicitly denied",
        Policies(),
        False,
        Reason.NO_IDENTITY_ALLOW,
    ),
    "identity policy allows": Case(
        f"{LOGIC} :: An explicit allow in an identity-based policy overrides the default",
        Policies(identity=[identity(allow())]),
        True,
        Reason.ALLOWED,
    ),
    "explicit deny overrides allow in the same policy": Case(
        f"{LOGIC} :: An explicit deny in any policy overrides any allows",
        Policies(identity=[identity(allow("s3:*"), deny("s3:GetObject"))]),
        False,
        Reason.EXPLICIT_DENY,
    ),
    "explicit deny in a resource policy overrides an identity allow": Case(
        f"{LOGIC} :: An explicit deny in any policy overrides any allows",
        Policies(identity=[identity(allow())], resource=[resource(grant_to("*", "Deny"))]),
        False,
        Reason.EXPLICIT_DENY,
    ),
    "explicit deny in a permissions boundary": Case(
        f"{BOUNDARIES} :: Evaluating effective permissions with boundaries (explicit deny)",
        Policies(identity=[identity(allow())], boundary=identity(allow("*"), deny())),
        False,
        Reason.EXPLICIT_DENY,
    ),
    "boundary does not allow": Case(
        f"{BOUNDARIES} :: Effective permissions are the intersection of identity policy and "
        "permissions boundary",
        Policies(identity=[identity(allow("s3:*"))], boundary=identity(allow("s3:ListBucket"))),
        False,
        Reason.NO_BOUNDARY_ALLOW,
    ),
    "boundary alone grants nothing": Case(
        f"{BOUNDARIES} :: A permissions boundary does not grant permissions on its own",
        Policies(boundary=identity(allow("*"))),
        False,
        Reason.NO_IDENTITY_ALLOW,
    ),
    "boundary and identity both allow": Case(
        f"{BOUNDARIES} :: Effective permissions are the intersection",
        Policies(identity=[identity(allow("s3:*"))], boundary=identity(allow("s3:Get*"))),
        True,
        Reason.ALLOWED,
    ),
    "session policy does not allow": Case(
        f"{SESSION} :: The resulting session's permissions are the intersection of the "
        "identity-based policies and the session policies",
        Policies(identity=[identity(allow("s3:*"))], session=[identity(allow("s3:ListBucket"))]),
        False,
        Reason.NO_SESSION_ALLOW,
        principal=READER,
    ),
    "session policy cannot grant more than the role": Case(
        f"{SESSION} :: Session policies limit permissions; they cannot grant more",
        Policies(identity=[identity(allow("s3:ListBucket"))], session=[identity(allow("s3:*"))]),
        False,
        Reason.NO_IDENTITY_ALLOW,
        principal=READER,
    ),
    "federated user without a session policy has no permissions": Case(
        f"{SESSION} :: GetFederationToken: if you do not pass a policy, the session has no "
        "permissions",
        Policies(identity=[identity(allow("*"))], session=[]),
        False,
        Reason.NO_SESSION_ALLOW,
    ),
    "same account: resource policy naming the user suffices": Case(
        f"{LOGIC} :: Evaluating identity-based policies with resource-based policies "
        "(same account: an allow in either is enough)",
        Policies(resource=[resource(grant_to(ALICE.arn or ""))]),
        True,
        Reason.ALLOWED,
    ),
    "same account: resource policy naming the user is not limited by the boundary": Case(
        f"{BOUNDARIES} :: Resource-based policies that grant to the IAM user ARN are not "
        "limited by an implicit deny in a permissions boundary",
        Policies(
            boundary=identity(allow("s3:ListBucket")),
            resource=[resource(grant_to(ALICE.arn or ""))],
        ),
        True,
        Reason.ALLOWED,
    ),
    "same account: resource policy naming the role is limited by the boundary": Case(
        f"{BOUNDARIES} :: Resource-based policies that grant to the role ARN are limited by an "
        "implicit deny in a permissions boundary",
        Policies(
            boundary=identity(allow("s3:ListBucket")), resource=[resource(grant_to(ROLE_ARN))]
        ),
        False,
        Reason.NO_BOUNDARY_ALLOW,
        principal=READER,
    ),
    "same account: resource policy naming the session ARN is not limited by session policies": Case(
        f"{SESSION} :: A resource-based policy that specifies the session's ARN grants "
        "permissions directly to the session",
        Policies(
            session=[identity(allow("s3:ListBucket"))], resource=[resource(grant_to(SESSION_ARN))]
        ),
        True,
        Reason.ALLOWED,
        principal=READER,
    ),
    "same account: resource policy naming the role is limited by session policies": Case(
        f"{SESSION} :: A resource-based policy that specifies the role's ARN is limited by "
        "the session policy",
        Policies(
            session=[identity(allow("s3:ListBucket"))], resource=[resource(grant_to(ROLE_ARN))]
        ),
        False,
        Reason.NO_SESSION_ALLOW,
        principal=READER,
    ),
    "same account: resource policy naming the account delegates to IAM": Case(
        f"{GUIDE}access_policies_identity-vs-resource.html :: An account principal in a "
        "resource-based policy delegates to the account's identity-based policies",
        Policies(resource=[resource(grant_to(f"arn:aws:iam::{ACCOUNT}:root"))]),
        False,
        Reason.NO_IDENTITY_ALLOW,
    ),
    "cross account: identity allows, resource does not": Case(
        f"{CROSS} :: Both the identity-based policy and the resource-based policy must allow",
        Policies(identity=[identity(allow())], resource_account=OTHER),
        False,
        Reason.NO_RESOURCE_ALLOW,
    ),
    "cross account: resource allows, identity does not": Case(
        f"{CROSS} :: Both the identity-based policy and the resource-based policy must allow",
        Policies(resource=[resource(grant_to(ALICE.arn or ""))], resource_account=OTHER),
        False,
        Reason.NO_IDENTITY_ALLOW,
    ),
    "cross account: both allow": Case(
        f"{CROSS} :: Both the identity-based policy and the resource-based policy must allow",
        Policies(
            identity=[identity(allow())],
            resource=[resource(grant_to(ACCOUNT))],
            resource_account=OTHER,
        ),
        True,
        Reason.ALLOWED,
    ),
    "SCPs must allow": Case(
        f"{LOGIC} :: Organizations SCPs: if an SCP does not allow the action, the request is "
        "implicitly denied",
        Policies(identity=[identity(allow())], scps=[identity(allow("ec2:*"))]),
        False,
        Reason.NO_SCP_ALLOW,
    ),
    "SCP deny overrides": Case(
        f"{LOGIC} :: An explicit deny in any policy overrides any allows (SCPs included)",
        Policies(identity=[identity(allow())], scps=[identity(allow("*"), deny())]),
        False,
        Reason.EXPLICIT_DENY,
    ),
    "SCP allows, identity allows": Case(
        f"{LOGIC} :: Organizations SCPs",
        Policies(identity=[identity(allow())], scps=[identity(allow("*"))]),
        True,
        Reason.ALLOWED,
    ),
    "NotAction allows every other action": Case(
        f"{NOT_ACTION} :: NotAction with Allow: every action except the ones listed",
        Policies(identity=[identity({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]),
        True,
        Reason.ALLOWED,
    ),
    "NotAction does not allow the listed actions": Case(
        f"{NOT_ACTION} :: NotAction with Allow: every action except the ones listed",
        Policies(identity=[identity({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})]),
        False,
        Reason.NO_IDENTITY_ALLOW,
    ),
    "NotResource deny": Case(
        f"{NOT_RESOURCE} :: NotResource with Deny: denies everything but the listed resources",
        Policies(
            identity=[
                identity(
                    allow("s3:*"),
                    {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::safe/*"},
                )
            ]
        ),
        False,
        Reason.EXPLICIT_DENY,
    ),
    "NotPrincipal deny spares the named principal": Case(
        f"{NOT_PRINCIPAL} :: NotPrincipal with Deny: everyone but the named principals",
        Policies(
            identity=[identity(allow())],
            resource=[
                resource(
                    {
                        "Effect": "Deny",
                        "NotPrincipal": {"AWS": ALICE.arn},
                        "Action": "s3:*",
                        "Resource": "*",
                    }
                )
            ],
        ),
        True,
        Reason.ALLOWED,
    ),
    "actions match case-insensitively with wildcards": Case(
        f"{ACTION} :: Action names are case-insensitive; wildcards match",
        Policies(identity=[identity(allow("S3:get*"))]),
        True,
        Reason.ALLOWED,
    ),
    "resource ARNs are case-sensitive": Case(
        f"{GUIDE}reference_policies_elements_resource.html :: Resource ARNs are case-sensitive",
        Policies(identity=[identity(allow("s3:GetObject", "arn:aws:s3:::BUCKET/*"))]),
        False,
        Reason.NO_IDENTITY_ALLOW,
    ),
    "policy variable in the resource": Case(
        f"{VARIABLES} :: ${{aws:username}} is replaced with the requester's user name",
        Policies(identity=[identity(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}"))]),
        True,
        Reason.ALLOWED,
        resource="arn:aws:s3:::bucket/alice",
        context={"aws:username": "alice"},
    ),
    "policy variable without a value matches nothing": Case(
        f"{VARIABLES} :: If the key is not present, the policy element does not match",
        Policies(identity=[identity(allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:username}"))]),
        False,
        Reason.NO_IDENTITY_ALLOW,
        resource="arn:aws:s3:::bucket/alice",
    ),
    "policy variable default value": Case(
        f"{VARIABLES} :: Specifying default values for policy variables",
        Policies(
            identity=[
                identity(
                    allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'none'}")
                )
            ]
        ),
        True,
        Reason.ALLOWED,
        resource="arn:aws:s3:::bucket/none",
    ),
}


def cond(block: dict[str, Any]) -> Policies:
    return Policies(identity=[identity(allow(Condition=block))])


CONDITION_CASES: list[tuple[str, dict[str, Any], dict[str, ContextValue], bool]] = [
    # (rule, condition block, request context, allowed)
    (f"{CONDITIONS} :: String condition operators (StringEquals)",
     {"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {"aws:PrincipalTag/team": "blue"}, True),
    (f"{CONDITIONS} :: StringEquals is case-sensitive",
     {"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {"aws:PrincipalTag/team": "Blue"}, False),
    (f"{CONDITIONS} :: StringEqualsIgnoreCase",
     {"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "blue"}},
     {"aws:PrincipalTag/team": "BLUE"}, True),
    (f"{CONDITIONS} :: StringLike with wildcards",
     {"StringLike": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/alice/"}, True),
    (f"{CONDITIONS} :: StringNotEquals is true when the key is absent",
     {"StringNotEquals": {"aws:PrincipalTag/team": "red"}}, {}, True),
    (f"{CONDITIONS} :: A condition on an absent key is false",
     {"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {}, False),
    (f"{CONDITIONS} :: ...IfExists: true when the key is absent",
     {"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}, {}, True),
    (f"{CONDITIONS} :: ...IfExists: evaluated when the key is present",
     {"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}},
     {"aws:PrincipalTag/team": "red"}, False),
    (f"{CONDITIONS} :: Numeric condition operators",
     {"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
    (f"{CONDITIONS} :: Numeric condition operators",
     {"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "11"}, False),
    (f"{CONDITIONS} :: Date condition operators",
     {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
     {"aws:CurrentTime": "2026-11-22T12:00:00Z"}, True),
    (f"{CONDITIONS} :: Date condition operators (epoch values)",
     {"DateLessThan": {"aws:EpochTime": "1000"}}, {"aws:EpochTime": "2000"}, False),
    (f"{CONDITIONS} :: Boolean condition operators",
     {"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"}, False),
    (f"{CONDITIONS} :: Boolean condition operators",
     {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": "true"},
     True),
    (f"{CONDITIONS} :: Binary condition operators",
     {"BinaryEquals": {"aws:PrincipalTag/key": "QmluYXJ5"}},
     {"aws:PrincipalTag/key": "QmluYXJ5"}, True),
    (f"{CONDITIONS} :: IP address condition operators",
     {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"}, True),
    (f"{CONDITIONS} :: NotIpAddress",
     {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.7"},
     False),
    (f"{CONDITIONS} :: IP address condition operators (IPv6)",
     {"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db8::1"}, True),
    (f"{CONDITIONS} :: ARN condition operators",
     {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/admin-*"}},
     {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/admin-ops"}, True),
    (f"{CONDITIONS} :: ArnNotEquals",
     {"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:topic"}},
     {"aws:SourceArn": "arn:aws:sns:us-east-1:1:topic"}, False),
    (f"{CONDITIONS} :: Condition operator to check existence of condition keys (Null true)",
     {"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    (f"{CONDITIONS} :: Condition operator to check existence of condition keys (Null false)",
     {"Null": {"aws:TokenIssueTime": "false"}}, {}, False),
    (f"{MULTI} :: ForAllValues: true when every request value matches",
     {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
     {"aws:TagKeys": ["env"]}, True),
    (f"{MULTI} :: ForAllValues: false when one request value does not match",
     {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}},
     {"aws:TagKeys": ["env", "cost"]}, False),
    (f"{MULTI} :: ForAllValues: true when the key is absent (empty set)",
     {"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}, {}, True),
    (f"{MULTI} :: ForAnyValue: true when one request value matches",
     {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {"aws:TagKeys": ["cost", "env"]},
     True),
    (f"{MULTI} :: ForAnyValue: false when the key is absent",
     {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}}, {}, False),
    (f"{CONDITIONS} :: Multiple values for one key are ORed",
     {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}},
     {"aws:RequestedRegion": "us-east-1"}, True),
    (f"{GUIDE}reference_policies_condition-logic-multiple-context-keys-or-values.html :: "
     "Multiple keys and operators are ANDed",
     {"StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:PrincipalTag/team": "blue"}},
     {"aws:RequestedRegion": "us-east-1", "aws:PrincipalTag/team": "red"}, False),
    (f"{GUIDE}reference_policies_condition-keys.html :: Condition key names are "
     "case-insensitive",
     {"StringEquals": {"AWS:principaltag/Team": "blue"}}, {"aws:PrincipalTag/Team": "blue"}, True),
    (f"{VARIABLES} :: Policy variables in condition values",
     {"StringEquals": {"s3:prefix": "${aws:username}/"}},
     {"s3:prefix": "alice/", "aws:username": "alice"}, True),
]  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_evaluation_logic(name: str) -> None:
    case = CASES[name]
    assert case.rule.startswith(GUIDE)
    request = RequestInfo(case.action, case.resource, case.principal, case.context)
    outcome = authorize(request, case.policies)
    assert (outcome.allowed, outcome.reason) == (case.allowed, case.reason), case.rule


@pytest.mark.parametrize(("rule", "block", "context", "allowed"), CONDITION_CASES)
def test_condition_operators(
    rule: str, block: dict[str, Any], context: dict[str, ContextValue], allowed: bool
) -> None:
    request = RequestInfo("s3:GetObject", BUCKET_OBJ, ALICE, context)
    assert authorize(request, cond(block)).allowed is allowed, rule


def test_outcome_names_the_deciding_statement() -> None:
    # LOGIC :: the explanation AWS gives: which kind of policy denied and why.
    policies = Policies(
        identity=[identity({**allow("s3:*"), "Sid": "All"}, {**deny(), "Sid": "NoRead"})]
    )
    outcome = authorize(RequestInfo("s3:GetObject", BUCKET_OBJ, ALICE), policies)
    assert outcome.statement is not None
    assert (outcome.statement.kind, outcome.statement.sid, outcome.statement.index) == (
        PolicyKind.IDENTITY,
        "NoRead",
        1,
    )
    assert outcome.because("s3:GetObject") == "with an explicit deny in an identity-based policy"
    denied = authorize(RequestInfo("s3:GetObject", BUCKET_OBJ, ALICE), Policies())
    assert denied.because("s3:GetObject") == (
        "because no identity-based policy allows the s3:GetObject action"
    )
