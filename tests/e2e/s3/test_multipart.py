"""S3 multipart uploads end to end through boto3: create, parts, copy parts, complete, abort,
listings, checksums (composite and full-object), errors, managed transfers and durability."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid
import zlib
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.gateway.auth.checksums import b64checksum
from overcast.testing import ServerProcess

MiB = 1024 * 1024


def new_bucket(s3: Any) -> str:
    name = f"mpu-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def md5_of_md5s(parts: list[bytes]) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def upload_parts(s3: Any, bucket: str, key: str, upload_id: str, parts: list[bytes], **kw: Any):
    done = []
    for number, data in enumerate(parts, 1):
        out = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data, **kw
        )
        entry = {"PartNumber": number, "ETag": out["ETag"]}
        entry.update({k: v for k, v in out.items() if k.startswith("Checksum")})
        done.append(entry)
    return done


@pytest.fixture
def s3(client: Any) -> Any:
    return client("s3")


@pytest.fixture
def s3_once(client: Any) -> Any:
    """A client that does not retry: botocore retries BadDigest, as for a corrupted upload."""
    return client("s3", config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_create_upload_list_complete(s3: Any) -> None:
    bucket = new_bucket(s3)
    key = "dir/big object.bin"
    created = s3.create_multipart_upload(
        Bucket=bucket, Key=key, ContentType="text/plain", Metadata={"color": "blue"}
    )
    upload_id = created["UploadId"]
    assert created["Bucket"] == bucket and created["Key"] == key
    assert len(upload_id) > 60
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail bytes"]
    done = upload_parts(s3, bucket, key, upload_id, parts)
    assert done[0]["ETag"] == f'"{hashlib.md5(parts[0]).hexdigest()}"'

    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
    assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts]
    assert [p["ETag"] for p in listed["Parts"]] == [d["ETag"] for d in done]
    assert listed["StorageClass"] == "STANDARD"
    assert listed["IsTruncated"] is False
    assert listed["Owner"]["ID"] == listed["Initiator"]["ID"]
    uploads = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [(key, upload_id)]

    result = s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": d["PartNumber"], "ETag": d["ETag"]} for d in done]
        },
    )
    assert result["ETag"] == md5_of_md5s(parts)
    assert result["Bucket"] == bucket and result["Key"] == key
    assert result["Location"].endswith(f"/{bucket}/dir/big%20object.bin")
    assert "VersionId" not in result

    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"".join(parts)
    assert got["ETag"] == md5_of_md5s(parts)
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"color": "blue"}
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    # A completed upload is gone.
    with pytest.raises(ClientError) as info:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert error_of(info) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": done[0]["ETag"]}]},
        )
    assert error_of(info) == ("NoSuchUpload", 404)


def test_get_object_by_part_number(s3: Any) -> None:
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    parts = [b"a" * (5 * MiB), b"b" * 1000]
    done = upload_parts(s3, bucket, "k", upload_id, parts)
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    second = s3.get_object(Bucket=bucket, Key="k", PartNumber=2)
    assert second["Body"].read() == parts[1]
    assert second["PartsCount"] == 2
    assert second["ContentRange"] == f"bytes {5 * MiB}-{5 * MiB + 999}/{5 * MiB + 1000}"
    head = s3.head_object(Bucket=bucket, Key="k", PartNumber=1)
    assert head["ContentLength"] == 5 * MiB


def test_replacing_a_part_keeps_the_latest(s3: Any) -> None:
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"old")
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=1, Body=b"new")[
        "ETag"
    ]
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == [(1, etag, 3)]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def _crc_of(algorithm: str, data: bytes) -> str:
    return b64checksum(algorithm, data)


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        ("CRC32", None),
        ("SHA256", None),
        ("CRC32C", "COMPOSITE"),
        ("CRC32", "FULL_OBJECT"),
        ("CRC64NVME", None),
    ],
)
def test_checksums(s3: Any, algorithm: str, kind: str | None) -> None:
    bucket = new_bucket(s3)
    extra = {"ChecksumType": kind} if kind else {}
    created = s3.create_multipart_upload(
        Bucket=bucket, Key="k", ChecksumAlgorithm=algorithm, **extra
    )
    expected_kind = kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
    assert created["ChecksumAlgorithm"] == algorithm
    assert created["ChecksumType"] == expected_kind
    upload_id = created["UploadId"]
    parts = [os.urandom(5 * MiB), os.urandom(1234)]
    member = f"Checksum{algorithm}"
    if algorithm in ("CRC32", "SHA256"):
        done = upload_parts(s3, bucket, "k", upload_id, parts, ChecksumAlgorithm=algorithm)
    else:  # botocore computes these only with awscrt: send the values computed here
        done = []
        for number, data in enumerate(parts, 1):
            out = s3.upload_part(
                Bucket=bucket,
                Key="k",
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                **{member: _crc_of(algorithm, data)},
            )
            done.append({"PartNumber": number, "ETag": out["ETag"], member: out[member]})
    assert [d[member] for d in done] == [_crc_of(algorithm, p) for p in parts]
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert listed["ChecksumAlgorithm"] == algorithm
    assert listed["ChecksumType"] == expected_kind
    assert [p[member] for p in listed["Parts"]] == [d[member] for d in done]

    result = s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    if expected_kind == "COMPOSITE":
        raw = b"".join(base64.b64decode(d[member]) for d in done)
        expected = f"{_crc_of(algorithm, raw)}-2"
    else:
        expected = _crc_of(algorithm, b"".join(parts))
    assert result[member] == expected
    assert result["ChecksumType"] == expected_kind
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[member] == expected
    assert head["ChecksumType"] == expected_kind


def test_upload_without_algorithm_gets_a_full_object_crc64nvme(s3: Any) -> None:
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    parts = [os.urandom(5 * MiB), b"end"]
    done = upload_parts(s3, bucket, "k", upload_id, parts)
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert "ChecksumAlgorithm" not in listed
    result = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={
            "Parts": [{"PartNumber": d["PartNumber"], "ETag": d["ETag"]} for d in done]
        },
    )
    assert result["ChecksumCRC64NVME"] == _crc_of("CRC64NVME", b"".join(parts))
    assert result["ChecksumType"] == "FULL_OBJECT"


def test_checksum_errors(s3: Any, s3_once: Any) -> None:
    bucket = new_bucket(s3)
    with pytest.raises(ClientError) as info:
        s3.create_multipart_upload(
            Bucket=bucket, Key="k", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT"
        )
    assert error_of(info) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as info:
        s3.create_multipart_upload(
            Bucket=bucket, Key="k", ChecksumAlgorithm="CRC64NVME", ChecksumType="COMPOSITE"
        )
    assert error_of(info) == ("InvalidRequest", 400)

    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="SHA1")[
        "UploadId"
    ]
    # A part with another algorithm's checksum.
    with pytest.raises(ClientError) as info:
        s3.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ChecksumAlgorithm="CRC32",
        )
    assert error_of(info) == ("InvalidRequest", 400)
    assert "Checksum Type mismatch" in info.value.response["Error"]["Message"]
    # A wrong checksum value.
    with pytest.raises(ClientError) as info:
        s3_once.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ChecksumSHA1=_crc_of("SHA1", b"y"),
        )
    assert error_of(info) == ("BadDigest", 400)
    out = s3.upload_part(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=b"x",
        ChecksumAlgorithm="SHA1",
    )
    # Composite uploads need every part's checksum in the complete request.
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": out["ETag"]}]},
        )
    assert error_of(info) == ("InvalidRequest", 400)
    assert "missing for part 1" in info.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [
                    {"PartNumber": 1, "ETag": out["ETag"], "ChecksumSHA1": _crc_of("SHA1", b"z")}
                ]
            },
        )
    assert error_of(info) == ("InvalidPart", 400)


def test_complete_errors(s3: Any) -> None:
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    done = upload_parts(s3, bucket, "k", upload_id, [b"small", b"also small", b"end"])
    plain = [{"PartNumber": d["PartNumber"], "ETag": d["ETag"]} for d in done]

    def complete(parts: list[dict[str, Any]]) -> tuple[str, int, dict[str, Any]]:
        with pytest.raises(ClientError) as info:
            s3.complete_multipart_upload(
                Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        return (*error_of(info), info.value.response["Error"])

    assert complete([plain[1], plain[0]])[:2] == ("InvalidPartOrder", 400)
    assert complete([plain[0], plain[0]])[:2] == ("InvalidPartOrder", 400)
    assert complete([{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}])[:2] == ("InvalidPart", 400)
    assert complete([{"PartNumber": 7, "ETag": plain[0]["ETag"]}])[:2] == ("InvalidPart", 400)
    code, status, error = complete(plain)
    assert (code, status) == ("EntityTooSmall", 400)
    assert error["ProposedSize"] == "5"
    assert error["MinSizeAllowed"] == str(5 * MiB)
    assert error["PartNumber"] == "1"
    assert complete([])[:2] == ("MalformedXML", 400)
    # The failures left the upload intact: a valid single (last) part completes it.
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": [plain[2]]}
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"end"


def test_unknown_upload_and_bad_part_numbers(s3: Any, s3_once: Any) -> None:
    bucket = new_bucket(s3)
    missing = "bm9zdWNodXBsb2Fk" * 4
    calls = [
        lambda: s3.upload_part(Bucket=bucket, Key="k", UploadId=missing, PartNumber=1, Body=b"x"),
        lambda: s3.list_parts(Bucket=bucket, Key="k", UploadId=missing),
        lambda: s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=missing),
        lambda: s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=missing,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]},
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as info:
            call()
        assert error_of(info) == ("NoSuchUpload", 404)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    # The upload belongs to its key.
    with pytest.raises(ClientError) as info:
        s3.list_parts(Bucket=bucket, Key="other", UploadId=upload_id)
    assert error_of(info) == ("NoSuchUpload", 404)
    for number in (0, 10001):
        with pytest.raises(ClientError) as info:
            s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number, Body=b"x")
        assert error_of(info) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as info:
        s3.create_multipart_upload(Bucket=bucket + "-nope", Key="k")
    assert error_of(info) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as info:
        s3_once.upload_part(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"x",
            ContentMD5=base64.b64encode(hashlib.md5(b"y").digest()).decode(),
        )
    assert error_of(info) == ("BadDigest", 400)


def test_abort_frees_the_upload(s3: Any) -> None:
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    upload_parts(s3, bucket, "k", upload_id, [b"one", b"two"])
    assert (
        s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 204
    )
    with pytest.raises(ClientError) as info:
        s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)
    assert error_of(info) == ("NoSuchUpload", 404)
    with pytest.raises(ClientError) as info:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=3, Body=b"x")
    assert error_of(info) == ("NoSuchUpload", 404)
    s3.delete_bucket(Bucket=bucket)


def test_list_parts_pagination(s3: Any) -> None:
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    for number in (1, 2, 4, 7, 9):
        s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=number, Body=b"x")
    page = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2]
    assert page["IsTruncated"] is True
    assert page["NextPartNumberMarker"] == 2
    assert page["MaxParts"] == 2
    page = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=2, PartNumberMarker=2)
    assert [p["PartNumber"] for p in page["Parts"]] == [4, 7]
    assert page["PartNumberMarker"] == 2
    page = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id, MaxParts=2, PartNumberMarker=7)
    assert [p["PartNumber"] for p in page["Parts"]] == [9]
    assert page["IsTruncated"] is False
    paginator = s3.get_paginator("list_parts")
    numbers = [
        p["PartNumber"]
        for page in paginator.paginate(
            Bucket=bucket, Key="k", UploadId=upload_id, PaginationConfig={"PageSize": 2}
        )
        for p in page.get("Parts", [])
    ]
    assert numbers == [1, 2, 4, 7, 9]


def test_list_multipart_uploads(s3: Any) -> None:
    bucket = new_bucket(s3)
    keys = ["a/1", "a/2", "b", "c/x/1", "c/y", "d e+f"]
    ids: dict[str, list[str]] = {}
    for key in keys:
        ids[key] = [s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]]
    ids["b"].append(s3.create_multipart_upload(Bucket=bucket, Key="b")["UploadId"])
    ids["b"].append(s3.create_multipart_upload(Bucket=bucket, Key="b")["UploadId"])

    everything = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["Key"] for u in everything["Uploads"]] == [
        "a/1",
        "a/2",
        "b",
        "b",
        "b",
        "c/x/1",
        "c/y",
        "d e+f",
    ]
    assert [u["UploadId"] for u in everything["Uploads"] if u["Key"] == "b"] == ids["b"]
    assert everything["IsTruncated"] is False
    assert everything["MaxUploads"] == 1000

    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in grouped["Uploads"]] == ["b", "b", "b", "d e+f"]
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["a/", "c/"]
    nested = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", Prefix="c/")
    assert [u["Key"] for u in nested["Uploads"]] == ["c/y"]
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["c/x/"]
    assert nested["Prefix"] == "c/"

    # Paging by 2: key and upload-id markers split the three uploads of "b".
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2, KeyMarker="a/2")
    assert [u["UploadId"] for u in page["Uploads"]] == ids["b"][:2]
    assert page["IsTruncated"] is True
    assert page["NextKeyMarker"] == "b"
    assert page["NextUploadIdMarker"] == ids["b"][1]
    page = s3.list_multipart_uploads(
        Bucket=bucket,
        MaxUploads=2,
        KeyMarker=page["NextKeyMarker"],
        UploadIdMarker=page["NextUploadIdMarker"],
    )
    assert [u["UploadId"] for u in page["Uploads"]] == [ids["b"][2], ids["c/x/1"][0]]

    paginator = s3.get_paginator("list_multipart_uploads")
    seen = []
    for page in paginator.paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}):
        seen += [u["Key"] for u in page.get("Uploads", [])]
        seen += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    assert sorted(seen) == ["a/", "b", "b", "b", "c/", "d e+f"]

    encoded = s3.list_multipart_uploads(Bucket=bucket, Prefix="d", EncodingType="url")
    assert encoded["EncodingType"] == "url"
    assert [u["Key"] for u in encoded["Uploads"]] == ["d%20e%2Bf"]


def test_upload_part_copy(s3: Any) -> None:
    bucket = new_bucket(s3)
    source = os.urandom(10 * MiB + 100)
    s3.put_object(Bucket=bucket, Key="src", Body=source)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )["CopyPartResult"]
    assert first["ETag"] == f'"{hashlib.md5(source[: 5 * MiB]).hexdigest()}"'
    assert "LastModified" in first
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        PartNumber=2,
        CopySource=f"{bucket}/src",
        CopySourceRange=f"bytes={5 * MiB}-{len(source) - 1}",
    )["CopyPartResult"]
    # The whole source as a third part (no range).
    third = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        PartNumber=3,
        CopySource=f"{bucket}/src",
    )["CopyPartResult"]
    assert third["ETag"] == f'"{hashlib.md5(source).hexdigest()}"'
    with pytest.raises(ClientError) as info:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            PartNumber=4,
            CopySource=f"{bucket}/src",
            CopySourceRange=f"bytes=0-{len(source)}",
        )
    assert error_of(info) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as info:
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            PartNumber=4,
            CopySource=f"{bucket}/src",
            CopySourceIfMatch='"0123"',
        )
    assert error_of(info) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as info:
        s3.upload_part_copy(
            Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=4, CopySource=f"{bucket}/no"
        )
    assert error_of(info) == ("NoSuchKey", 404)

    parts = [
        {"PartNumber": 1, "ETag": first["ETag"]},
        {"PartNumber": 2, "ETag": second["ETag"]},
        {"PartNumber": 3, "ETag": third["ETag"]},
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    got = s3.get_object(Bucket=bucket, Key="dst")["Body"].read()
    assert got == source + source
    # The source is untouched and independent of the copy.
    s3.delete_object(Bucket=bucket, Key="dst")
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == source


def test_upload_part_copy_of_a_version(s3: Any) -> None:
    bucket = new_bucket(s3)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=b"first version")["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"second")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    out = s3.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1},
        CopySourceRange="bytes=0-4",
    )
    assert out["CopySourceVersionId"] == v1
    result = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": out["CopyPartResult"]["ETag"]}]},
    )
    assert result["VersionId"]
    got = s3.get_object(Bucket=bucket, Key="dst", VersionId=result["VersionId"])
    assert got["Body"].read() == b"first"


def test_conditional_complete(s3: Any) -> None:
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"existing")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    done = upload_parts(s3, bucket, "k", upload_id, [b"new"])
    plain = [{"PartNumber": 1, "ETag": done[0]["ETag"]}]
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": plain},
            IfNoneMatch="*",
        )
    assert error_of(info) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="k",
            UploadId=upload_id,
            MultipartUpload={"Parts": plain},
            IfMatch='"00000000000000000000000000000000"',
        )
    assert error_of(info) == ("PreconditionFailed", 412)
    current = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        MultipartUpload={"Parts": plain},
        IfMatch=current,
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new"


def test_managed_transfer_round_trip(s3: Any) -> None:
    bucket = new_bucket(s3)
    data = os.urandom(12 * MiB + 321)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "managed", Config=config)
    head = s3.head_object(Bucket=bucket, Key="managed")
    assert head["ETag"].endswith('-3"')
    assert head["ContentLength"] == len(data)
    out = io.BytesIO()
    s3.download_fileobj(bucket, "managed", out, Config=config)
    assert out.getvalue() == data
    # s3transfer asks for CRC32 checksums; the composite value is a CRC of the part CRCs.
    head = s3.head_object(Bucket=bucket, Key="managed", ChecksumMode="ENABLED")
    crcs = [
        zlib.crc32(data[i : i + 5 * MiB]).to_bytes(4, "big") for i in range(0, len(data), 5 * MiB)
    ]
    expected = base64.b64encode(zlib.crc32(b"".join(crcs)).to_bytes(4, "big")).decode()
    assert head["ChecksumCRC32"] == f"{expected}-3"


def test_completed_object_survives_a_restart(disk_server: ServerProcess) -> None:
    s3 = disk_server.client("s3")
    bucket = new_bucket(s3)
    parts = [os.urandom(5 * MiB), os.urandom(77)]
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    done = upload_parts(s3, bucket, "k", upload_id, parts)
    s3.complete_multipart_upload(
        Bucket=bucket, Key="k", UploadId=upload_id, MultipartUpload={"Parts": done}
    )
    pending = s3.create_multipart_upload(Bucket=bucket, Key="pending")["UploadId"]
    upload_parts(s3, bucket, "pending", pending, [b"later"])
    disk_server.restart()
    s3 = disk_server.client("s3")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"".join(parts)
    listed = s3.list_parts(Bucket=bucket, Key="pending", UploadId=pending)["Parts"]
    assert [p["Size"] for p in listed] == [5]


def test_whole_object_part_copies_share_the_source_bytes(s3: Any) -> None:
    bucket = new_bucket(s3)
    source = os.urandom(5 * MiB)
    s3.put_object(Bucket=bucket, Key="src", Body=source)  # boto3 sends its CRC32
    upload_id = s3.create_multipart_upload(
        Bucket=bucket, Key="dst", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    results = [
        s3.upload_part_copy(
            Bucket=bucket,
            Key="dst",
            UploadId=upload_id,
            PartNumber=number,
            CopySource=f"{bucket}/src",
        )["CopyPartResult"]
        for number in (1, 2, 3)
    ]
    assert {r["ChecksumCRC32"] for r in results} == {_crc_of("CRC32", source)}
    parts = [
        {"PartNumber": n, "ETag": results[n - 1]["ETag"], "ChecksumCRC32": _crc_of("CRC32", source)}
        for n in (1, 3)
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=upload_id, MultipartUpload={"Parts": parts}
    )
    assert done["ChecksumCRC32"] == _crc_of("CRC32", source + source)
    assert done["ChecksumType"] == "FULL_OBJECT"
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == source + source
    # Dropping the copy (and the unused part 2 with the upload) leaves the source intact.
    s3.delete_object(Bucket=bucket, Key="dst")
    s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == source


def test_part_checksum_in_an_aws_chunked_trailer(s3: Any) -> None:
    """botocore sends trailing checksums only over https: force them here, over http."""

    def to_trailer(params: dict[str, Any], **_: Any) -> None:
        algorithm = params["context"].get("checksum", {}).get("request_algorithm")
        if algorithm:
            algorithm["in"] = "trailer"

    sent: dict[str, Any] = {}
    s3.meta.events.register("before-call.s3.UploadPart", to_trailer)
    s3.meta.events.register(
        "before-send.s3.UploadPart", lambda request, **_: sent.update(request.headers)
    )
    bucket = new_bucket(s3)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="k", ChecksumAlgorithm="CRC32")[
        "UploadId"
    ]
    data = os.urandom(100_000)
    out = s3.upload_part(
        Bucket=bucket,
        Key="k",
        UploadId=upload_id,
        PartNumber=1,
        Body=data,
        ChecksumAlgorithm="CRC32",
    )
    assert sent["X-Amz-Content-SHA256"] == b"STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert out["ChecksumCRC32"] == _crc_of("CRC32", data)
    parts = s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
    assert [(p["Size"], p["ChecksumCRC32"]) for p in parts] == [(len(data), out["ChecksumCRC32"])]
