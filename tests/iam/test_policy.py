"""The IAM policy engine, table-driven: each case names the AWS documented rule it checks.

References are to the IAM User Guide's "IAM JSON policy elements reference" (elements,
condition operators, policy variables) and "Policy evaluation logic".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.iam.policy import (
    Decision,
    Policy,
    PolicyError,
    Principal,
    RequestInfo,
    evaluate,
    principal_context,
)

ACCOUNT = "111122223333"
ALICE = Principal(
    account=ACCOUNT,
    arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
    canonical_id="a" * 64,
)
ROLE_SESSION = Principal(
    account=ACCOUNT,
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/session-1",
    aliases=(f"arn:aws:iam::{ACCOUNT}:role/reader",),
)
STRANGER = Principal(account="444455556666", arn="arn:aws:iam::444455556666:root")
ANONYMOUS = Principal()
CLOUDFRONT = Principal(service="cloudfront.amazonaws.com")


def policy(*statements: dict[str, Any], version: str = "2012-10-17") -> Policy:
    return Policy.parse(json.dumps({"Version": version, "Statement": list(statements)}))


def stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/*",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def request(
    principal: Principal = ALICE,
    action: str = "s3:GetObject",
    resource: str = "arn:aws:s3:::bucket/key",
    **context: Any,
) -> RequestInfo:
    # Keyword names stand for keys: "__" is ":" and "_" is "-" (s3__max_keys -> s3:max-keys).
    keys = {k.replace("__", ":").replace("_", "-"): v for k, v in context.items()}
    full = {**principal_context(principal), **keys}
    return RequestInfo(action, resource, principal, full)


ALLOW, DENY, NONE = Decision.ALLOW, Decision.DENY, Decision.NO_MATCH

CASES: list[tuple[str, Policy, RequestInfo, Decision]] = [
    # --- evaluation logic -------------------------------------------------------------------
    ("allow when a statement matches", policy(stmt()), request(), ALLOW),
    ("implicit deny when nothing matches", policy(stmt(Action="s3:PutObject")), request(), NONE),
    (
        "explicit deny overrides any allow",
        policy(stmt(), stmt(Effect="Deny")),
        request(),
        DENY,
    ),
    # --- Action / NotAction -----------------------------------------------------------------
    ("action wildcard *", policy(stmt(Action="s3:*")), request(), ALLOW),
    ("action wildcard ?", policy(stmt(Action="s3:GetObjec?")), request(), ALLOW),
    ("actions are case-insensitive", policy(stmt(Action="S3:getobject")), request(), ALLOW),
    ("action list matches any", policy(stmt(Action=["s3:PutObject", "s3:Get*"])), request(), ALLOW),
    ("NotAction excludes", policy(stmt(Action=None, NotAction="s3:Get*")), request(), NONE),
    (
        "NotAction matches everything else",
        policy(stmt(Action=None, NotAction="s3:PutObject")),
        request(),
        ALLOW,
    ),
    # --- Resource / NotResource -------------------------------------------------------------
    (
        "resources are case-sensitive",
        policy(stmt(Resource="arn:aws:s3:::BUCKET/*")),
        request(),
        NONE,
    ),
    ("resource wildcard spans slashes", policy(stmt(Resource="arn:aws:s3:::b*")), request(), ALLOW),
    (
        "NotResource excludes",
        policy(stmt(Resource=None, NotResource="arn:aws:s3:::bucket/key")),
        request(),
        NONE,
    ),
    # --- Principal / NotPrincipal -----------------------------------------------------------
    ("Principal * includes anonymous", policy(stmt()), request(ANONYMOUS), ALLOW),
    (
        'Principal {"AWS": "*"} is every AWS principal',
        policy(stmt(Principal={"AWS": "*"})),
        request(STRANGER),
        ALLOW,
    ),
    (
        "an account id names every principal of the account",
        policy(stmt(Principal={"AWS": ACCOUNT})),
        request(ALICE),
        ALLOW,
    ),
    (
        "the account root ARN names the account",
        policy(stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})),
        request(ROLE_SESSION),
        ALLOW,
    ),
    (
        "an account principal excludes other accounts",
        policy(stmt(Principal={"AWS": ACCOUNT})),
        request(STRANGER),
        NONE,
    ),
    (
        "an account principal excludes anonymous callers",
        policy(stmt(Principal={"AWS": ACCOUNT})),
        request(ANONYMOUS),
        NONE,
    ),
    (
        "a user ARN names that user",
        policy(stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"})),
        request(ALICE),
        ALLOW,
    ),
    (
        "a role ARN matches its assumed-role sessions",
        policy(stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/reader"})),
        request(ROLE_SESSION),
        ALLOW,
    ),
    (
        "CanonicalUser principals",
        policy(stmt(Principal={"CanonicalUser": "a" * 64})),
        request(ALICE),
        ALLOW,
    ),
    (
        "Service principals",
        policy(stmt(Principal={"Service": "cloudfront.amazonaws.com"})),
        request(CLOUDFRONT),
        ALLOW,
    ),
    (
        "NotPrincipal applies to everyone else",
        policy(stmt(Effect="Deny", Principal=None, NotPrincipal={"AWS": ACCOUNT})),
        request(STRANGER),
        DENY,
    ),
    (
        "NotPrincipal spares the named principal",
        policy(stmt(Effect="Deny", Principal=None, NotPrincipal={"AWS": ACCOUNT})),
        request(ALICE),
        NONE,
    ),
    # --- condition operators ----------------------------------------------------------------
    (
        "StringEquals",
        policy(stmt(Condition={"StringEquals": {"s3:prefix": "home/"}})),
        request(s3__prefix="home/"),
        ALLOW,
    ),
    (
        "condition keys are case-insensitive",
        policy(stmt(Condition={"StringEquals": {"S3:Prefix": "home/"}})),
        request(s3__prefix="home/"),
        ALLOW,
    ),
    (
        "values of one key are ORed",
        policy(stmt(Condition={"StringEquals": {"s3:prefix": ["a/", "home/"]}})),
        request(s3__prefix="home/"),
        ALLOW,
    ),
    (
        "keys of one operator are ANDed",
        policy(stmt(Condition={"StringEquals": {"s3:prefix": "home/", "s3:delimiter": "/"}})),
        request(s3__prefix="home/"),
        NONE,
    ),
    (
        "a missing key fails a positive operator",
        policy(stmt(Condition={"StringEquals": {"s3:prefix": "home/"}})),
        request(),
        NONE,
    ),
    (
        "a missing key satisfies a negated operator",
        policy(stmt(Condition={"StringNotEquals": {"s3:prefix": "home/"}})),
        request(),
        ALLOW,
    ),
    (
        "...IfExists holds when the key is missing",
        policy(stmt(Condition={"StringEqualsIfExists": {"s3:prefix": "home/"}})),
        request(),
        ALLOW,
    ),
    (
        "...IfExists still tests a present key",
        policy(stmt(Condition={"StringEqualsIfExists": {"s3:prefix": "home/"}})),
        request(s3__prefix="etc/"),
        NONE,
    ),
    (
        "StringEqualsIgnoreCase",
        policy(stmt(Condition={"StringEqualsIgnoreCase": {"aws:UserAgent": "CURL"}})),
        request(aws__UserAgent="curl"),
        ALLOW,
    ),
    (
        "StringLike wildcards",
        policy(stmt(Condition={"StringLike": {"aws:Referer": "https://*.example.com/*"}})),
        request(aws__Referer="https://www.example.com/page"),
        ALLOW,
    ),
    (
        "StringNotLike",
        policy(stmt(Condition={"StringNotLike": {"aws:Referer": "https://*.example.com/*"}})),
        request(aws__Referer="https://evil.com/"),
        ALLOW,
    ),
    (
        "NumericLessThanEquals",
        policy(stmt(Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}})),
        request(s3__max_keys="10"),
        ALLOW,
    ),
    (
        "Numeric with a non-number fails",
        policy(stmt(Condition={"NumericLessThan": {"s3:max-keys": "10"}})),
        request(s3__max_keys="ten"),
        NONE,
    ),
    (
        "DateLessThan with ISO 8601",
        policy(stmt(Condition={"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})),
        request(aws__CurrentTime="2026-06-01T12:00:00Z"),
        ALLOW,
    ),
    (
        "DateGreaterThan with epoch seconds",
        policy(stmt(Condition={"DateGreaterThan": {"aws:EpochTime": "1000"}})),
        request(aws__EpochTime="2000"),
        ALLOW,
    ),
    (
        "Bool",
        policy(stmt(Effect="Deny", Condition={"Bool": {"aws:SecureTransport": "false"}})),
        request(aws__SecureTransport="false"),
        DENY,
    ),
    (
        "IpAddress with a CIDR",
        policy(stmt(Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})),
        request(aws__SourceIp="192.0.2.7"),
        ALLOW,
    ),
    (
        "NotIpAddress",
        policy(stmt(Condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "::1/128"]}})),
        request(aws__SourceIp="203.0.113.9"),
        ALLOW,
    ),
    (
        "ArnLike matches component-wise",
        policy(
            stmt(Condition={"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::*:distribution/*"}})
        ),
        request(aws__SourceArn="arn:aws:cloudfront::111122223333:distribution/E1"),
        ALLOW,
    ),
    (
        "ArnEquals rejects another ARN",
        policy(stmt(Condition={"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}})),
        request(aws__SourceArn="arn:aws:sns:us-east-1:1:other"),
        NONE,
    ),
    (
        "Null true: the key is absent",
        policy(stmt(Condition={"Null": {"s3:x-amz-server-side-encryption": "true"}})),
        request(),
        ALLOW,
    ),
    (
        "Null false: the key is present",
        policy(stmt(Condition={"Null": {"s3:x-amz-server-side-encryption": "false"}})),
        request(),
        NONE,
    ),
    (
        "ForAnyValue: one request value suffices",
        policy(stmt(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}})),
        request(aws__TagKeys=["team", "env"]),
        ALLOW,
    ),
    (
        "ForAnyValue fails on a missing key",
        policy(stmt(Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["env"]}})),
        request(),
        NONE,
    ),
    (
        "ForAllValues: every request value must match",
        policy(stmt(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}})),
        request(aws__TagKeys=["team", "env"]),
        NONE,
    ),
    (
        "ForAllValues holds on a missing key",
        policy(stmt(Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}})),
        request(),
        ALLOW,
    ),
    # --- policy variables -------------------------------------------------------------------
    (
        "${aws:username} in a resource",
        policy(stmt(Resource="arn:aws:s3:::bucket/home/${aws:username}/*")),
        request(resource="arn:aws:s3:::bucket/home/alice/notes"),
        ALLOW,
    ),
    (
        "a variable does not match another user's path",
        policy(stmt(Resource="arn:aws:s3:::bucket/home/${aws:username}/*")),
        request(resource="arn:aws:s3:::bucket/home/bob/notes"),
        NONE,
    ),
    (
        "a missing variable matches nothing",
        policy(stmt(Resource="arn:aws:s3:::bucket/home/${aws:username}/*")),
        request(STRANGER, resource="arn:aws:s3:::bucket/home//x"),
        NONE,
    ),
    (
        "a variable default value",
        policy(stmt(Resource="arn:aws:s3:::bucket/home/${aws:username, 'guest'}/*")),
        request(ANONYMOUS, resource="arn:aws:s3:::bucket/home/guest/x"),
        ALLOW,
    ),
    (
        "variables in condition values",
        policy(stmt(Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}})),
        request(s3__prefix="home/alice/docs"),
        ALLOW,
    ),
    (
        "${*} is a literal asterisk",
        policy(stmt(Resource="arn:aws:s3:::bucket/${*}")),
        request(resource="arn:aws:s3:::bucket/anything"),
        NONE,
    ),
    (
        "variables are literal text in version 2008-10-17",
        policy(stmt(Resource="arn:aws:s3:::bucket/${aws:username}"), version="2008-10-17"),
        request(resource="arn:aws:s3:::bucket/${aws:username}"),
        ALLOW,
    ),
]


@pytest.mark.parametrize(("rule", "doc", "req", "expected"), CASES, ids=[c[0] for c in CASES])
def test_evaluation(rule: str, doc: Policy, req: RequestInfo, expected: Decision) -> None:
    assert doc.evaluate(req) is expected, rule


def test_deny_in_any_policy_wins_across_policies() -> None:
    """Policy evaluation logic: an explicit deny in any applicable policy overrides allows."""
    allowing, denying = policy(stmt()), policy(stmt(Effect="Deny"))
    assert evaluate([allowing, denying], request()) is DENY
    assert evaluate([allowing], request()) is ALLOW
    assert evaluate([], request()) is NONE


INVALID = [
    (
        "the first byte must be '{'",
        "[]",
        "Policies must be valid JSON and the first byte must be '{'",
    ),
    ("invalid JSON", '{"Statement": ', "This policy contains invalid Json"),
    ("Statement is required", '{"Version": "2012-10-17"}', "Missing required field Statement"),
    (
        "Statement must not be empty",
        '{"Statement": []}',
        "Could not parse the policy: Statement is empty!",
    ),
    (
        "Version must be a known date",
        '{"Version": "1", "Statement": {}}',
        "The policy must contain a valid version string",
    ),
    (
        "Effect is required",
        json.dumps({"Statement": {"Principal": "*", "Action": "a:b", "Resource": "*"}}),
        "Missing required field Effect",
    ),
    (
        "Effect is Allow or Deny",
        json.dumps({"Statement": stmt(Effect="Maybe")}),
        "Invalid effect: Maybe",
    ),
    (
        "resource policies need a Principal",
        json.dumps({"Statement": stmt(Principal=None)}),
        "Missing required field Principal",
    ),
    (
        "Action is required",
        json.dumps({"Statement": stmt(Action=None)}),
        "Missing required field Action",
    ),
    (
        "Resource is required",
        json.dumps({"Statement": stmt(Resource=None)}),
        "Missing required field Resource",
    ),
    (
        "unknown principal types",
        json.dumps({"Statement": stmt(Principal={"Person": "x"})}),
        "Invalid principal in policy",
    ),
    (
        "malformed account principals",
        json.dumps({"Statement": stmt(Principal={"AWS": "12345"})}),
        "Invalid principal in policy",
    ),
    (
        "unknown condition operators",
        json.dumps({"Statement": stmt(Condition={"StringSorta": {"a:b": "c"}})}),
        "Invalid Condition type : StringSorta",
    ),
    (
        "unknown statement elements",
        json.dumps({"Statement": stmt(Actions="s3:*")}),
        "Unknown field Actions",
    ),
]


@pytest.mark.parametrize(("rule", "text", "message"), INVALID, ids=[c[0] for c in INVALID])
def test_validation(rule: str, text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.parse(text)
    assert str(info.value) == message, rule


def test_identity_policies_must_not_name_principals() -> None:
    """Identity-based policies have no Principal element."""
    with pytest.raises(PolicyError):
        Policy.parse(json.dumps({"Statement": stmt()}), resource_policy=False)
    Policy.parse(json.dumps({"Statement": stmt(Principal=None)}), resource_policy=False)


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ({"Effect": "Allow", "Action": "GetObject", "Resource": "*"},
         "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket/key"},
         'Resource bucket/key must be in ARN format or "*".'),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s*:::b"},
         "Resource vendor must be fully qualified and cannot contain regexes."),
        ({"Sid": "has space", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
         "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
         "regular expression [0-9A-Za-z]*"),
        ({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
         "Policy document should not specify a principal."),
    ],
)  # fmt: skip
def test_identity_policy_validation_messages(statement: dict[str, Any], message: str) -> None:
    # IAM's MalformedPolicyDocument messages for identity policies (CreatePolicy, Put*Policy).
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with pytest.raises(PolicyError) as exc:
        Policy.parse(document, resource_policy=False)
    assert str(exc.value) == message


def test_identity_policy_sids_must_be_unique() -> None:
    statement = {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement, statement]})
    with pytest.raises(PolicyError) as exc:
        Policy.parse(document, resource_policy=False)
    assert str(exc.value) == "Statement IDs (SID) in a single policy must be unique."


def test_trust_policies_have_no_resource() -> None:
    trust = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
             "Action": "sts:AssumeRole"}  # fmt: skip
    assert Policy.parse(json.dumps({"Statement": [trust]}), trust_policy=True)
    with pytest.raises(PolicyError) as exc:
        Policy.parse(json.dumps({"Statement": [{**trust, "Resource": "*"}]}), trust_policy=True)
    assert str(exc.value) == "Has prohibited field Resource"
