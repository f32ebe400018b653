"""STS: who is calling. (The IAM issue adds AssumeRole and friends.)"""

from __future__ import annotations

from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.base import Provider


class StsProvider(Provider):
    service = "sts"

    def get_caller_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = ctx.identity
        account = ctx.account_id
        arn = identity.principal_arn if identity else f"arn:aws:iam::{account}:root"
        # For an account's root user AWS answers the account id as the UserId.
        user_id = account if arn.endswith(":root") else (identity.access_key or account)
        return {"UserId": user_id, "Account": account, "Arn": arn}
