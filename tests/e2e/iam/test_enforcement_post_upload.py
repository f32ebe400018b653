"""Browser POST uploads signed with an IAM principal's key (issue #7): the form's policy is
signed with that key, so the upload acts as the key's owner and needs ``s3:PutObject`` on the
key; revoked keys and session keys without their token are refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.config import Config

from overcast.testing import ServerProcess
from tests.iam.helpers import allow, deny, from_sts, new_role, new_user, unique

V4 = Config(signature_version="s3v4")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("iam-post") / "overcast.log"
    with ServerProcess(log_file=log) as server:
        yield server


@pytest.fixture
def bucket(server: ServerProcess) -> str:
    name = unique("post-bkt")
    server.client("s3").create_bucket(Bucket=name)
    return name


def post(form: dict[str, Any], body: bytes = b"uploaded") -> requests.Response:
    return requests.post(
        form["url"], data=form["fields"], files={"file": ("f.txt", body)}, timeout=10
    )


def code_of(response: requests.Response) -> str:
    text = response.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


def test_upload_needs_put_object_on_the_key(server: ServerProcess, bucket: str) -> None:
    _, creds = new_user(server, allow("s3:PutObject", f"arn:aws:s3:::{bucket}/incoming/*"))
    s3 = server.client("s3", config=V4, **creds)
    allowed = post(s3.generate_presigned_post(bucket, "incoming/a.txt"))
    assert allowed.status_code == 204, allowed.text
    root = server.client("s3")
    assert root.get_object(Bucket=bucket, Key="incoming/a.txt")["Body"].read() == b"uploaded"
    refused = post(s3.generate_presigned_post(bucket, "elsewhere/b.txt"))
    assert refused.status_code == 403
    assert code_of(refused) == "AccessDenied"
    assert "s3:PutObject" in refused.text and "elsewhere/b.txt" in refused.text
    assert "Contents" not in root.list_objects_v2(Bucket=bucket, Prefix="elsewhere/")


def test_filename_substitution_is_authorized_on_the_final_key(
    server: ServerProcess, bucket: str
) -> None:
    _, creds = new_user(server, allow("s3:PutObject", f"arn:aws:s3:::{bucket}/up/f.txt"))
    s3 = server.client("s3", config=V4, **creds)
    assert post(s3.generate_presigned_post(bucket, "up/${filename}")).status_code == 204


def test_acl_and_tags_of_the_form_are_condition_keys(server: ServerProcess, bucket: str) -> None:
    _, creds = new_user(
        server,
        allow("s3:PutObject"),
        deny("s3:PutObject", Condition={"StringEquals": {"s3:x-amz-acl": "public-read"}}),
    )
    s3 = server.client("s3", config=V4, **creds)
    form = s3.generate_presigned_post(
        bucket, "acl.txt", Fields={"acl": "public-read"}, Conditions=[{"acl": "public-read"}]
    )
    assert code_of(post(form)) == "AccessDenied"
    form = s3.generate_presigned_post(
        bucket, "acl.txt", Fields={"acl": "private"}, Conditions=[{"acl": "private"}]
    )
    assert post(form).status_code == 204


def test_sigv2_form_of_an_iam_user(server: ServerProcess, bucket: str) -> None:
    _, creds = new_user(server, allow("s3:PutObject", f"arn:aws:s3:::{bucket}/ok/*"))
    s3 = server.client("s3", **creds)  # no s3v4: boto3 signs POST policies with SigV2
    form = s3.generate_presigned_post(bucket, "no/x.txt")
    assert "signature" in form["fields"]
    assert code_of(post(form)) == "AccessDenied"
    assert post(s3.generate_presigned_post(bucket, "ok/x.txt")).status_code == 204


def test_role_session_forms(server: ServerProcess, bucket: str) -> None:
    _, user = new_user(server, allow("sts:AssumeRole"))
    role = new_role(
        server,
        {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "sts:AssumeRole"},
        allow("s3:PutObject", f"arn:aws:s3:::{bucket}/role/*"),
    )
    c = server.client("sts", **user).assume_role(RoleArn=role, RoleSessionName="uploader")
    creds = from_sts(c["Credentials"])
    s3 = server.client("s3", config=V4, **creds)
    assert post(s3.generate_presigned_post(bucket, "role/x.txt")).status_code == 204
    assert code_of(post(s3.generate_presigned_post(bucket, "other/x.txt"))) == "AccessDenied"
    # Without its session token the session's key is refused before any policy is read.
    form = s3.generate_presigned_post(bucket, "role/y.txt")
    form["fields"].pop("x-amz-security-token")
    assert code_of(post(form)) == "InvalidToken"


def test_revoked_key_cannot_upload(server: ServerProcess, bucket: str) -> None:
    name, creds = new_user(server, allow("s3:PutObject"))
    s3 = server.client("s3", config=V4, **creds)
    form = s3.generate_presigned_post(bucket, "late.txt")
    iam = server.client("iam")
    iam.update_access_key(UserName=name, AccessKeyId=creds["aws_access_key_id"], Status="Inactive")
    assert code_of(post(form)) == "InvalidAccessKeyId"
    iam.delete_access_key(UserName=name, AccessKeyId=creds["aws_access_key_id"])
    assert code_of(post(form)) == "InvalidAccessKeyId"


def test_root_and_anonymous_forms_are_not_enforced(server: ServerProcess, bucket: str) -> None:
    root = server.client("s3", config=V4)
    assert post(root.generate_presigned_post(bucket, "root.txt")).status_code == 204
