"""DynamoDB exports to S3 and imports from S3 through boto3: the AWS layout (data files,
manifests), asynchronous completion, DYNAMODB_JSON/ION/CSV, gzip, failures and listings."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.dynamodb.jobs import finished_export, finished_import, start_import

Client = Callable[..., Any]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _table(ddb: Any, pitr: bool = True) -> dict[str, Any]:
    name = _name("ex")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    if pitr:
        ddb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return ddb.describe_table(TableName=name)["Table"]


def _clock(server: ServerProcess, advance: float = 0) -> float:
    if advance:
        requests.post(server.endpoint + "/_overcast/clock", json={"advance": advance}, timeout=10)
    return float(requests.get(server.endpoint + "/_overcast/clock", timeout=10).json()["now"])


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_export_layout_and_reimport(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = _name("exports")
    s3.create_bucket(Bucket=bucket)
    table = _table(ddb)
    items = [
        {"pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}},
        {"pk": {"S": "b"}, "l": {"L": [{"S": "x"}, {"BOOL": True}]}, "ss": {"SS": ["p", "q"]}},
    ]
    for item in items:
        ddb.put_item(TableName=table["TableName"], Item=item)
    desc = ddb.export_table_to_point_in_time(
        TableArn=table["TableArn"], S3Bucket=bucket, S3Prefix="snap"
    )["ExportDescription"]
    assert desc["ExportStatus"] == "IN_PROGRESS"
    assert desc["ExportArn"].startswith(table["TableArn"] + "/export/")
    done = finished_export(ddb, desc["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED"
    assert done["ItemCount"] == 2
    assert done["ExportFormat"] == "DYNAMODB_JSON"
    export_id = desc["ExportArn"].rsplit("/", 1)[1]
    base = f"snap/AWSDynamoDB/{export_id}"
    assert done["ExportManifest"] == f"{base}/manifest-summary.json"

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {
        f"{base}/_started",
        f"{base}/manifest-summary.json",
        f"{base}/manifest-summary.md5",
        f"{base}/manifest-files.json",
        f"{base}/manifest-files.md5",
    } <= keys
    summary = json.loads(s3.get_object(Bucket=bucket, Key=done["ExportManifest"])["Body"].read())
    assert summary["itemCount"] == 2
    assert summary["exportArn"] == desc["ExportArn"]
    assert summary["outputFormat"] == "DYNAMODB_JSON"
    files = s3.get_object(Bucket=bucket, Key=summary["manifestFilesS3Key"])["Body"].read()
    entries = [json.loads(line) for line in files.decode().splitlines()]
    assert sum(e["itemCount"] for e in entries) == 2
    lines = []
    for entry in entries:
        assert entry["dataFileS3Key"].startswith(f"{base}/data/")
        assert entry["dataFileS3Key"].endswith(".json.gz")
        body = s3.get_object(Bucket=bucket, Key=entry["dataFileS3Key"])["Body"].read()
        lines += gzip.decompress(body).decode().splitlines()
    exported = {json.loads(line)["Item"]["pk"]["S"]: json.loads(line)["Item"] for line in lines}
    assert exported["a"]["b"] == {"B": "AP8="}
    assert exported["b"]["l"] == {"L": [{"S": "x"}, {"BOOL": True}]}

    listed = ddb.list_exports(TableArn=table["TableArn"])["ExportSummaries"]
    assert listed == [
        {"ExportArn": desc["ExportArn"], "ExportStatus": "COMPLETED", "ExportType": "FULL_EXPORT"}
    ]

    target, imp = start_import(ddb, bucket, f"{base}/data/", compression="GZIP")
    assert imp["ImportStatus"] == "IN_PROGRESS"
    finished = finished_import(ddb, imp["ImportArn"])
    assert finished["ImportStatus"] == "COMPLETED"
    assert finished["ImportedItemCount"] == 2
    assert finished["ErrorCount"] == 0
    got = ddb.get_item(TableName=target, Key={"pk": {"S": "a"}})["Item"]
    assert got == items[0]
    assert [
        s["ImportArn"] for s in ddb.list_imports(TableArn=imp["TableArn"])["ImportSummaryList"]
    ] == [imp["ImportArn"]]


def test_export_ion(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = _name("ion")
    s3.create_bucket(Bucket=bucket)
    table = _table(ddb)
    ddb.put_item(TableName=table["TableName"], Item={"pk": {"S": "a"}, "n": {"N": "2"}})
    arn = ddb.export_table_to_point_in_time(
        TableArn=table["TableArn"], S3Bucket=bucket, ExportFormat="ION"
    )["ExportDescription"]["ExportArn"]
    done = finished_export(ddb, arn)
    assert done["ExportStatus"] == "COMPLETED"
    data = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"] if "/data/" in o["Key"]]
    assert data and data[0].endswith(".ion.gz")
    text = gzip.decompress(s3.get_object(Bucket=bucket, Key=data[0])["Body"].read()).decode()
    assert text.splitlines() == ["$ion_1_0", '{Item:{"pk":"a","n":2}}']


def test_import_csv(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = _name("csv")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="in/one.csv", Body=b"id,name,age\n1,ann,30\n2,bob,\n")
    s3.put_object(Bucket=bucket, Key="in/two.csv", Body=gzip.compress(b"id,name,age\nx,bad,1\n"))
    target = _name("csvt")
    imp = ddb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": "in/"},
        InputFormat="CSV",
        TableCreationParameters={
            "TableName": target,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    finished = finished_import(ddb, imp["ImportArn"])
    assert finished["ImportStatus"] == "COMPLETED"
    assert finished["ImportedItemCount"] == 2
    assert finished["ErrorCount"] == 1  # "x" is not a number
    got = ddb.get_item(TableName=target, Key={"id": {"N": "1"}})["Item"]
    assert got == {"id": {"N": "1"}, "name": {"S": "ann"}, "age": {"S": "30"}}
    assert "age" not in ddb.get_item(TableName=target, Key={"id": {"N": "2"}})["Item"]


def test_export_errors(client: Client) -> None:
    ddb = client("dynamodb")
    table = _table(ddb, pitr=False)
    with pytest.raises(ClientError) as exc:
        ddb.export_table_to_point_in_time(TableArn=table["TableArn"], S3Bucket="whatever")
    assert _code(exc) == "PointInTimeRecoveryUnavailableException"
    with pytest.raises(ClientError) as exc:
        ddb.describe_export(ExportArn=table["TableArn"] + "/export/01234567890123-deadbeef")
    assert _code(exc) == "ExportNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.describe_import(ImportArn=table["TableArn"] + "/import/01234567890123-deadbeef")
    assert _code(exc) == "ImportNotFoundException"

    table = _table(ddb)
    arn = ddb.export_table_to_point_in_time(
        TableArn=table["TableArn"], S3Bucket=_name("missing-bucket")
    )["ExportDescription"]["ExportArn"]
    failed = finished_export(ddb, arn)
    assert failed["ExportStatus"] == "FAILED"
    assert failed["FailureCode"] == "NoSuchBucket"

    with pytest.raises(ClientError) as exc:
        ddb.import_table(
            S3BucketSource={"S3Bucket": "b"},
            InputFormat="CSV",
            TableCreationParameters={
                "TableName": table["TableName"],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        )
    assert _code(exc) == "ResourceInUseException"


def test_incremental_export(disk_server: ServerProcess) -> None:
    ddb, s3 = disk_server.client("dynamodb"), disk_server.client("s3")
    bucket = _name("incr")
    s3.create_bucket(Bucket=bucket)
    table = _table(ddb)
    name = table["TableName"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "same"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "changed"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "gone"}, "v": {"N": "1"}})
    start = _clock(disk_server, advance=60)
    ddb.put_item(TableName=name, Item={"pk": {"S": "changed"}, "v": {"N": "2"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "gone"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "new"}, "v": {"N": "3"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "blip"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "blip"}})  # in and out: not exported
    end = _clock(disk_server, advance=20 * 60)

    with pytest.raises(ClientError) as exc:
        ddb.export_table_to_point_in_time(
            TableArn=table["TableArn"], S3Bucket=bucket, ExportType="INCREMENTAL_EXPORT",
            IncrementalExportSpecification={
                "ExportFromTime": datetime.fromtimestamp(end - 60, UTC),
                "ExportToTime": datetime.fromtimestamp(end, UTC),
            },
        )  # fmt: skip
    assert _code(exc) == "ValidationException"  # shorter than 15 minutes

    desc = ddb.export_table_to_point_in_time(
        TableArn=table["TableArn"],
        S3Bucket=bucket,
        ExportType="INCREMENTAL_EXPORT",
        IncrementalExportSpecification={
            "ExportFromTime": datetime.fromtimestamp(start, UTC),
            "ExportToTime": datetime.fromtimestamp(end, UTC),
        },
    )["ExportDescription"]
    assert desc["ExportType"] == "INCREMENTAL_EXPORT"
    assert desc["IncrementalExportSpecification"]["ExportViewType"] == "NEW_AND_OLD_IMAGES"
    done = finished_export(ddb, desc["ExportArn"])
    assert done["ExportStatus"] == "COMPLETED"
    assert done["ItemCount"] == 3
    lines = []
    for obj in s3.list_objects_v2(Bucket=bucket)["Contents"]:
        if "/data/" in obj["Key"]:
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            lines += [json.loads(x) for x in gzip.decompress(body).decode().splitlines()]
    by_key = {line["Keys"]["pk"]["S"]: line for line in lines}
    assert set(by_key) == {"changed", "gone", "new"}
    assert by_key["changed"]["OldImage"]["v"] == {"N": "1"}
    assert by_key["changed"]["NewImage"]["v"] == {"N": "2"}
    assert "NewImage" not in by_key["gone"]
    assert "OldImage" not in by_key["new"]
    assert int(by_key["new"]["Metadata"]["WriteTimestampMicros"]["N"]) > start * 1_000_000
