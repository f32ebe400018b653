"""Issue #3 audit, versioning: PutBucketVersioning without a Status, and MFA Delete enforced on
permanent deletes as S3 enforces it (DeleteObject of a version, DeleteObjects naming versions)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

MFA = "arn:aws:iam::000000000000:mfa/root-account-mfa-device 123456"
NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return response["Error"]["Code"], status, response["Error"].get("Message", "")


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"v-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def put_versioning_xml(server: ServerProcess, bucket: str, inner: str) -> requests.Response:
    """PutBucketVersioning with a body botocore would not build (no Status, empty Status)."""
    body = f'<VersioningConfiguration xmlns="{NS}">{inner}</VersioningConfiguration>'.encode()
    digest = base64.b64encode(hashlib.md5(body).digest()).decode()
    request = AWSRequest(
        method="PUT",
        url=f"{server.endpoint}/{bucket}?versioning",
        data=body,
        headers={"Content-MD5": digest, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()},
    )
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    return requests.put(request.url, data=body, headers=dict(request.headers), timeout=10)


@pytest.mark.parametrize("inner", ["", "<Status></Status>", "<MfaDelete>Disabled</MfaDelete>"])
def test_a_configuration_without_status_is_illegal(
    server: ServerProcess, s3: Any, bucket: str, inner: str
) -> None:
    answer = put_versioning_xml(server, bucket, inner)
    assert answer.status_code == 400
    assert "<Code>IllegalVersioningConfigurationException</Code>" in answer.text
    assert "<Message>The Versioning element must be specified</Message>" in answer.text
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_an_unknown_status_is_malformed(server: ServerProcess, bucket: str) -> None:
    answer = put_versioning_xml(server, bucket, "<Status>Disabled</Status>")
    assert (answer.status_code, "<Code>MalformedXML</Code>" in answer.text) == (400, True)


@pytest.fixture
def mfa_bucket(s3: Any, bucket: str) -> str:
    config = {"Status": "Enabled", "MFADelete": "Enabled"}
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=config, MFA=MFA)
    return bucket


def test_deleting_a_version_takes_the_mfa_token(s3: Any, mfa_bucket: str) -> None:
    version = s3.put_object(Bucket=mfa_bucket, Key="k", Body=b"kept")["VersionId"]
    err = error_of(lambda: s3.delete_object(Bucket=mfa_bucket, Key="k", VersionId=version))
    assert err == ("AccessDenied", 403, "Mfa Authentication must be used for this request")
    assert s3.get_object(Bucket=mfa_bucket, Key="k", VersionId=version)["Body"].read() == b"kept"

    # A plain delete only adds a delete marker: no token needed; removing the marker needs one.
    marker = s3.delete_object(Bucket=mfa_bucket, Key="k")["VersionId"]
    err = error_of(lambda: s3.delete_object(Bucket=mfa_bucket, Key="k", VersionId=marker))
    assert err[0] == "AccessDenied"
    s3.delete_object(Bucket=mfa_bucket, Key="k", VersionId=marker, MFA=MFA)
    assert s3.get_object(Bucket=mfa_bucket, Key="k")["Body"].read() == b"kept"

    s3.delete_object(Bucket=mfa_bucket, Key="k", VersionId=version, MFA=MFA)
    assert "Versions" not in s3.list_object_versions(Bucket=mfa_bucket)


def test_delete_objects_naming_a_version_fails_whole_without_the_token(
    s3: Any, mfa_bucket: str
) -> None:
    version = s3.put_object(Bucket=mfa_bucket, Key="a", Body=b"a")["VersionId"]
    s3.put_object(Bucket=mfa_bucket, Key="b", Body=b"b")
    batch = {"Objects": [{"Key": "a", "VersionId": version}, {"Key": "b"}]}
    err = error_of(lambda: s3.delete_objects(Bucket=mfa_bucket, Delete=batch))
    assert err == ("AccessDenied", 403, "Mfa Authentication must be used for this request")
    # Nothing was deleted, not even the key without a version.
    assert s3.head_object(Bucket=mfa_bucket, Key="b")["ContentLength"] == 1
    assert s3.head_object(Bucket=mfa_bucket, Key="a", VersionId=version)["ContentLength"] == 1

    # Without versions in the batch, no token is needed (delete markers only).
    out = s3.delete_objects(Bucket=mfa_bucket, Delete={"Objects": [{"Key": "b"}]})
    assert out["Deleted"][0]["DeleteMarker"] is True
    out = s3.delete_objects(Bucket=mfa_bucket, Delete=batch, MFA=MFA)
    assert {d["Key"] for d in out["Deleted"]} == {"a", "b"}


def test_without_mfa_delete_versions_go_without_a_token(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version)
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_a_missing_bucket_is_named_before_the_configuration(server: ServerProcess) -> None:
    answer = put_versioning_xml(server, f"v-{uuid.uuid4().hex[:12]}", "")
    assert (answer.status_code, "<Code>NoSuchBucket</Code>" in answer.text) == (404, True)
