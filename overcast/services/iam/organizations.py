"""Features that involve AWS Organizations (centralized root access) and outbound web identity
federation. Overcast has no Organizations: the root-access operations answer as AWS does for an
account outside any organization."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import IamBase
from overcast.services.iam.errors import (
    FeatureDisabled,
    FeatureEnabled,
    OrganizationNotFoundException,
)

OUTBOUND = "outbound-federation"


def _no_organization() -> OrganizationNotFoundException:
    return OrganizationNotFoundException(
        "The request was rejected because no organization is associated with your account."
    )


class Organizations(IamBase):
    def list_organizations_features(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        raise _no_organization()

    def enable_organizations_root_credentials_management(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        raise _no_organization()

    def disable_organizations_root_credentials_management(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        raise _no_organization()

    def enable_organizations_root_sessions(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        raise _no_organization()

    def disable_organizations_root_sessions(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        raise _no_organization()

    # -- outbound web identity federation ------------------------------------------------------

    def enable_outbound_web_identity_federation(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> str:
            doc = storage.get(conn, ctx.account_id, storage.ACCOUNT, OUTBOUND) or {}
            if doc.get("Enabled"):
                raise FeatureEnabled(
                    "Outbound identity federation is already enabled for this account."
                )
            # The issuer is unique per account and stays the same if re-enabled.
            issuer = doc.get("Issuer") or f"https://{uuid.uuid4()}.tokens.sts.global.api.aws"
            storage.put(conn, ctx.account_id, storage.ACCOUNT, OUTBOUND,
                        {"Enabled": True, "Issuer": issuer})  # fmt: skip
            return str(issuer)

        return {"IssuerIdentifier": self._write(write)}

    def disable_outbound_web_identity_federation(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            doc = storage.get(conn, ctx.account_id, storage.ACCOUNT, OUTBOUND) or {}
            if not doc.get("Enabled"):
                raise FeatureDisabled(
                    "Outbound identity federation is already disabled for this account."
                )
            doc["Enabled"] = False
            storage.put(conn, ctx.account_id, storage.ACCOUNT, OUTBOUND, doc)

        self._write(write)
        return {}

    def get_outbound_web_identity_federation_info(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._read(lambda conn: storage.get(conn, ctx.account_id, storage.ACCOUNT, OUTBOUND))
        if not doc or not doc.get("Enabled"):
            raise FeatureDisabled("Outbound identity federation is disabled for this account.")
        return {"IssuerIdentifier": doc["Issuer"], "JwtVendingEnabled": True}
