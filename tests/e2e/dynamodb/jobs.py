"""DynamoDB's asynchronous jobs (exports, imports) in tests: start an import into a table keyed
by a string ``pk``, and wait for a job's end by polling its status with a deadline
(``tests.waiting.wait_until``)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.waiting import wait_until


def finished_export(ddb: Any, arn: str, timeout: float = 60.0) -> dict[str, Any]:
    """DescribeExport's description once the export is COMPLETED or FAILED."""

    def done() -> dict[str, Any] | None:
        desc: dict[str, Any] = ddb.describe_export(ExportArn=arn)["ExportDescription"]
        return desc if desc["ExportStatus"] != "IN_PROGRESS" else None

    return wait_until(done, timeout, interval=0.05, what=f"export {arn} finished")


def finished_import(ddb: Any, arn: str, timeout: float = 60.0) -> dict[str, Any]:
    """DescribeImport's description once the import is COMPLETED or FAILED."""

    def done() -> dict[str, Any] | None:
        desc: dict[str, Any] = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]
        return desc if desc["ImportStatus"] != "IN_PROGRESS" else None

    return wait_until(done, timeout, interval=0.05, what=f"import {arn} finished")


def start_import(
    ddb: Any,
    bucket: str,
    prefix: str = "data/",
    input_format: str = "DYNAMODB_JSON",
    compression: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """ImportTable of every object under ``prefix`` into a new table keyed by ``pk`` (S):
    ``(table name, ImportTableDescription)``."""
    name = f"imp-{uuid.uuid4().hex[:10]}"
    extra = {"InputCompressionType": compression} if compression else {}
    desc: dict[str, Any] = ddb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": prefix},
        InputFormat=input_format,
        TableCreationParameters={
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
        **extra,
    )["ImportTableDescription"]
    return name, desc
