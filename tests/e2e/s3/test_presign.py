"""Presigned S3 URLs end to end: SigV4 and SigV2 query signatures for GET, PUT, DELETE and HEAD,
expiry (the server clock is advanced instead of sleeping), forged signatures for a key the server
knows, and ``aws s3 presign``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import KEY, SECRET, advance_clock, new_bucket, set_clock

STYLES = {"sigv4": "s3v4", "sigv2": "s3"}


@pytest.fixture(scope="module", params=sorted(STYLES))
def signer(request: pytest.FixtureRequest, keyed_server: ServerProcess) -> Any:
    """A client of the second account signing URLs with SigV4 or SigV2."""
    return keyed_server.client(
        "s3",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version=STYLES[request.param]),
    )


def url(signer: Any, method: str, bucket: str, key: str, expires: int = 300) -> str:
    return signer.generate_presigned_url(
        method, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )


def test_put_get_head_delete(other: Any, signer: Any) -> None:
    name = new_bucket(other)
    put = requests.put(url(signer, "put_object", name, "doc.txt"), data=b"presigned!", timeout=10)
    assert put.status_code == 200, put.text
    assert other.get_object(Bucket=name, Key="doc.txt")["Body"].read() == b"presigned!"
    got = requests.get(url(signer, "get_object", name, "doc.txt"), timeout=10)
    assert (got.status_code, got.content) == (200, b"presigned!")
    head = requests.head(url(signer, "head_object", name, "doc.txt"), timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == "10"
    deleted = requests.delete(url(signer, "delete_object", name, "doc.txt"), timeout=10)
    assert deleted.status_code == 204
    with pytest.raises(ClientError):
        other.head_object(Bucket=name, Key="doc.txt")


def test_expired_url_is_refused(keyed_server: ServerProcess, other: Any, signer: Any) -> None:
    name = new_bucket(other)
    other.put_object(Bucket=name, Key="k", Body=b"v")
    link = url(signer, "get_object", name, "k", expires=60)
    assert requests.get(link, timeout=10).status_code == 200
    before = advance_clock(keyed_server, 3600)
    try:
        expired = requests.get(link, timeout=10)
    finally:
        set_clock(keyed_server, before)
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code>" in expired.content
    assert b"expired" in expired.content


def test_forged_signature_is_refused(other: Any, signer: Any) -> None:
    name = new_bucket(other)
    other.put_object(Bucket=name, Key="k", Body=b"v")
    link = url(signer, "get_object", name, "k")
    forged = link.replace("Signature=", "Signature=0").replace(
        "X-Amz-Signature=0", "X-Amz-Signature=1"
    )
    response = requests.get(forged, timeout=10)
    assert response.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.content
    tampered = url(signer, "get_object", name, "k").replace("/k?", "/other-key?")
    assert requests.get(tampered, timeout=10).status_code == 403


def test_presigned_url_acts_as_its_signer(s3: Any, other: Any, signer: Any) -> None:
    """A URL signed by another account reaches only what that account may read."""
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"v")
    response = requests.get(url(signer, "get_object", name, "k"), timeout=10)
    assert response.status_code == 403
    assert b"<Code>AccessDenied</Code>" in response.content


def test_aws_cli_presign(keyed_server: ServerProcess, other: Any, tmp_path: Path) -> None:
    name = new_bucket(other)
    other.put_object(Bucket=name, Key="cli/file.txt", Body=b"from the cli")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    env.pop("AWS_PROFILE", None)
    result = subprocess.run(
        [
            "aws",
            "s3",
            "presign",
            f"s3://{name}/cli/file.txt",
            "--expires-in",
            "120",
            "--endpoint-url",
            keyed_server.endpoint,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    link = result.stdout.strip()
    assert link.startswith(keyed_server.endpoint)
    response = requests.get(link, timeout=10)
    assert (response.status_code, response.content) == (200, b"from the cli")
