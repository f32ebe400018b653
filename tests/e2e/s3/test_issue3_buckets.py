"""Issue #3 audit, buckets: the naming rules botocore will not send, and the wrong-region answers
for each addressing style (path style: 301 PermanentRedirect; virtual host: 400 naming the
region), as S3 gives them and botocore follows them."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from overcast.testing import ServerProcess

CREDENTIALS = Credentials("test", "test")


def name() -> str:
    return f"b-{uuid.uuid4().hex[:12]}"


def signed(
    server: ServerProcess,
    method: str,
    path: str,
    *,
    host: str | None = None,
    region: str = "us-east-1",
    presigned: bool = False,
) -> requests.Response:
    """A SigV4 request sent to the server with ``host`` as its (signed) Host header."""
    host = host or f"127.0.0.1:{server.port}"
    request = AWSRequest(method=method, url=f"http://{host}{path}")
    if presigned:
        SigV4QueryAuth(CREDENTIALS, "s3", region, expires=300).add_auth(request)
    else:
        request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        SigV4Auth(CREDENTIALS, "s3", region).add_auth(request)
    url = request.url.replace(f"http://{host}", server.endpoint, 1)
    headers = {**dict(request.headers), "Host": host}
    return requests.request(method, url, headers=headers, allow_redirects=False, timeout=10)


def error_code(response: requests.Response) -> str:
    return response.text.split("<Code>", 1)[1].split("</Code>", 1)[0]


# --- naming rules boto3 cannot send (its own regex or the directory-bucket suffix) -------------


@pytest.mark.parametrize(
    "bad",
    ["bucket--x-s3", "bad!name", "with%20space", "sthree-configurator-b", "a" * 64, "a..b"],
)
def test_names_botocore_would_not_send_are_refused(server: ServerProcess, bad: str) -> None:
    answer = signed(server, "PUT", f"/{bad}")
    assert (answer.status_code, error_code(answer)) == (400, "InvalidBucketName")
    assert "<Message>The specified bucket is not valid.</Message>" in answer.text


# --- wrong region --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def eu_bucket(server: ServerProcess) -> str:
    bucket = name()
    eu = server.client("s3", region="eu-west-1")
    eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return bucket


def test_path_style_to_the_wrong_region_is_a_permanent_redirect(
    server: ServerProcess, eu_bucket: str
) -> None:
    for presigned in (False, True):
        answer = signed(server, "GET", f"/{eu_bucket}?list-type=2", presigned=presigned)
        assert (answer.status_code, error_code(answer)) == (301, "PermanentRedirect")
        assert answer.headers["x-amz-bucket-region"] == "eu-west-1"
        assert f"<Bucket>{eu_bucket}</Bucket>" in answer.text
    head = signed(server, "HEAD", f"/{eu_bucket}")
    assert (head.status_code, head.headers["x-amz-bucket-region"]) == (301, "eu-west-1")


def test_virtual_host_to_the_wrong_region_names_the_right_one(
    server: ServerProcess, eu_bucket: str
) -> None:
    host = f"{eu_bucket}.s3.localhost:{server.port}"
    answer = signed(server, "GET", "/?list-type=2", host=host)
    assert (answer.status_code, error_code(answer)) == (400, "AuthorizationHeaderMalformed")
    assert answer.headers["x-amz-bucket-region"] == "eu-west-1"
    assert (
        "<Message>The authorization header is malformed; the region 'us-east-1' is wrong; "
        "expecting 'eu-west-1'</Message>" in answer.text
    )
    assert "<Region>eu-west-1</Region>" in answer.text

    query = signed(server, "GET", "/?list-type=2", host=host, presigned=True)
    assert (query.status_code, error_code(query)) == (400, "AuthorizationQueryParametersError")
    assert "the region 'us-east-1' is wrong; expecting 'eu-west-1'" in query.text
    assert "<Region>eu-west-1</Region>" in query.text

    head = signed(server, "HEAD", "/", host=host)
    assert (head.status_code, head.headers["x-amz-bucket-region"]) == (400, "eu-west-1")
    # Signed for the bucket's region, the same request is served.
    assert signed(server, "GET", "/?list-type=2", host=host, region="eu-west-1").status_code == 200


def test_botocore_follows_the_virtual_host_answer(server: ServerProcess, eu_bucket: str) -> None:
    vhost = boto3.client(
        "s3",
        endpoint_url=f"http://s3.localhost:{server.port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "virtual"}),
    )

    def to_loopback(request: Any, **_: Any) -> None:
        scheme, rest = request.url.split("://", 1)
        host, _, path = rest.partition("/")
        request.headers["Host"] = host
        request.url = f"{scheme}://127.0.0.1:{server.port}/{path}"

    vhost.meta.events.register_last("before-send.s3", to_loopback)
    vhost.put_object(Bucket=eu_bucket, Key="k", Body=b"redirected")
    assert vhost.get_object(Bucket=eu_bucket, Key="k")["Body"].read() == b"redirected"
    assert vhost.head_bucket(Bucket=eu_bucket)["BucketRegion"] == "eu-west-1"
