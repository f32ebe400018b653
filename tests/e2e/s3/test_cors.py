"""S3 CORS end to end: the configuration operations and their validation, preflight (OPTIONS)
answers matched against the rules, and Access-Control-* headers on actual requests."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import error_of, new_bucket

RULES = [
    {
        "ID": "app",
        "AllowedOrigins": ["https://*.example.com"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["content-type", "x-amz-*"],
        "ExposeHeaders": ["ETag", "x-amz-version-id"],
        "MaxAgeSeconds": 600,
    },
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


@pytest.fixture(scope="module")
def cors_bucket(s3: Any) -> str:
    name = new_bucket(s3)
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES})
    s3.put_object(Bucket=name, Key="k", Body=b"v")
    return name


def preflight(server: ServerProcess, path: str, **headers: str) -> requests.Response:
    return requests.options(
        server.endpoint + path,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        timeout=10,
    )


def test_configuration_round_trip(s3: Any, cors_bucket: str) -> None:
    assert s3.get_bucket_cors(Bucket=cors_bucket)["CORSRules"] == RULES
    name = new_bucket(s3)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=name)
    assert error_of(info) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": RULES[1:]})
    s3.delete_bucket_cors(Bucket=name)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_cors(Bucket=name)
    assert error_of(info) == ("NoSuchCORSConfiguration", 404)


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}, "InvalidRequest"),
        ({"AllowedOrigins": ["https://*.*.com"], "AllowedMethods": ["GET"]}, "InvalidRequest"),
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]},
            "InvalidRequest",
        ),
        ({"AllowedOrigins": [], "AllowedMethods": ["GET"]}, "MalformedXML"),
    ],
)
def test_invalid_rules(s3: Any, rule: dict[str, Any], code: str) -> None:
    name = new_bucket(s3)
    with pytest.raises(ClientError) as info:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [rule]})
    assert error_of(info) == (code, 400)


def test_too_many_rules(s3: Any) -> None:
    name = new_bucket(s3)
    rules = [
        {"AllowedOrigins": [f"https://{i}.com"], "AllowedMethods": ["GET"]} for i in range(101)
    ]
    with pytest.raises(ClientError) as info:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    assert error_of(info)[1] == 400


def test_preflight_allowed(keyed_server: ServerProcess, cors_bucket: str) -> None:
    response = preflight(
        keyed_server,
        f"/{cors_bucket}/k",
        Origin="https://app.example.com",
        Access_Control_Request_Method="PUT",
        Access_Control_Request_Headers="Content-Type, X-Amz-Date",
    )
    assert response.status_code == 200
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert headers["Access-Control-Expose-Headers"] == "ETag, x-amz-version-id"
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in headers["Vary"]


def test_preflight_wildcard_rule(keyed_server: ServerProcess, cors_bucket: str) -> None:
    response = preflight(
        keyed_server,
        f"/{cors_bucket}",
        Origin="https://other.org",
        Access_Control_Request_Method="GET",
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://other.org", "Access_Control_Request_Method": "PUT"},
        {"Origin": "https://app.example.com", "Access_Control_Request_Method": "DELETE"},
        {
            "Origin": "https://app.example.com",
            "Access_Control_Request_Method": "PUT",
            "Access_Control_Request_Headers": "authorization-extra",
        },
    ],
)
def test_preflight_refused(
    keyed_server: ServerProcess, cors_bucket: str, headers: dict[str, str]
) -> None:
    response = preflight(keyed_server, f"/{cors_bucket}/k", **headers)
    assert response.status_code == 403
    assert b"<Code>AccessForbidden</Code>" in response.content
    assert b"CORSResponse: This CORS request is not allowed." in response.content


def test_preflight_without_origin_or_configuration(
    s3: Any, keyed_server: ServerProcess, cors_bucket: str
) -> None:
    response = preflight(keyed_server, f"/{cors_bucket}/k", Access_Control_Request_Method="GET")
    assert response.status_code == 400
    bare = new_bucket(s3)
    response = preflight(
        keyed_server, f"/{bare}/k", Origin="https://a.org", Access_Control_Request_Method="GET"
    )
    assert response.status_code == 403
    assert b"CORSResponse: CORS is not enabled for this bucket." in response.content


def test_actual_request_headers(s3: Any, cors_bucket: str) -> None:
    def add_origin(request: Any, **_: Any) -> None:
        request.headers["Origin"] = "https://app.example.com"

    s3.meta.events.register("before-sign.s3.GetObject", add_origin)
    try:
        response = s3.get_object(Bucket=cors_bucket, Key="k")
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", add_origin)
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["access-control-allow-origin"] == "https://app.example.com"
    assert headers["access-control-expose-headers"] == "ETag, x-amz-version-id"
    plain = s3.get_object(Bucket=cors_bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert "access-control-allow-origin" not in plain
