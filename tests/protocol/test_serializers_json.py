"""awsJson serializer on real models: SQS answers and errors read back by a botocore client
(its query-compatible error mapping included) and DynamoDB's nested values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.parsers import create_parser

from overcast.errors import ServiceError, error_class
from overcast.protocol.http import HttpResponse
from overcast.protocol.models import service_model
from overcast.protocol.serializers import get_serializer


class _Raw:
    """Just enough of a urllib3 response for botocore's AWSResponse."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def wire(response: HttpResponse) -> dict[str, Any]:
    assert isinstance(response.body, bytes)
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers.raw_items()),
        "body": response.body,
    }


@pytest.fixture
def sqs_client() -> Iterator[tuple[Any, list[HttpResponse]]]:
    """A botocore SQS client whose HTTP answers are the responses queued in the list."""
    session = botocore.session.Session()
    client = session.create_client(
        "sqs",
        region_name="us-east-1",
        endpoint_url="http://localhost:4566",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    queue: list[HttpResponse] = []

    def answer(request: Any, **kwargs: Any) -> AWSResponse:
        response = queue.pop(0)
        body = response.body
        assert isinstance(body, bytes)
        headers = HeadersDict(response.headers.raw_items())
        return AWSResponse(request.url, response.status, headers, _Raw(body))

    client.meta.events.register("before-send", answer)
    yield client, queue
    client.close()


def test_sqs_answer_reaches_the_client(sqs_client: tuple[Any, list[HttpResponse]]) -> None:
    client, queue = sqs_client
    op = service_model("sqs").operation_model("GetQueueUrl")
    response = get_serializer("json").serialize({"QueueUrl": "http://q/1"}, op, "rid-1")
    assert response.headers["content-type"] == "application/x-amz-json-1.0"
    queue.append(response)
    out = client.get_queue_url(QueueName="q")
    assert out["QueueUrl"] == "http://q/1"
    assert out["ResponseMetadata"]["RequestId"] == "rid-1"


def test_sqs_error_maps_to_the_modeled_exception(
    sqs_client: tuple[Any, list[HttpResponse]],
) -> None:
    client, queue = sqs_client
    error = error_class("QueueDoesNotExist")("The specified queue does not exist.")
    response = get_serializer("json").serialize_error(error, service_model("sqs"), None, "rid")
    assert response.headers["x-amzn-query-error"] == (
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert json.loads(response.body)["__type"] == "QueueDoesNotExist"  # type: ignore[arg-type]
    queue.append(response)
    with pytest.raises(client.exceptions.QueueDoesNotExist) as info:
        client.get_queue_url(QueueName="nope")
    err = info.value.response["Error"]
    assert err["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert err["QueryErrorCode"] == "QueueDoesNotExist"
    assert err["Message"] == "The specified queue does not exist."


def test_unmodeled_error_keeps_its_class_code_and_status() -> None:
    class ThrottlingException(ServiceError):
        status = 400
        sender_fault = False

    error = ThrottlingException("Rate exceeded")
    response = get_serializer("json").serialize_error(error, service_model("dynamodb"), None, "r")
    assert response.headers["x-amzn-errortype"] == "ThrottlingException"
    assert "x-amzn-query-error" not in response.headers
    parsed = create_parser("json").parse(wire(response), None)
    assert parsed["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}


def test_dynamodb_nested_values_blobs_and_timestamps() -> None:
    model = service_model("dynamodb")
    op = model.operation_model("DescribeTable")
    created = datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    table = {
        "TableName": "t",
        "CreationDateTime": created,
        "ItemCount": 3,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    }
    response = get_serializer("json").serialize({"Table": table}, op, "r")
    doc = json.loads(response.body)  # type: ignore[arg-type]
    assert doc["Table"]["CreationDateTime"] == created.timestamp()
    parsed = create_parser("json").parse(wire(response), op.output_shape)
    assert parsed["Table"] == table
    get = model.operation_model("GetItem")
    item = {"pk": {"S": "a"}, "bin": {"B": b"\xff\x00"}, "l": {"L": [{"N": "1"}]}}
    response = get_serializer("json").serialize({"Item": item}, get, "r")
    parsed = create_parser("json").parse(wire(response), get.output_shape)
    assert parsed["Item"] == item


def test_none_members_are_omitted() -> None:
    op = service_model("sqs").operation_model("GetQueueUrl")
    response = get_serializer("json").serialize({"QueueUrl": None}, op, "r")
    assert response.body == b"{}"
