"""Smithy RPC v2 CBOR serializer on CloudWatch's model: timestamps (tag 1), floats, errors."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import cbor2
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


def test_get_metric_statistics_reads_back() -> None:
    op = service_model("cloudwatch").operation_model("GetMetricStatistics")
    at = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = {
        "Label": "CPUUtilization",
        "Datapoints": [{"Timestamp": at, "Average": 1.5, "SampleCount": 2.0, "Unit": "Percent"}],
    }
    response = get_serializer("smithy-rpc-v2-cbor").serialize(result, op, "rid")
    assert response.headers["smithy-protocol"] == "rpc-v2-cbor"
    assert response.headers["content-type"] == "application/cbor"
    assert response.headers["x-amzn-requestid"] == "rid"
    raw = response.body
    assert isinstance(raw, bytes)
    assert b"\xc1" in raw  # tag 1: epoch-seconds timestamp
    parsed = create_parser("smithy-rpc-v2-cbor").parse(wire(response), op.output_shape)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "rid"
    assert parsed == result


def test_special_floats_stay_floats() -> None:
    op = service_model("cloudwatch").operation_model("GetMetricStatistics")
    result = {"Datapoints": [{"Maximum": float("nan"), "Minimum": float("-inf")}]}
    response = get_serializer("smithy-rpc-v2-cbor").serialize(result, op, "r")
    point = cbor2.loads(response.body)["Datapoints"][0]  # type: ignore[arg-type]
    assert math.isnan(point["Maximum"]) and point["Minimum"] == float("-inf")


def test_cbor_error_with_query_compatible_header() -> None:
    model = service_model("cloudwatch")
    error = error_class("ResourceNotFound", status=404)("no such dashboard")
    response = get_serializer("smithy-rpc-v2-cbor").serialize_error(error, model, None, "rid")
    assert cbor2.loads(response.body) == {  # type: ignore[arg-type]
        "__type": "ResourceNotFound",
        "message": "no such dashboard",
    }
    assert response.headers["x-amzn-query-error"].endswith(";Sender")
    parsed = create_parser("smithy-rpc-v2-cbor").parse(wire(response), None)
    assert parsed["Error"]["Message"] == "no such dashboard"
    assert parsed["Error"]["QueryErrorCode"] == "ResourceNotFound"
