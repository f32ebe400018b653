"""Waiting for DynamoDB's asynchronous jobs (exports, imports) in tests: poll their status
until it is no longer IN_PROGRESS, with a deadline (``tests.waiting.wait_until``)."""

from __future__ import annotations

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
