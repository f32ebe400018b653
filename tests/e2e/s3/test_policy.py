"""S3 bucket policies end to end: storage, S3's validation (MalformedPolicy), policy status, and
evaluation for anonymous and cross-account callers (explicit Deny applies to the owner too)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import ACCOUNT, anonymous_get, error_of, new_bucket


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
        **extra,
    }


def test_put_get_delete_policy(s3: Any) -> None:
    name = new_bucket(s3)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_policy(Bucket=name)
    assert error_of(info) == ("NoSuchBucketPolicy", 404)
    text = document(allow({"AWS": ACCOUNT}, "s3:GetObject", f"arn:aws:s3:::{name}/*"))
    s3.put_bucket_policy(Bucket=name, Policy=text)
    assert s3.get_bucket_policy(Bucket=name)["Policy"] == text
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"] == {"IsPublic": False}
    s3.delete_bucket_policy(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_policy_status(Bucket=name)
    assert error_of(info) == ("NoSuchBucketPolicy", 404)


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not json", "Policies must be valid JSON and the first byte must be '{'"),
        ('{"Statement": [', "This policy contains invalid Json"),
        ('{"Version": "2012-10-17"}', "Missing required field Statement"),
        (
            '{"Version": "2012-10-17", "Statement": []}',
            "Could not parse the policy: Statement is empty!",
        ),
        (
            '{"Version": "2000-01-01", "Statement": []}',
            "The policy must contain a valid version string",
        ),
        (
            document({"Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::B/*"}),
            "Missing required field Effect",
        ),
        (document(allow("*", "s3:GetObjects", "arn:aws:s3:::B/*")), "Policy has invalid action"),
        (document(allow("*", "sqs:SendMessage", "arn:aws:s3:::B/*")), "Policy has invalid action"),
        (
            document(allow("*", "s3:GetObject", "arn:aws:s3:::elsewhere/*")),
            "Policy has invalid resource",
        ),
        (
            document(allow({"AWS": "bob"}, "s3:GetObject", "arn:aws:s3:::B/*")),
            "Invalid principal in policy",
        ),
        (
            document(allow("*", "s3:GetObject", "arn:aws:s3:::B")),
            "Action does not apply to any resource(s) in statement",
        ),
        (
            document(
                allow(
                    "*",
                    "s3:GetObject",
                    "arn:aws:s3:::B/*",
                    Condition={"StringEqualz": {"aws:SourceIp": "x"}},
                )
            ),
            "Invalid Condition type : StringEqualz",
        ),
    ],
)
def test_malformed_policies(s3: Any, policy: str, message: str) -> None:
    name = new_bucket(s3, public=True)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_policy(Bucket=name, Policy=policy.replace(":::B", f":::{name}"))
    assert error_of(info) == ("MalformedPolicy", 400)
    assert info.value.response["Error"]["Message"] == message


def test_public_policy_grants_anonymous_reads(s3: Any, keyed_server: ServerProcess) -> None:
    name = new_bucket(s3, public=True)
    s3.put_object(Bucket=name, Key="site/index.html", Body=b"<h1>hi</h1>")
    s3.put_object(Bucket=name, Key="private/secret", Body=b"no")
    assert anonymous_get(keyed_server, f"/{name}/site/index.html").status_code == 403
    s3.put_bucket_policy(
        Bucket=name, Policy=document(allow("*", "s3:GetObject", f"arn:aws:s3:::{name}/site/*"))
    )
    assert s3.get_bucket_policy_status(Bucket=name)["PolicyStatus"] == {"IsPublic": True}
    assert anonymous_get(keyed_server, f"/{name}/site/index.html").content == b"<h1>hi</h1>"
    assert anonymous_get(keyed_server, f"/{name}/private/secret").status_code == 403
    assert anonymous_get(keyed_server, f"/{name}").status_code == 403  # no s3:ListBucket
    put = requests.put(f"{keyed_server.endpoint}/{name}/site/x", data=b"x", timeout=10)
    assert put.status_code == 403


def test_cross_account_grant_and_conditions(s3: Any, other: Any) -> None:
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"v")
    with pytest.raises(ClientError) as info:
        other.get_object(Bucket=name, Key="k")
    assert error_of(info) == ("AccessDenied", 403)
    s3.put_bucket_policy(
        Bucket=name,
        Policy=document(
            allow(
                {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "s3:GetObject", f"arn:aws:s3:::{name}/*"
            ),
            allow(
                {"AWS": ACCOUNT},
                "s3:ListBucket",
                f"arn:aws:s3:::{name}",
                Condition={"StringEquals": {"s3:prefix": "allowed/"}},
            ),
            allow(
                {"AWS": ACCOUNT},
                "s3:PutObject",
                f"arn:aws:s3:::{name}/*",
                Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
            ),
        ),
    )
    assert other.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    assert other.list_objects_v2(Bucket=name, Prefix="allowed/")["KeyCount"] == 0
    with pytest.raises(ClientError) as info:
        other.list_objects_v2(Bucket=name)
    assert error_of(info) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as info:  # the test client is 127.0.0.1, not 10/8
        other.put_object(Bucket=name, Key="new", Body=b"x")
    assert error_of(info) == ("AccessDenied", 403)
    # Only the owner's account manages the policy.
    with pytest.raises(ClientError) as info:
        other.get_bucket_policy(Bucket=name)
    assert error_of(info) == ("AccessDenied", 403)


def test_explicit_deny_applies_to_the_owner(s3: Any) -> None:
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="locked/k", Body=b"v")
    s3.put_bucket_policy(
        Bucket=name,
        Policy=document(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:DeleteObject"],
                "Resource": f"arn:aws:s3:::{name}/locked/*",
            }
        ),
    )
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=name, Key="locked/k")
    assert error_of(info) == ("AccessDenied", 403)
    # The owner's root can still manage the policy that locks it out.
    s3.delete_bucket_policy(Bucket=name)
    assert s3.get_object(Bucket=name, Key="locked/k")["Body"].read() == b"v"


def test_deny_unless_secure_transport(s3: Any) -> None:
    name = new_bucket(s3)
    s3.put_bucket_policy(
        Bucket=name,
        Policy=document(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
    )
    with pytest.raises(ClientError) as info:
        s3.list_objects_v2(Bucket=name)
    assert error_of(info) == ("AccessDenied", 403)
