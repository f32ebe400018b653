"""ListObjects, ListObjectsV2 and their paginators end to end, with boto3."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.handlers import (
    decode_list_object,
    decode_list_object_v2,
    decode_list_object_versions,
    set_list_objects_encoding_type_url,
)

from overcast.testing import ServerProcess

KEYS = ["a b/1", "a b/2", "asdf", "bar+1", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "z", "é/x"]


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def raw(server: ServerProcess) -> Any:
    """A client that neither validates parameters nor adds/decodes url encoding itself."""
    c = server.client("s3", config=Config(parameter_validation=False))
    events = c.meta.events
    for op in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        events.unregister(f"before-parameter-build.s3.{op}", set_list_objects_encoding_type_url)
    events.unregister("after-call.s3.ListObjects", decode_list_object)
    events.unregister("after-call.s3.ListObjectsV2", decode_list_object_v2)
    events.unregister("after-call.s3.ListObjectVersions", decode_list_object_versions)
    return c


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for key in KEYS:
        s3.put_object(Bucket=name, Key=key, Body=key.encode())
    return name


def keys(page: dict[str, Any]) -> list[str]:
    return [o["Key"] for o in page.get("Contents", [])]


def prefixes(page: dict[str, Any]) -> list[str]:
    return [p["Prefix"] for p in page.get("CommonPrefixes", [])]


# --- ListObjects (v1) ------------------------------------------------------------------------


def test_v1_lists_everything_with_owner_and_metadata(s3: Any, bucket: str) -> None:
    page = s3.list_objects(Bucket=bucket)
    assert keys(page) == KEYS
    assert page["IsTruncated"] is False
    assert page["Marker"] == "" and page["Prefix"] == "" and page["MaxKeys"] == 1000
    assert page["Name"] == bucket
    assert "NextMarker" not in page and "Delimiter" not in page
    first = page["Contents"][0]
    assert first["Size"] == len(KEYS[0]) and first["StorageClass"] == "STANDARD"
    assert first["ETag"].startswith('"') and first["LastModified"]
    assert first["Owner"]["ID"]


def test_v1_delimiter_and_markers(s3: Any, bucket: str) -> None:
    page = s3.list_objects(Bucket=bucket, Delimiter="/")
    assert keys(page) == ["asdf", "bar+1", "z"]
    assert prefixes(page) == ["a b/", "boo/", "cquux/", "é/"]
    assert page["Delimiter"] == "/"

    seen: list[str] = []
    marker = ""
    while True:
        page = s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2, Marker=marker)
        seen += sorted(keys(page) + prefixes(page))
        if not page["IsTruncated"]:
            assert "NextMarker" not in page
            break
        marker = page["NextMarker"]
    assert seen == ["a b/", "asdf", "bar+1", "boo/", "cquux/", "z", "é/"]


def test_v1_without_delimiter_has_no_next_marker(s3: Any, bucket: str) -> None:
    page = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] is True and "NextMarker" not in page
    page = s3.list_objects(Bucket=bucket, MaxKeys=2, Marker=keys(page)[-1])
    assert keys(page) == KEYS[2:4]


def test_v1_prefix_and_prefix_with_delimiter(s3: Any, bucket: str) -> None:
    assert keys(s3.list_objects(Bucket=bucket, Prefix="boo/")) == ["boo/bar", "boo/baz/xyzzy"]
    page = s3.list_objects(Bucket=bucket, Prefix="boo/", Delimiter="/")
    assert keys(page) == ["boo/bar"] and prefixes(page) == ["boo/baz/"]
    assert page["Prefix"] == "boo/"
    assert keys(s3.list_objects(Bucket=bucket, Prefix="nothing")) == []


def test_max_keys_zero_and_invalid(raw: Any, s3: Any, bucket: str) -> None:
    page = s3.list_objects(Bucket=bucket, MaxKeys=0)
    assert keys(page) == [] and page["IsTruncated"] is False
    err = error_of(lambda: raw.list_objects(Bucket=bucket, MaxKeys=-1))
    assert (err["Code"], err["Status"]) == ("InvalidArgument", 400)
    # More than 1000 is answered with 1000 at most.
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)["KeyCount"] == len(KEYS)


def test_v1_url_encoding(raw: Any, bucket: str) -> None:
    page = raw.list_objects(Bucket=bucket, Delimiter="/", EncodingType="url")
    assert page["EncodingType"] == "url"
    assert keys(page) == ["asdf", "bar%2B1", "z"]
    assert prefixes(page) == ["a%20b/", "boo/", "cquux/", "%C3%A9/"]
    err = error_of(lambda: raw.list_objects(Bucket=bucket, EncodingType="base64"))
    assert (err["Code"], err["Status"]) == ("InvalidArgument", 400)


def test_boto3_decodes_our_url_encoding(s3: Any, bucket: str) -> None:
    # boto3 asks for url encoding itself when the caller did not, and decodes the answer.
    page = s3.list_objects(Bucket=bucket, Delimiter="/")
    assert page["EncodingType"] == "url"
    assert keys(page) == ["asdf", "bar+1", "z"]
    assert prefixes(page) == ["a b/", "boo/", "cquux/", "é/"]


def test_listing_a_missing_bucket(s3: Any) -> None:
    missing = f"b-{uuid.uuid4().hex[:12]}"
    err = error_of(lambda: s3.list_objects(Bucket=missing))
    assert (err["Code"], err["Status"], err["BucketName"]) == ("NoSuchBucket", 404, missing)


# --- ListObjectsV2 ---------------------------------------------------------------------------


def test_v2_basics_and_fetch_owner(s3: Any, bucket: str) -> None:
    page = s3.list_objects_v2(Bucket=bucket)
    assert keys(page) == KEYS
    assert page["KeyCount"] == len(KEYS)
    assert "Owner" not in page["Contents"][0]
    assert "ContinuationToken" not in page and "StartAfter" not in page
    owned = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)
    assert owned["Contents"][0]["Owner"]["ID"]


def test_v2_continuation_tokens_with_delimiter(s3: Any, bucket: str) -> None:
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": bucket, "Delimiter": "/", "MaxKeys": 3}
    while True:
        page = s3.list_objects_v2(**kwargs)
        assert page["KeyCount"] == len(keys(page)) + len(prefixes(page)) <= 3
        seen += keys(page) + prefixes(page)
        if not page["IsTruncated"]:
            assert "NextContinuationToken" not in page
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert sorted(seen) == sorted(["a b/", "asdf", "bar+1", "boo/", "cquux/", "z", "é/"])


def test_v2_start_after(s3: Any, bucket: str) -> None:
    page = s3.list_objects_v2(Bucket=bucket, StartAfter="boo/bar")
    assert keys(page) == KEYS[5:]
    assert page["StartAfter"] == "boo/bar"
    page = s3.list_objects_v2(Bucket=bucket, StartAfter="boo/", Delimiter="/")
    assert prefixes(page) == ["cquux/", "é/"] and keys(page) == ["z"]


def test_v2_bad_continuation_token(s3: Any, bucket: str) -> None:
    err = error_of(lambda: s3.list_objects_v2(Bucket=bucket, ContinuationToken="nope!"))
    assert (err["Code"], err["Status"]) == ("InvalidArgument", 400)


def test_v2_paginator_and_url_encoding(raw: Any, s3: Any, bucket: str) -> None:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 2}
    )
    assert [k for p in pages for k in keys(p)] == KEYS
    page = raw.list_objects_v2(Bucket=bucket, EncodingType="url", Prefix="a b/")
    assert keys(page) == ["a%20b/1", "a%20b/2"] and page["Prefix"] == "a%20b/"


def test_delete_markers_and_old_versions_are_not_listed(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="gone", Body=b"1")
    s3.put_object(Bucket=name, Key="kept", Body=b"1")
    s3.put_object(Bucket=name, Key="kept", Body=b"22")
    s3.delete_object(Bucket=name, Key="gone")
    page = s3.list_objects_v2(Bucket=name)
    assert keys(page) == ["kept"] and page["Contents"][0]["Size"] == 2


def test_checksum_algorithm_is_listed(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x", ChecksumAlgorithm="SHA256")
    entry = s3.list_objects_v2(Bucket=name)["Contents"][0]
    assert "SHA256" in entry["ChecksumAlgorithm"]
    assert entry["ChecksumType"] == "FULL_OBJECT"
