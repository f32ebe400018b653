"""rest-json serializer on Lambda's model: documents, blob payloads, status members, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from overcast.errors import error_class
from overcast.protocol.http import HttpResponse
from overcast.protocol.models import service_model
from overcast.protocol.serializers import get_serializer


def wire(response: HttpResponse) -> dict[str, Any]:
    assert isinstance(response.body, bytes)
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers.raw_items()),
        "body": response.body,
    }


def test_get_function_document() -> None:
    op = service_model("lambda").operation_model("GetFunction")
    result = {
        "Configuration": {
            "FunctionName": "f",
            "Runtime": "python3.12",
            "MemorySize": 128,
            "Environment": {"Variables": {"A": "1"}},
            "LastModified": "2024-01-01T00:00:00.000+0000",
        },
        "Tags": {"team": "x"},
    }
    response = get_serializer("rest-json").serialize(result, op, "rid")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amzn-requestid"] == "rid"
    parsed = create_parser("rest-json").parse(wire(response), op.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    assert parsed == result


def test_invoke_blob_payload_status_and_headers() -> None:
    op = service_model("lambda").operation_model("Invoke")
    result = {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "ExecutedVersion": "$LATEST",
        "Payload": b'{"errorMessage": "boom"}',
    }
    response = get_serializer("rest-json").serialize(result, op, "r")
    assert response.body == b'{"errorMessage": "boom"}'
    assert response.headers["x-amz-function-error"] == "Unhandled"
    parsed = create_parser("rest-json").parse(wire(response), op.output_shape)
    parsed.pop("ResponseMetadata")
    # botocore's bare parser hands a blob payload over decoded (a client wraps the stream).
    assert parsed == {**result, "Payload": result["Payload"].decode()}


def test_async_invoke_status_member_sets_the_status() -> None:
    op = service_model("lambda").operation_model("Invoke")
    response = get_serializer("rest-json").serialize({"StatusCode": 202}, op, "r")
    assert response.status == 202
    assert response.body == b""


def test_timestamps_are_epoch_seconds_in_json() -> None:
    op = service_model("lambda").operation_model("GetFunctionUrlConfig")
    shape = op.output_shape
    kinds = {name: m.type_name for name, m in shape.members.items()}
    assert kinds["CreationTime"] == "string"  # Lambda keeps times as strings: check a real one
    op = service_model("apigateway").operation_model("GetRestApi")
    created = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    response = get_serializer("rest-json").serialize({"id": "a", "createdDate": created}, op, "r")
    assert json.loads(response.body)["createdDate"] == created.timestamp()  # type: ignore[arg-type]
    parsed = create_parser("rest-json").parse(wire(response), op.output_shape)
    assert parsed["createdDate"] == created


def test_modeled_error_status_type_and_message_key() -> None:
    model = service_model("lambda")
    error = error_class("ResourceNotFoundException")(
        "Function not found: arn:aws:lambda:us-east-1:0:function:f", Type="User"
    )
    response = get_serializer("rest-json").serialize_error(error, model, None, "rid")
    assert response.status == 404  # from the shape's error trait
    assert response.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    doc = json.loads(response.body)  # type: ignore[arg-type]
    assert doc == {"Type": "User", "Message": error.error_message}  # Lambda names it Message
    parsed = create_parser("rest-json").parse(wire(response), None)
    assert parsed["Error"] == {"Code": "ResourceNotFoundException", "Message": error.error_message}
    shape = model.shape_for("ResourceNotFoundException")
    assert create_parser("rest-json").parse(wire(response), shape) == {
        "Type": "User",
        "Message": error.error_message,
    }


def test_a_204_operation_with_a_body_answers_200() -> None:
    op = service_model("billingconductor").operation_model("ListTagsForResource")
    assert op.http["responseCode"] == 204
    response = get_serializer("rest-json").serialize({"Tags": {"a": "b"}}, op, "r")
    assert response.status == 200
    assert json.loads(response.body) == {"Tags": {"a": "b"}}  # type: ignore[arg-type]
    response = get_serializer("rest-json").serialize({}, op, "r")
    assert response.status == 200 and response.body == b"{}"
