"""query and ec2 parsers on real models: STS, SQS over the query protocol (awsQueryCompatible),
IAM, EC2; requests come from botocore's own client serializer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from overcast.errors import InvalidParameterValue
from overcast.protocol.http import Headers, HttpRequest
from overcast.protocol.models import service_model
from overcast.protocol.operations import Match, detect_protocol, find_operation
from overcast.protocol.parsers import MalformedQueryString, get_parser


def client_request(service: str, operation: str, params: dict, protocol: str) -> HttpRequest:
    op = service_model(service).operation_model(operation)
    raw = create_serializer(protocol).serialize_to_request(params, op)
    return HttpRequest(
        raw["method"],
        raw["url_path"],
        raw["query_string"] if isinstance(raw["query_string"], str) else "",
        Headers(raw["headers"]),
        percent_encode_sequence(raw["body"]).encode(),
    )


def roundtrip(service: str, operation: str, params: dict, protocol: str) -> dict:
    model = service_model(service)
    request = client_request(service, operation, params, protocol)
    proto = detect_protocol(
        request, model.metadata["protocols"], "awsQueryCompatible" in model.metadata
    )
    assert proto == protocol
    found = find_operation(request, model, proto)
    assert found.match is Match.FULL and found.operation is not None
    assert found.operation.name == operation
    return get_parser(proto).parse(request, found.operation)


def test_sts_assume_role_with_lists_and_structures() -> None:
    params = {
        "RoleArn": "arn:aws:iam::000000000000:role/r",
        "RoleSessionName": "session",
        "DurationSeconds": 900,
        "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/A"}, {"arn": "arn:aws:iam::aws:policy/B"}],
        "Tags": [{"Key": "k", "Value": "v"}],
        "TransitiveTagKeys": ["k"],
    }
    assert roundtrip("sts", "AssumeRole", params, "query") == params


def test_sqs_query_compat_flattened_lists_and_maps() -> None:
    params = {
        "QueueName": "q",
        "Attributes": {"VisibilityTimeout": "30", "DelaySeconds": "0"},
        "tags": {"team": "a"},
    }
    assert roundtrip("sqs", "CreateQueue", params, "query") == params


def test_sqs_query_send_message_batch_binary() -> None:
    params = {
        "QueueUrl": "http://localhost/000000000000/q",
        "Entries": [
            {
                "Id": "1",
                "MessageBody": "b",
                "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": b"\x00\xff"}},
            },
            {"Id": "2", "MessageBody": "c", "DelaySeconds": 5},
        ],
    }
    assert roundtrip("sqs", "SendMessageBatch", params, "query") == params


def test_query_empty_list_and_booleans() -> None:
    out = roundtrip("iam", "ListRoles", {"PathPrefix": "/", "MaxItems": 10}, "query")
    assert out == {"PathPrefix": "/", "MaxItems": 10}
    op = service_model("sts").operation_model("AssumeRole")
    request = HttpRequest("POST", "/", body=b"Action=AssumeRole&PolicyArns=&RoleArn=r")
    assert get_parser("query").parse(request, op) == {"PolicyArns": [], "RoleArn": "r"}


def test_ec2_capitalised_names_and_flat_lists() -> None:
    params = {
        "ImageId": "ami-1",
        "MinCount": 1,
        "MaxCount": 2,
        "InstanceType": "t3.micro",
        "SecurityGroupIds": ["sg-1", "sg-2"],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "x"}]}
        ],
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
        "DryRun": False,
    }
    assert roundtrip("ec2", "RunInstances", params, "ec2") == params


def test_ec2_filters_and_timestamps() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    params = {
        "Filters": [{"Name": "instance-type", "Values": ["t3.micro", "m5.large"]}],
        "StartTime": when,
        "InstanceTypes": ["t3.micro"],
    }
    assert roundtrip("ec2", "DescribeSpotPriceHistory", params, "ec2") == params


def test_query_action_in_query_string_get() -> None:
    model = service_model("sts")
    request = HttpRequest("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15")
    assert detect_protocol(request, model.metadata["protocols"]) == "query"
    found = find_operation(request, model, "query")
    assert found.match is Match.FULL and found.name == "GetCallerIdentity"


def test_unknown_or_missing_action_is_partial() -> None:
    model = service_model("sts")
    found = find_operation(HttpRequest("POST", "/", body=b"Action=Nope"), model, "query")
    assert found.match is Match.PARTIAL and found.name == "Nope"
    found = find_operation(HttpRequest("POST", "/", body=b"Version=1"), model, "query")
    assert found.match is Match.PARTIAL and found.name is None


def test_bad_integer_is_invalid_parameter_value() -> None:
    op = service_model("sts").operation_model("AssumeRole")
    request = HttpRequest("POST", "/", body=b"Action=AssumeRole&DurationSeconds=abc")
    with pytest.raises(InvalidParameterValue):
        get_parser("query").parse(request, op)


def test_non_utf8_body_is_malformed_query_string() -> None:
    op = service_model("sts").operation_model("AssumeRole")
    with pytest.raises(MalformedQueryString):
        get_parser("query").parse(HttpRequest("POST", "/", body=b"Action=\xff\xfe"), op)


def test_gzip_compressed_query_request_routes_and_parses() -> None:
    import gzip

    model = service_model("cloudwatch")
    params = {"Namespace": "app", "MetricData": [{"MetricName": "m", "Value": 2.0}]}
    request = client_request("cloudwatch", "PutMetricData", params, "query")
    request.body = gzip.compress(request.body)
    request.headers.set("content-encoding", "gzip")
    assert detect_protocol(request, model.metadata["protocols"], True) == "query"
    found = find_operation(request, model, "query")
    assert found.match is Match.FULL and found.operation is not None
    assert get_parser("query").parse(request, found.operation) == params


@pytest.mark.parametrize(
    ("operation", "body", "expected"),
    [
        (
            "CreateQueue",
            "QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5"
            "&Tag.1.Key=team&Tag.1.Value=blue",
            {"QueueName": "q", "Attributes": {"DelaySeconds": "5"}, "tags": {"team": "blue"}},
        ),
        (
            "ReceiveMessage",
            "QueueUrl=u&AttributeName.1=All&MessageAttributeName.1=n"
            "&MessageSystemAttributeName.1=SenderId",
            {
                "QueueUrl": "u",
                "AttributeNames": ["All"],
                "MessageAttributeNames": ["n"],
                "MessageSystemAttributeNames": ["SenderId"],
            },
        ),
        (
            "SendMessageBatch",
            "QueueUrl=u&SendMessageBatchRequestEntry.1.Id=a"
            "&SendMessageBatchRequestEntry.1.MessageBody=hi"
            "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n"
            "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
            "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v",
            {
                "QueueUrl": "u",
                "Entries": [
                    {
                        "Id": "a",
                        "MessageBody": "hi",
                        "MessageAttributes": {"n": {"DataType": "String", "StringValue": "v"}},
                    }
                ],
            },
        ),
        (
            "UntagQueue",
            "QueueUrl=u&TagKey.1=a&TagKey.2=b",
            {"QueueUrl": "u", "TagKeys": ["a", "b"]},
        ),
        # The current model's own spelling is still understood.
        (
            "GetQueueAttributes",
            "QueueUrl=u&AttributeNames.1=All",
            {"QueueUrl": "u", "AttributeNames": ["All"]},
        ),
    ],
)
def test_sqs_legacy_query_names(operation: str, body: str, expected: dict) -> None:
    """Old SDKs sent SQS's query-era parameter names; the dialect data maps them back."""
    request = HttpRequest(
        "POST",
        "/000000000000/q",
        "",
        Headers({"content-type": "application/x-www-form-urlencoded"}),
        f"Action={operation}&Version=2012-11-05&{body}".encode(),
    )
    op = service_model("sqs").operation_model(operation)
    assert get_parser("query").parse(request, op) == expected
