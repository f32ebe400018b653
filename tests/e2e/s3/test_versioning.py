"""S3 versioning end to end: the bucket's state machine, version ids, null versions, delete
markers, and ListObjectVersions with its markers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def versioning(s3: Any, bucket: str, status: str, **extra: Any) -> None:
    s3.put_bucket_versioning(
        Bucket=bucket,
        VersioningConfiguration={"Status": status, **extra.pop("config", {})},
        **extra,
    )


def listing(s3: Any, bucket: str, **kwargs: Any) -> list[tuple[str, str, bool, bool]]:
    """Sorted (key, version id, is latest, is a delete marker) rows: boto3 parses versions and
    delete markers into two lists, so their interleaving is not observable."""
    page = s3.list_object_versions(Bucket=bucket, **kwargs)
    rows = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in page.get("Versions", [])]
    rows += [(m["Key"], m["VersionId"], m["IsLatest"], True) for m in page.get("DeleteMarkers", [])]
    return sorted(rows)


# --- The state machine -----------------------------------------------------------------------


def test_versioning_states(s3: Any, bucket: str) -> None:
    status = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in status and "MFADelete" not in status
    versioning(s3, bucket, "Enabled")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    versioning(s3, bucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    versioning(s3, bucket, "Enabled")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_invalid_status_is_malformed(server: ServerProcess, bucket: str) -> None:
    raw = server.client("s3", config=Config(parameter_validation=False))
    err = error_of(
        lambda: raw.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Disabled"}
        )
    )
    assert (err["Code"], err["Status"]) == ("MalformedXML", 400)


def test_object_lock_buckets_cannot_be_suspended(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    err = error_of(lambda: versioning(s3, name, "Suspended"))
    assert (err["Code"], err["Status"]) == ("InvalidBucketState", 409)
    versioning(s3, name, "Enabled")


def test_mfa_delete_is_stored_and_needs_a_token(s3: Any, bucket: str) -> None:
    err = error_of(lambda: versioning(s3, bucket, "Enabled", config={"MFADelete": "Enabled"}))
    assert (err["Code"], err["Status"]) == ("AccessDenied", 403)
    versioning(s3, bucket, "Enabled", config={"MFADelete": "Enabled"}, MFA="arn:mfa 123456")
    assert s3.get_bucket_versioning(Bucket=bucket) | {"ResponseMetadata": None} == {
        "Status": "Enabled",
        "MFADelete": "Enabled",
        "ResponseMetadata": None,
    }
    # Changing the state now takes the token too.
    assert error_of(lambda: versioning(s3, bucket, "Suspended"))["Code"] == "AccessDenied"
    versioning(s3, bucket, "Suspended", config={"MFADelete": "Disabled"}, MFA="arn:mfa 654321")
    assert s3.get_bucket_versioning(Bucket=bucket)["MFADelete"] == "Disabled"


# --- Versions, null versions, delete markers -------------------------------------------------


def test_unversioned_objects_are_the_null_version(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    assert listing(s3, bucket) == sorted([("k", "null", True, False)])


def test_enabled_keeps_every_version_and_null_survives(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"null one")
    versioning(s3, bucket, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")["VersionId"]
    assert len({v1, v2, "null"}) == 3
    assert listing(s3, bucket) == sorted(
        [
            ("k", v2, True, False),
            ("k", v1, False, False),
            ("k", "null", False, False),
        ]
    )
    old = s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read()
    assert old == b"null one"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"v1"


def test_delete_marker_hides_and_removing_it_restores(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert error_of(lambda: s3.get_object(Bucket=bucket, Key="k"))["Status"] == 404
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert listing(s3, bucket) == sorted([("k", marker, True, True), ("k", v1, False, False)])
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"
    assert listing(s3, bucket) == sorted([("k", v1, True, False)])


def test_deleting_a_specific_version(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v1"
    assert listing(s3, bucket) == sorted([("k", v1, True, False)])


def test_suspended_writes_replace_the_null_version(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    versioning(s3, bucket, "Suspended")
    s3.put_object(Bucket=bucket, Key="k", Body=b"n1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"n2")
    assert listing(s3, bucket) == sorted([("k", "null", True, False), ("k", v1, False, False)])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"n2"
    s3.delete_object(Bucket=bucket, Key="k")
    assert listing(s3, bucket) == sorted([("k", "null", True, True), ("k", v1, False, False)])


def test_version_entries_carry_their_fields(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
    s3.delete_object(Bucket=bucket, Key="k")
    page = s3.list_object_versions(Bucket=bucket)
    version, marker = page["Versions"][0], page["DeleteMarkers"][0]
    assert version["Size"] == 3 and version["StorageClass"] == "STANDARD"
    assert version["ETag"] == '"900150983cd24fb0d6963f7d28e17f72"'
    assert version["Owner"]["ID"] and marker["Owner"]["ID"]
    assert marker["LastModified"] >= version["LastModified"]
    assert page["KeyMarker"] == "" and page["VersionIdMarker"] == ""
    assert page["IsTruncated"] is False and page["MaxKeys"] == 1000


# --- ListObjectVersions pagination -----------------------------------------------------------


def test_version_pages_with_markers(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    for key in ("a", "b", "a", "c/1", "c/2", "a", "b"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.delete_object(Bucket=bucket, Key="b")
    everything = listing(s3, bucket)
    assert [k for k, *_ in everything] == ["a", "a", "a", "b", "b", "b", "c/1", "c/2"]

    seen: list[tuple[str, str, bool, bool]] = []
    kwargs: dict[str, Any] = {"MaxKeys": 2}
    while True:
        page = s3.list_object_versions(Bucket=bucket, **kwargs)
        rows = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in page.get("Versions", [])]
        rows += [
            (m["Key"], m["VersionId"], m["IsLatest"], True) for m in page.get("DeleteMarkers", [])
        ]
        assert len(rows) <= 2
        seen += rows
        if not page["IsTruncated"]:
            assert "NextKeyMarker" not in page
            break
        kwargs = {
            "MaxKeys": 2,
            "KeyMarker": page["NextKeyMarker"],
            "VersionIdMarker": page["NextVersionIdMarker"],
        }
    assert sorted(seen) == sorted(everything)
    assert len(seen) == len(everything)

    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 3}
    )
    assert sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages) == 8


def test_key_marker_alone_skips_that_key(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    for key in ("a", "a", "b"):
        s3.put_object(Bucket=bucket, Key=key)
    assert [k for k, *_ in listing(s3, bucket, KeyMarker="a")] == ["b"]


def test_versions_with_prefix_and_delimiter(s3: Any, bucket: str) -> None:
    versioning(s3, bucket, "Enabled")
    for key in ("d/1", "d/2", "d/1", "e", "f/x"):
        s3.put_object(Bucket=bucket, Key=key)
    page = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["d/", "f/"]
    assert [v["Key"] for v in page["Versions"]] == ["e"]
    page = s3.list_object_versions(Bucket=bucket, Prefix="d/")
    assert [v["Key"] for v in page["Versions"]] == ["d/1", "d/1", "d/2"]


def test_version_id_marker_needs_a_key_marker(server: ServerProcess, bucket: str) -> None:
    s3 = server.client("s3")
    err = error_of(lambda: s3.list_object_versions(Bucket=bucket, VersionIdMarker="x"))
    assert (err["Code"], err["Status"]) == ("InvalidArgument", 400)
