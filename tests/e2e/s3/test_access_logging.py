"""Server access logging: configuration errors, and AWS-format log objects delivered into the
target bucket (clock-driven: the tests advance the clock instead of waiting)."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.state.store import DB_FILE
from overcast.testing import ServerProcess
from tests.waiting import wait_until

# AWS's record: owner bucket [time] ip requester request-id operation key "uri" status error
# bytes size total turnaround "referer" "agent" version host-id sig cipher auth host tls ap acl
LINE = re.compile(
    r"^(?P<owner>[0-9a-f]{64}) (?P<bucket>\S+) \[(?P<time>[^\]]+)\] (?P<ip>\S+) (?P<requester>\S+) "
    r'(?P<request_id>\S+) (?P<operation>\S+) (?P<key>\S+) "(?P<uri>[^"]*)" (?P<status>\d{3}) '
    r"(?P<error>\S+) (?P<sent>\S+) (?P<size>\S+) (?P<total>\S+) (?P<turnaround>\S+) "
    r'"(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<version>\S+) (?P<host_id>\S+) (?P<sig>\S+) '
    r"(?P<cipher>\S+) (?P<auth>\S+) (?P<host>\S+) (?P<tls>\S+) (?P<ap>\S+) (?P<acl>\S+)$"
)


@pytest.fixture
def s3(client: Any) -> Any:
    return client("s3")


def _bucket(s3: Any) -> str:
    name = f"logs-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _advance(server: ServerProcess, seconds: float) -> None:
    request = urllib.request.Request(
        server.endpoint + "/_overcast/clock",
        data=json.dumps({"advance": seconds}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request).read()


def _log_objects(s3: Any, bucket: str, prefix: str, want: int = 1) -> list[str]:
    def listed() -> list[str] | None:
        contents = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        keys = [o["Key"] for o in contents]
        return keys if len(keys) >= want else None

    return wait_until(listed, what=f"{want} log objects under {prefix}")


def _pending_records(server: ServerProcess) -> int:
    """Log records stored but not delivered yet, read from the server's database (read-only:
    SQLite's WAL lets another process read while the server writes)."""
    assert server.data_dir is not None
    uri = f"file:{server.data_dir / DB_FILE}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        try:
            return int(db.execute("SELECT COUNT(*) FROM s3_access_log_pending").fetchone()[0])
        except sqlite3.OperationalError:  # the table is created on the first S3 request
            return 0


def test_configuration_and_errors(s3: Any, client: Any) -> None:
    source, target = _bucket(s3), _bucket(s3)
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_logging(
            Bucket=source,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": "no-such-log-target-bkt", "TargetPrefix": "x/"}
            },
        )
    assert err.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"
    west = client("s3", region="eu-west-2")
    far = f"logs-{uuid.uuid4().hex[:12]}"
    west.create_bucket(Bucket=far, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    with pytest.raises(ClientError) as err:
        s3.put_bucket_logging(
            Bucket=source,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": far, "TargetPrefix": "x/"}},
        )
    assert err.value.response["Error"]["Code"] == "CrossLocationLoggingProhibitted"
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "x/"}},
    )
    got = s3.get_bucket_logging(Bucket=source)["LoggingEnabled"]
    assert got == {"TargetBucket": target, "TargetPrefix": "x/"}
    grants = [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
               "Permission": "READ"}]  # fmt: skip
    with pytest.raises(ClientError) as err:  # new buckets enforce the bucket owner
        s3.put_bucket_logging(
            Bucket=source,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "x/",
                                   "TargetGrants": grants}
            },
        )  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidArgument"
    s3.put_bucket_logging(Bucket=source, BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket=source)


def test_requests_are_delivered_as_log_objects(s3: Any, server: ServerProcess) -> None:
    source, target = _bucket(s3), _bucket(s3)
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "logs/"}},
    )
    put = s3.put_object(Bucket=source, Key="hello.txt", Body=b"hello world")
    s3.get_object(Bucket=source, Key="hello.txt")["Body"].read()
    with pytest.raises(ClientError):
        s3.get_object(Bucket=source, Key="missing")
    s3.head_object(Bucket=source, Key="hello.txt", IfMatch=put["ETag"])
    with pytest.raises(ClientError):
        s3.head_object(Bucket=source, Key="a b/c")
    _advance(server, 61)  # the flush waits for the records still being written
    keys = _log_objects(s3, target, "logs/")
    assert len(keys) == 1
    assert re.match(r"^logs/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$", keys[0])
    text = s3.get_object(Bucket=target, Key=keys[0])["Body"].read().decode()
    records = [LINE.match(line) for line in text.splitlines()]
    assert all(records), text
    by_op = {(m["operation"], m["key"]): m for m in records if m}
    put_line = by_op[("REST.PUT.OBJECT", "hello.txt")]
    assert put_line["bucket"] == source
    assert put_line["status"] == "200"
    assert put_line["size"] == "11"
    assert put_line["request_id"] == put["ResponseMetadata"]["RequestId"]
    assert put_line["uri"].startswith(f"PUT /{source}/hello.txt")
    assert put_line["sig"] == "SigV4"
    assert put_line["auth"] == "AuthHeader"
    get_line = by_op[("REST.GET.OBJECT", "hello.txt")]
    assert get_line["sent"] == "11"
    missing = by_op[("REST.GET.OBJECT", "missing")]
    assert missing["status"] == "404"
    assert missing["error"] == "NoSuchKey"
    assert ("REST.HEAD.OBJECT", "a%20b/c") in by_op  # keys are URL-encoded


def test_partitioned_keys(s3: Any, server: ServerProcess) -> None:
    source, target = _bucket(s3), _bucket(s3)
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={
            "LoggingEnabled": {
                "TargetBucket": target,
                "TargetPrefix": "p/",
                "TargetObjectKeyFormat": {
                    "PartitionedPrefix": {"PartitionDateSource": "EventTime"}
                },
            }
        },
    )
    s3.list_objects_v2(Bucket=source)
    _advance(server, 61)
    [key] = _log_objects(s3, target, "p/")
    assert key.startswith(f"p/000000000000/us-east-1/{source}/")


def test_pending_records_survive_kill_9(disk_server: ServerProcess) -> None:
    s3 = disk_server.client("s3")
    source, target = _bucket(s3), _bucket(s3)
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "l/"}},
    )
    for i in range(5):
        s3.put_object(Bucket=source, Key=f"k{i}", Body=b"x")
    # The records are written in the background: kill once all six are in the database
    # (PutBucketLogging's own request is logged too).
    wait_until(lambda: _pending_records(disk_server) == 6, what="6 pending log records")
    disk_server.kill()
    disk_server.start()
    _advance(disk_server, 61)
    s3 = disk_server.client("s3")
    [key] = _log_objects(s3, target, "l/")
    text = s3.get_object(Bucket=target, Key=key)["Body"].read().decode()
    assert sum(" REST.PUT.OBJECT k" in line for line in text.splitlines()) == 5


def test_intercepted_requests_are_logged(s3: Any, server: ServerProcess) -> None:
    """Browser POST uploads, website endpoint requests and CORS preflights are answered before
    operation matching; S3 logs them as REST.POST.UPLOAD, WEBSITE.GET.OBJECT and
    REST.OPTIONS.PREFLIGHT."""
    import requests

    source, target = _bucket(s3), _bucket(s3)
    s3.put_bucket_logging(
        Bucket=source,
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "i/"}},
    )
    form = s3.generate_presigned_post(source, "posted.txt")
    posted = requests.post(
        form["url"], data=form["fields"], files={"file": ("a.txt", b"posted!")}, timeout=10
    )
    assert posted.status_code == 204, posted.text
    s3.delete_public_access_block(Bucket=source)
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{source}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=source, Policy=json.dumps(public))
    s3.put_bucket_website(
        Bucket=source, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    site = f"{source}.s3-website.localhost:{server.port}"
    page = requests.get(server.endpoint + "/posted.txt", headers={"Host": site}, timeout=10)
    assert page.status_code == 200 and page.content == b"posted!"
    missing = requests.get(server.endpoint + "/nothing.html", headers={"Host": site}, timeout=10)
    assert missing.status_code == 403  # no s3:ListBucket: a missing key is AccessDenied
    rule = {"AllowedOrigins": ["https://example.com"], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=source, CORSConfiguration={"CORSRules": [rule]})
    preflight = requests.options(
        f"{server.endpoint}/{source}/posted.txt",
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code == 200
    _advance(server, 61)  # the flush waits for the records still being written
    [key] = _log_objects(s3, target, "i/")
    text = s3.get_object(Bucket=target, Key=key)["Body"].read().decode()
    records = [LINE.match(line) for line in text.splitlines()]
    assert all(records), text
    by_op = {(m["operation"], m["key"]): m for m in records if m}
    upload = by_op[("REST.POST.UPLOAD", "posted.txt")]
    assert upload["status"] == "204"
    assert upload["uri"].startswith(f"POST /{source}")
    assert upload["requester"] != "-"  # the signed form's principal
    served = by_op[("WEBSITE.GET.OBJECT", "posted.txt")]
    assert served["status"] == "200"
    assert served["sent"] == "7"
    assert served["bucket"] == source
    assert by_op[("WEBSITE.GET.OBJECT", "nothing.html")]["status"] == "403"
    assert by_op[("REST.OPTIONS.PREFLIGHT", "posted.txt")]["status"] == "200"
