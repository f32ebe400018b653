"""Pure logic: TOTP (RFC 6238 vectors), pagination markers, tags, trust-policy validation, the
managed policies catalogue."""

from __future__ import annotations

import base64
import json

import pytest

from overcast.services.iam import catalogue, totp
from overcast.services.iam.common import (
    encode_document,
    merge_tags,
    page,
    parse_identity_policy,
    parse_trust_policy,
    remove_tags,
)
from overcast.services.iam.errors import (
    InvalidInput,
    LimitExceeded,
    MalformedPolicyDocument,
    ValidationError,
)

RFC_SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("when", "code"),
    # RFC 6238 appendix B (SHA-1), last six digits of the eight-digit values.
    [(59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924"),
     (2000000000, "279037"), (20000000000, "353130")],
)  # fmt: skip
def test_totp_rfc_vectors(when: int, code: str) -> None:
    assert totp.code_now(RFC_SEED, when) == code


def test_totp_window() -> None:
    seed = totp.new_seed()
    assert len(seed) == 32
    now = 1_700_000_000.0
    assert totp.find_step(seed, totp.code_now(seed, now), now, 1) == totp.step_of(now)
    assert totp.find_step(seed, totp.code_now(seed, now + 30), now, 1) == totp.step_of(now) + 1
    assert totp.find_step(seed, totp.code_now(seed, now + 90), now, 1) is None
    assert totp.find_step(seed, "12345", now, 1) is None


def test_pagination_markers() -> None:
    items = [f"k{i:02d}" for i in range(7)]
    first = page(items, {"MaxItems": 3}, lambda x: x, "Items")
    assert first["Items"] == ["k00", "k01", "k02"] and first["IsTruncated"]
    second = page(items, {"MaxItems": 3, "Marker": first["Marker"]}, lambda x: x, "Items")
    assert second["Items"] == ["k03", "k04", "k05"]
    third = page(items, {"MaxItems": 3, "Marker": second["Marker"]}, lambda x: x, "Items")
    assert third == {"Items": ["k06"], "IsTruncated": False}
    # The marker's item was deleted meanwhile: listing resumes after where it sorted.
    shorter = [i for i in items if i != "k02"]
    resumed = page(shorter, {"MaxItems": 2, "Marker": first["Marker"]}, lambda x: x, "Items")
    assert resumed["Items"] == ["k03", "k04"]
    with pytest.raises(InvalidInput):
        page(items, {"Marker": "%%%"}, lambda x: x, "Items")


def test_documents_are_rfc3986_encoded() -> None:
    text = '{"Action": "s3:*", "Resource": "arn:aws:s3:::a_b-c.d~e/(x)"}'
    assert encode_document(text) == (
        "%7B%22Action%22%3A%20%22s3%3A%2A%22%2C%20%22Resource%22%3A%20%22"
        "arn%3Aaws%3As3%3A%3A%3Aa_b-c.d~e%2F%28x%29%22%7D"
    )


def test_tags() -> None:
    tags = merge_tags([], [{"Key": "Env", "Value": "a"}, {"Key": "b", "Value": "1"}])
    # Keys are case-insensitive: "env" replaces "Env".
    tags = merge_tags(tags, [{"Key": "env", "Value": "b"}])
    assert tags == [{"Key": "b", "Value": "1"}, {"Key": "env", "Value": "b"}]
    assert remove_tags(tags, ["ENV"]) == [{"Key": "b", "Value": "1"}]
    with pytest.raises(InvalidInput):
        merge_tags([], [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}])
    with pytest.raises(LimitExceeded):
        merge_tags([], [{"Key": f"k{i}", "Value": ""} for i in range(51)])
    with pytest.raises(ValidationError):
        merge_tags([], [{"Key": "semi;colon", "Value": ""}])
    assert merge_tags([], [{"Key": "Café costs", "Value": "a/b=c+d@e:f"}])


def test_trust_policies() -> None:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "sts:AssumeRole"}]}  # fmt: skip
    assert len(parse_trust_policy(json.dumps(trust)).statements) == 1
    no_principal = {"Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}  # fmt: skip
    with pytest.raises(MalformedPolicyDocument):
        parse_trust_policy(json.dumps(no_principal))
    with pytest.raises(MalformedPolicyDocument):
        parse_trust_policy("[]")


def test_identity_policies_refuse_principals() -> None:
    with_principal = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}  # fmt: skip
    with pytest.raises(MalformedPolicyDocument):
        parse_identity_policy(json.dumps(with_principal))


def test_catalogue() -> None:
    admin = catalogue.get("arn:aws:iam::aws:policy/AdministratorAccess")
    assert admin is not None
    assert admin.document["Statement"][0]["Action"] == "*"
    assert admin.policy_id.startswith("ANPA") and len(admin.policy_id) == 21
    every = catalogue.all_policies()
    assert len(every) > 1000
    assert all(p.arn.startswith(catalogue.AWS_POLICY_PREFIX) for p in every)
    # Service-role policies keep their paths in the ARN.
    assert (
        catalogue.get("arn:aws:iam::aws:policy/aws-service-role/AutoScalingServiceRolePolicy")
        is not None
    )
    assert catalogue.get("arn:aws:iam::aws:policy/Nope") is None


def test_mixins_do_not_shadow_each_others_helpers() -> None:
    """The provider is a union of mixins: a private helper defined twice would silently call the
    wrong one for every mixin but the first in the MRO."""
    from overcast.services.iam.common import IamBase
    from overcast.services.iam.provider import IamProvider

    seen: dict[str, str] = {}
    for cls in IamProvider.__mro__:
        if not issubclass(cls, IamBase) or cls in (IamBase, IamProvider):
            continue
        for attr in vars(cls):
            if attr.startswith("_") and not attr.startswith("__"):
                assert attr not in seen, f"{attr} in both {seen[attr]} and {cls.__name__}"
                seen[attr] = cls.__name__
