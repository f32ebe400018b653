"""ImportTable's table reads CREATING (DescribeTable) until the import completes and refuses
item operations meanwhile (ResourceNotFoundException, as AWS's for a table not ACTIVE); then it
is ACTIVE, the table_exists waiter passes, and it takes writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from tests.e2e.dynamodb.jobs import finished_import, start_import
from tests.waiting import wait_until

Client = Callable[..., Any]


def _import(ddb: Any, s3: Any, objects: int, lines: int) -> tuple[str, str]:
    bucket = f"imp-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    for n in range(objects):
        body = "".join(f'{{"Item":{{"pk":{{"S":"o{n}-{i}"}}}}}}\n' for i in range(lines))
        s3.put_object(Bucket=bucket, Key=f"data/{n:04d}.json", Body=body.encode())
    target, started = start_import(ddb, bucket)
    return target, started["ImportArn"]


def test_imported_table_is_creating_until_loaded(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    target, arn = _import(ddb, s3, objects=60, lines=200)
    creating_seen = in_use_seen = False

    def active() -> bool:
        """Checks the table's answers while CREATING; True once it is ACTIVE."""
        nonlocal creating_seen, in_use_seen
        status = ddb.describe_table(TableName=target)["Table"]["TableStatus"]
        if status == "ACTIVE":
            return True
        assert status == "CREATING"
        try:
            ddb.put_item(TableName=target, Item={"pk": {"S": "early"}})
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            creating_seen = True
        else:  # the import finished between the two calls: it must say so
            desc = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
            assert desc["ImportStatus"] == "COMPLETED"
        try:  # control-plane changes: AWS's ResourceInUseException for a CREATING table
            ddb.update_table(TableName=target, BillingMode="PAY_PER_REQUEST")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ValidationException":  # already on-demand
                assert exc.response["Error"]["Code"] == "ResourceInUseException"
                assert "Table is being created" in exc.response["Error"]["Message"]
                in_use_seen = True
        return False

    wait_until(active, 60, interval=0.01, what="the imported table became ACTIVE")
    assert creating_seen, "the 12,000-item import was never seen in progress"
    assert in_use_seen
    ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1})
    done = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
    assert done["ImportStatus"] == "COMPLETED" and done["ImportedItemCount"] == 60 * 200
    ddb.put_item(TableName=target, Item={"pk": {"S": "mine"}})
    assert ddb.get_item(TableName=target, Key={"pk": {"S": "o3-7"}})["Item"]


def test_failed_import_leaves_an_active_table(client: Client) -> None:
    ddb = client("dynamodb")
    target, started = start_import(ddb, f"missing-{uuid.uuid4().hex[:10]}", "", "CSV")
    assert finished_import(ddb, started["ImportArn"])["ImportStatus"] == "FAILED"
    assert ddb.describe_table(TableName=target)["Table"]["TableStatus"] == "ACTIVE"
