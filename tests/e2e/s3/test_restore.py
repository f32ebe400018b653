"""RestoreObject on the clock: tiers' delays, x-amz-restore, expiry of the restored copy."""

from __future__ import annotations

import email.utils
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.clock_server import advance, clock_server, now, s3c  # noqa: F401

HOUR = 3600
DAY = 86400


def _bucket(s3: Any) -> str:
    name = f"restore-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_standard_restore_completes_and_expires(
    s3c: Any,  # noqa: F811
    clock_server: ServerProcess,  # noqa: F811
) -> None:
    name = _bucket(s3c)
    s3c.put_object(Bucket=name, Key="k", Body=b"frozen", StorageClass="GLACIER")
    response = s3c.restore_object(
        Bucket=name,
        Key="k",
        RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Standard"}},
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert s3c.head_object(Bucket=name, Key="k")["Restore"] == 'ongoing-request="true"'
    with pytest.raises(ClientError) as exc:
        s3c.get_object(Bucket=name, Key="k")
    assert _code(exc) == ("InvalidObjectState", 403)
    with pytest.raises(ClientError) as exc:
        s3c.restore_object(Bucket=name, Key="k", RestoreRequest={"Days": 2})
    assert _code(exc) == ("RestoreAlreadyInProgress", 409)

    started = now(clock_server)
    advance(clock_server, 5 * HOUR + 1)  # Standard: up to 5 hours
    head = s3c.head_object(Bucket=name, Key="k")
    assert head["Restore"].startswith('ongoing-request="false", expiry-date="')
    expiry = email.utils.parsedate_to_datetime(head["Restore"].split('expiry-date="')[1][:-1])
    # Completion + 2 days, rounded up to the next midnight UTC.
    assert expiry.timestamp() % DAY == 0
    assert started + 5 * HOUR + 2 * DAY <= expiry.timestamp() < started + 5 * HOUR + 3 * DAY
    assert s3c.get_object(Bucket=name, Key="k")["Body"].read() == b"frozen"
    assert head["StorageClass"] == "GLACIER"  # the object itself stays archived

    # Restoring again a restored copy answers 200 and extends it.
    again = s3c.restore_object(Bucket=name, Key="k", RestoreRequest={"Days": 5})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    head = s3c.head_object(Bucket=name, Key="k")
    later = email.utils.parsedate_to_datetime(head["Restore"].split('expiry-date="')[1][:-1])
    assert later > expiry

    advance(clock_server, 7 * DAY)
    assert "Restore" not in s3c.head_object(Bucket=name, Key="k")
    with pytest.raises(ClientError) as exc:
        s3c.get_object(Bucket=name, Key="k")
    assert _code(exc) == ("InvalidObjectState", 403)


def test_tiers_delays(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _bucket(s3c)
    s3c.put_object(Bucket=name, Key="exp", Body=b"a", StorageClass="GLACIER")
    s3c.put_object(Bucket=name, Key="bulk", Body=b"b", StorageClass="GLACIER")
    s3c.put_object(Bucket=name, Key="deep", Body=b"c", StorageClass="DEEP_ARCHIVE")
    s3c.restore_object(
        Bucket=name,
        Key="exp",
        RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}},
    )
    s3c.restore_object(Bucket=name, Key="bulk", RestoreRequest={"Days": 1, "Tier": "Bulk"})
    s3c.restore_object(Bucket=name, Key="deep", RestoreRequest={"Days": 1})
    advance(clock_server, 6 * 60)
    assert s3c.get_object(Bucket=name, Key="exp")["Body"].read() == b"a"
    with pytest.raises(ClientError):
        s3c.get_object(Bucket=name, Key="bulk")
    advance(clock_server, 12 * HOUR)
    assert s3c.get_object(Bucket=name, Key="bulk")["Body"].read() == b"b"
    assert s3c.get_object(Bucket=name, Key="deep")["Body"].read() == b"c"


def test_restore_refusals(s3c: Any) -> None:  # noqa: F811
    name = _bucket(s3c)
    s3c.put_object(Bucket=name, Key="std", Body=b"a")
    with pytest.raises(ClientError) as exc:
        s3c.restore_object(Bucket=name, Key="std", RestoreRequest={"Days": 1})
    assert _code(exc) == ("InvalidObjectState", 403)
    s3c.put_object(Bucket=name, Key="deep", Body=b"a", StorageClass="DEEP_ARCHIVE")
    with pytest.raises(ClientError) as exc:
        s3c.restore_object(
            Bucket=name,
            Key="deep",
            RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}},
        )
    assert _code(exc)[1] in (400, 403)
    with pytest.raises(ClientError) as exc:
        s3c.restore_object(Bucket=name, Key="missing", RestoreRequest={"Days": 1})
    assert _code(exc) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as exc:
        s3c.restore_object(Bucket=name, Key="deep", RestoreRequest={"Days": 0})
    assert _code(exc) == ("InvalidArgument", 400)


def test_restore_of_a_version(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _bucket(s3c)
    s3c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    old = s3c.put_object(Bucket=name, Key="k", Body=b"old", StorageClass="GLACIER")["VersionId"]
    s3c.put_object(Bucket=name, Key="k", Body=b"new", StorageClass="GLACIER")
    s3c.restore_object(
        Bucket=name, Key="k", VersionId=old, RestoreRequest={"Days": 1, "Tier": "Expedited"}
    )
    advance(clock_server, 10 * 60)
    assert s3c.get_object(Bucket=name, Key="k", VersionId=old)["Body"].read() == b"old"
    with pytest.raises(ClientError):
        s3c.get_object(Bucket=name, Key="k")


def test_restore_survives_restart(disk_server: ServerProcess) -> None:
    s3 = disk_server.client("s3")
    name = _bucket(s3)
    s3.put_object(Bucket=name, Key="k", Body=b"kept", StorageClass="GLACIER")
    s3.restore_object(Bucket=name, Key="k", RestoreRequest={"Days": 1, "Tier": "Expedited"})
    disk_server.restart()
    s3 = disk_server.client("s3")
    assert s3.head_object(Bucket=name, Key="k")["Restore"] == 'ongoing-request="true"'
    advance(disk_server, 6 * 60)
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"kept"


def test_list_restore_status(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _bucket(s3c)
    s3c.put_object(Bucket=name, Key="a", Body=b"a", StorageClass="GLACIER")
    s3c.put_object(Bucket=name, Key="b", Body=b"b", StorageClass="GLACIER")
    s3c.put_object(Bucket=name, Key="c", Body=b"c")
    s3c.restore_object(Bucket=name, Key="a", RestoreRequest={"Days": 1, "Tier": "Expedited"})

    def statuses() -> dict[str, Any]:
        listed = s3c.list_objects_v2(Bucket=name, OptionalObjectAttributes=["RestoreStatus"])
        return {o["Key"]: o.get("RestoreStatus") for o in listed["Contents"]}

    assert statuses() == {"a": {"IsRestoreInProgress": True}, "b": None, "c": None}
    assert "RestoreStatus" not in s3c.list_objects_v2(Bucket=name)["Contents"][0]
    advance(clock_server, 10 * 60)
    done = statuses()["a"]
    assert done["IsRestoreInProgress"] is False
    assert done["RestoreExpiryDate"].timestamp() % DAY == 0


def test_list_versions_restore_status(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    name = _bucket(s3c)
    s3c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    old = s3c.put_object(Bucket=name, Key="k", Body=b"old", StorageClass="GLACIER")["VersionId"]
    new = s3c.put_object(Bucket=name, Key="k", Body=b"new", StorageClass="GLACIER")["VersionId"]
    s3c.put_object(Bucket=name, Key="plain", Body=b"p")
    s3c.delete_object(Bucket=name, Key="plain")  # a delete marker carries no RestoreStatus
    s3c.restore_object(
        Bucket=name, Key="k", VersionId=old, RestoreRequest={"Days": 1, "Tier": "Expedited"}
    )

    def statuses() -> dict[str, Any]:
        listed = s3c.list_object_versions(Bucket=name, OptionalObjectAttributes=["RestoreStatus"])
        assert "RestoreStatus" not in str(listed.get("DeleteMarkers"))
        return {v["VersionId"]: v.get("RestoreStatus") for v in listed["Versions"]}

    got = statuses()
    assert got[old] == {"IsRestoreInProgress": True}
    assert got[new] is None
    assert len(got) == 3
    plain = s3c.list_object_versions(Bucket=name)["Versions"]
    assert all("RestoreStatus" not in v for v in plain)
    advance(clock_server, 10 * 60)
    done = statuses()[old]
    assert done["IsRestoreInProgress"] is False
    assert done["RestoreExpiryDate"].timestamp() % DAY == 0
    assert statuses()[new] is None
