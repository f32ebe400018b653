"""S3 objects end to end through boto3: PutObject, GetObject, HeadObject, GetObjectAttributes.

Bodies, metadata and standard headers, ranges and partNumber, conditional reads and writes,
Content-MD5 and flexible checksums, key limits and special characters, virtual-host addressing.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from overcast.gateway.auth.checksums import b64checksum

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1})


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    # botocore retries BadDigest with backoff; the tests want the first answer.
    return client("s3", config=NO_RETRIES)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def status(response: dict[str, Any]) -> int:
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


# --- put / get / head -----------------------------------------------------------------------


def test_put_get_head_with_metadata_and_standard_headers(s3: Any, bucket: str) -> None:
    body = b"hello, world"
    put = s3.put_object(
        Bucket=bucket,
        Key="doc.txt",
        Body=body,
        ContentType="text/plain",
        ContentEncoding="identity",
        ContentDisposition='attachment; filename="doc.txt"',
        ContentLanguage="en",
        CacheControl="max-age=60",
        Expires="Wed, 21 Oct 2037 07:28:00 GMT",
        Metadata={"Color": "blue", "n": "1"},
    )
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    assert "VersionId" not in put
    got = s3.get_object(Bucket=bucket, Key="doc.txt")
    assert got["Body"].read() == body
    assert status(got) == 200
    assert got["ETag"] == etag
    assert got["ContentLength"] == len(body)
    assert got["ContentType"] == "text/plain"
    assert got["ContentEncoding"] == "identity"
    assert got["ContentDisposition"] == 'attachment; filename="doc.txt"'
    assert got["ContentLanguage"] == "en"
    assert got["CacheControl"] == "max-age=60"
    assert got["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 21 Oct 2037 07:28:00 GMT"
    assert got["Metadata"] == {"color": "blue", "n": "1"}
    assert got["AcceptRanges"] == "bytes"
    assert got["ServerSideEncryption"] == "AES256"
    head = s3.head_object(Bucket=bucket, Key="doc.txt")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == etag
    assert head["LastModified"] == got["LastModified"]
    assert head["Metadata"] == {"color": "blue", "n": "1"}


def test_default_content_type_and_empty_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentType"] == "binary/octet-stream"
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_overwrite_replaces_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"one", Metadata={"a": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"two!")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"two!"
    assert got["Metadata"] == {}


def test_missing_key_and_bucket(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_of(exc) == ("NoSuchKey", 404)
    assert exc.value.response["Error"]["Key"] == "nope"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="nope")
    assert error_of(exc) == ("404", 404)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=f"nobucket-{uuid.uuid4().hex[:8]}", Key="k", Body=b"x")
    assert error_of(exc) == ("NoSuchBucket", 404)


def test_large_body_streams_and_ranges(s3: Any, bucket: str) -> None:
    body = bytes(range(256)) * (6 * 4096 + 7)  # ~6 MiB, not a multiple of any chunk size
    put = s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["ContentLength"] == len(body)
    assert got["Body"].read() == body
    start, end = 1_000_000, 5_500_000
    ranged = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={start}-{end}")
    assert status(ranged) == 206
    assert ranged["ContentRange"] == f"bytes {start}-{end}/{len(body)}"
    assert ranged["ContentLength"] == end - start + 1
    assert ranged["Body"].read() == body[start : end + 1]


@pytest.mark.parametrize(
    ("header", "expected", "content_range"),
    [
        ("bytes=0-0", b"0", "bytes 0-0/10"),
        ("bytes=3-5", b"345", "bytes 3-5/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-4", b"6789", "bytes 6-9/10"),
        ("bytes=-40", b"0123456789", "bytes 0-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
    ],
)
def test_ranges(s3: Any, bucket: str, header: str, expected: bytes, content_range: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="digits", Range=header)
    assert status(got) == 206
    assert got["Body"].read() == expected
    assert got["ContentRange"] == content_range
    head = s3.head_object(Bucket=bucket, Key="digits", Range=header)
    assert status(head) == 206
    assert head["ContentLength"] == len(expected)


def test_unsatisfiable_and_ignored_ranges(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="digits", Range="bytes=10-20")
    assert error_of(exc) == ("InvalidRange", 416)
    assert exc.value.response["Error"]["ActualObjectSize"] == "10"
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["content-range"] == "bytes */10"
    # A range S3 cannot parse is ignored: the whole object, 200.
    got = s3.get_object(Bucket=bucket, Key="digits", Range="bytes=5-2")
    assert status(got) == 200
    assert got["Body"].read() == b"0123456789"
    got = s3.get_object(Bucket=bucket, Key="digits", Range="items=0-1")
    assert status(got) == 200


def test_range_on_empty_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="empty", Range="bytes=0-")
    assert error_of(exc) == ("InvalidRange", 416)
    got = s3.get_object(Bucket=bucket, Key="empty", Range="bytes=-5")
    assert status(got) == 200
    assert got["Body"].read() == b""


def test_part_number_on_single_part_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"abcdef")
    got = s3.get_object(Bucket=bucket, Key="k", PartNumber=1)
    assert status(got) == 206
    assert got["Body"].read() == b"abcdef"
    assert got["ContentRange"] == "bytes 0-5/6"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", PartNumber=2)
    assert error_of(exc) == ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", PartNumber=1, Range="bytes=0-1")
    assert error_of(exc) == ("InvalidRequest", 400)


def test_response_header_overrides(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket,
        Key="k",
        ResponseContentType="application/json",
        ResponseContentLanguage="fr",
        ResponseCacheControl="no-cache",
        ResponseContentDisposition="inline",
        ResponseContentEncoding="gzip",
        ResponseExpires="Thu, 01 Jan 2037 00:00:00 GMT",
    )
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/json"
    assert headers["content-language"] == "fr"
    assert headers["cache-control"] == "no-cache"
    assert headers["content-disposition"] == "inline"
    assert headers["content-encoding"] == "gzip"
    assert headers["expires"] == "Thu, 01 Jan 2037 00:00:00 GMT"


# --- conditional requests -------------------------------------------------------------------


def test_conditional_reads(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    etag = put["ETag"]
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    before, after = modified - timedelta(days=1), modified + timedelta(days=1)

    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"data"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert error_of(exc) == ("PreconditionFailed", 412)
    assert exc.value.response["Error"]["Condition"] == "If-Match"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert error_of(exc) == ("304", 304)
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["etag"] == etag
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=after)
    assert error_of(exc) == ("304", 304)
    assert status(s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=before)) == 200
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfUnmodifiedSince=before)
    assert error_of(exc) == ("PreconditionFailed", 412)
    # If-Match true wins over If-Unmodified-Since false; If-None-Match false over
    # If-Modified-Since true.
    got = s3.get_object(Bucket=bucket, Key="k", IfMatch=etag, IfUnmodifiedSince=before)
    assert status(got) == 200
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag, IfModifiedSince=before)
    assert error_of(exc) == ("304", 304)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k", IfMatch='"nope"')
    assert error_of(exc) == ("412", 412)


def test_conditional_writes(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"one", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfNoneMatch="*")
    assert error_of(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch='"ffff"')
    assert error_of(exc) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=bucket, Key="k", Body=b"two", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="absent", Body=b"x", IfMatch=first["ETag"])
    assert error_of(exc) == ("NoSuchKey", 404)


# --- integrity --------------------------------------------------------------------------------


def test_content_md5(s3: Any, bucket: str) -> None:
    body = b"checked body"
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    s3.put_object(Bucket=bucket, Key="k", Body=body, ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k2", Body=body, ContentMD5=wrong)
    assert error_of(exc) == ("BadDigest", 400)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k2", Body=body, ContentMD5="not-base64!")
    assert error_of(exc) == ("InvalidDigest", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k2")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_flexible_checksums(s3: Any, bucket: str, algorithm: str) -> None:
    body = b"some bytes to checksum " * 100
    expected = b64checksum(algorithm, body)
    member = f"Checksum{algorithm}"
    if algorithm in ("CRC32C", "CRC64NVME"):
        # botocore computes these only with awscrt (not installed): send the value ourselves.
        put = s3.put_object(Bucket=bucket, Key="k", Body=body, **{member: expected})
    else:
        put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumAlgorithm=algorithm)
    assert put[member] == expected
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got[member] == expected
    assert got["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[member] == expected
    assert member not in s3.head_object(Bucket=bucket, Key="k")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"][member] == expected
    # A value given in the header that does not match.
    wrong = b64checksum(algorithm, b"different")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k2", Body=body, **{member: wrong})
    code, http = error_of(exc)
    assert (code, http) == ("BadDigest", 400)
    assert algorithm in exc.value.response["Error"]["Message"]


def test_crc32_header_value_checked(s3: Any, bucket: str) -> None:
    body = b"abc"
    value = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumCRC32=value)
    assert put["ChecksumCRC32"] == value
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=body, ChecksumCRC32="bad")
    assert error_of(exc) == ("InvalidRequest", 400)


def test_default_checksum_is_crc64nvme(client: Callable[..., Any], bucket: str) -> None:
    plain = client(
        "s3", config=botocore.config.Config(request_checksum_calculation="when_required")
    )
    plain.put_object(Bucket=bucket, Key="k", Body=b"no checksum asked")
    got = plain.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == b64checksum("CRC64NVME", b"no checksum asked")


# --- keys and limits ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["with space", "plus+sign", "per%cent", "emoji-😀", "a//b", "q?x=1&y", "trailing/", "ü/ñ/日本"],
)
def test_special_keys(s3: Any, bucket: str, key: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed.get("Contents", [])] == [key]


def test_key_too_long(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k" * 1024, Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_of(exc) == ("KeyTooLongError", 400)


def test_storage_class(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="ia")["StorageClass"] == "STANDARD_IA"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"x", StorageClass="FAST")
    assert error_of(exc) == ("InvalidStorageClass", 400)
    s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="GLACIER")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="cold")
    assert error_of(exc) == ("InvalidObjectState", 403)
    assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "GLACIER"


def test_metadata_too_large(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_of(exc) == ("MetadataTooLarge", 400)


def test_object_attributes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    attrs = s3.get_object_attributes(
        Bucket=bucket, Key="k", ObjectAttributes=["ETag", "ObjectSize", "StorageClass"]
    )
    assert attrs["ETag"] == hashlib.md5(b"12345").hexdigest()
    assert attrs["ObjectSize"] == 5
    assert attrs["StorageClass"] == "STANDARD"
    with pytest.raises(ClientError) as exc:
        s3.get_object_attributes(Bucket=bucket, Key="nope", ObjectAttributes=["ETag"])
    assert error_of(exc) == ("NoSuchKey", 404)


# --- addressing -------------------------------------------------------------------------------


def test_virtual_host_addressing(server: Any, s3: Any, bucket: str) -> None:
    """``*.localhost`` does not resolve here, so requests go to 127.0.0.1 with the virtual
    host kept in the Host header (as signed)."""
    port = server.endpoint.rsplit(":", 1)[1]
    vhost = boto3.client(
        "s3",
        endpoint_url=f"http://s3.localhost:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(s3={"addressing_style": "virtual"}),
    )

    def to_loopback(request: Any, **_: Any) -> None:
        scheme, rest = request.url.split("://", 1)
        host, _, path = rest.partition("/")
        request.headers["Host"] = host
        request.url = f"{scheme}://127.0.0.1:{port}/{path}"

    vhost.meta.events.register_last("before-send.s3", to_loopback)
    vhost.put_object(Bucket=bucket, Key="dir/v host+key", Body=b"virtual")
    got = vhost.get_object(Bucket=bucket, Key="dir/v host+key")
    assert got["Body"].read() == b"virtual"
    assert s3.get_object(Bucket=bucket, Key="dir/v host+key")["Body"].read() == b"virtual"
