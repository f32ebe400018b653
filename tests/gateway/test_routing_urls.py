"""URLs handed back to clients (``gateway.urls``): external host, request Host, scheme, style."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from overcast.gateway.urls import base_url, external_host, s3_bucket_location, s3_url
from overcast.protocol.http import Headers, HttpRequest
from overcast.settings import Settings


def _ctx(host: str, *, external: str | None = None, scheme: str = "http", port: int = 4566):
    request = HttpRequest(
        "GET", "/", headers=Headers({"host": host} if host else {}), scheme=scheme
    )
    settings = Settings(port=port, external_host=external, data_dir=None)
    return SimpleNamespace(
        request=request, env=SimpleNamespace(settings=settings), region="eu-west-1"
    )


@pytest.mark.parametrize(
    ("host", "external", "scheme", "service", "expected"),
    [
        ("127.0.0.1:4566", None, "http", "sqs", "http://127.0.0.1:4566"),
        ("localhost:4566", None, "https", "sqs", "https://localhost:4566"),
        ("", None, "http", "sqs", "http://sqs.eu-west-1.amazonaws.com"),
        (
            "localhost.localstack.cloud:4566",
            None,
            "http",
            "sqs",
            "http://sqs.eu-west-1.localhost.localstack.cloud:4566",
        ),
        (
            "sqs.us-east-1.localhost.localstack.cloud:4566",
            None,
            "http",
            "sqs",
            "http://sqs.us-east-1.localhost.localstack.cloud:4566",
        ),
        (
            "127.0.0.1:4566",
            "localhost.localstack.cloud",
            "http",
            "sqs",
            "http://sqs.eu-west-1.localhost.localstack.cloud:4566",
        ),
        (
            "127.0.0.1:4566",
            "overcast.internal:8080",
            "https",
            "sns",
            "https://overcast.internal:8080",
        ),
        ("127.0.0.1:4566", "10.0.0.5", "http", None, "http://10.0.0.5:4566"),
        ("127.0.0.1:4566", "[::1]:4566", "http", None, "http://[::1]:4566"),
    ],
)
def test_base_url(
    host: str, external: str | None, scheme: str, service: str | None, expected: str
) -> None:
    assert base_url(_ctx(host, external=external, scheme=scheme), service) == expected  # type: ignore[arg-type]


def test_external_host_gets_the_listening_port() -> None:
    assert external_host(_ctx("x:1", external="ext.example", port=5000)) == "ext.example:5000"  # type: ignore[arg-type]
    assert external_host(_ctx("x:1", external="ext.example:443")) == "ext.example:443"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "external", "expected"),
    [
        ("127.0.0.1:4566", None, "http://127.0.0.1:4566/b/k%20x"),
        (
            "b.s3.localhost.localstack.cloud:4566",
            None,
            "http://b.s3.localhost.localstack.cloud:4566/k%20x",
        ),
        ("b.localhost:4566", None, "http://b.localhost:4566/k%20x"),
        (
            "127.0.0.1:4566",
            "localhost.localstack.cloud",
            "http://localhost.localstack.cloud:4566/b/k%20x",
        ),
        (
            "b.s3.localhost.localstack.cloud:4566",
            "localhost.localstack.cloud",
            "http://b.s3.localhost.localstack.cloud:4566/k%20x",
        ),
        (
            "b.s3.localhost.localstack.cloud:4566",
            "s3.example.test:9000",
            "http://b.s3.example.test:9000/k%20x",
        ),
        ("b.localhost:4566", "127.0.0.1", "http://127.0.0.1:4566/b/k%20x"),
    ],
)
def test_s3_url_keeps_the_addressing_style(host: str, external: str | None, expected: str) -> None:
    assert s3_url(_ctx(host, external=external), "b", "k x") == expected  # type: ignore[arg-type]


def test_create_bucket_location() -> None:
    assert s3_bucket_location(_ctx("127.0.0.1:4566"), "b") == "http://b.s3.amazonaws.com/"  # type: ignore[arg-type]
    ctx = _ctx("127.0.0.1:4566", external="localhost.localstack.cloud")
    assert s3_bucket_location(ctx, "b") == "http://localhost.localstack.cloud:4566/b/"  # type: ignore[arg-type]
