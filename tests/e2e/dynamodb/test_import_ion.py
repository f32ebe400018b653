"""ImportTable with InputFormat ION through boto3: DynamoDB's own ION export read back (every
attribute type, sets by their $dynamodb_ annotations), gzip'd or not; values that are not items
count in ErrorCount."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Callable
from typing import Any

from tests.e2e.dynamodb.jobs import finished_export, finished_import, start_import

Client = Callable[..., Any]
ITEM = {
    "pk": {"S": "a"},
    "n": {"N": "2"},
    "d": {"N": "1.5"},
    "b": {"B": b"\x00\xff"},
    "t": {"BOOL": True},
    "z": {"NULL": True},
    "l": {"L": [{"N": "1"}, {"S": "q"}]},
    "m": {"M": {"k": {"S": "v"}}},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"a", b"b"]},
}


def _import(ddb: Any, bucket: str, prefix: str) -> tuple[str, dict[str, Any]]:
    target, started = start_import(ddb, bucket, prefix, "ION")
    return target, finished_import(ddb, started["ImportArn"])


def _sets_sorted(item: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {t: sorted(v) for t, v in val.items()} if next(iter(val)) in ("SS", "NS", "BS") else val
        for k, val in item.items()
    }


def test_ion_export_imports_back(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = f"ionrt-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    source = f"ions-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=source,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_continuous_backups(
        TableName=source, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    ddb.put_item(TableName=source, Item=ITEM)
    ddb.put_item(TableName=source, Item={"pk": {"S": "second"}})
    table_arn = ddb.describe_table(TableName=source)["Table"]["TableArn"]
    export_arn = ddb.export_table_to_point_in_time(
        TableArn=table_arn, S3Bucket=bucket, S3Prefix="exp", ExportFormat="ION"
    )["ExportDescription"]["ExportArn"]
    assert finished_export(ddb, export_arn)["ExportStatus"] == "COMPLETED"

    target, done = _import(ddb, bucket, "exp/")
    assert done["ImportStatus"] == "COMPLETED", done
    assert (done["ImportedItemCount"], done["ErrorCount"]) == (2, 0)
    got = ddb.get_item(TableName=target, Key={"pk": {"S": "a"}})["Item"]
    assert _sets_sorted(got) == _sets_sorted(ITEM)


def test_ion_hand_written_and_bad_values(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = f"ionhw-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    text = (
        '$ion_1_0\n{Item:{pk:"one",price:12.50,tags:$dynamodb_SS::["a","b"],when:1e0}}\n'
        '{Item:{pk:"two",raw:{{aGk=}}}}\n'
        '{NotAnItem:{pk:"x"}}\n'
        '{Item:{pk:"ts",at:2024-01-01T00:00:00Z}}\n'
    )
    s3.put_object(Bucket=bucket, Key="in/a.ion.gz", Body=gzip.compress(text.encode()))
    s3.put_object(Bucket=bucket, Key="in/b.ion", Body=b'{Item:{pk:"three"}}')
    target, done = _import(ddb, bucket, "in/")
    assert done["ImportStatus"] == "COMPLETED", done
    assert (done["ImportedItemCount"], done["ErrorCount"]) == (3, 2)
    one = ddb.get_item(TableName=target, Key={"pk": {"S": "one"}})["Item"]
    assert one["price"] == {"N": "12.5"}
    assert sorted(one["tags"]["SS"]) == ["a", "b"]
    assert one["when"] == {"N": "1"}
    assert ddb.get_item(TableName=target, Key={"pk": {"S": "two"}})["Item"]["raw"] == {"B": b"hi"}
    assert "Item" in ddb.get_item(TableName=target, Key={"pk": {"S": "three"}})
