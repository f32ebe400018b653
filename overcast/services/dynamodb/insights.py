"""CloudWatch Contributor Insights for DynamoDB: the per-table (and per-GSI) setting, its rules
and listing. Settings only: no CloudWatch rule data is produced.

Stored in ``table.settings["contributor_insights"]`` keyed by index name ("" for the table).
An enable answers ENABLING and reads back ENABLED, as the switch completes at once here.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.services.dynamodb.common import DynamoBase
from overcast.services.dynamodb.errors import ResourceNotFoundException
from overcast.services.dynamodb.models import Table

_KEY = "contributor_insights"
_PAGE = 100


def _rules(table: Table, index: str, since: float) -> list[str]:
    """AWS's rule names: partition-key (and sort-key) most-accessed and most-throttled."""
    target = f"{table.name}-{index}" if index else table.name
    keyed = table.index(index) if index else None
    range_key = keyed.range_key if keyed is not None else table.range_key
    kinds = ["PKC", "PKT"] + (["SKC", "SKT"] if range_key else [])
    return [f"DynamoDBContributorInsights-{k}-{target}-{int(since * 1000)}" for k in kinds]


class InsightsOps(DynamoBase):
    def _insights_index(self, table: Table, index: str | None) -> str:
        if index and table.index(index) is None:
            raise ResourceNotFoundException(
                f"Requested resource not found: Index: {index} not found"
            )
        if index and index in table.lsis:
            raise ValidationException(
                "Contributor Insights is not supported for local secondary indexes"
            )
        return index or ""

    def describe_contributor_insights(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        table = self._table(ctx, request["TableName"], describe=True)
        index = self._insights_index(table, request.get("IndexName"))
        setting = table.settings.get(_KEY, {}).get(index)
        out: dict[str, Any] = {"TableName": table.name}
        if index:
            out["IndexName"] = index
        if setting is None or setting["status"] != "ENABLED":
            out["ContributorInsightsStatus"] = "DISABLED"
            if setting is not None:
                out["LastUpdateDateTime"] = datetime.fromtimestamp(setting["updated"], UTC)
            return out
        out["ContributorInsightsStatus"] = "ENABLED"
        out["ContributorInsightsRuleList"] = _rules(table, index, setting["updated"])
        out["LastUpdateDateTime"] = datetime.fromtimestamp(setting["updated"], UTC)
        out["ContributorInsightsMode"] = setting["mode"]
        return out

    def update_contributor_insights(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._table(ctx, request["TableName"]).name
        enable = request["ContributorInsightsAction"] == "ENABLE"
        mode = request.get("ContributorInsightsMode") or "ACCESSED_AND_THROTTLED_KEYS"
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> str:
            table = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if table is None:
                raise ResourceNotFoundException()
            index = self._insights_index(table, request.get("IndexName"))
            settings = table.settings.setdefault(_KEY, {})
            status = "ENABLED" if enable else "DISABLED"
            settings[index] = {"status": status, "updated": now, "mode": mode}
            self.catalog.save(conn, table)
            return index

        index = self.env.store.write(write)
        out: dict[str, Any] = {
            "TableName": name,
            "ContributorInsightsStatus": "ENABLING" if enable else "DISABLING",
        }
        if index:
            out["IndexName"] = index
        if enable:
            out["ContributorInsightsMode"] = mode
        return out

    def list_contributor_insights(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        limit = int(request.get("MaxResults") or _PAGE)
        if limit > _PAGE:
            raise ValidationException(
                f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy "
                f"constraint: Member must have value less than or equal to {_PAGE}"
            )
        if request.get("TableName"):
            tables = [self._table(ctx, request["TableName"], describe=True)]
        else:

            def read(conn: sqlite3.Connection) -> list[Table]:
                return [
                    t
                    for t in self.catalog.all(conn)
                    if t.account_id == ctx.account_id and t.region == ctx.region
                ]

            tables = sorted(self.env.store.read(read), key=lambda t: t.name)
        summaries = []
        for table in tables:
            for index, setting in sorted(table.settings.get(_KEY, {}).items()):
                if setting["status"] != "ENABLED":
                    continue
                summary: dict[str, Any] = {
                    "TableName": table.name,
                    "ContributorInsightsStatus": "ENABLED",
                    "ContributorInsightsMode": setting["mode"],
                }
                if index:
                    summary["IndexName"] = index
                summaries.append(summary)
        token = request.get("NextToken") or "0"
        if not token.isdigit():
            raise ValidationException("Invalid NextToken")
        start = int(token)
        out: dict[str, Any] = {"ContributorInsightsSummaries": summaries[start : start + limit]}
        if start + limit < len(summaries):
            out["NextToken"] = str(start + limit)
        return out
