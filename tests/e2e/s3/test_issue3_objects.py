"""Issue #3 audit, objects: what the main object suites leave unproven (response overrides for
anonymous callers, checksums only on x-amz-checksum-mode, the copy-onto-itself rules, partNumber
bounds, conditional writes that race)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

MiB = 1024 * 1024
SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)


def error_of(call: Callable[[], Any]) -> tuple[str, int, dict[str, Any]]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"],
    )


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"o-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def signed_get(server: ServerProcess, path: str, headers: dict[str, str]) -> requests.Response:
    """A SigV4 GET without botocore's response-checksum handling (which adds the mode header)."""
    request = AWSRequest(method="GET", url=f"{server.endpoint}{path}", headers=headers)
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(request)
    return requests.get(request.url, headers=dict(request.headers), timeout=10)


# --- response-* overrides ----------------------------------------------------------------------


def test_anonymous_reader_cannot_override_response_headers(
    server: ServerProcess, s3: Any, bucket: str
) -> None:
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "IgnorePublicAcls": False,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"public", ContentType="text/plain")
    anonymous = server.client("s3", config=Config(signature_version=UNSIGNED))
    assert anonymous.get_object(Bucket=bucket, Key="k")["Body"].read() == b"public"
    code, status, error = error_of(
        lambda: anonymous.get_object(Bucket=bucket, Key="k", ResponseContentType="a/b")
    )
    assert (code, status) == ("InvalidRequest", 400)
    assert error["Message"] == (
        "Request specific response headers cannot be used for anonymous GET requests."
    )
    # A presigned URL is a signed request: the override applies.
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k", "ResponseContentType": "a/b"}
    )
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "a/b")


# --- checksums ---------------------------------------------------------------------------------


def test_checksums_are_returned_only_in_checksum_mode(
    server: ServerProcess, s3: Any, bucket: str
) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"hello", ChecksumAlgorithm="SHA256")
    assert put["ChecksumType"] == "FULL_OBJECT"
    sha = put["ChecksumSHA256"]
    plain = signed_get(server, f"/{bucket}/k", {})
    assert not [h for h in plain.headers if h.lower().startswith("x-amz-checksum")]
    enabled = signed_get(server, f"/{bucket}/k", {"x-amz-checksum-mode": "ENABLED"})
    assert enabled.headers["x-amz-checksum-sha256"] == sha
    assert enabled.headers["x-amz-checksum-type"] == "FULL_OBJECT"
    # A range is not the object: no whole-object checksum comes with it.
    ranged = signed_get(
        server, f"/{bucket}/k", {"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-1"}
    )
    assert ranged.status_code == 206
    assert "x-amz-checksum-sha256" not in ranged.headers


# --- CopyObject: metadata directive and copying onto itself ------------------------------------


def test_metadata_directive_copy_and_replace(server: ServerProcess, s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"x",
        ContentType="text/plain",
        CacheControl="max-age=1",
        Metadata={"a": "1"},
    )
    source = {"Bucket": bucket, "Key": "src"}
    # COPY (the default) ignores the metadata sent with the request.
    s3.copy_object(Bucket=bucket, Key="copied", CopySource=source, Metadata={"b": "2"})
    head = s3.head_object(Bucket=bucket, Key="copied")
    assert (head["Metadata"], head["ContentType"], head["CacheControl"]) == (
        {"a": "1"},
        "text/plain",
        "max-age=1",
    )
    # REPLACE takes only what the request sends: the standard headers go too.
    s3.copy_object(
        Bucket=bucket,
        Key="replaced",
        CopySource=source,
        Metadata={"b": "2"},
        MetadataDirective="REPLACE",
    )
    head = s3.head_object(Bucket=bucket, Key="replaced")
    assert (head["Metadata"], head["ContentType"], "CacheControl" in head) == (
        {"b": "2"},
        "binary/octet-stream",
        False,
    )
    raw = server.client("s3", config=Config(parameter_validation=False))
    code, status, error = error_of(
        lambda: raw.copy_object(
            Bucket=bucket, Key="bad", CopySource=source, MetadataDirective="BOGUS"
        )
    )
    assert (code, status, error["Message"]) == (
        "InvalidArgument",
        400,
        "Unknown metadata directive.",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"MetadataDirective": "REPLACE"},
        {"StorageClass": "STANDARD_IA"},
        {"WebsiteRedirectLocation": "/elsewhere"},
        {"ServerSideEncryption": "aws:kms"},
    ],
)
def test_copy_onto_itself_needs_a_change(s3: Any, bucket: str, change: dict[str, str]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"same bytes", Metadata={"v": "1"})
    source = {"Bucket": bucket, "Key": "k"}
    for unchanged in ({}, {"MetadataDirective": "COPY"}, {"Metadata": {"v": "2"}}):
        code, status, error = error_of(
            lambda unchanged=unchanged: s3.copy_object(
                Bucket=bucket, Key="k", CopySource=source, **unchanged
            )
        )
        assert (code, status, error["Message"]) == ("InvalidRequest", 400, SELF_COPY)
    s3.copy_object(Bucket=bucket, Key="k", CopySource=source, **change)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"same bytes"


# --- partNumber --------------------------------------------------------------------------------


def test_part_number_bounds(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * 5 * MiB), (2, b"b")):
        out = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=number, Body=body)
        parts.append({"PartNumber": number, "ETag": out["ETag"]})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    head = s3.head_object(Bucket=bucket, Key="mp", PartNumber=2)
    assert (head["ContentLength"], head["PartsCount"]) == (1, 2)
    assert head["ContentRange"] == f"bytes {5 * MiB}-{5 * MiB}/{5 * MiB + 1}"
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="mp", PartNumber=3))
    assert (code, status) == ("InvalidPartNumber", 416)
    assert (error["PartNumberRequested"], error["ActualPartCount"]) == ("3", "2")
    for number in (0, 10001):
        code, status, error = error_of(
            lambda number=number: s3.get_object(Bucket=bucket, Key="mp", PartNumber=number)
        )
        assert (code, status) == ("InvalidArgument", 400)
        assert error["Message"] == "Part number must be an integer between 1 and 10000, inclusive"


# --- conditional writes ------------------------------------------------------------------------


def test_if_none_match_takes_only_a_star(s3: Any, bucket: str) -> None:
    code, status, error = error_of(
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch='"abc"')
    )
    assert (code, status, error.get("Header")) == ("NotImplemented", 501, "If-None-Match")


def race(count: int, write: Callable[[], Any]) -> list[int]:
    """Run ``write`` in ``count`` threads released together; each one's HTTP status."""
    start = threading.Barrier(count)

    def one(_: int) -> int:
        start.wait()
        try:
            write()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            )
            return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
        return 200

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_racing_conditional_writes_let_exactly_one_through(
    server: ServerProcess, bucket: str
) -> None:
    clients = [server.client("s3") for _ in range(8)]
    turn = iter(range(100))

    def create() -> None:
        i = next(turn)
        clients[i % 8].put_object(Bucket=bucket, Key="once", Body=str(i).encode(), IfNoneMatch="*")

    statuses = race(8, create)
    assert statuses.count(200) == 1
    assert set(statuses) - {200} <= {409, 412}

    etag = clients[0].head_object(Bucket=bucket, Key="once")["ETag"]

    def replace() -> None:
        i = next(turn)
        clients[i % 8].put_object(Bucket=bucket, Key="once", Body=str(i).encode(), IfMatch=etag)

    statuses = race(8, replace)
    assert statuses.count(200) == 1
    assert set(statuses) - {200} <= {409, 412}


# --- GetObjectAttributes -------------------------------------------------------------------------


def test_object_attributes_page_through_parts(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="SHA256")
    sent = []
    for number, body in ((1, b"a" * 5 * MiB), (2, b"b" * 5 * MiB), (3, b"c")):
        out = s3.upload_part(
            Bucket=bucket,
            Key="m",
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=body,
            ChecksumAlgorithm="SHA256",
        )
        sent.append(
            {"PartNumber": number, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]}
        )
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=upload["UploadId"], MultipartUpload={"Parts": sent}
    )
    wanted = ["ObjectParts", "Checksum", "ETag", "ObjectSize"]
    first = s3.get_object_attributes(Bucket=bucket, Key="m", ObjectAttributes=wanted, MaxParts=2)
    assert first["ETag"] == done["ETag"].strip('"')  # unquoted here, as S3 answers
    assert first["ObjectSize"] == 10 * MiB + 1
    assert first["Checksum"] == {
        "ChecksumSHA256": done["ChecksumSHA256"],
        "ChecksumType": "COMPOSITE",
    }
    parts = first["ObjectParts"]
    assert (parts["TotalPartsCount"], parts["IsTruncated"], parts["NextPartNumberMarker"]) == (
        3,
        True,
        2,
    )
    assert [(p["PartNumber"], p["Size"], p["ChecksumSHA256"]) for p in parts["Parts"]] == [
        (s["PartNumber"], 5 * MiB, s["ChecksumSHA256"]) for s in sent[:2]
    ]
    rest = s3.get_object_attributes(
        Bucket=bucket, Key="m", ObjectAttributes=["ObjectParts"], MaxParts=2, PartNumberMarker=2
    )["ObjectParts"]
    assert rest["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"]) for p in rest["Parts"]] == [(3, 1)]
    # A single PUT has no parts to list.
    s3.put_object(Bucket=bucket, Key="single", Body=b"x")
    single = s3.get_object_attributes(Bucket=bucket, Key="single", ObjectAttributes=wanted)
    assert "ObjectParts" not in single and single["ObjectSize"] == 1


@pytest.mark.parametrize("header", [None, ""])
def test_object_attributes_without_the_header_is_invalid_request(
    server: ServerProcess, s3: Any, bucket: str, header: str | None
) -> None:
    """`GET /key?attributes` is GetObjectAttributes even without its required header (not a
    GetObject answering the body): 400 InvalidRequest, AWS's message (versity/versitygw#915)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"body")
    headers = {} if header is None else {"x-amz-object-attributes": header}
    answer = signed_get(server, f"/{bucket}/k?attributes", headers)
    assert answer.status_code == 400
    assert "<Code>InvalidRequest</Code>" in answer.text
    assert "is either missing or empty" in answer.text
