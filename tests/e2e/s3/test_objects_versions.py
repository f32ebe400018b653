"""S3 objects end to end: DeleteObject(s) with versioning, CopyObject, object tagging."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import botocore.config
import pytest
from botocore.exceptions import ClientError

NO_RETRIES = botocore.config.Config(retries={"total_max_attempts": 1})


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3", config=NO_RETRIES)


def new_bucket(s3: Any, versioning: str | None = None) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    if versioning:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning})
    return name


@pytest.fixture
def bucket(s3: Any) -> str:
    return new_bucket(s3)


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --- delete -------------------------------------------------------------------------------------


def test_delete_unversioned(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = s3.delete_object(Bucket=bucket, Key="k")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert "DeleteMarker" not in out
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(exc) == ("NoSuchKey", 404)
    # Deleting what is not there succeeds.
    assert s3.delete_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_versioned_delete_markers(s3: Any) -> None:
    bucket = new_bucket(s3, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert error_of(exc) == ("NoSuchKey", 404)
    headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true"
    assert headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", VersionId=marker)
    assert error_of(exc) == ("MethodNotAllowed", 405)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k", VersionId=marker)
    assert error_of(exc)[1] == 405
    # Old versions stay readable; removing the marker restores the object.
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v2)["Body"].read() == b"two"
    removed = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert removed["DeleteMarker"] is True
    assert removed["VersionId"] == marker
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    # Deleting a specific version makes the previous one current.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"one"
    assert got["VersionId"] == v1


def test_version_id_errors(s3: Any) -> None:
    bucket = new_bucket(s3, "Enabled")
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", VersionId="not-a-version")
    assert error_of(exc) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", VersionId="A" * 32)
    assert error_of(exc) == ("NoSuchVersion", 404)


def test_suspended_versioning_null_versions(s3: Any) -> None:
    bucket = new_bucket(s3, "Enabled")
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    # The write becomes the null version; PutObject answers without x-amz-version-id (AWS's
    # "versioning suspended" example), while reads name it "null".
    assert "VersionId" not in s3.put_object(Bucket=bucket, Key="k", Body=b"a")
    s3.put_object(Bucket=bucket, Key="k", Body=b"b")
    assert s3.head_object(Bucket=bucket, Key="k")["VersionId"] == "null"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"b"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    assert deleted["VersionId"] == "null"
    versions = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions.get("Versions", [])] == [kept]
    assert [m["VersionId"] for m in versions.get("DeleteMarkers", [])] == ["null"]


def test_delete_objects(s3: Any) -> None:
    bucket = new_bucket(s3, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="a", Body=b"1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"2")
    out = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "a", "VersionId": v1},
                {"Key": "b"},
                {"Key": "missing"},
                {"Key": "bad", "VersionId": "nope"},
            ]
        },
    )
    deleted = {d["Key"]: d for d in out["Deleted"]}
    assert deleted["a"]["VersionId"] == v1
    assert deleted["b"]["DeleteMarker"] is True
    assert deleted["b"]["DeleteMarkerVersionId"]
    assert "missing" in deleted
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [("bad", "InvalidArgument")]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    with pytest.raises(ClientError) as exc:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": str(i)} for i in range(1001)]})
    assert error_of(exc) == ("MalformedXML", 400)


# --- copy ---------------------------------------------------------------------------------------


def test_copy_same_and_cross_bucket(s3: Any, bucket: str) -> None:
    other = new_bucket(s3)
    s3.put_object(
        Bucket=bucket, Key="src", Body=b"payload", ContentType="text/x", Metadata={"a": "1"}
    )
    out = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    etag = f'"{hashlib.md5(b"payload").hexdigest()}"'
    assert out["CopyObjectResult"]["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload"
    assert got["ContentType"] == "text/x"
    assert got["Metadata"] == {"a": "1"}
    s3.copy_object(
        Bucket=other,
        Key="dst 2+",
        CopySource=f"{bucket}/src",
        MetadataDirective="REPLACE",
        ContentType="text/y",
        Metadata={"b": "2"},
    )
    got = s3.get_object(Bucket=other, Key="dst 2+")
    assert got["Body"].read() == b"payload"
    assert got["ContentType"] == "text/y"
    assert got["Metadata"] == {"b": "2"}
    # The copy is independent: overwriting or deleting the source leaves it intact.
    s3.put_object(Bucket=bucket, Key="src", Body=b"changed")
    s3.delete_object(Bucket=bucket, Key="src")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"payload"


def test_copy_to_itself(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Metadata={"v": "1"})
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"})
    assert error_of(exc) == ("InvalidRequest", 400)
    s3.copy_object(
        Bucket=bucket,
        Key="k",
        CopySource={"Bucket": bucket, "Key": "k"},
        MetadataDirective="REPLACE",
        Metadata={"v": "2"},
    )
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"v": "2"}


def test_copy_errors_and_conditions(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="src", Body=b"x")["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "nope"})
    assert error_of(exc) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket,
            Key="d",
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceIfMatch='"0"',
        )
    assert error_of(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket,
            Key="d",
            CopySource={"Bucket": bucket, "Key": "src"},
            CopySourceIfNoneMatch=etag,
        )
    assert error_of(exc) == ("PreconditionFailed", 412)
    s3.copy_object(
        Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch=etag
    )
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket,
            Key="d2",
            CopySource={"Bucket": bucket, "Key": "src"},
            MetadataDirective="MOVE",
        )
    assert error_of(exc) == ("InvalidArgument", 400)


def test_copy_versions_and_tagging_directive(s3: Any) -> None:
    bucket = new_bucket(s3, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=b"old", Tagging="t=1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="src", Body=b"new")
    out = s3.copy_object(
        Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1}
    )
    assert out["CopySourceVersionId"] == v1
    assert out["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"old"
    assert s3.get_object_tagging(Bucket=bucket, Key="d")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(
        Bucket=bucket,
        Key="d",
        CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1},
        TaggingDirective="REPLACE",
        Tagging="u=2",
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="d")["TagSet"] == [{"Key": "u", "Value": "2"}]
    marker = s3.delete_object(Bucket=bucket, Key="src")["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "src", "VersionId": marker}
        )
    assert error_of(exc) == ("InvalidRequest", 400)


def test_copy_with_new_checksum(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"abc")
    out = s3.copy_object(
        Bucket=bucket,
        Key="d",
        CopySource={"Bucket": bucket, "Key": "src"},
        ChecksumAlgorithm="SHA256",
    )
    assert out["CopyObjectResult"]["ChecksumSHA256"]
    head = s3.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == out["CopyObjectResult"]["ChecksumSHA256"]


# --- tagging -------------------------------------------------------------------------------------


def test_object_tagging(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&b=two%20words")
    tags = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two words")]
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 2
    s3.put_object_tagging(
        Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [
        {"Key": "only", "Value": "one"}
    ]
    out = s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert "TagCount" not in s3.head_object(Bucket=bucket, Key="k")
    with pytest.raises(ClientError) as exc:
        s3.get_object_tagging(Bucket=bucket, Key="missing")
    assert error_of(exc) == ("NoSuchKey", 404)


def test_an_eleventh_tag_is_bad_request(s3: Any, bucket: str) -> None:
    """AWS: 400 BadRequest "Object tags cannot be greater than 10" (boto/boto3#1213), for the
    tag set and the x-amz-tagging header alike."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    eleven = [{"Key": f"k{i}", "Value": "v"} for i in range(11)]
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": eleven})
    assert error_of(exc) == ("BadRequest", 400)
    assert exc.value.response["Error"]["Message"] == "Object tags cannot be greater than 10"
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": eleven[:10]})
    # A bad tag is found before the count.
    bad = [*eleven, {"Key": "aws:reserved", "Value": "v"}]
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": bad})
    assert error_of(exc) == ("InvalidTag", 400)


@pytest.mark.parametrize(
    "tag_set",
    [
        [{"Key": "k" * 129, "Value": "v"}],
        [{"Key": "k", "Value": "v" * 257}],
        [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}],
        [{"Key": "aws:reserved", "Value": "v"}],
    ],
)
def test_invalid_tags(s3: Any, bucket: str, tag_set: list[dict[str, str]]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": tag_set})
    assert error_of(exc) == ("InvalidTag", 400)


def test_invalid_tagging_header(s3: Any, bucket: str) -> None:
    tagging = "&".join(f"k{i}=v" for i in range(11))
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging=tagging)
    assert error_of(exc) == ("BadRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="aws:x=1")
    assert error_of(exc) == ("InvalidTag", 400)


def test_a_repeated_key_in_the_tagging_header_is_invalid_argument(s3: Any, bucket: str) -> None:
    """The header's own rule ("... without tag name duplicates"), not the tag set's InvalidTag."""
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="a=1&a=2")
    assert error_of(exc) == ("InvalidArgument", 400)
    assert "without tag name duplicates" in exc.value.response["Error"]["Message"]


def test_tagging_specific_version(s3: Any) -> None:
    bucket = new_bucket(s3, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    out = s3.put_object_tagging(
        Bucket=bucket, Key="k", VersionId=v1, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
    )
    assert out["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)["TagSet"] == [
        {"Key": "a", "Value": "b"}
    ]
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
