"""The bucket owner and objects another account owns (Object Ownership ObjectWriter, or
BucketOwnerPreferred without bucket-owner-full-control): S3's object context.

The writer owns such an object; the bucket owner reads it, its ACL or its attributes only
through a grant of the object's ACL, yet may always delete it, restore it, tag it and deny
access to it through the bucket policy. BucketOwnerEnforced makes the bucket owner the owner of
every object, those written before included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.services.s3.common import canonical_user_id
from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import ACCOUNT, error_of, new_bucket
from tests.iam.helpers import allow, new_user

MAIN = "000000000000"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _let_other_write(s3: Any, name: str, *extra: dict[str, Any]) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{name}/*",
    }
    s3.put_bucket_policy(Bucket=name, Policy=_policy(statement, *extra))


def _writer_bucket(s3: Any, ownership: str = "ObjectWriter", *, public: bool = False) -> str:
    name = new_bucket(s3, public=public)
    s3.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]}
    )
    _let_other_write(s3, name)
    return name


def _denied(call: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    code, status = error_of(exc)
    assert status == 403
    assert code in ("AccessDenied", "403")  # HEAD answers without a body


def _owner_id(client: Any, name: str, key: str) -> str:
    return str(client.get_object_acl(Bucket=name, Key=key)["Owner"]["ID"])


def test_bucket_owner_cannot_read_what_another_account_owns(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3)
    other.put_object(Bucket=name, Key="theirs", Body=b"alt's bytes")
    s3.put_object(Bucket=name, Key="mine", Body=b"main's bytes")
    _denied(s3.get_object, Bucket=name, Key="theirs")
    _denied(s3.head_object, Bucket=name, Key="theirs")
    _denied(s3.get_object_acl, Bucket=name, Key="theirs")
    _denied(s3.put_object_acl, Bucket=name, Key="theirs", ACL="private")
    _denied(s3.get_object_attributes, Bucket=name, Key="theirs", ObjectAttributes=["ETag"])
    _denied(s3.copy_object, Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "theirs"})
    upload = s3.create_multipart_upload(Bucket=name, Key="parts")["UploadId"]
    _denied(
        s3.upload_part_copy,
        Bucket=name,
        Key="parts",
        UploadId=upload,
        PartNumber=1,
        CopySource={"Bucket": name, "Key": "theirs"},
    )
    _denied(
        s3.select_object_content,
        Bucket=name,
        Key="theirs",
        Expression="SELECT * FROM S3Object",
        ExpressionType="SQL",
        InputSerialization={"CSV": {}},
        OutputSerialization={"CSV": {}},
    )
    # The writer owns it: it reads it and its ACL, which names it the owner.
    assert other.get_object(Bucket=name, Key="theirs")["Body"].read() == b"alt's bytes"
    assert _owner_id(other, name, "theirs") == canonical_user_id(ACCOUNT)
    # The bucket owner's own objects are unaffected.
    assert s3.get_object(Bucket=name, Key="mine")["Body"].read() == b"main's bytes"
    assert _owner_id(s3, name, "mine") == canonical_user_id(MAIN)


def test_versions_another_account_owns(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    version = other.put_object(Bucket=name, Key="k", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=name, Key="k", Body=b"v2")  # the bucket owner's newer version
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v2"
    _denied(s3.get_object, Bucket=name, Key="k", VersionId=version)
    _denied(s3.head_object, Bucket=name, Key="k", VersionId=version)
    _denied(s3.get_object_acl, Bucket=name, Key="k", VersionId=version)
    _denied(
        s3.copy_object,
        Bucket=name,
        Key="copy",
        CopySource={"Bucket": name, "Key": "k", "VersionId": version},
    )
    # The bucket owner may still delete a version it cannot read.
    s3.delete_object(Bucket=name, Key="k", VersionId=version)
    versions = s3.list_object_versions(Bucket=name)["Versions"]
    assert [v["VersionId"] for v in versions if v["VersionId"] == version] == []


def test_bucket_owner_may_delete_tag_and_restore(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3)
    for key in ("a", "b", "c"):
        other.put_object(Bucket=name, Key=key, Body=b"x")
    other.put_object(Bucket=name, Key="cold", Body=b"x", StorageClass="GLACIER")
    # Tagging is the bucket owner's to manage, not the writer's.
    s3.put_object_tagging(Bucket=name, Key="a", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    assert s3.get_object_tagging(Bucket=name, Key="a")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.delete_object_tagging(Bucket=name, Key="a")
    _denied(
        other.put_object_tagging,
        Bucket=name,
        Key="a",
        Tagging={"TagSet": [{"Key": "t", "Value": "2"}]},
    )
    restore = s3.restore_object(Bucket=name, Key="cold", RestoreRequest={"Days": 1})
    assert restore["ResponseMetadata"]["HTTPStatusCode"] == 202
    s3.delete_object(Bucket=name, Key="a")
    deleted = s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "b"}, {"Key": "c"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["b", "c"]
    assert "Errors" not in deleted
    listed = s3.list_objects_v2(Bucket=name).get("Contents", [])
    assert [o["Key"] for o in listed] == ["cold"]


def test_grants_of_the_writer_let_the_bucket_owner_in(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3)
    other.put_object(Bucket=name, Key="full", Body=b"f", ACL="bucket-owner-full-control")
    other.put_object(Bucket=name, Key="read", Body=b"r", ACL="bucket-owner-read")
    # ObjectWriter: the writer stays the owner, the bucket owner holds FULL_CONTROL.
    assert _owner_id(s3, name, "full") == canonical_user_id(ACCOUNT)
    assert s3.get_object(Bucket=name, Key="full")["Body"].read() == b"f"
    assert s3.head_object(Bucket=name, Key="full")["ContentLength"] == 1
    attributes = s3.get_object_attributes(Bucket=name, Key="full", ObjectAttributes=["ObjectSize"])
    assert attributes["ObjectSize"] == 1
    s3.copy_object(Bucket=name, Key="copied", CopySource={"Bucket": name, "Key": "full"})
    assert _owner_id(s3, name, "copied") == canonical_user_id(MAIN)  # a copy is the copier's
    s3.put_object_acl(Bucket=name, Key="full", ACL="bucket-owner-full-control")
    # bucket-owner-read: READ but not READ_ACP.
    assert s3.get_object(Bucket=name, Key="read")["Body"].read() == b"r"
    _denied(s3.get_object_acl, Bucket=name, Key="read")
    # The writer grants afterwards, through PutObjectAcl.
    other.put_object(Bucket=name, Key="later", Body=b"l")
    _denied(s3.get_object, Bucket=name, Key="later")
    other.put_object_acl(Bucket=name, Key="later", ACL="bucket-owner-full-control")
    assert s3.get_object(Bucket=name, Key="later")["Body"].read() == b"l"


def test_bucket_owner_preferred(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3, "BucketOwnerPreferred")
    other.put_object(Bucket=name, Key="kept", Body=b"k")
    other.put_object(Bucket=name, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    _denied(s3.get_object, Bucket=name, Key="kept")
    assert _owner_id(s3, name, "given") == canonical_user_id(MAIN)
    assert s3.get_object(Bucket=name, Key="given")["Body"].read() == b"g"


def test_bucket_owner_enforced_takes_every_object(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3)
    other.put_object(Bucket=name, Key="theirs", Body=b"t")
    _denied(s3.get_object, Bucket=name, Key="theirs")
    s3.put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    assert s3.get_object(Bucket=name, Key="theirs")["Body"].read() == b"t"
    assert _owner_id(s3, name, "theirs") == canonical_user_id(MAIN)
    assert s3.get_object_attributes(Bucket=name, Key="theirs", ObjectAttributes=["ETag"])["ETag"]


def test_bucket_policy_allows_nothing_on_objects_another_account_owns(
    keyed_server: ServerProcess, s3: Any, other: Any
) -> None:
    name = _writer_bucket(s3, public=True)
    public_read = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*",
    }
    _let_other_write(s3, name, public_read)
    s3.put_object(Bucket=name, Key="mine", Body=b"m")
    other.put_object(Bucket=name, Key="theirs", Body=b"t")
    other.put_object(Bucket=name, Key="shared", Body=b"s", ACL="public-read")
    url = f"{keyed_server.endpoint}/{name}"
    assert requests.get(f"{url}/mine", timeout=10).status_code == 200  # the usual case
    assert requests.get(f"{url}/theirs", timeout=10).status_code == 403
    assert requests.get(f"{url}/shared", timeout=10).content == b"s"  # the object ACL grants


def test_website_serves_another_accounts_object_only_through_its_acl(
    keyed_server: ServerProcess, s3: Any, other: Any
) -> None:
    name = _writer_bucket(s3, public=True)
    public_read = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*",
    }
    _let_other_write(s3, name, public_read)
    s3.put_bucket_website(Bucket=name, WebsiteConfiguration={"IndexDocument": {"Suffix": "i"}})
    s3.put_object(Bucket=name, Key="mine", Body=b"m")
    other.put_object(Bucket=name, Key="theirs", Body=b"t")
    other.put_object(Bucket=name, Key="shared", Body=b"s", ACL="public-read")
    site = f"http://127.0.0.1:{keyed_server.port}"
    host = {"Host": f"{name}.s3-website.localhost:{keyed_server.port}"}
    assert requests.get(f"{site}/mine", headers=host, timeout=10).content == b"m"
    assert requests.get(f"{site}/theirs", headers=host, timeout=10).status_code == 403
    assert requests.get(f"{site}/shared", headers=host, timeout=10).content == b"s"


def test_bucket_policy_deny_binds_the_object_owner(s3: Any, other: Any) -> None:
    name = _writer_bucket(s3)
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*",
    }
    other.put_object(Bucket=name, Key="theirs", Body=b"t")
    assert other.get_object(Bucket=name, Key="theirs")["Body"].read() == b"t"
    _let_other_write(s3, name, deny)
    _denied(other.get_object, Bucket=name, Key="theirs")


def test_iam_users_of_the_bucket_owner_are_bound_too(
    keyed_server: ServerProcess, s3: Any, other: Any
) -> None:
    name = _writer_bucket(s3)
    other.put_object(Bucket=name, Key="theirs", Body=b"t")
    other.put_object(Bucket=name, Key="given", Body=b"g", ACL="bucket-owner-full-control")
    _, keys = new_user(keyed_server, allow("s3:*", "*"))
    user = keyed_server.client("s3", **keys)
    _denied(user.get_object, Bucket=name, Key="theirs")
    _denied(user.get_object_acl, Bucket=name, Key="theirs")
    assert user.get_object(Bucket=name, Key="given")["Body"].read() == b"g"
    user.delete_object(Bucket=name, Key="theirs")


def test_ceph_bucket_policy_put_obj_grant(s3: Any, other: Any) -> None:
    """Ceph s3-tests' ``test_bucket_policy_put_obj_grant``: a writer granting the bucket owner
    full control through ``x-amz-grant-full-control`` lets it read the ACL; without, 403."""
    name = _writer_bucket(s3)
    grant = f"id={canonical_user_id(MAIN)}"
    other.put_object(Bucket=name, Key="granted", Body=b"g", GrantFullControl=grant)
    other.put_object(Bucket=name, Key="private", Body=b"p")
    acl = s3.get_object_acl(Bucket=name, Key="granted")
    assert acl["Owner"]["ID"] == canonical_user_id(ACCOUNT)
    grantees = {g["Grantee"].get("ID") for g in acl["Grants"]}
    assert canonical_user_id(MAIN) in grantees
    _denied(s3.get_object_acl, Bucket=name, Key="private")
