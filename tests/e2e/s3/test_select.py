"""SelectObjectContent through boto3: the event stream (Records, Stats, Progress, End), CSV and
JSON input and output, GZIP/BZIP2, Parquet, ScanRange, and S3's errors."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import os
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from overcast.testing import ServerProcess

CSV = b"name,age,city\nAlice,35,Paris\nBob,40,\nAnn,20,Rome\n"


@pytest.fixture(scope="module")
def s3(server: Any) -> Any:
    return server.client("s3")


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    name = f"select-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="people.csv", Body=CSV)
    s3.put_object(Bucket=name, Key="numbers.csv", Body=b"1\n2\nthree\n")
    s3.put_object(Bucket=name, Key="people.csv.gz", Body=gzip.compress(CSV))
    s3.put_object(Bucket=name, Key="people.csv.bz2", Body=bz2.compress(CSV))
    lines = b"".join(
        json.dumps(d).encode() + b"\n"
        for d in [
            {"name": "Alice", "tags": ["a", "b"], "address": {"city": "Paris"}},
            {"name": "Bob", "tags": [], "address": {"city": "Oslo"}},
        ]
    )
    s3.put_object(Bucket=name, Key="people.jsonl", Body=lines)
    document = json.dumps({"items": [{"id": 1, "ok": True}, {"id": 2, "ok": False}]})
    s3.put_object(Bucket=name, Key="doc.json", Body=document.encode())
    return name


def select(s3: Any, bucket: str, key: str, sql: str, **kwargs: Any) -> tuple[bytes, list[Any]]:
    kwargs.setdefault("InputSerialization", {"CSV": {"FileHeaderInfo": "USE"}})
    kwargs.setdefault("OutputSerialization", {"CSV": {}})
    response = s3.select_object_content(
        Bucket=bucket, Key=key, Expression=sql, ExpressionType="SQL", **kwargs
    )
    records, events = b"", []
    for event in response["Payload"]:
        events.append(event)
        if "Records" in event:
            records += event["Records"]["Payload"]
    return records, events


def test_csv_to_csv_with_stats_and_end(s3: Any, bucket: str) -> None:
    sql = "SELECT s.name, s.age FROM S3Object s WHERE CAST(s.age AS INT) > 30"
    records, events = select(s3, bucket, "people.csv", sql)
    assert records == b"Alice,35\nBob,40\n"
    stats = next(e for e in events if "Stats" in e)["Stats"]["Details"]
    assert stats == {"BytesScanned": len(CSV), "BytesProcessed": len(CSV), "BytesReturned": 16}
    assert "End" in events[-1]


def test_csv_to_json_and_aggregates(s3: Any, bucket: str) -> None:
    records, _ = select(
        s3, bucket, "people.csv", "SELECT * FROM S3Object s WHERE s.city = ''",
        OutputSerialization={"JSON": {}},
    )  # fmt: skip
    assert json.loads(records) == {"name": "Bob", "age": "40", "city": ""}
    records, _ = select(
        s3, bucket, "people.csv",
        "SELECT COUNT(*) AS n, AVG(CAST(age AS INT)) AS mean FROM S3Object",
        OutputSerialization={"JSON": {}},
    )  # fmt: skip
    assert json.loads(records) == {"n": 3, "mean": 95 / 3}
    records, _ = select(
        s3, bucket, "people.csv", "SELECT _1 FROM S3Object LIMIT 2",
        InputSerialization={"CSV": {"FileHeaderInfo": "NONE"}},
    )  # fmt: skip
    assert records == b"name\nAlice\n"


@pytest.mark.parametrize(
    ("key", "compression"), [("people.csv.gz", "GZIP"), ("people.csv.bz2", "BZIP2")]
)
def test_compressed_input(s3: Any, bucket: str, key: str, compression: str) -> None:
    records, events = select(
        s3, bucket, key, "SELECT name FROM S3Object",
        InputSerialization={"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": compression},
    )  # fmt: skip
    assert records == b"Alice\nBob\nAnn\n"
    stats = next(e for e in events if "Stats" in e)["Stats"]["Details"]
    assert stats["BytesProcessed"] == len(CSV)
    assert stats["BytesScanned"] < stats["BytesProcessed"] + 100


def test_json_lines_and_document(s3: Any, bucket: str) -> None:
    records, _ = select(
        s3, bucket, "people.jsonl",
        "SELECT s.name, s.address.city AS city, s.tags[0] AS first FROM S3Object s",
        InputSerialization={"JSON": {"Type": "LINES"}}, OutputSerialization={"JSON": {}},
    )  # fmt: skip
    rows = [json.loads(line) for line in records.decode().splitlines()]
    assert rows == [
        {"name": "Alice", "city": "Paris", "first": "a"},
        {"name": "Bob", "city": "Oslo"},
    ]
    records, _ = select(
        s3, bucket, "doc.json", "SELECT d.id FROM S3Object[*].items[*] d WHERE d.ok = true",
        InputSerialization={"JSON": {"Type": "DOCUMENT"}}, OutputSerialization={"JSON": {}},
    )  # fmt: skip
    assert records == b'{"id":1}\n'


def test_progress_and_scan_range(s3: Any, bucket: str) -> None:
    _, events = select(
        s3, bucket, "people.csv", "SELECT * FROM S3Object", RequestProgress={"Enabled": True}
    )
    assert any("Progress" in e for e in events)
    records, _ = select(
        s3, bucket, "people.csv", "SELECT _1 FROM S3Object",
        InputSerialization={"CSV": {"FileHeaderInfo": "NONE"}},
        ScanRange={"Start": 15, "End": 40},  # records starting in [15, 40]
    )  # fmt: skip
    assert records == b"Bob\nAnn\n"


def test_parquet(s3: Any, bucket: str) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": [1, 2, 3], "name": ["x", "y", "z"]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    s3.put_object(Bucket=bucket, Key="t.parquet", Body=buffer.getvalue())
    records, _ = select(
        s3, bucket, "t.parquet", "SELECT s.name FROM S3Object s WHERE s.id >= 2",
        InputSerialization={"Parquet": {}}, OutputSerialization={"JSON": {}},
    )  # fmt: skip
    assert records == b'{"name":"y"}\n{"name":"z"}\n'


def test_parquet_without_pyarrow(tmp_path: Any) -> None:
    """A server without the ``parquet`` extra answers 501 NotImplemented naming the extra."""
    hidden = tmp_path / "pyarrow"
    hidden.mkdir()
    (hidden / "__init__.py").write_text("raise ImportError('pyarrow hidden by the test')\n")
    proc = ServerProcess(env={"PYTHONPATH": str(tmp_path)}).start()
    try:
        s3 = proc.client("s3")
        s3.create_bucket(Bucket="no-arrow")
        s3.put_object(Bucket="no-arrow", Key="t.parquet", Body=b"PAR1 not read")
        with pytest.raises(ClientError) as err:
            select(
                s3, "no-arrow", "t.parquet", "SELECT * FROM S3Object",
                InputSerialization={"Parquet": {}}, OutputSerialization={"JSON": {}},
            )  # fmt: skip
        error = err.value.response["Error"]
        assert error["Code"] == "NotImplemented"
        assert "overcast[parquet]" in error["Message"]
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
        records, _ = select(
            s3, "no-arrow", "t.parquet", "SELECT * FROM S3Object", InputSerialization={"CSV": {}}
        )
        assert records == b"PAR1 not read\n"
    finally:
        proc.stop()


def test_errors(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        select(s3, bucket, "people.csv", "SELECT * FROM S3Object WHERE")
    assert err.value.response["Error"]["Code"] == "ParseUnexpectedToken"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as err:
        select(s3, bucket, "people.csv", "SELECT CAST(name AS INT) FROM S3Object")
    assert err.value.response["Error"]["Code"] == "CastFailed"
    with pytest.raises(ClientError) as err:
        select(s3, bucket, "missing.csv", "SELECT * FROM S3Object")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        select(
            s3, bucket, "people.csv", "SELECT * FROM S3Object",
            InputSerialization={"CSV": {}, "CompressionType": "GZIP"},
        )  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidCompressionFormat"
    with pytest.raises(ClientError) as err:
        select(s3, bucket, "people.csv", "SELECT * FROM S3Object",
               ScanRange={"Start": 10, "End": 5})  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidRequestParameter"
    # An error after records were produced ends the stream with an error event.
    with pytest.raises(EventStreamError):
        select(s3, bucket, "numbers.csv", "SELECT CAST(_1 AS INT) FROM S3Object",
               InputSerialization={"CSV": {}})  # fmt: skip


def test_large_object_streams_in_several_records_events(s3: Any, bucket: str) -> None:
    body = "".join(f"{i},name-{i},{i % 7}\n" for i in range(60_000)).encode()
    s3.put_object(Bucket=bucket, Key="big.csv.gz", Body=gzip.compress(body))
    records, events = select(
        s3, bucket, "big.csv.gz", "SELECT _1, _2 FROM S3Object WHERE _3 = '0'",
        InputSerialization={"CSV": {}, "CompressionType": "GZIP"},
    )  # fmt: skip
    lines = records.decode().splitlines()
    assert len(lines) == len(range(0, 60_000, 7))
    assert lines[1] == "7,name-7"
    assert sum(1 for e in events if "Records" in e) > 1
    stats = next(e for e in events if "Stats" in e)["Stats"]["Details"]
    assert stats["BytesProcessed"] == len(body)
    assert stats["BytesReturned"] == len(records)


def test_sse_c_object_needs_its_key(s3: Any, bucket: str) -> None:
    key = os.urandom(32)
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}
    rule = {  # S3 blocks SSE-C writes by default since April 2026
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
        "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]},
    }
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    s3.put_object(Bucket=bucket, Key="secret.csv", Body=CSV, **sse)
    with pytest.raises(ClientError) as err:
        select(s3, bucket, "secret.csv", "SELECT name FROM S3Object")
    assert err.value.response["Error"]["Code"] == "InvalidRequest"
    records, _ = select(s3, bucket, "secret.csv", "SELECT name FROM S3Object LIMIT 1", **sse)
    assert records == b"Alice\n"
