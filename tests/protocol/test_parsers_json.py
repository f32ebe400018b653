"""JSON-family parsers on real models: SQS (awsJson 1.0), DynamoDB, Lambda (rest-json),
CloudWatch (smithy-rpc-v2-cbor); requests come from botocore's own client serializer."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from overcast.errors import SerializationException
from overcast.protocol.http import Headers, HttpRequest
from overcast.protocol.models import service_model
from overcast.protocol.operations import Match, detect_protocol, find_operation
from overcast.protocol.parsers import get_parser


def client_request(service: str, operation: str, params: dict, protocol: str) -> HttpRequest:
    op = service_model(service).operation_model(operation)
    raw = create_serializer(protocol).serialize_to_request(params, op)
    query = raw["query_string"]
    body = raw["body"]
    if isinstance(body, dict):
        body = percent_encode_sequence(body)
    return HttpRequest(
        raw["method"],
        raw["url_path"],
        query if isinstance(query, str) else percent_encode_sequence(query),
        Headers(raw["headers"]),
        body.encode() if isinstance(body, str) else body,
    )


def roundtrip(service: str, operation: str, params: dict, protocol: str) -> dict[str, Any]:
    model = service_model(service)
    request = client_request(service, operation, params, protocol)
    proto = detect_protocol(request, model.metadata["protocols"], True)
    assert proto == protocol
    found = find_operation(request, model, proto)
    assert found.match is Match.FULL
    assert found.operation is not None and found.operation.name == operation
    return get_parser(proto).parse(request, found.operation, found.uri_params)


def test_sqs_json_send_message_with_attributes() -> None:
    params = {
        "QueueUrl": "http://localhost:4566/000000000000/q",
        "MessageBody": "hello",
        "DelaySeconds": 3,
        "MessageAttributes": {
            "a": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            "b": {"DataType": "String", "StringValue": "x"},
        },
    }
    assert roundtrip("sqs", "SendMessage", params, "json") == params


def test_dynamodb_nested_maps_and_numbers() -> None:
    params = {
        "TableName": "t",
        "Item": {"pk": {"S": "1"}, "n": {"N": "1.5"}, "l": {"L": [{"BOOL": True}, {"NULL": True}]}},
        "ReturnValues": "NONE",
    }
    assert roundtrip("dynamodb", "PutItem", params, "json") == params


def test_json_timestamps_become_aware_datetimes() -> None:
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    out = roundtrip(
        "cloudwatch",
        "GetMetricStatistics",
        {
            "Namespace": "n",
            "MetricName": "m",
            "StartTime": when,
            "EndTime": when,
            "Period": 60,
            "Statistics": ["Sum"],
        },
        "json",
    )
    assert out["StartTime"] == when and out["StartTime"].tzinfo is not None


def test_cbor_cloudwatch_put_metric_data() -> None:
    when = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)
    params = {
        "Namespace": "app",
        "MetricData": [
            {
                "MetricName": "latency",
                "Timestamp": when,
                "Value": 1.5,
                "Dimensions": [{"Name": "host", "Value": "a"}],
            }
        ],
    }
    assert roundtrip("cloudwatch", "PutMetricData", params, "smithy-rpc-v2-cbor") == params


def test_lambda_rest_json_uri_query_header_and_payload() -> None:
    out = roundtrip(
        "lambda",
        "Invoke",
        {
            "FunctionName": "my-fn",
            "InvocationType": "Event",
            "Qualifier": "prod",
            "ClientContext": base64.b64encode(b"{}").decode(),
            "Payload": b'{"k": 1}',
        },
        "rest-json",
    )
    assert out == {
        "FunctionName": "my-fn",
        "InvocationType": "Event",
        "Qualifier": "prod",
        "ClientContext": "e30=",
        "Payload": b'{"k": 1}',
    }


def test_lambda_create_function_body_and_blob() -> None:
    params = {
        "FunctionName": "f",
        "Runtime": "python3.12",
        "Role": "arn:aws:iam::000000000000:role/r",
        "Handler": "h.main",
        "Code": {"ZipFile": b"PK\x03\x04zip"},
        "Environment": {"Variables": {"A": "1"}},
        "Timeout": 30,
    }
    assert roundtrip("lambda", "CreateFunction", params, "rest-json") == params


def test_lambda_list_functions_query_string() -> None:
    out = roundtrip("lambda", "ListFunctions", {"MaxItems": 5, "Marker": "m"}, "rest-json")
    assert out == {"MaxItems": 5, "Marker": "m"}


def test_unknown_target_is_partial() -> None:
    request = HttpRequest(
        "POST",
        "/",
        headers=Headers(
            {"X-Amz-Target": "AmazonSQS.Nope", "Content-Type": "application/x-amz-json-1.0"}
        ),
        body=b"{}",
    )
    found = find_operation(request, service_model("sqs"), "json")
    assert found.match is Match.PARTIAL and found.name == "Nope"


@pytest.mark.parametrize(
    "body", [b"{not json", b'{"QueueName": 5}', b'{"QueueName": "q", "Attributes": []}', b"[1]"]
)
def test_malformed_json_is_serialization_exception(body: bytes) -> None:
    op = service_model("sqs").operation_model("CreateQueue")
    request = HttpRequest("POST", "/", body=body)
    with pytest.raises(SerializationException):
        get_parser("json").parse(request, op)


def test_json_nulls_and_unknown_members_are_dropped() -> None:
    op = service_model("sqs").operation_model("CreateQueue")
    body = json.dumps({"QueueName": "q", "Attributes": None, "Bogus": 1}).encode()
    assert get_parser("json").parse(HttpRequest("POST", "/", body=body), op) == {"QueueName": "q"}


def test_malformed_cbor_is_serialization_exception() -> None:
    op = service_model("cloudwatch").operation_model("ListMetrics")
    with pytest.raises(SerializationException):
        get_parser("smithy-rpc-v2-cbor").parse(HttpRequest("POST", "/", body=b"\xff\x00"), op)


def test_rest_json_bad_header_type() -> None:
    op = service_model("lambda").operation_model("ListFunctions")
    request = HttpRequest("GET", "/2015-03-31/functions/", "MaxItems=abc")
    with pytest.raises(SerializationException):
        get_parser("rest-json").parse(request, op)


def test_gzip_compressed_request_body() -> None:
    params = {"Namespace": "app", "MetricData": [{"MetricName": "m", "Value": 1.0}]}
    request = client_request("cloudwatch", "PutMetricData", params, "json")
    request.body = gzip.compress(request.body)
    request.headers.set("content-encoding", "gzip")
    op = service_model("cloudwatch").operation_model("PutMetricData")
    assert get_parser("json").parse(request, op) == params


def test_content_encoding_is_not_decompressed_without_the_trait() -> None:
    # S3 stores Content-Encoding with the object: the body must arrive untouched.
    op = service_model("s3").operation_model("PutObject")
    request = HttpRequest("PUT", "/b/k", headers=Headers({"Content-Encoding": "gzip"}), body=b"zz")
    out = get_parser("rest-xml").parse(request, op, {"Bucket": "b", "Key": "k"})
    assert out["Body"] == b"zz" and out["ContentEncoding"] == "gzip"
