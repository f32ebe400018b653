"""Storage classes through boto3: accepted on PUT/COPY/multipart, shown in Head and List,
refused when unknown or when they belong to directory buckets only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

CLASSES = [
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
    "REDUCED_REDUNDANCY",
]


@pytest.fixture
def bucket(client: Any) -> tuple[Any, str]:
    s3 = client("s3")
    name = f"sc-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


@pytest.mark.parametrize("storage_class", CLASSES)
def test_put_shows_class_in_head_and_list(bucket: tuple[Any, str], storage_class: str) -> None:
    s3, name = bucket
    s3.put_object(Bucket=name, Key="k", Body=b"data", StorageClass=storage_class)
    head = s3.head_object(Bucket=name, Key="k")
    # S3 omits the header for STANDARD.
    assert head.get("StorageClass", "STANDARD") == storage_class
    listed = s3.list_objects_v2(Bucket=name)["Contents"][0]
    assert listed["StorageClass"] == storage_class
    versions = s3.list_object_versions(Bucket=name)["Versions"][0]
    assert versions["StorageClass"] == storage_class


def test_unknown_and_express_classes_are_refused(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    for value in ("COLD", "EXPRESS_ONEZONE"):
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=name, Key="k", Body=b"x", StorageClass=value)
        assert exc.value.response["Error"]["Code"] == "InvalidStorageClass"


def test_glacier_get_refused_head_allowed(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    for storage_class in ("GLACIER", "DEEP_ARCHIVE"):
        s3.put_object(Bucket=name, Key=storage_class, Body=b"cold", StorageClass=storage_class)
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=name, Key=storage_class)
        error = exc.value.response
        assert error["Error"]["Code"] == "InvalidObjectState"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert error["Error"]["StorageClass"] == storage_class
        head = s3.head_object(Bucket=name, Key=storage_class)
        assert head["StorageClass"] == storage_class
        assert "Restore" not in head


def test_glacier_ir_is_readable(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_object(Bucket=name, Key="ir", Body=b"instant", StorageClass="GLACIER_IR")
    assert s3.get_object(Bucket=name, Key="ir")["Body"].read() == b"instant"


def test_copy_changes_class_and_archived_source_is_refused(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_object(Bucket=name, Key="src", Body=b"abc")
    s3.copy_object(
        Bucket=name, Key="src", CopySource={"Bucket": name, "Key": "src"}, StorageClass="ONEZONE_IA"
    )
    assert s3.head_object(Bucket=name, Key="src")["StorageClass"] == "ONEZONE_IA"
    s3.put_object(Bucket=name, Key="cold", Body=b"abc", StorageClass="GLACIER")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=name, Key="dst", CopySource={"Bucket": name, "Key": "cold"})
    assert exc.value.response["Error"]["Code"] == "InvalidObjectState"


def test_multipart_storage_class(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    upload = s3.create_multipart_upload(Bucket=name, Key="mp", StorageClass="STANDARD_IA")
    part = s3.upload_part(
        Bucket=name, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 10
    )
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.head_object(Bucket=name, Key="mp")["StorageClass"] == "STANDARD_IA"
