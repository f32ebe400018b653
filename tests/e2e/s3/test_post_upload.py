"""Browser POST uploads end to end: boto3's generate_presigned_post (SigV4 and SigV2) sent with
``requests`` as a browser would, the policy's conditions, success actions and refusals."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from botocore.config import Config

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import KEY, SECRET, advance_clock, new_bucket, set_clock


def post(
    form: dict[str, Any], body: bytes = b"file body", filename: str = "a.txt"
) -> requests.Response:
    return requests.post(
        form["url"],
        data=form["fields"],
        files={"file": (filename, body)},
        timeout=10,
        allow_redirects=False,
    )


def code_of(response: requests.Response) -> str:
    text = response.text
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else ""


@pytest.fixture(scope="module")
def signer(keyed_server: ServerProcess) -> Any:
    """A SigV4 client for the second account, whose signatures the server verifies."""
    return keyed_server.client(
        "s3",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4"),
    )


def test_sigv4_upload_with_filename_and_201(other: Any, signer: Any) -> None:
    name = new_bucket(other)
    form = signer.generate_presigned_post(
        name,
        "uploads/${filename}",
        Fields={
            "success_action_status": "201",
            "Content-Type": "text/plain",
            "x-amz-meta-who": "me",
        },
        Conditions=[
            {"success_action_status": "201"},
            ["starts-with", "$Content-Type", "text/"],
            {"x-amz-meta-who": "me"},
            ["content-length-range", 1, 1024],
        ],
    )
    response = post(form, b"hello browser", filename="greeting.txt")
    assert response.status_code == 201, response.text
    assert "<Key>uploads/greeting.txt</Key>" in response.text
    assert f"<Bucket>{name}</Bucket>" in response.text
    obj = other.get_object(Bucket=name, Key="uploads/greeting.txt")
    assert obj["Body"].read() == b"hello browser"
    assert obj["ContentType"] == "text/plain"
    assert obj["Metadata"] == {"who": "me"}
    assert response.headers["ETag"] == obj["ETag"]


def test_sigv2_upload_default_204(other: Any) -> None:
    name = new_bucket(other)
    form = other.generate_presigned_post(name, "v2.bin")
    assert "signature" in form["fields"]  # boto3's POST policy signature without s3v4: SigV2
    response = post(form, b"\x00\x01")
    assert response.status_code == 204
    assert other.get_object(Bucket=name, Key="v2.bin")["Body"].read() == b"\x00\x01"


def test_success_action_redirect(other: Any, signer: Any) -> None:
    name = new_bucket(other)
    target = "https://app.example.com/done?x=1"
    form = signer.generate_presigned_post(
        name,
        "r.txt",
        Fields={"success_action_redirect": target},
        Conditions=[{"success_action_redirect": target}],
    )
    response = post(form)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(target + "&")
    assert f"bucket={name}" in location and "key=r.txt" in location and "etag=" in location


def test_condition_failures(other: Any, signer: Any) -> None:
    name = new_bucket(other)
    form = signer.generate_presigned_post(
        name,
        "user/a.txt",
        Conditions=[["starts-with", "$key", "user/"], ["content-length-range", 2, 5]],
    )
    too_big = post(form, b"123456")
    assert (too_big.status_code, code_of(too_big)) == (400, "EntityTooLarge")
    too_small = post(form, b"1")
    assert (too_small.status_code, code_of(too_small)) == (400, "EntityTooSmall")
    form["fields"]["key"] = "admin/a.txt"
    wrong_key = post(form, b"123")
    assert (wrong_key.status_code, code_of(wrong_key)) == (403, "AccessDenied")
    assert "Invalid according to Policy: Policy Condition failed" in wrong_key.text
    form["fields"]["key"] = "user/a.txt"
    form["fields"]["x-amz-meta-extra"] = "sneaky"
    extra = post(form, b"123")
    assert (extra.status_code, code_of(extra)) == (403, "AccessDenied")
    assert "Extra input fields: x-amz-meta-extra" in extra.text


def test_wrong_signature_and_expired_policy(
    keyed_server: ServerProcess, other: Any, signer: Any
) -> None:
    name = new_bucket(other)
    form = signer.generate_presigned_post(name, "k", ExpiresIn=60)
    good = dict(form["fields"])
    form["fields"]["x-amz-signature"] = "0" * 64
    forged = post(form)
    assert (forged.status_code, code_of(forged)) == (403, "SignatureDoesNotMatch")
    form["fields"] = good
    before = advance_clock(keyed_server, 120)
    try:
        expired = post(form)
    finally:
        set_clock(keyed_server, before)
    assert (expired.status_code, code_of(expired)) == (403, "AccessDenied")
    assert "Policy expired" in expired.text
    assert post(form).status_code == 204


def test_anonymous_post_needs_public_write(s3: Any, keyed_server: ServerProcess) -> None:
    name = new_bucket(s3)
    url = f"{keyed_server.endpoint}/{name}"
    response = requests.post(url, data={"key": "anon.txt"}, files={"file": ("f", b"x")}, timeout=10)
    assert (response.status_code, code_of(response)) == (403, "AccessDenied")
    missing_key = requests.post(url, data={}, files={"file": ("f", b"x")}, timeout=10)
    assert (missing_key.status_code, code_of(missing_key)) == (400, "InvalidArgument")


def test_post_to_a_missing_bucket(signer: Any) -> None:
    form = signer.generate_presigned_post("acc-no-such-bucket-here", "k")
    response = post(form)
    assert (response.status_code, code_of(response)) == (404, "NoSuchBucket")
