"""Host shapes the gateway routes: local names, LocalStack's domain and AWS's own host names."""

from __future__ import annotations

import pytest

from overcast.gateway.app import _has_operation
from overcast.gateway.routing import (
    execute_api_id,
    resolve_service,
    rewrite_s3_virtual_host,
    s3_bucket_from_host,
)
from overcast.protocol.http import Headers, HttpRequest


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("localhost", None),
        ("localhost:4566", None),
        ("127.0.0.1:4566", None),
        ("[::1]:4566", None),
        ("localhost.localstack.cloud:4566", None),
        ("s3.localhost.localstack.cloud:4566", None),
        ("s3.amazonaws.com", None),
        ("s3.us-west-2.amazonaws.com", None),
        ("sqs.us-east-1.amazonaws.com", None),
        ("sqs.us-east-1.localhost.localstack.cloud:4566", None),
        ("my-bucket.s3.localhost.localstack.cloud:4566", "my-bucket"),
        ("my-bucket.s3.us-east-1.localhost.localstack.cloud", "my-bucket"),
        ("my-bucket.localhost:4566", "my-bucket"),
        ("my-bucket.s3.localhost:4566", "my-bucket"),
        ("my-bucket.s3.amazonaws.com", "my-bucket"),
        ("my.dotted.bucket.s3.eu-west-1.amazonaws.com", "my.dotted.bucket"),
        ("my-bucket.s3-website-us-east-1.amazonaws.com", "my-bucket"),
        ("my-bucket.s3-website.eu-central-1.amazonaws.com", "my-bucket"),
    ],
)
def test_s3_virtual_hosts(host: str, bucket: str | None) -> None:
    assert s3_bucket_from_host(host) == bucket


def test_virtual_host_request_is_rewritten_to_path_style() -> None:
    request = _request("my-bucket.s3.localhost.localstack.cloud:4566", path="/a/b.txt")
    assert rewrite_s3_virtual_host(request) == "my-bucket"
    assert request.path == "/my-bucket/a/b.txt"
    root = _request("my-bucket.localhost:4566", path="/")
    rewrite_s3_virtual_host(root)
    assert root.path == "/my-bucket"


@pytest.mark.parametrize(
    ("host", "service"),
    [
        ("sqs.us-east-1.amazonaws.com", "sqs"),
        ("sqs.eu-west-1.localhost.localstack.cloud:4566", "sqs"),
        ("dynamodb.us-east-1.amazonaws.com", "dynamodb"),
        ("sns.ap-south-1.amazonaws.com", "sns"),
        ("sts.amazonaws.com", "sts"),
        ("s3.amazonaws.com", "s3"),
        ("my-bucket.s3.us-east-1.amazonaws.com", "s3"),
        ("my-bucket.localhost:4566", "s3"),
        # No service in the name: anything unsigned and unnamed is S3 (anonymous GETs).
        ("localhost:4566", "s3"),
        ("localhost.localstack.cloud:4566", "s3"),
    ],
)
def test_unsigned_requests_are_routed_by_host(host: str, service: str) -> None:
    info = resolve_service(_request(host), None, _has_operation)
    assert info is not None
    assert info.name == service


def test_signing_name_wins_over_a_host_without_service() -> None:
    info = resolve_service(_request("localhost.localstack.cloud:4566"), "sqs", _has_operation)
    assert info is not None and info.name == "sqs"


@pytest.mark.parametrize(
    ("host", "api"),
    [
        ("abc123.execute-api.localhost.localstack.cloud:4566", "abc123"),
        ("abc123.execute-api.us-east-1.amazonaws.com", "abc123"),
        ("execute-api.us-east-1.amazonaws.com", None),
        ("my-bucket.s3.localhost.localstack.cloud", None),
        ("localhost:4566", None),
    ],
)
def test_execute_api_hosts(host: str, api: str | None) -> None:
    assert execute_api_id(host) == api


def _request(host: str, path: str = "/") -> HttpRequest:
    return HttpRequest(method="GET", path=path, headers=Headers({"host": host}))
