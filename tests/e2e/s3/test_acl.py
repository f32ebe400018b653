"""S3 ACLs end to end: canned ACLs, grant headers and XML bodies on buckets and objects, Object
Ownership (ACLs disabled by default), and what grants let anonymous and cross-account callers do.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.services.s3.common import canonical_user_id
from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import ACCOUNT, anonymous_get, error_of, new_bucket

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
OWNER_ID = canonical_user_id("000000000000")


def grants_of(acl: dict[str, Any]) -> list[tuple[str, str]]:
    """(grantee URI or ID, permission) pairs, sorted."""
    return sorted(
        (g["Grantee"].get("URI") or g["Grantee"].get("ID") or "", g["Permission"])
        for g in acl["Grants"]
    )


def test_new_bucket_has_acls_disabled_and_owner_full_control(s3: Any) -> None:
    name = new_bucket(s3)
    controls = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
    assert controls == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    acl = s3.get_bucket_acl(Bucket=name)
    assert acl["Owner"]["ID"] == OWNER_ID
    assert grants_of(acl) == [(OWNER_ID, "FULL_CONTROL")]
    assert acl["Grants"][0]["Grantee"]["Type"] == "CanonicalUser"


def test_acls_disabled_refuse_acl_writes(s3: Any) -> None:
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=name, ACL="public-read")
    assert error_of(info) == ("AccessControlListNotSupported", 400)
    with pytest.raises(ClientError) as info:
        s3.put_object_acl(Bucket=name, Key="k", ACL="private")
    assert error_of(info) == ("AccessControlListNotSupported", 400)
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=name, Key="k2", Body=b"x", ACL="public-read")
    assert error_of(info) == ("AccessControlListNotSupported", 400)
    # The bucket owner's full control is what the bucket has anyway: accepted.
    s3.put_object(Bucket=name, Key="k3", Body=b"x", ACL="bucket-owner-full-control")
    assert grants_of(s3.get_object_acl(Bucket=name, Key="k3")) == [(OWNER_ID, "FULL_CONTROL")]


def test_create_bucket_with_public_acl(s3: Any) -> None:
    with pytest.raises(ClientError) as info:
        s3.create_bucket(Bucket="acc-create-public-enforced", ACL="public-read")
    assert error_of(info) == ("InvalidBucketAclWithObjectOwnership", 400)
    with pytest.raises(ClientError) as info:
        s3.create_bucket(
            Bucket="acc-create-public-writer", ACL="public-read", ObjectOwnership="ObjectWriter"
        )
    assert error_of(info) == ("InvalidBucketAclWithBlockPublicAccessError", 400)
    s3.create_bucket(
        Bucket="acc-create-authread", ACL="private", ObjectOwnership="BucketOwnerPreferred"
    )
    assert grants_of(s3.get_bucket_acl(Bucket="acc-create-authread")) == [
        (OWNER_ID, "FULL_CONTROL")
    ]


@pytest.mark.parametrize(
    ("canned", "expected"),
    [
        ("private", [(OWNER_ID, "FULL_CONTROL")]),
        ("public-read", [(ALL_USERS, "READ"), (OWNER_ID, "FULL_CONTROL")]),
        (
            "public-read-write",
            [(ALL_USERS, "READ"), (ALL_USERS, "WRITE"), (OWNER_ID, "FULL_CONTROL")],
        ),
        ("authenticated-read", [(AUTH_USERS, "READ"), (OWNER_ID, "FULL_CONTROL")]),
        (
            "log-delivery-write",
            [
                ("http://acs.amazonaws.com/groups/s3/LogDelivery", "READ_ACP"),
                ("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"),
                (OWNER_ID, "FULL_CONTROL"),
            ],
        ),
    ],
)
def test_canned_bucket_acls(s3: Any, canned: str, expected: list[tuple[str, str]]) -> None:
    name = new_bucket(s3, public=True, acls=True)
    s3.put_bucket_acl(Bucket=name, ACL=canned)
    assert grants_of(s3.get_bucket_acl(Bucket=name)) == sorted(expected)


def test_grant_headers_and_xml_body(s3: Any) -> None:
    name = new_bucket(s3, public=True, acls=True)
    other_id = canonical_user_id(ACCOUNT)
    s3.put_bucket_acl(
        Bucket=name, GrantRead=f'id="{other_id}"', GrantWriteACP=f'uri="{AUTH_USERS}"'
    )
    assert grants_of(s3.get_bucket_acl(Bucket=name)) == sorted(
        [(AUTH_USERS, "WRITE_ACP"), (other_id, "READ")]
    )
    acl = s3.get_bucket_acl(Bucket=name)
    s3.put_bucket_acl(
        Bucket=name,
        AccessControlPolicy={
            "Owner": acl["Owner"],
            "Grants": [
                {
                    "Grantee": {"Type": "CanonicalUser", "ID": OWNER_ID},
                    "Permission": "FULL_CONTROL",
                },
                {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
            ],
        },
    )
    assert grants_of(s3.get_bucket_acl(Bucket=name)) == sorted(
        [(ALL_USERS, "READ"), (OWNER_ID, "FULL_CONTROL")]
    )


def test_invalid_acl_requests(s3: Any) -> None:
    name = new_bucket(s3, public=True, acls=True)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=name)
    assert error_of(info) == ("MissingSecurityHeader", 400)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=name, ACL="public-read", GrantRead=f'uri="{ALL_USERS}"')
    assert error_of(info) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=name, GrantRead='uri="http://example.com/group"')
    assert error_of(info) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=name, GrantRead='id="not-a-canonical-id"')
    assert error_of(info) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_acl(Bucket=name, ACL="everyone-please")
    assert error_of(info) == ("InvalidArgument", 400)


def test_public_read_object_acl_lets_anonymous_read(s3: Any, keyed_server: ServerProcess) -> None:
    name = new_bucket(s3, public=True, acls=True)
    s3.put_object(Bucket=name, Key="private.txt", Body=b"secret")
    s3.put_object(Bucket=name, Key="public.txt", Body=b"hello", ACL="public-read")
    assert anonymous_get(keyed_server, f"/{name}/public.txt").content == b"hello"
    denied = anonymous_get(keyed_server, f"/{name}/private.txt")
    assert denied.status_code == 403 and b"<Code>AccessDenied</Code>" in denied.content
    # Listing needs READ on the bucket, not on objects.
    assert anonymous_get(keyed_server, f"/{name}").status_code == 403
    s3.put_bucket_acl(Bucket=name, ACL="public-read")
    assert anonymous_get(keyed_server, f"/{name}").status_code == 200


def test_acl_grants_to_another_account(s3: Any, other: Any) -> None:
    name = new_bucket(s3, acls=True)
    s3.put_object(Bucket=name, Key="k", Body=b"shared")
    with pytest.raises(ClientError) as info:
        other.get_object(Bucket=name, Key="k")
    assert error_of(info) == ("AccessDenied", 403)
    s3.put_object_acl(Bucket=name, Key="k", GrantRead=f'id="{canonical_user_id(ACCOUNT)}"')
    assert other.get_object(Bucket=name, Key="k")["Body"].read() == b"shared"
    # READ does not include the ACL itself.
    with pytest.raises(ClientError) as info:
        other.get_object_acl(Bucket=name, Key="k")
    assert error_of(info) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as info:
        other.put_object(Bucket=name, Key="new", Body=b"x")
    assert error_of(info) == ("AccessDenied", 403)
    s3.put_bucket_acl(Bucket=name, GrantWrite=f'id="{canonical_user_id(ACCOUNT)}"')
    other.put_object(Bucket=name, Key="new", Body=b"x")


def test_object_acl_versions_and_missing_keys(s3: Any) -> None:
    name = new_bucket(s3, public=True, acls=True)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=name, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=name, Key="k", Body=b"2")
    s3.put_object_acl(Bucket=name, Key="k", VersionId=v1, ACL="public-read")
    assert (ALL_USERS, "READ") in grants_of(s3.get_object_acl(Bucket=name, Key="k", VersionId=v1))
    assert grants_of(s3.get_object_acl(Bucket=name, Key="k")) == [(OWNER_ID, "FULL_CONTROL")]
    with pytest.raises(ClientError) as info:
        s3.get_object_acl(Bucket=name, Key="missing")
    assert error_of(info) == ("NoSuchKey", 404)


def test_ownership_controls_lifecycle(s3: Any) -> None:
    name = new_bucket(s3)
    s3.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    )
    rules = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    s3.delete_bucket_ownership_controls(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_ownership_controls(Bucket=name)
    assert error_of(info) == ("OwnershipControlsNotFoundError", 404)
    # Without ownership controls, ACLs apply again.
    s3.put_bucket_acl(Bucket=name, ACL="private")
    with pytest.raises(ClientError) as info:
        s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "Nobody"}]}
        )
    assert error_of(info) == ("MalformedXML", 400)


def test_enforcing_ownership_needs_owner_only_acl(s3: Any) -> None:
    name = new_bucket(s3, public=True, acls=True)
    s3.put_bucket_acl(Bucket=name, ACL="public-read")
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    with pytest.raises(ClientError) as info:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=enforced)
    assert error_of(info) == ("InvalidBucketAclWithObjectOwnership", 400)
    s3.put_bucket_acl(Bucket=name, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=enforced)


def test_cross_account_writer_may_send_bucket_owner_full_control(s3: Any, other: Any) -> None:
    name = new_bucket(s3)
    s3.put_bucket_policy(
        Bucket=name,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": ACCOUNT},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{name}/*",
                    }
                ],
            }
        ),
    )
    other.put_object(Bucket=name, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    with pytest.raises(ClientError) as info:
        other.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read")
    assert error_of(info) == ("AccessControlListNotSupported", 400)
