"""S3 buckets end to end: naming, regions, the global namespace, listing buckets, tagging and
the "not configured" answers Terraform reads after creating a bucket."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

KEY, SECRET, ACCOUNT = "AKIAOVERCASTS3OTHER01", "other-secret", "222222222222"


def name() -> str:
    return f"b-{uuid.uuid4().hex[:12]}"


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return {**response["Error"], "Status": response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.fixture
def s3(client: Callable[..., Any]) -> Any:
    return client("s3")


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[ServerProcess]:
    proc = ServerProcess(extra_args=["--credentials", f"{KEY}:{SECRET}:{ACCOUNT}"]).start()
    yield proc
    proc.stop()


# --- CreateBucket: names --------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "ab",
        "a" * 64,
        "Upper-case",
        "under_score",
        "-leading",
        "trailing-",
        "two..dots",
        "192.168.5.4",
        "xn--punycode",
        "sthree-bucket",
        "amzn-s3-demo-bucket",
        "bucket-s3alias",
        "bucket--ol-s3",
        "bucket.mrap",
        "bucket--table-s3",
    ],
)
def test_invalid_bucket_names_are_refused(s3: Any, bad: str) -> None:
    err = error_of(lambda: s3.create_bucket(Bucket=bad))
    assert (err["Code"], err["Status"], err["BucketName"]) == ("InvalidBucketName", 400, bad)


@pytest.mark.parametrize("good", ["abc", "a" * 63, "my.dotted.bucket-1", "1-2-3", "192.168.5"])
def test_valid_bucket_names_are_accepted(s3: Any, good: str) -> None:
    bucket = f"{good[:50]}-{uuid.uuid4().hex[:8]}" if len(good) < 55 else name() + "x" * 47
    assert len(bucket) <= 63
    s3.create_bucket(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)


# --- CreateBucket: regions and the namespace -------------------------------------------------


def test_create_in_us_east_1_has_no_location_constraint(s3: Any) -> None:
    bucket = name()
    assert s3.create_bucket(Bucket=bucket)["Location"] == f"/{bucket}"
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    head = s3.head_bucket(Bucket=bucket)
    assert head["BucketRegion"] == "us-east-1"
    assert head["AccessPointAlias"] is False


def test_us_east_1_is_not_a_valid_location_constraint(s3: Any) -> None:
    config = {"LocationConstraint": "us-east-1"}
    err = error_of(lambda: s3.create_bucket(Bucket=name(), CreateBucketConfiguration=config))
    assert (err["Code"], err["LocationConstraint"]) == ("InvalidLocationConstraint", "us-east-1")


def test_unknown_location_constraint_is_refused(s3: Any) -> None:
    config = {"LocationConstraint": "moon-west-1"}
    err = error_of(lambda: s3.create_bucket(Bucket=name(), CreateBucketConfiguration=config))
    assert err["Code"] == "InvalidLocationConstraint"


def test_regional_endpoint_needs_its_own_constraint(client: Callable[..., Any]) -> None:
    eu = client("s3", region="eu-west-1")
    err = error_of(lambda: eu.create_bucket(Bucket=name()))
    assert err["Code"] == "IllegalLocationConstraintException"
    assert "unspecified location constraint" in err["Message"]
    config = {"LocationConstraint": "eu-central-1"}
    err = error_of(lambda: eu.create_bucket(Bucket=name(), CreateBucketConfiguration=config))
    assert err["Code"] == "IllegalLocationConstraintException"
    assert "eu-central-1 location constraint" in err["Message"]
    bucket = name()
    config = {"LocationConstraint": "eu-west-1"}
    location = eu.create_bucket(Bucket=bucket, CreateBucketConfiguration=config)["Location"]
    assert location == f"http://{bucket}.s3.amazonaws.com/"
    assert eu.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "eu-west-1"


def test_us_east_1_endpoint_creates_buckets_in_any_region(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "ap-south-1"
    # botocore follows the 301 that a us-east-1 request gets to the bucket's region.
    assert s3.head_bucket(Bucket=bucket)["BucketRegion"] == "ap-south-1"


def test_legacy_eu_constraint_is_eu_west_1(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "EU"})
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == "EU"
    assert s3.head_bucket(Bucket=bucket)["BucketRegion"] == "eu-west-1"


def test_wrong_region_request_is_redirected(server: ServerProcess) -> None:
    eu = server.client("s3", region="eu-west-1")
    bucket = name()
    eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    # A raw request signed for us-east-1 sees the 301 that botocore would follow.
    us = server.client("s3", config=Config(signature_version="s3v4"))
    url = us.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    response = requests.get(url, allow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["x-amz-bucket-region"] == "eu-west-1"
    assert b"PermanentRedirect" in response.content


def test_recreating_your_bucket(client: Callable[..., Any], s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    # us-east-1 keeps its legacy answer: success.
    s3.create_bucket(Bucket=bucket)
    eu = client("s3", region="eu-west-1")
    other = name()
    config = {"LocationConstraint": "eu-west-1"}
    eu.create_bucket(Bucket=other, CreateBucketConfiguration=config)
    err = error_of(lambda: eu.create_bucket(Bucket=other, CreateBucketConfiguration=config))
    assert (err["Code"], err["Status"], err["BucketName"]) == (
        "BucketAlreadyOwnedByYou",
        409,
        other,
    )
    # From us-east-1, a bucket that lives elsewhere is not re-created either.
    err = error_of(lambda: s3.create_bucket(Bucket=other))
    assert err["Code"] == "BucketAlreadyOwnedByYou"


def test_bucket_names_are_global_across_accounts(keyed_server: ServerProcess) -> None:
    mine = keyed_server.client("s3")
    theirs = keyed_server.client("s3", aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    bucket = name()
    mine.create_bucket(Bucket=bucket)
    err = error_of(lambda: theirs.create_bucket(Bucket=bucket))
    assert (err["Code"], err["Status"]) == ("BucketAlreadyExists", 409)
    # Another account's bucket exists (403), it does not vanish (404).
    assert error_of(lambda: theirs.head_bucket(Bucket=bucket))["Status"] == 403
    assert error_of(lambda: theirs.list_objects_v2(Bucket=bucket))["Code"] == "AccessDenied"
    assert error_of(lambda: theirs.delete_bucket(Bucket=bucket))["Code"] == "AccessDenied"
    names = [b["Name"] for b in theirs.list_buckets()["Buckets"]]
    assert bucket not in names


def test_expected_bucket_owner(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner="000000000000")
    err = error_of(lambda: s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner="123456789012"))
    assert (err["Code"], err["Status"]) == ("AccessDenied", 403)


def test_object_ownership_and_acls(s3: Any) -> None:
    err = error_of(lambda: s3.create_bucket(Bucket=name(), ACL="public-read"))
    assert err["Code"] == "InvalidBucketAclWithObjectOwnership"
    s3.create_bucket(Bucket=name(), ACL="private")
    # New buckets block public ACLs from the start.
    err = error_of(
        lambda: s3.create_bucket(Bucket=name(), ACL="public-read", ObjectOwnership="ObjectWriter")
    )
    assert err["Code"] == "InvalidBucketAclWithBlockPublicAccessError"
    bucket = name()
    s3.create_bucket(Bucket=bucket, ObjectOwnership="BucketOwnerPreferred")
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerPreferred"}
    ]


def test_object_lock_enabled_bucket_is_versioned(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock == {"ObjectLockEnabled": "Enabled"}


def test_anonymous_callers_cannot_create_or_list_buckets(server: ServerProcess) -> None:
    anon = server.client("s3", config=Config(signature_version=UNSIGNED))
    assert error_of(lambda: anon.create_bucket(Bucket=name()))["Code"] == "AccessDenied"
    assert error_of(lambda: anon.list_buckets())["Code"] == "AccessDenied"


# --- HeadBucket, DeleteBucket ----------------------------------------------------------------


def test_head_and_delete_of_a_missing_bucket(s3: Any) -> None:
    missing = name()
    err = error_of(lambda: s3.head_bucket(Bucket=missing))
    assert (err["Code"], err["Status"]) == ("404", 404)
    err = error_of(lambda: s3.delete_bucket(Bucket=missing))
    assert (err["Code"], err["BucketName"]) == ("NoSuchBucket", missing)


def test_delete_bucket_refuses_while_an_object_is_in_it(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    err = error_of(lambda: s3.delete_bucket(Bucket=bucket))
    assert (err["Code"], err["Status"]) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=bucket, Key="k")
    response = s3.delete_bucket(Bucket=bucket)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(lambda: s3.head_bucket(Bucket=bucket))["Status"] == 404
    # The name is free again.
    s3.create_bucket(Bucket=bucket)


def test_in_progress_uploads_go_with_their_bucket(s3: Any) -> None:
    """S3 deletes a bucket whose only content is multipart uploads in progress (ceph/ceph#15630
    tried it on AWS), rather than answering BucketNotEmpty; a new bucket of that name has none."""
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"part")
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    s3.create_bucket(Bucket=bucket)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    err = error_of(lambda: s3.list_parts(Bucket=bucket, Key="m", UploadId=upload))
    assert err["Code"] == "NoSuchUpload"


def test_a_delete_marker_keeps_a_bucket_non_empty(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=version)
    assert error_of(lambda: s3.delete_bucket(Bucket=bucket))["Code"] == "BucketNotEmpty"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    s3.delete_bucket(Bucket=bucket)


# --- ListBuckets -----------------------------------------------------------------------------


def test_list_buckets_with_prefix_pagination_and_region(client: Callable[..., Any]) -> None:
    s3 = client("s3")
    stem = f"lb-{uuid.uuid4().hex[:8]}"
    names = [f"{stem}-{i}" for i in range(5)]
    for bucket in names[:3]:
        s3.create_bucket(Bucket=bucket)
    for bucket in names[3:]:
        config = {"LocationConstraint": "eu-west-1"}
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration=config)

    everything = s3.list_buckets()
    assert everything["Owner"]["ID"]
    listed = {b["Name"]: b for b in everything["Buckets"]}
    assert set(names) <= set(listed)
    assert listed[names[0]]["BucketRegion"] == "us-east-1"
    assert listed[names[4]]["BucketRegion"] == "eu-west-1"
    assert "ContinuationToken" not in everything

    seen: list[str] = []
    kwargs: dict[str, Any] = {"Prefix": stem, "MaxBuckets": 2}
    while True:
        page = s3.list_buckets(**kwargs)
        assert page["Prefix"] == stem
        assert len(page["Buckets"]) <= 2
        seen += [b["Name"] for b in page["Buckets"]]
        if "ContinuationToken" not in page:
            break
        kwargs["ContinuationToken"] = page["ContinuationToken"]
    assert seen == names

    paginated = s3.get_paginator("list_buckets").paginate(
        Prefix=stem, PaginationConfig={"PageSize": 1}
    )
    assert [b["Name"] for p in paginated for b in p["Buckets"]] == names

    eu = s3.list_buckets(Prefix=stem, BucketRegion="eu-west-1")["Buckets"]
    assert [b["Name"] for b in eu] == names[3:]


def test_list_buckets_refuses_bad_arguments(server: ServerProcess) -> None:
    s3 = server.client("s3", config=Config(parameter_validation=False))
    for bad in (0, 10001):
        err = error_of(lambda bad=bad: s3.list_buckets(MaxBuckets=bad))
        assert (err["Code"], err["Status"]) == ("InvalidArgument", 400)
    err = error_of(lambda: s3.list_buckets(ContinuationToken="garbage!"))
    assert err["Code"] == "InvalidArgument"


# --- Tagging ---------------------------------------------------------------------------------


def test_bucket_tagging_round_trip(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    err = error_of(lambda: s3.get_bucket_tagging(Bucket=bucket))
    assert (err["Code"], err["Status"]) == ("NoSuchTagSet", 404)
    tags = [{"Key": "env", "Value": "dev"}, {"Key": "team:owner", "Value": ""}]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags[:1]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags[:1]
    response = s3.delete_bucket_tagging(Bucket=bucket)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error_of(lambda: s3.get_bucket_tagging(Bucket=bucket))["Code"] == "NoSuchTagSet"


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ([{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}], "InvalidTag"),
        ([{"Key": "k" * 129, "Value": "v"}], "InvalidTag"),
        ([{"Key": "k", "Value": "v" * 257}], "InvalidTag"),
        ([{"Key": "aws:reserved", "Value": "v"}], "InvalidTag"),
        ([{"Key": "bad*char", "Value": "v"}], "InvalidTag"),
        ([{"Key": f"k{i}", "Value": "v"} for i in range(51)], "BadRequest"),
    ],
)
def test_invalid_bucket_tags_are_refused(s3: Any, tags: list[dict[str, str]], code: str) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    err = error_of(lambda: s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags}))
    assert (err["Code"], err["Status"]) == (code, 400)
    assert error_of(lambda: s3.get_bucket_tagging(Bucket=bucket))["Code"] == "NoSuchTagSet"


def test_fifty_tags_and_unicode_are_fine(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    tags = [{"Key": f"kß{i}", "Value": "v é+-=._:/@"} for i in range(50)]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    assert len(s3.get_bucket_tagging(Bucket=bucket)["TagSet"]) == 50


def test_create_bucket_with_tags(s3: Any) -> None:
    bucket = name()
    tags = [{"Key": "a", "Value": "1"}]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"Tags": tags})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == tags


# --- What Terraform reads after create -------------------------------------------------------


def test_unconfigured_sub_resources_answer_like_s3(s3: Any) -> None:
    bucket = name()
    s3.create_bucket(Bucket=bucket)
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=bucket)
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules == [
        {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BucketKeyEnabled": False,
            "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]},
        }
    ]
    cases = [
        (s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration"),
        (s3.get_bucket_replication, "ReplicationConfigurationNotFoundError"),
        (s3.get_object_lock_configuration, "ObjectLockConfigurationNotFoundError"),
    ]
    for call, code in cases:
        err = error_of(lambda call=call: call(Bucket=bucket))
        assert (err["Code"], err["Status"]) == (code, 404)
    err = error_of(lambda: s3.get_bucket_request_payment(Bucket=name()))
    assert err["Code"] == "NoSuchBucket"
