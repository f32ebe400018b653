"""rest-xml on the real S3 model: path-style routing (greedy keys, ``?versioning``-style
constraints, multipart operations sharing one path) and parsing of headers, header maps, query
strings and XML payloads; requests come from botocore's own client serializer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence

from overcast.protocol.http import BufferedBody, Headers, HttpRequest
from overcast.protocol.models import service_model
from overcast.protocol.operations import Match, find_operation
from overcast.protocol.parsers import MalformedXML, get_parser


def client_request(operation: str, params: dict) -> HttpRequest:
    op = service_model("s3").operation_model(operation)
    raw = create_serializer("rest-xml").serialize_to_request(params, op)
    query = raw["query_string"]
    path, _, template_query = raw["url_path"].partition("?")
    query = query if isinstance(query, str) else percent_encode_sequence(query)
    query = "&".join(q for q in (template_query, query) if q)
    body = raw["body"]
    return HttpRequest(
        raw["method"],
        path,
        query,
        Headers(raw["headers"]),
        body if isinstance(body, bytes) else b"",
    )


def route(request: HttpRequest) -> str | None:
    found = find_operation(request, service_model("s3"), "rest-xml")
    return found.name if found.match is Match.FULL else None


def roundtrip(operation: str, params: dict) -> dict:
    request = client_request(operation, params)
    found = find_operation(request, service_model("s3"), "rest-xml")
    assert found.match is Match.FULL and found.operation is not None
    assert found.operation.name == operation
    return get_parser("rest-xml").parse(request, found.operation, found.uri_params)


def test_put_object_headers_metadata_and_greedy_key() -> None:
    params = {
        "Bucket": "b",
        "Key": "dir/sub dir/file+name.txt",
        "Body": b"data",
        "ContentType": "text/plain",
        "Metadata": {"owner": "me", "x": "y"},
        "ContentLength": 4,
        "StorageClass": "STANDARD_IA",
    }
    assert roundtrip("PutObject", params) == params


def test_streaming_payload_is_the_request_stream_when_there_is_one() -> None:
    request = client_request("PutObject", {"Bucket": "b", "Key": "k"})
    request.stream = BufferedBody(b"big")
    found = find_operation(request, service_model("s3"), "rest-xml")
    assert found.operation is not None
    out = get_parser("rest-xml").parse(request, found.operation, found.uri_params)
    assert out["Body"] is request.stream


def test_get_object_timestamp_and_range_headers() -> None:
    when = datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    params = {"Bucket": "b", "Key": "k", "IfModifiedSince": when, "Range": "bytes=0-9"}
    assert roundtrip("GetObject", params) == params


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "expected"),
    [
        ("GET", "/", "", {}, "ListBuckets"),
        ("GET", "/b", "", {}, "ListObjects"),
        ("GET", "/b/", "", {}, "ListObjects"),
        ("GET", "/b", "list-type=2&prefix=a", {}, "ListObjectsV2"),
        ("GET", "/b", "versioning", {}, "GetBucketVersioning"),
        ("GET", "/b", "versions", {}, "ListObjectVersions"),
        ("PUT", "/b", "versioning", {}, "PutBucketVersioning"),
        ("PUT", "/b", "", {}, "CreateBucket"),
        ("HEAD", "/b", "", {}, "HeadBucket"),
        ("GET", "/b/k", "", {}, "GetObject"),
        ("GET", "/b/a/b/c", "acl", {}, "GetObjectAcl"),
        ("HEAD", "/b/k", "", {}, "HeadObject"),
        ("PUT", "/b/k", "", {}, "PutObject"),
        ("PUT", "/b/k", "", {"x-amz-copy-source": "/o/k"}, "CopyObject"),
        ("PUT", "/b/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
        (
            "PUT",
            "/b/k",
            "partNumber=1&uploadId=u",
            {"x-amz-copy-source": "/o/k"},
            "UploadPartCopy",
        ),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload"),
        ("POST", "/b/k", "uploadId=u", {}, "CompleteMultipartUpload"),
        ("GET", "/b/k", "uploadId=u", {}, "ListParts"),
        ("DELETE", "/b/k", "uploadId=u", {}, "AbortMultipartUpload"),
        ("DELETE", "/b/k", "", {}, "DeleteObject"),
        ("POST", "/b", "delete", {}, "DeleteObjects"),
    ],
)
def test_s3_routing(method: str, path: str, query: str, headers: dict, expected: str) -> None:
    assert route(HttpRequest(method, path, query, Headers(headers))) == expected


def test_wrong_method_on_known_path_is_partial() -> None:
    found = find_operation(HttpRequest("PATCH", "/b/k"), service_model("s3"), "rest-xml")
    assert found.match is Match.PARTIAL


def test_percent_encoded_labels_are_decoded() -> None:
    found = find_operation(
        HttpRequest("GET", "/b/a%2Fb%20c/%E2%9C%93"), service_model("s3"), "rest-xml"
    )
    assert found.uri_params == {"Bucket": "b", "Key": "a/b c/\u2713"}


def test_put_bucket_versioning_xml_payload() -> None:
    params = {
        "Bucket": "b",
        "VersioningConfiguration": {"Status": "Enabled", "MFADelete": "Disabled"},
    }
    assert roundtrip("PutBucketVersioning", params) == params


def test_create_bucket_configuration() -> None:
    params = {
        "Bucket": "b",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
        "ACL": "private",
    }
    assert roundtrip("CreateBucket", params) == params


def test_delete_objects_flattened_list() -> None:
    params = {
        "Bucket": "b",
        "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "v"}], "Quiet": True},
    }
    assert roundtrip("DeleteObjects", params) == params


def test_complete_multipart_upload_parts() -> None:
    params = {
        "Bucket": "b",
        "Key": "k",
        "UploadId": "u",
        "MultipartUpload": {
            "Parts": [{"ETag": '"e1"', "PartNumber": 1}, {"ETag": "e2", "PartNumber": 2}]
        },
    }
    assert roundtrip("CompleteMultipartUpload", params) == params


def test_put_bucket_tagging_nested_lists() -> None:
    params = {"Bucket": "b", "Tagging": {"TagSet": [{"Key": "a", "Value": "1"}]}}
    assert roundtrip("PutBucketTagging", params) == params


def test_list_objects_v2_query_members() -> None:
    params = {"Bucket": "b", "Prefix": "p/", "MaxKeys": 10, "FetchOwner": True}
    assert roundtrip("ListObjectsV2", params) == params


def test_malformed_xml() -> None:
    op = service_model("s3").operation_model("PutBucketVersioning")
    request = HttpRequest("PUT", "/b", "versioning", body=b"<VersioningConfiguration><Status>")
    with pytest.raises(MalformedXML):
        get_parser("rest-xml").parse(request, op, {"Bucket": "b"})
