"""S3 Block Public Access end to end, bucket level and account level (s3control): the defaults
of new buckets, each of the four settings' effects, and the configuration operations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import ACCOUNT, KEY, SECRET, anonymous_get, error_of, new_bucket

ALL_OFF = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), False
)


def public_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


def test_new_bucket_blocks_everything(s3: Any) -> None:
    name = new_bucket(s3)
    config = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert config == {k: True for k in ALL_OFF}


def test_put_get_delete(s3: Any) -> None:
    name = new_bucket(s3)
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    )
    config = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert config == {**ALL_OFF, "BlockPublicAcls": True}
    s3.delete_public_access_block(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.get_public_access_block(Bucket=name)
    assert error_of(info) == ("NoSuchPublicAccessBlockConfiguration", 404)


def test_block_public_acls(s3: Any) -> None:
    name = new_bucket(s3, acls=True)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    for call in (
        lambda: s3.put_bucket_acl(Bucket=name, ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=name, Key="k", ACL="authenticated-read"),
        lambda: s3.put_object(Bucket=name, Key="k2", Body=b"x", ACL="public-read"),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert error_of(info) == ("AccessDenied", 403)
    s3.put_bucket_acl(Bucket=name, ACL="private")  # non-public ACLs still work


def test_ignore_public_acls(s3: Any, keyed_server: ServerProcess) -> None:
    name = new_bucket(s3, public=True, acls=True)
    s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read")
    assert anonymous_get(keyed_server, f"/{name}/k").status_code == 200
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={"IgnorePublicAcls": True}
    )
    assert anonymous_get(keyed_server, f"/{name}/k").status_code == 403


def test_block_public_policy(s3: Any) -> None:
    name = new_bucket(s3)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_policy(Bucket=name, Policy=public_policy(name))
    assert error_of(info) == ("AccessDenied", 403)
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={**ALL_OFF, "RestrictPublicBuckets": True}
    )
    s3.put_bucket_policy(Bucket=name, Policy=public_policy(name))


def test_restrict_public_buckets(s3: Any, other: Any, keyed_server: ServerProcess) -> None:
    name = new_bucket(s3, public=True)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.put_bucket_policy(Bucket=name, Policy=public_policy(name))
    assert anonymous_get(keyed_server, f"/{name}/k").status_code == 200
    assert other.get_object(Bucket=name, Key="k")["Body"].read() == b"x"
    s3.put_public_access_block(
        Bucket=name, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True}
    )
    assert anonymous_get(keyed_server, f"/{name}/k").status_code == 403
    with pytest.raises(ClientError) as info:
        other.get_object(Bucket=name, Key="k")
    assert error_of(info) == ("AccessDenied", 403)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"x"  # the owner still can


# --- account level (s3control) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def control(keyed_server: ServerProcess) -> Iterator[Any]:
    client = keyed_server.client("s3control", aws_access_key_id=KEY, aws_secret_access_key=SECRET)

    # s3control prefixes the host with the account id ("222222222222.127.0.0.1"), which does not
    # resolve: send to the server's address, keeping the signed Host header.
    def to_server(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=f"127.0.0.1:{keyed_server.port}"))

    client.meta.events.register("before-send.s3-control.*", to_server)
    try:
        client.delete_public_access_block(AccountId=ACCOUNT)
    except ClientError as exc:
        # Until s3control is registered and routed apart from S3 (which answers NoSuchBucket).
        if exc.response["Error"]["Code"] in ("NotImplemented", "NoSuchBucket"):
            pytest.skip("s3control is not reachable on this server")
        raise
    yield client
    client.delete_public_access_block(AccountId=ACCOUNT)


def test_account_level_configuration(control: Any) -> None:
    control.delete_public_access_block(AccountId=ACCOUNT)
    with pytest.raises(ClientError) as info:
        control.get_public_access_block(AccountId=ACCOUNT)
    assert error_of(info) == ("NoSuchPublicAccessBlockConfiguration", 404)
    control.put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    config = control.get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
    assert config == {**ALL_OFF, "BlockPublicPolicy": True}
    with pytest.raises(ClientError) as info:
        control.get_public_access_block(AccountId="000000000000")
    assert error_of(info) == ("AccessDenied", 403)


def test_account_level_applies_to_every_bucket(control: Any, other: Any) -> None:
    name = new_bucket(other, public=True)
    control.put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicPolicy": True}
    )
    with pytest.raises(ClientError) as info:
        other.put_bucket_policy(Bucket=name, Policy=public_policy(name))
    assert error_of(info) == ("AccessDenied", 403)
    control.delete_public_access_block(AccountId=ACCOUNT)
    other.put_bucket_policy(Bucket=name, Policy=public_policy(name))
