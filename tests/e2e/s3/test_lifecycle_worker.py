"""The lifecycle worker on the clock: expiration (unversioned and versioned), transitions,
noncurrent versions with NewerNoncurrentVersions, expired delete markers, incomplete multipart
uploads, and the worker resuming after a restart."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests

from overcast.testing import ServerProcess
from tests.e2e.s3.clock_server import advance, clock_server, eventually, s3c  # noqa: F401

DAY = 86400
BIG = b"x" * (128 * 1024)  # transitions skip smaller objects by default


def _bucket(s3: Any, rules: list[dict[str, Any]], *, versioned: bool = False) -> str:
    name = f"lcw-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    return name


def _service_state(server: ServerProcess, name: str) -> str:
    health = requests.get(server.endpoint + "/_overcast/health", timeout=10).json()
    return str(health["services"][name])


def _keys(s3: Any, name: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])}


def test_expiration_by_days(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [
        {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}}
    ]
    name = _bucket(s3c, rules)
    s3c.put_object(Bucket=name, Key="tmp/a", Body=b"1")
    s3c.put_object(Bucket=name, Key="keep/a", Body=b"1")
    tagged_rules = [
        *rules,
        {
            "ID": "tag",
            "Status": "Enabled",
            "Filter": {"And": {"Tags": [{"Key": "t", "Value": "y"}], "ObjectSizeGreaterThan": 1}},
            "Expiration": {"Days": 1},
        },
    ]
    s3c.put_bucket_lifecycle_configuration(
        Bucket=name, LifecycleConfiguration={"Rules": tagged_rules}
    )
    s3c.put_object(Bucket=name, Key="t/big", Body=b"12", Tagging="t=y")
    s3c.put_object(Bucket=name, Key="t/small", Body=b"1", Tagging="t=y")
    s3c.put_object(Bucket=name, Key="t/untagged", Body=b"12")
    advance(clock_server, 2 * DAY)
    eventually(lambda: "tmp/a" not in _keys(s3c, name))
    assert _keys(s3c, name) == {"keep/a", "t/small", "t/untagged"}


def test_nothing_happens_before_the_day(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 3}}]
    name = _bucket(s3c, rules)
    s3c.put_object(Bucket=name, Key="k", Body=b"1")
    advance(clock_server, 2 * DAY)
    advance(clock_server, 1)  # a second tick of the worker
    assert _keys(s3c, name) == {"k"}
    advance(clock_server, 2 * DAY)
    eventually(lambda: _keys(s3c, name) == set())


def test_transitions(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [
        {
            "ID": "tiers",
            "Status": "Enabled",
            "Filter": {},
            "Transitions": [
                {"Days": 30, "StorageClass": "STANDARD_IA"},
                {"Days": 60, "StorageClass": "GLACIER"},
            ],
        }
    ]
    name = _bucket(s3c, rules)
    s3c.put_object(Bucket=name, Key="big", Body=BIG)
    s3c.put_object(Bucket=name, Key="small", Body=b"1")

    def storage(key: str) -> str:
        return s3c.head_object(Bucket=name, Key=key).get("StorageClass", "STANDARD")

    advance(clock_server, 31 * DAY)
    eventually(lambda: storage("big") == "STANDARD_IA")
    assert storage("small") == "STANDARD"
    advance(clock_server, 30 * DAY)
    eventually(lambda: storage("big") == "GLACIER")


def test_versioned_expiration_and_noncurrent(
    s3c: Any,  # noqa: F811
    clock_server: ServerProcess,  # noqa: F811
) -> None:
    rules = [
        {
            "ID": "v",
            "Status": "Enabled",
            "Filter": {"Prefix": "v/"},
            "Expiration": {"Days": 10},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1},
        }
    ]
    name = _bucket(s3c, rules, versioned=True)
    for body in (b"1", b"2", b"3"):
        s3c.put_object(Bucket=name, Key="v/k", Body=body)

    def versions() -> list[dict[str, Any]]:
        return s3c.list_object_versions(Bucket=name).get("Versions", [])

    advance(clock_server, 2 * DAY)
    # Two noncurrent versions: the newest one is kept (NewerNoncurrentVersions=1).
    eventually(lambda: len(versions()) == 2)
    assert s3c.get_object(Bucket=name, Key="v/k")["Body"].read() == b"3"
    advance(clock_server, 9 * DAY)
    # The current version expires: a delete marker becomes current; nothing is lost yet.
    eventually(lambda: bool(s3c.list_object_versions(Bucket=name).get("DeleteMarkers")))
    assert "v/k" not in _keys(s3c, name)
    assert len(versions()) == 2


def test_expired_delete_marker(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [
        {
            "ID": "cleanup",
            "Status": "Enabled",
            "Filter": {},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }
    ]
    name = _bucket(s3c, rules, versioned=True)
    s3c.put_object(Bucket=name, Key="k", Body=b"1")
    s3c.delete_object(Bucket=name, Key="k")
    advance(clock_server, 2 * DAY)
    # The noncurrent version goes; the marker, alone then, goes on a later pass.
    eventually(lambda: not s3c.list_object_versions(Bucket=name).get("Versions"))
    assert s3c.list_object_versions(Bucket=name).get("DeleteMarkers")
    advance(clock_server, DAY)

    def empty() -> bool:
        listing = s3c.list_object_versions(Bucket=name)
        return not listing.get("Versions") and not listing.get("DeleteMarkers")

    eventually(empty)


def test_abort_incomplete_uploads(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [
        {
            "ID": "mpu",
            "Status": "Enabled",
            "Filter": {"Prefix": "up/"},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        }
    ]
    name = _bucket(s3c, rules)
    s3c.create_multipart_upload(Bucket=name, Key="up/a")
    s3c.create_multipart_upload(Bucket=name, Key="other/a")
    advance(clock_server, 3 * DAY)

    def uploads() -> set[str]:
        return {u["Key"] for u in s3c.list_multipart_uploads(Bucket=name).get("Uploads", [])}

    eventually(lambda: uploads() == {"other/a"})


def test_disabled_rule_does_nothing(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [{"ID": "off", "Status": "Disabled", "Filter": {}, "Expiration": {"Days": 1}}]
    name = _bucket(s3c, rules)
    s3c.put_object(Bucket=name, Key="k", Body=b"1")
    other = _bucket(
        s3c, [{"ID": "on", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
    )
    s3c.put_object(Bucket=other, Key="k", Body=b"1")
    advance(clock_server, 3 * DAY)
    eventually(lambda: _keys(s3c, other) == set())
    assert _keys(s3c, name) == {"k"}


def test_worker_resumes_after_restart(disk_server: ServerProcess) -> None:
    s3 = disk_server.client("s3")
    rules = [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
    name = _bucket(s3, rules)
    s3.put_object(Bucket=name, Key="k", Body=b"1")
    disk_server.restart()
    s3 = disk_server.client("s3")
    # No request reaches S3 before the clock moves: the background load armed the worker
    # (the health report shows S3 running once that load has built its provider).
    eventually(lambda: _service_state(disk_server, "s3") == "running")
    advance(disk_server, 2 * DAY)
    eventually(lambda: _keys(s3, name) == set())


def test_lifecycle_events_notify(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    sqs = clock_server.client("sqs")
    url = sqs.create_queue(QueueName=f"lc-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn,
    }
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})}
    )
    rules = [{"ID": "r", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
    name = _bucket(s3c, rules)
    s3c.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:LifecycleExpiration:*"]}]
        },
    )
    s3c.put_object(Bucket=name, Key="gone", Body=b"1")
    advance(clock_server, 2 * DAY)
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not records and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in got.get("Messages", []):
            records += json.loads(message["Body"]).get("Records", [])
    assert [r["eventName"] for r in records] == ["LifecycleExpiration:Delete"]
    assert records[0]["s3"]["object"]["key"] == "gone"


def test_expiration_by_date_and_noncurrent_transition(
    s3c: Any,  # noqa: F811
    clock_server: ServerProcess,  # noqa: F811
) -> None:
    from datetime import UTC, datetime

    from tests.e2e.s3.clock_server import now

    tomorrow = (int(now(clock_server)) // DAY + 2) * DAY  # a midnight UTC, two days ahead at most
    rules = [
        {
            "ID": "date",
            "Status": "Enabled",
            "Filter": {"Prefix": "d/"},
            "Expiration": {"Date": datetime.fromtimestamp(tomorrow, UTC)},
        },
        {
            "ID": "nc",
            "Status": "Enabled",
            "Filter": {"Prefix": "n/"},
            "NoncurrentVersionTransitions": [{"NoncurrentDays": 1, "StorageClass": "GLACIER"}],
        },
    ]
    name = _bucket(s3c, rules, versioned=True)
    s3c.put_bucket_lifecycle_configuration(
        Bucket=name,
        LifecycleConfiguration={"Rules": rules},
        TransitionDefaultMinimumObjectSize="varies_by_storage_class",
    )
    s3c.put_object(Bucket=name, Key="d/k", Body=b"1")
    old = s3c.put_object(Bucket=name, Key="n/k", Body=b"old")["VersionId"]
    s3c.put_object(Bucket=name, Key="n/k", Body=b"new")
    advance(clock_server, 3 * DAY)

    def old_class() -> str:
        versions = s3c.list_object_versions(Bucket=name, Prefix="n/")["Versions"]
        return next(v["StorageClass"] for v in versions if v["VersionId"] == old)

    eventually(lambda: old_class() == "GLACIER")
    eventually(lambda: "d/k" not in _keys(s3c, name))
    assert s3c.head_object(Bucket=name, Key="n/k").get("StorageClass", "STANDARD") == "STANDARD"


def test_suspended_bucket_expiration(s3c: Any, clock_server: ServerProcess) -> None:  # noqa: F811
    rules = [{"ID": "s", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 1}}]
    name = _bucket(s3c, rules, versioned=True)
    kept = s3c.put_object(Bucket=name, Key="k", Body=b"versioned")["VersionId"]
    s3c.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    s3c.put_object(Bucket=name, Key="k", Body=b"null version")
    advance(clock_server, 2 * DAY)

    def markers() -> list[dict[str, Any]]:
        return s3c.list_object_versions(Bucket=name).get("DeleteMarkers", [])

    eventually(lambda: bool(markers()))
    assert markers()[0]["VersionId"] == "null"
    versions = s3c.list_object_versions(Bucket=name).get("Versions", [])
    assert [v["VersionId"] for v in versions] == [kept]  # the null version was replaced
