"""Lambda: account settings (functions themselves come with the Lambda issue)."""

from __future__ import annotations

from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.base import Provider

# AWS's default quotas for a new account (Lambda quotas page).
ACCOUNT_LIMIT = {
    "TotalCodeSize": 80_530_636_800,  # 75 GB
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
    "ConcurrentExecutions": 1000,
    "UnreservedConcurrentExecutions": 1000,
}


class LambdaProvider(Provider):
    service = "lambda"

    def get_account_settings(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        # No function can exist before the Lambda service lands, so usage is truly zero.
        return {
            "AccountLimit": dict(ACCOUNT_LIMIT),
            "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
        }
