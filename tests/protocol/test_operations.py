"""Wire-protocol detection and operation matching across protocol families."""

from __future__ import annotations

import pytest

from overcast.protocol.http import Headers, HttpRequest
from overcast.protocol.models import service_model
from overcast.protocol.operations import Match, detect_protocol, find_operation

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON10 = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues"}
CBOR = {"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"}


@pytest.mark.parametrize(
    ("headers", "path", "body", "protocols", "compat", "expected"),
    [
        (JSON10, "/", b"{}", ("json",), True, "json"),
        (FORM, "/", b"Action=ListQueues", ("json",), True, "query"),
        (FORM, "/", b"Action=ListQueues", ("json",), None, "query"),
        (FORM, "/", b"Action=ListQueues", ("json",), False, "json"),
        ({}, "/", b"Action=GetCallerIdentity&Version=2011-06-15", ("query",), None, "query"),
        (FORM, "/", b"Action=DescribeInstances", ("ec2",), None, "ec2"),
        (
            CBOR,
            "/service/S/operation/Op",
            b"",
            ("smithy-rpc-v2-cbor", "json", "query"),
            True,
            "smithy-rpc-v2-cbor",
        ),
        (
            {},
            "/service/S/operation/Op",
            b"",
            ("smithy-rpc-v2-cbor", "json"),
            None,
            "smithy-rpc-v2-cbor",
        ),
        (
            {"X-Amz-Target": "G.ListMetrics", "Content-Type": "application/x-amz-json-1.0"},
            "/",
            b"{}",
            ("smithy-rpc-v2-cbor", "json", "query"),
            True,
            "json",
        ),
        (FORM, "/", b"Action=ListMetrics", ("smithy-rpc-v2-cbor", "json", "query"), True, "query"),
        ({}, "/b/k", b"", ("rest-xml",), None, "rest-xml"),
        ({}, "/2015-03-31/functions", b"", ("rest-json",), None, "rest-json"),
    ],
)
def test_detect_protocol(
    headers: dict, path: str, body: bytes, protocols: tuple, compat: bool | None, expected: str
) -> None:
    request = HttpRequest("POST", path, headers=Headers(headers), body=body)
    assert detect_protocol(request, protocols, compat) == expected


def test_cbor_operation_from_path() -> None:
    model = service_model("cloudwatch")
    request = HttpRequest(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/ListMetrics",
        headers=Headers(CBOR),
    )
    found = find_operation(request, model, "smithy-rpc-v2-cbor")
    assert found.match is Match.FULL and found.name == "ListMetrics"
    request.path = "/service/GraniteServiceVersion20100801/operation/Nope"
    found = find_operation(request, model, "smithy-rpc-v2-cbor")
    assert found.match is Match.PARTIAL and found.name == "Nope"


def test_json_target_prefix_is_stripped() -> None:
    request = HttpRequest("POST", "/", headers=Headers(JSON10), body=b"{}")
    found = find_operation(request, service_model("sqs"), "json")
    assert found.match is Match.FULL and found.operation is not None
    assert found.operation.name == "ListQueues"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected", "labels"),
    [
        ("GET", "/2015-03-31/functions/", "", "ListFunctions", {}),
        ("GET", "/2015-03-31/functions/f", "", "GetFunction", {"FunctionName": "f"}),
        ("POST", "/2015-03-31/functions/f/invocations", "", "Invoke", {"FunctionName": "f"}),
        (
            "GET",
            "/2015-03-31/functions/f/configuration",
            "",
            "GetFunctionConfiguration",
            {"FunctionName": "f"},
        ),
        ("PUT", "/2015-03-31/functions/f/code", "", "UpdateFunctionCode", {"FunctionName": "f"}),
        ("POST", "/2015-03-31/functions", "", "CreateFunction", {}),
        (
            "DELETE",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af",
            "",
            "DeleteFunction",
            {"FunctionName": "arn:aws:lambda:us-east-1:1:function:f"},
        ),
    ],
)
def test_lambda_routes(method: str, path: str, query: str, expected: str, labels: dict) -> None:
    found = find_operation(HttpRequest(method, path, query), service_model("lambda"), "rest-json")
    assert found.match is Match.FULL
    assert found.name == expected
    assert found.uri_params == labels


def test_unknown_rest_path_is_none_and_wrong_method_partial() -> None:
    model = service_model("lambda")
    assert find_operation(HttpRequest("GET", "/nope/x"), model, "rest-json").match is Match.NONE
    found = find_operation(HttpRequest("PATCH", "/2015-03-31/functions/f"), model, "rest-json")
    assert found.match is Match.PARTIAL


def test_route_tables_are_compiled_once() -> None:
    from overcast.protocol import operations

    model = service_model("s3")
    find_operation(HttpRequest("GET", "/b"), model, "rest-xml")
    table = operations._routes(model)
    find_operation(HttpRequest("GET", "/b/k"), model, "rest-xml")
    assert operations._routes(model) is table
