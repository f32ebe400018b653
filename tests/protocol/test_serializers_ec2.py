"""EC2 serializer on EC2's model: DescribeRegions and the EC2 error envelope."""

from __future__ import annotations

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


def test_describe_regions_reads_back() -> None:
    op = service_model("ec2").operation_model("DescribeRegions")
    regions = [
        {"RegionName": "us-east-1", "Endpoint": "ec2.us-east-1.amazonaws.com", "OptInStatus": "x"},
        {"RegionName": "eu-west-1", "Endpoint": "ec2.eu-west-1.amazonaws.com"},
    ]
    response = get_serializer("ec2").serialize({"Regions": regions}, op, "rid")
    body = response.body
    assert isinstance(body, bytes)
    assert body.startswith(
        b'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15">'
        b"<requestId>rid</requestId><regionInfo><item>"
    )
    assert b"<regionName>us-east-1</regionName>" in body
    parsed = create_parser("ec2").parse(wire(response), op.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    assert parsed == {"Regions": regions}


def test_describe_instances_nested_lists_and_timestamps() -> None:
    from datetime import UTC, datetime

    op = service_model("ec2").operation_model("DescribeInstances")
    launched = datetime(2024, 3, 4, 5, 6, 7, tzinfo=UTC)
    result = {
        "Reservations": [
            {
                "ReservationId": "r-1",
                "Instances": [
                    {
                        "InstanceId": "i-1",
                        "LaunchTime": launched,
                        "State": {"Code": 16, "Name": "running"},
                        "Tags": [{"Key": "Name", "Value": "web"}],
                        "EbsOptimized": False,
                    }
                ],
            }
        ]
    }
    response = get_serializer("ec2").serialize(result, op, "rid")
    parsed = create_parser("ec2").parse(wire(response), op.output_shape)
    parsed.pop("ResponseMetadata")
    assert parsed == result


def test_ec2_error_envelope() -> None:
    error = error_class("InvalidInstanceID.NotFound")("The instance ID 'i-1' does not exist")
    response = get_serializer("ec2").serialize_error(error, service_model("ec2"), None, "rid")
    assert response.status == 400
    body = response.body
    assert isinstance(body, bytes)
    assert body.startswith(b"<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>")
    assert body.endswith(b"<RequestID>rid</RequestID></Response>")
    parsed = create_parser("ec2").parse(wire(response), None)
    assert parsed["Error"] == {
        "Code": "InvalidInstanceID.NotFound",
        "Message": "The instance ID 'i-1' does not exist",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"
