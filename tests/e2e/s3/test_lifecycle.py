"""Lifecycle configuration through boto3: round trip, S3's validation errors, and the
``x-amz-expiration`` header of PUT/HEAD/GET."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def bucket(client: Any) -> tuple[Any, str]:
    s3 = client("s3")
    name = f"lc-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


FULL_RULES = [
    {
        "ID": "logs",
        "Status": "Enabled",
        "Filter": {"Prefix": "logs/"},
        "Transitions": [
            {"Days": 30, "StorageClass": "STANDARD_IA"},
            {"Days": 90, "StorageClass": "GLACIER"},
        ],
        "Expiration": {"Days": 365},
        "NoncurrentVersionTransitions": [
            {"NoncurrentDays": 30, "StorageClass": "GLACIER", "NewerNoncurrentVersions": 2}
        ],
        "NoncurrentVersionExpiration": {"NoncurrentDays": 60, "NewerNoncurrentVersions": 3},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    },
    {
        "ID": "tagged",
        "Status": "Disabled",
        "Filter": {
            "And": {
                "Prefix": "tmp/",
                "Tags": [{"Key": "kind", "Value": "scratch"}],
                "ObjectSizeGreaterThan": 10,
                "ObjectSizeLessThan": 1000,
            }
        },
        "Expiration": {"Date": datetime(2030, 1, 1, tzinfo=UTC)},
    },
    {
        "ID": "markers",
        "Status": "Enabled",
        "Filter": {},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    },
]


def test_round_trip_and_delete(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=name)
    assert _code(exc) == ("NoSuchLifecycleConfiguration", 404)
    out = s3.put_bucket_lifecycle_configuration(
        Bucket=name, LifecycleConfiguration={"Rules": FULL_RULES}
    )
    assert out["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    got = s3.get_bucket_lifecycle_configuration(Bucket=name)
    assert got["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    rules = {r["ID"]: r for r in got["Rules"]}
    assert rules["logs"]["Transitions"] == FULL_RULES[0]["Transitions"]
    assert (
        rules["logs"]["NoncurrentVersionExpiration"] == FULL_RULES[0]["NoncurrentVersionExpiration"]
    )
    assert rules["tagged"]["Filter"] == FULL_RULES[1]["Filter"]
    assert rules["tagged"]["Expiration"]["Date"] == datetime(2030, 1, 1, tzinfo=UTC)
    assert rules["markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    s3.delete_bucket_lifecycle(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_lifecycle_configuration(Bucket=name)
    assert _code(exc) == ("NoSuchLifecycleConfiguration", 404)


def test_size_minimum_setting(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    rules = [{"ID": "a", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
    out = s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={"Rules": rules},
        TransitionDefaultMinimumObjectSize="varies_by_storage_class",
    )
    assert out["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ({"Status": "Enabled", "Filter": {}}, "InvalidRequest"),  # no action
        ({"Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}}, "InvalidArgument"),
        (
            {"Status": "Enabled", "Filter": {}, "Expiration": {"Date": datetime(2030, 1, 1, 5)}},
            "InvalidArgument",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {},
                "Transitions": [{"Days": 10, "StorageClass": "STANDARD_IA"}],
            },
            "InvalidArgument",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {},
                "Transitions": [{"Days": 40, "StorageClass": "GLACIER"}],
                "Expiration": {"Days": 30},
            },
            "InvalidArgument",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {"Tag": {"Key": "a", "Value": "b"}},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            },
            "InvalidRequest",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {"Tag": {"Key": "a", "Value": "b"}},
                "Expiration": {"ExpiredObjectDeleteMarker": True},
            },
            "InvalidRequest",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {"And": {"ObjectSizeGreaterThan": 100, "ObjectSizeLessThan": 10}},
                "Expiration": {"Days": 1},
            },
            "InvalidArgument",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {},
                "NoncurrentVersionExpiration": {
                    "NoncurrentDays": 1,
                    "NewerNoncurrentVersions": 101,
                },
            },
            "InvalidArgument",
        ),
        (
            {
                "Status": "Enabled",
                "Filter": {"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}},
                "Expiration": {"Days": 1},
            },
            "MalformedXML",
        ),
    ],
)
def test_validation(bucket: tuple[Any, str], rule: dict[str, Any], code: str) -> None:
    s3, name = bucket
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [rule]})
    assert _code(exc) == (code, 400)


def test_duplicate_ids(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    rule = {"ID": "same", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [rule, rule]}
        )
    assert _code(exc) == ("InvalidArgument", 400)


def test_expiration_header(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "short",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "a/"},
                    "Expiration": {"Days": 3},
                },
                {"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}},
            ]
        },
    )
    put = s3.put_object(Bucket=name, Key="a/x", Body=b"1")
    assert put["Expiration"].startswith('expiry-date="')
    assert put["Expiration"].endswith('GMT", rule-id="short"')
    assert "00:00:00 GMT" in put["Expiration"]
    head = s3.head_object(Bucket=name, Key="a/x")
    assert head["Expiration"] == put["Expiration"]
    assert s3.get_object(Bucket=name, Key="a/x")["Expiration"] == put["Expiration"]
    assert "Expiration" not in s3.put_object(Bucket=name, Key="b/x", Body=b"1")
    assert "Expiration" not in s3.head_object(Bucket=name, Key="b/x")


def test_expiration_header_on_copy(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [{"ID": "c", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
        },
    )
    s3.put_object(Bucket=name, Key="src", Body=b"1")
    copied = s3.copy_object(Bucket=name, Key="dst", CopySource={"Bucket": name, "Key": "src"})
    assert copied["Expiration"].endswith('rule-id="c"')


def test_expiration_header_on_complete(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "mp",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "m"},
                    "Expiration": {"Days": 2},
                }
            ]
        },
    )
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")
    part = s3.upload_part(
        Bucket=name, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
    )
    done = s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert done["Expiration"].endswith('rule-id="mp"')
    assert done["Expiration"] == s3.head_object(Bucket=name, Key="mp")["Expiration"]
