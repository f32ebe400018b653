"""Query serializer on real models: STS answers and errors, SQS over its old query protocol."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from overcast.errors import ServiceError, error_class
from overcast.protocol.http import HttpResponse
from overcast.protocol.models import service_model
from overcast.protocol.serializers import get_serializer

NS_SQS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


def wire(response: HttpResponse) -> dict:
    assert isinstance(response.body, bytes)
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers.raw_items()),
        "body": response.body,
    }


def test_sts_get_caller_identity_reads_back() -> None:
    op = service_model("sts").operation_model("GetCallerIdentity")
    result = {"UserId": "AIDA", "Account": "000000000000", "Arn": "arn:aws:iam::0:user/a&b"}
    response = get_serializer("query").serialize(result, op, "rid-1")
    body = response.body
    assert isinstance(body, bytes)
    assert body.startswith(
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult>"
    )
    assert response.headers["content-type"] == "text/xml"
    assert response.headers["x-amzn-requestid"] == "rid-1"
    assert response.headers["content-length"] == str(len(body))
    parsed = create_parser("query").parse(wire(response), op.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid-1"
    assert parsed == result


def test_sts_timestamps_are_iso8601() -> None:
    op = service_model("sts").operation_model("GetSessionToken")
    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    creds = {
        "AccessKeyId": "ASIA",
        "SecretAccessKey": "s",
        "SessionToken": "t",
        "Expiration": expiry,
    }
    response = get_serializer("query").serialize({"Credentials": creds}, op, "r")
    assert b"<Expiration>2030-01-02T03:04:05Z</Expiration>" in response.body  # type: ignore[operator]
    parsed = create_parser("query").parse(wire(response), op.output_shape)
    assert parsed["Credentials"]["Expiration"] == expiry


def test_sts_modeled_error_takes_code_and_status_from_the_shape() -> None:
    model = service_model("sts")
    error = error_class("ExpiredTokenException")("token expired")
    response = get_serializer("query").serialize_error(error, model, None, "rid-2")
    assert response.status == 400
    parsed = create_parser("query").parse(wire(response), None)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "ExpiredTokenException",
        "Message": "token expired",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid-2"


def test_unmodeled_error_uses_the_exception_class() -> None:
    class Throttling(ServiceError):
        status = 400
        sender_fault = False

    error = Throttling("slow down", Detail="x<y")
    error.headers["Retry-After"] = "1"
    response = get_serializer("query").serialize_error(error, service_model("iam"), None, "r")
    parsed = create_parser("query").parse(wire(response), None)
    assert parsed["Error"] == {
        "Type": "Receiver",
        "Code": "Throttling",
        "Message": "slow down",
        "Detail": "x<y",
    }
    assert response.headers["retry-after"] == "1"


def test_sqs_over_query_uses_the_old_query_names() -> None:
    op = service_model("sqs").operation_model("ReceiveMessage")
    result = {
        "Messages": [
            {
                "MessageId": "m1",
                "ReceiptHandle": "rh",
                "MD5OfBody": "x",
                "Body": "hello",
                "Attributes": {"SenderId": "A", "SentTimestamp": "1"},
                "MessageAttributes": {
                    "k": {"DataType": "String", "StringValue": "v"},
                    "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
                },
            }
        ]
    }
    response = get_serializer("query").serialize(result, op, "rid")
    root = ET.fromstring(response.body)  # type: ignore[arg-type]
    assert root.tag == f"{NS_SQS}ReceiveMessageResponse"
    message = root.find(f"{NS_SQS}ReceiveMessageResult/{NS_SQS}Message")
    assert message is not None
    assert message.findtext(f"{NS_SQS}Body") == "hello"
    attrs = {
        a.findtext(f"{NS_SQS}Name"): a.findtext(f"{NS_SQS}Value")
        for a in message.findall(f"{NS_SQS}Attribute")
    }
    assert attrs == {"SenderId": "A", "SentTimestamp": "1"}
    user = message.findall(f"{NS_SQS}MessageAttribute")
    assert [a.findtext(f"{NS_SQS}Name") for a in user] == ["k", "b"]
    assert user[1].findtext(f"{NS_SQS}Value/{NS_SQS}BinaryValue") == "AAE="
    assert root.findtext(f"{NS_SQS}ResponseMetadata/{NS_SQS}RequestId") == "rid"


def test_sqs_over_query_list_queues_and_empty_result() -> None:
    model = service_model("sqs")
    response = get_serializer("query").serialize(
        {"QueueUrls": ["http://q/1", "http://q/2"]}, model.operation_model("ListQueues"), "r"
    )
    root = ET.fromstring(response.body)  # type: ignore[arg-type]
    urls = [e.text for e in root.iter(f"{NS_SQS}QueueUrl")]
    assert urls == ["http://q/1", "http://q/2"]
    response = get_serializer("query").serialize({}, model.operation_model("DeleteQueue"), "r")
    assert response.body == (
        b'<DeleteQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
        b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteQueueResponse>"
    )


def test_sqs_over_query_error_uses_the_legacy_code() -> None:
    error = error_class("QueueDoesNotExist")("The specified queue does not exist.")
    response = get_serializer("query").serialize_error(error, service_model("sqs"), None, "r")
    parsed = create_parser("query").parse(wire(response), None)
    assert parsed["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert parsed["Error"]["Type"] == "Sender"
