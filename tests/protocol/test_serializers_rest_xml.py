"""rest-xml serializer on S3's model: listings, errors, streaming GetObject, HEAD, ACLs."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from overcast.errors import ServiceError, error_class
from overcast.protocol.http import HttpResponse
from overcast.protocol.models import service_model
from overcast.protocol.serializers import get_serializer

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def wire(response: HttpResponse) -> dict[str, Any]:
    assert isinstance(response.body, bytes)
    return {
        "status_code": response.status,
        "headers": HeadersDict(response.headers.raw_items()),
        "body": response.body,
    }


def test_list_objects_v2_root_namespace_and_read_back() -> None:
    op = service_model("s3").operation_model("ListObjectsV2")
    modified = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = {
        "IsTruncated": False,
        "Name": "bucket",
        "Prefix": "",
        "MaxKeys": 1000,
        "KeyCount": 2,
        "Contents": [
            {"Key": "a&b.txt", "LastModified": modified, "ETag": '"abc"', "Size": 3},
            {"Key": "c", "LastModified": modified, "ETag": '"def"', "Size": 0},
        ],
        "CommonPrefixes": [{"Prefix": "dir/"}],
        "RequestCharged": "requester",
    }
    response = get_serializer("rest-xml").serialize(result, op, "rid")
    body = response.body
    assert isinstance(body, bytes)
    assert body.startswith(f'<ListBucketResult xmlns="{S3_NS}">'.encode())
    assert b"<ETag>&quot;abc&quot;</ETag>" in body
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["x-amz-request-charged"] == "requester"
    assert response.headers["x-amz-request-id"] == "rid"
    assert response.headers["x-amz-id-2"]
    parsed = create_parser("rest-xml").parse(wire(response), op.output_shape)
    meta = parsed.pop("ResponseMetadata")
    assert meta["RequestId"] == "rid"
    assert parsed == result


def test_no_such_bucket_error() -> None:
    class NoSuchBucket(ServiceError):
        status = 404
        message = "The specified bucket does not exist"

    model = service_model("s3")
    op = model.operation_model("ListObjectsV2")
    response = get_serializer("rest-xml").serialize_error(
        NoSuchBucket(BucketName="nope"), model, op, "rid"
    )
    assert response.status == 404
    root = ET.fromstring(response.body)  # type: ignore[arg-type]
    assert root.tag == "Error"
    assert [child.tag for child in root] == ["Code", "Message", "BucketName", "RequestId", "HostId"]
    parsed = create_parser("rest-xml").parse(wire(response), op.output_shape)
    assert parsed["Error"] == {
        "Code": "NoSuchBucket",
        "Message": "The specified bucket does not exist",
        "BucketName": "nope",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"


def test_head_object_error_has_no_body() -> None:
    model = service_model("s3")
    op = model.operation_model("HeadObject")
    error = error_class("NoSuchKey", status=404)("The specified key does not exist.")
    response = get_serializer("rest-xml").serialize_error(error, model, op, "rid")
    assert response.status == 404
    assert response.body == b""
    assert response.headers["x-amz-request-id"] == "rid"


def test_get_object_streams_without_buffering() -> None:
    op = service_model("s3").operation_model("GetObject")
    consumed: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(3):
            consumed.append(i)
            yield b"x" * 4

    modified = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    stream = chunks()
    result = {
        "Body": stream,
        "ContentLength": 12,
        "ContentType": "text/plain",
        "ETag": '"e"',
        "LastModified": modified,
        "Metadata": {"color": "blue"},
        "DeleteMarker": False,
    }
    response = get_serializer("rest-xml").serialize(result, op, "rid")
    assert response.body is stream and consumed == []
    headers = response.headers
    assert headers["content-length"] == "12"
    assert headers["content-type"] == "text/plain"
    assert headers["last-modified"] == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert headers["x-amz-meta-color"] == "blue"
    assert headers["x-amz-delete-marker"] == "false"

    async def collect() -> bytes:
        return b"".join([c async for c in stream])

    assert asyncio.run(collect()) == b"x" * 12


def test_get_object_bytes_body_and_head_object() -> None:
    model = service_model("s3")
    op = model.operation_model("GetObject")
    response = get_serializer("rest-xml").serialize({"Body": b"hello"}, op, "r")
    assert response.body == b"hello"
    assert response.headers["content-length"] == "5"
    assert response.headers["content-type"] == "application/octet-stream"
    head = model.operation_model("HeadObject")
    response = get_serializer("rest-xml").serialize({"ContentLength": 42}, head, "r")
    assert response.body == b""
    assert response.headers["content-length"] == "42"


def test_get_bucket_location_is_a_text_root() -> None:
    op = service_model("s3").operation_model("GetBucketLocation")
    response = get_serializer("rest-xml").serialize({"LocationConstraint": "eu-west-1"}, op, "r")
    assert (
        response.body
        == f'<LocationConstraint xmlns="{S3_NS}">eu-west-1</LocationConstraint>'.encode()
    )


def test_acl_grantee_type_is_an_xsi_attribute() -> None:
    op = service_model("s3").operation_model("GetObjectAcl")
    grant = {
        "Grantee": {"Type": "CanonicalUser", "ID": "abc", "DisplayName": "me"},
        "Permission": "FULL_CONTROL",
    }
    result = {"Owner": {"ID": "abc", "DisplayName": "me"}, "Grants": [grant]}
    response = get_serializer("rest-xml").serialize(result, op, "r")
    body = response.body
    assert isinstance(body, bytes)
    assert body.startswith(f'<AccessControlPolicy xmlns="{S3_NS}">'.encode())
    assert (
        b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
        in body
    )
    parsed = create_parser("rest-xml").parse(wire(response), op.output_shape)
    parsed.pop("ResponseMetadata")
    assert parsed == result


def test_copy_object_payload_root() -> None:
    op = service_model("s3").operation_model("CopyObject")
    modified = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    result = {"CopyObjectResult": {"ETag": '"e"', "LastModified": modified}, "VersionId": "v1"}
    response = get_serializer("rest-xml").serialize(result, op, "r")
    assert response.body.startswith(f'<CopyObjectResult xmlns="{S3_NS}">'.encode())  # type: ignore[union-attr]
    parsed = create_parser("rest-xml").parse(wire(response), op.output_shape)
    parsed.pop("ResponseMetadata")
    assert parsed == result


def test_put_object_has_headers_only() -> None:
    op = service_model("s3").operation_model("PutObject")
    response = get_serializer("rest-xml").serialize({"ETag": '"e"', "VersionId": "v"}, op, "r")
    assert response.body == b""
    assert response.headers["etag"] == '"e"'
    assert response.headers["content-length"] == "0"


def test_route53_uses_the_error_response_envelope_and_its_namespace() -> None:
    model = service_model("route53")
    error = error_class("NoSuchHostedZone", status=404)("No hosted zone found with ID: Z1")
    response = get_serializer("rest-xml").serialize_error(error, model, None, "rid")
    body = response.body
    assert isinstance(body, bytes)
    assert body.startswith(
        b'<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error>'
        b"<Type>Sender</Type><Code>NoSuchHostedZone</Code>"
    )
    assert response.headers["x-amzn-requestid"] == "rid"
    parsed = create_parser("rest-xml").parse(wire(response), None)
    assert parsed["Error"]["Code"] == "NoSuchHostedZone"
    assert parsed["ResponseMetadata"]["RequestId"] == "rid"
    op = model.operation_model("GetHostedZone")
    result = {"HostedZone": {"Id": "/hostedzone/Z1", "Name": "a.com.", "CallerReference": "c"}}
    response = get_serializer("rest-xml").serialize(result, op, "rid")
    assert response.body.startswith(  # type: ignore[union-attr]
        b'<GetHostedZoneResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    )
    parsed = create_parser("rest-xml").parse(wire(response), op.output_shape)
    assert parsed["HostedZone"] == result["HostedZone"]


def test_unset_members_still_give_the_root_element() -> None:
    op = service_model("s3").operation_model("GetBucketLocation")
    response = get_serializer("rest-xml").serialize({}, op, "r")
    assert response.body == f'<LocationConstraint xmlns="{S3_NS}"/>'.encode()
    op = service_model("s3").operation_model("ListBuckets")
    response = get_serializer("rest-xml").serialize({}, op, "r")
    assert (
        response.body
        == f'<ListAllMyBucketsResult xmlns="{S3_NS}"></ListAllMyBucketsResult>'.encode()
    )
