"""Object Lock through boto3: bucket configuration and default retention, GOVERNANCE and
COMPLIANCE retention, legal hold, the governance bypass, and retention ending on the clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.clock_server import advance, clock_server, now, s3c  # noqa: F401

DAY = 86400


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _locked_bucket(s3: Any) -> str:
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _at(server: ServerProcess, days: float) -> datetime:
    return datetime.fromtimestamp(now(server) + days * DAY, UTC)


def test_configuration(s3c: Any) -> None:  # noqa: F811
    name = _locked_bucket(s3c)
    assert s3c.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    config = s3c.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    assert config == {"ObjectLockEnabled": "Enabled"}
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 3}}
    s3c.put_object_lock_configuration(
        Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    config = s3c.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
    assert config["Rule"] == rule
    for bad in (
        {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1, "Years": 1}},
        {"DefaultRetention": {"Mode": "GOVERNANCE"}},
    ):
        with pytest.raises(ClientError) as exc:
            s3c.put_object_lock_configuration(
                Bucket=name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": bad}
            )
        assert _code(exc) == ("MalformedXML", 400)
    with pytest.raises(ClientError) as exc:
        s3c.put_object_lock_configuration(
            Bucket=name,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 0}},
            },
        )
    assert _code(exc) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as exc:
        s3c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    assert _code(exc) == ("InvalidBucketState", 409)


def test_existing_bucket_needs_versioning(s3c: Any) -> None:  # noqa: F811
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3c.create_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3c.get_object_lock_configuration(Bucket=name)
    assert _code(exc) == ("ObjectLockConfigurationNotFoundError", 404)
    enabled = {"ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as exc:
        s3c.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=enabled)
    assert _code(exc) == ("InvalidBucketState", 409)
    with pytest.raises(ClientError) as exc:
        s3c.put_object(Bucket=name, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")
    assert _code(exc) == ("InvalidRequest", 400)
    s3c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3c.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=enabled)
    assert s3c.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"] == enabled


def test_default_retention_applies_and_ends(
    s3c: Any,  # noqa: F811
    clock_server: ServerProcess,  # noqa: F811
) -> None:
    name = _locked_bucket(s3c)
    s3c.put_object_lock_configuration(
        Bucket=name,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    version = s3c.put_object(Bucket=name, Key="k", Body=b"x")["VersionId"]
    head = s3c.head_object(Bucket=name, Key="k")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    retention = s3c.get_object_retention(Bucket=name, Key="k")["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    with pytest.raises(ClientError) as exc:
        s3c.delete_object(Bucket=name, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert _code(exc) == ("AccessDenied", 403)
    # Deleting without a version id only adds a delete marker: allowed.
    marker = s3c.delete_object(Bucket=name, Key="k")
    assert marker["DeleteMarker"] is True
    # COMPLIANCE cannot be shortened, only extended.
    with pytest.raises(ClientError) as exc:
        s3c.put_object_retention(
            Bucket=name,
            Key="k",
            VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": _at(clock_server, 0.5)},
        )
    assert _code(exc) == ("AccessDenied", 403)
    s3c.put_object_retention(
        Bucket=name,
        Key="k",
        VersionId=version,
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": _at(clock_server, 2)},
    )
    advance(clock_server, 2 * DAY + 60)
    s3c.delete_object(Bucket=name, Key="k", VersionId=version)
    versions = s3c.list_object_versions(Bucket=name).get("Versions", [])
    assert versions == []


def test_governance_and_bypass(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _locked_bucket(s3c)
    version = s3c.put_object(
        Bucket=name,
        Key="g",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=_at(clock_server, 10),
    )["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3c.delete_object(Bucket=name, Key="g", VersionId=version)
    assert _code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        s3c.put_object_retention(
            Bucket=name,
            Key="g",
            VersionId=version,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _at(clock_server, 1)},
        )
    assert _code(exc) == ("AccessDenied", 403)
    s3c.put_object_retention(
        Bucket=name,
        Key="g",
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": _at(clock_server, 1)},
        BypassGovernanceRetention=True,
    )
    s3c.delete_object(Bucket=name, Key="g", VersionId=version, BypassGovernanceRetention=True)
    # DeleteObjects reports the refusal per key.
    other = s3c.put_object(
        Bucket=name,
        Key="h",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=_at(clock_server, 10),
    )["VersionId"]
    result = s3c.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "h", "VersionId": other}]})
    assert result["Errors"][0]["Code"] == "AccessDenied"


def test_put_headers_checked(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _locked_bucket(s3c)
    with pytest.raises(ClientError) as exc:
        s3c.put_object(Bucket=name, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE")
    assert _code(exc) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as exc:
        s3c.put_object(
            Bucket=name,
            Key="k",
            Body=b"x",
            ObjectLockMode="GOVERNANCE",
            ObjectLockRetainUntilDate=_at(clock_server, -1),
        )
    assert _code(exc) == ("InvalidArgument", 400)


def test_legal_hold(s3c: Any) -> None:  # noqa: F811
    name = _locked_bucket(s3c)
    version = s3c.put_object(Bucket=name, Key="k", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    assert s3c.head_object(Bucket=name, Key="k")["ObjectLockLegalHoldStatus"] == "ON"
    assert s3c.get_object_legal_hold(Bucket=name, Key="k")["LegalHold"] == {"Status": "ON"}
    with pytest.raises(ClientError) as exc:
        s3c.delete_object(Bucket=name, Key="k", VersionId=version, BypassGovernanceRetention=True)
    assert _code(exc) == ("AccessDenied", 403)
    s3c.put_object_legal_hold(Bucket=name, Key="k", LegalHold={"Status": "OFF"})
    s3c.delete_object(Bucket=name, Key="k", VersionId=version)
    s3c.put_object(Bucket=name, Key="plain", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3c.get_object_legal_hold(Bucket=name, Key="plain")
    assert _code(exc) == ("NoSuchObjectLockConfiguration", 404)
    with pytest.raises(ClientError) as exc:
        s3c.get_object_retention(Bucket=name, Key="plain")
    assert _code(exc) == ("NoSuchObjectLockConfiguration", 404)


def test_object_calls_on_unlocked_bucket(s3c: Any) -> None:  # noqa: F811
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3c.create_bucket(Bucket=name)
    s3c.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3c.put_object_legal_hold(Bucket=name, Key="k", LegalHold={"Status": "ON"})
    assert _code(exc) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3c.put_object_retention(
            Bucket=name,
            Key="k",
            Retention={
                "Mode": "GOVERNANCE",
                "RetainUntilDate": datetime.now(UTC) + timedelta(days=1),
            },
        )
    assert _code(exc) == ("InvalidRequest", 400)


def test_lock_survives_restart(disk_server: ServerProcess) -> None:
    s3 = disk_server.client("s3")
    name = _locked_bucket(s3)
    version = s3.put_object(
        Bucket=name,
        Key="k",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=_at(disk_server, 1),
    )["VersionId"]
    disk_server.restart()
    s3 = disk_server.client("s3")
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=name, Key="k", VersionId=version)
    assert _code(exc) == ("AccessDenied", 403)
    advance(disk_server, DAY + 1)
    s3.delete_object(Bucket=name, Key="k", VersionId=version)


def test_multipart_takes_lock_headers(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _locked_bucket(s3c)
    upload = s3c.create_multipart_upload(
        Bucket=name,
        Key="mp",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=_at(clock_server, 5),
        ObjectLockLegalHoldStatus="ON",
    )
    part = s3c.upload_part(
        Bucket=name, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x"
    )
    done = s3c.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    head = s3c.head_object(Bucket=name, Key="mp")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as exc:
        s3c.delete_object(Bucket=name, Key="mp", VersionId=done["VersionId"])
    assert _code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        s3c.create_multipart_upload(Bucket=name, Key="bad", ObjectLockMode="COMPLIANCE")
    assert _code(exc) == ("InvalidArgument", 400)
