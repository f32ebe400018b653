"""An external host that is an IPv6 literal (``OVERCAST_HOST=::1``, ``[::1]:4566``): bracketed in
every URL handed out, as RFC 3986 requires (``http://[::1]:4566/...``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from overcast.gateway.urls import base_url, local_endpoint, s3_url, url_host
from overcast.init_hooks import script_environment
from overcast.protocol.http import Headers, HttpRequest
from overcast.settings import Settings
from overcast.testing import ServerProcess


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("::1", "[::1]:4566"),
        ("fe80::1", "[fe80::1]:4566"),
        ("2001:db8::8:800:200c:417a", "[2001:db8::8:800:200c:417a]:4566"),
        ("::1:5000", "[::1:5000]:4566"),  # itself an IPv6 address: a port needs brackets
        ("[::1]", "[::1]:4566"),
        ("[::1]:", "[::1]:4566"),
        ("[::1]:5000", "[::1]:5000"),
        ("[fe80::1]:443", "[fe80::1]:443"),
        (" ::1 ", "[::1]:4566"),
        ("10.0.0.5", "10.0.0.5:4566"),
        ("10.0.0.5:8080", "10.0.0.5:8080"),
        ("overcast.internal", "overcast.internal:4566"),
        ("overcast.internal:8080", "overcast.internal:8080"),
    ],
)
def test_url_host(configured: str, expected: str) -> None:
    assert url_host(configured, 4566) == expected


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [
        ("127.0.0.1", "http://127.0.0.1:4566"),
        ("0.0.0.0", "http://127.0.0.1:4566"),
        ("::", "http://[::1]:4566"),
        ("::1", "http://[::1]:4566"),
        ("localhost", "http://localhost:4566"),
    ],
)
def test_local_endpoint_of_a_listener(host: str, endpoint: str) -> None:
    assert local_endpoint(host, 4566) == endpoint
    # What init scripts are pointed at (AWS_ENDPOINT_URL), a URL botocore accepts.
    env = script_environment(Settings(host=host, port=4566, data_dir=None))
    assert env["AWS_ENDPOINT_URL"] == endpoint


def _ctx(external: str, host: str = "127.0.0.1:4566") -> SimpleNamespace:
    request = HttpRequest("GET", "/", headers=Headers({"host": host}))
    settings = Settings(port=4566, external_host=external, data_dir=None)
    return SimpleNamespace(
        request=request, env=SimpleNamespace(settings=settings), region="eu-west-1"
    )


def test_urls_on_an_ipv6_external_host() -> None:
    assert base_url(_ctx("::1"), "sqs") == "http://[::1]:4566"  # type: ignore[arg-type]
    assert base_url(_ctx("[::1]:5000"), "sqs") == "http://[::1]:5000"  # type: ignore[arg-type]
    # A virtual-hosted request still gets a path-style URL: no bucket label fits an address.
    virtual = _ctx("::1", host="b.s3.localhost.localstack.cloud:4566")
    assert s3_url(virtual, "b", "k") == "http://[::1]:4566/b/k"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variable", "value", "authority"),
    [("OVERCAST_HOST", "::1", "[::1]:{port}"), ("LOCALSTACK_HOST", "[::1]:4510", "[::1]:4510")],
)
def test_queue_url_and_location_on_an_ipv6_external_host(
    variable: str, value: str, authority: str
) -> None:
    proc = ServerProcess(env={variable: value}).start()
    try:
        expected = authority.format(port=proc.port)
        url = proc.client("sqs").create_queue(QueueName="v6-queue")["QueueUrl"]
        assert url == f"http://{expected}/000000000000/v6-queue"
        s3 = proc.client("s3", region="eu-west-1")
        made = s3.create_bucket(
            Bucket="v6-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        assert made["Location"] == f"http://{expected}/v6-bucket/"
    finally:
        proc.stop()
