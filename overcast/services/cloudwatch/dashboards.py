"""CloudWatch dashboards: PutDashboard, GetDashboard, ListDashboards, DeleteDashboards.

Dashboards are global to an account (their ARN has no region), so they are stored with
``region=""``. Bodies are kept byte for byte as sent.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from overcast.gateway.context import RequestContext
from overcast.services.base import Provider
from overcast.services.cloudwatch.errors import (
    DashboardInvalidInputError,
    DashboardNotFoundError,
    InvalidParameterValueException,
)

if TYPE_CHECKING:
    from overcast.state.collection import Collection

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_PAGE = 1000  # AWS returns at most 1000 dashboards per ListDashboards call


class Dashboards(Provider):
    service = "cloudwatch"

    @property
    def _docs(self) -> Collection:
        return self.env.store.collection("cloudwatch", "dashboard")

    def put_dashboard(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["DashboardName"]
        body = request["DashboardBody"]
        if not _NAME.match(name):
            raise DashboardInvalidInputError(
                "The value for field DashboardName contains invalid characters. "
                "It can only contain alphanumerics, dash (-) and underscore (_).\n"
            )
        _check_body(body)
        now = self.env.clock.now()

        def write(conn: Any) -> None:
            existing = self._docs.get(ctx.account_id, "", name, conn=conn)
            tags = existing["tags"] if existing else request.get("Tags", [])
            doc = {"body": body, "modified": now, "tags": tags}
            self._docs.put(ctx.account_id, "", name, doc, conn=conn)

        self.env.store.write(write)
        return {"DashboardValidationMessages": []}

    def get_dashboard(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["DashboardName"]
        doc = self._docs.get(ctx.account_id, "", name)
        if doc is None:
            raise DashboardNotFoundError(f"Dashboard {name} does not exist")
        return {
            "DashboardArn": _arn(ctx, name),
            "DashboardBody": doc["body"],
            "DashboardName": name,
        }

    def list_dashboards(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        token = request.get("NextToken")
        page = self._docs.list(
            ctx.account_id, "", prefix=request.get("DashboardNamePrefix", ""),
            after=token, limit=_PAGE,
        )  # fmt: skip
        result: dict[str, Any] = {
            "DashboardEntries": [
                {
                    "DashboardName": name,
                    "DashboardArn": _arn(ctx, name),
                    "LastModified": doc["modified"],
                    "Size": len(doc["body"].encode()),
                }
                for name, doc in page.items
            ]
        }
        if page.next_token:
            result["NextToken"] = page.next_token
        return result

    def delete_dashboards(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        names = request["DashboardNames"]
        if not names:
            raise InvalidParameterValueException("DashboardNames must not be empty")

        def write(conn: Any) -> None:
            missing = [n for n in names if self._docs.get(ctx.account_id, "", n, conn=conn) is None]
            if missing:
                # All or nothing, as AWS does: raising rolls the transaction back.
                raise DashboardNotFoundError(
                    f"The specified dashboard does not exist. {missing[0]}"
                )
            for name in names:
                self._docs.delete(ctx.account_id, "", name, conn=conn)

        self.env.store.write(write)
        return {}


def _arn(ctx: RequestContext, name: str) -> str:
    return f"arn:{ctx.partition}:cloudwatch::{ctx.account_id}:dashboard/{name}"


def _check_body(body: str) -> None:
    try:
        parsed = json.loads(body)
    except ValueError:
        raise DashboardInvalidInputError(
            "The field DashboardBody must be a valid JSON object",
            dashboardValidationMessages=[{"DataPath": "", "Message": "Should be an object"}],
        ) from None
    if not isinstance(parsed, dict):
        raise DashboardInvalidInputError(
            "The field DashboardBody must be a valid JSON object",
            dashboardValidationMessages=[{"DataPath": "", "Message": "Should be an object"}],
        )
    widgets = parsed.get("widgets")
    if not isinstance(widgets, list):
        raise DashboardInvalidInputError(
            "The input for the dashboard is invalid",
            dashboardValidationMessages=[
                {"DataPath": "/widgets", "Message": "Should be present and be an array"}
            ],
        )
