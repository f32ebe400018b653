"""The gateway end to end: routing, errors and internal endpoints through boto3 and HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess


def _get(url: str, method: str = "GET", data: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_health_lists_native_services(server: ServerProcess) -> None:
    status, body = _get(server.endpoint + "/_overcast/health")
    assert status == 200
    assert body["status"] == "running"
    assert body["ephemeral"] is True
    assert body["services"]["sts"] in ("available", "running")


def test_localstack_health_alias(server: ServerProcess) -> None:
    status, body = _get(server.endpoint + "/_localstack/health")
    assert status == 200
    assert set(body) >= {"services", "edition", "version"}


def test_get_caller_identity_maps_unknown_key_to_default_account(client: Any) -> None:
    identity = client("sts").get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    assert identity["UserId"] == "000000000000"


def test_service_state_becomes_running_after_first_use(server: ServerProcess) -> None:
    server.client("sts").get_caller_identity()
    _, body = _get(server.endpoint + "/_overcast/health")
    assert body["services"]["sts"] == "running"


def test_unimplemented_operation_answers_501_not_implemented(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client("kinesis").list_streams()
    error = info.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Error"]["Code"] == "NotImplemented"
    assert "ListStreams" in error["Error"]["Message"]
    assert "kinesis" in error["Error"]["Message"]


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("kinesis", lambda c: c.list_streams()),  # json 1.1
        ("swf", lambda c: c.list_domains(registrationStatus="REGISTERED")),  # json 1.0
        ("s3", lambda c: c.get_bucket_metadata_configuration(Bucket="b")),  # rest-xml
        ("lambda", lambda c: c.list_functions()),  # rest-json
        ("cloudwatch", lambda c: c.list_metrics()),  # smithy-rpc-v2-cbor, query-compatible
    ],
)
def test_not_implemented_error_parses_in_every_protocol(client: Any, service: str, call) -> None:
    with pytest.raises(ClientError) as info:
        call(client(service))
    response = info.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["Error"]["Code"] == "NotImplemented"


def test_unknown_query_action_is_invalid_action(server: ServerProcess) -> None:
    data = b"Action=NoSuchThing&Version=2011-06-15"
    request = urllib.request.Request(
        server.endpoint + "/",
        data=data,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 "
            "Credential=test/20260101/us-east-1/sts/aws4_request, "
            "SignedHeaders=host, Signature=abc",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 400
    assert b"<Code>InvalidAction</Code>" in info.value.read()


def test_unknown_json_target_is_unknown_operation(server: ServerProcess) -> None:
    request = urllib.request.Request(
        server.endpoint + "/",
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.NoSuchThing",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 400
    assert json.loads(info.value.read())["__type"].endswith("UnknownOperationException")


def test_region_comes_from_the_credential_scope(server: ServerProcess) -> None:
    zones = server.client("ec2", region="eu-west-1").describe_availability_zones()
    assert {z["RegionName"] for z in zones["AvailabilityZones"]} == {"eu-west-1"}


def test_clock_can_be_read_set_and_advanced(server: ServerProcess) -> None:
    status, before = _get(server.endpoint + "/_overcast/clock")
    assert status == 200
    status, after = _get(
        server.endpoint + "/_overcast/clock", "POST", json.dumps({"advance": 3600}).encode()
    )
    assert status == 200
    assert after["now"] - before["now"] >= 3600
    status, back = _get(
        server.endpoint + "/_overcast/clock", "POST", json.dumps({"set": before["now"]}).encode()
    )
    assert status == 200
    assert abs(back["now"] - before["now"]) < 60


def test_clock_rejects_bad_input(server: ServerProcess) -> None:
    status, _ = _get(server.endpoint + "/_overcast/clock", "POST", b'{"set": "soon"}')
    assert status == 400


def test_unknown_internal_endpoint_is_404(server: ServerProcess) -> None:
    status, _ = _get(server.endpoint + "/_overcast/nothing-here")
    assert status == 404
