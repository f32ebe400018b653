"""Resource-based policies of tables and their streams: Put/Get/DeleteResourcePolicy (and
CreateTable's ResourcePolicy), stored on the table with a revision id for optimistic updates.

The policy is kept as given (AWS normalizes whitespace; clients compare it as JSON) in
``table.settings["resource_policies"]``, keyed by the table's or the stream's ARN.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.services.dynamodb.common import DynamoBase
from overcast.services.dynamodb.errors import PolicyNotFoundException, ResourceNotFoundException
from overcast.services.dynamodb.models import Table

MAX_POLICY_BYTES = 20 * 1024
_KEY = "resource_policies"


def check_policy(policy: str) -> None:
    """A policy document must be a JSON object of at most 20 KB."""
    if len(policy.encode("utf-8")) > MAX_POLICY_BYTES:
        raise ValidationException(
            f"Resource-based policy size exceeds the limit of {MAX_POLICY_BYTES} bytes"
        )
    try:
        doc = json.loads(policy)
    except ValueError:
        raise ValidationException("Resource-based policy is not valid JSON") from None
    if not isinstance(doc, dict) or "Statement" not in doc:
        raise ValidationException("Resource-based policy must contain a Statement")


def set_policy(table: Table, arn: str, policy: str, now: float) -> str:
    """Store ``policy`` for ``arn`` (the table's or its stream's); returns the new revision."""
    revision = str(int(now * 1000))
    table.settings.setdefault(_KEY, {})[arn] = {"Policy": policy, "RevisionId": revision}
    return revision


class PolicyOps(DynamoBase):
    def _policy_target(self, conn: sqlite3.Connection, ctx: RequestContext, arn: str) -> Table:
        table = self.catalog.by_arn(conn, arn)
        if table is None or table.account_id != ctx.account_id:
            raise ResourceNotFoundException(f"Requested resource not found: {arn}")
        if "/stream/" in arn and arn != table.stream_arn:
            raise ResourceNotFoundException(f"Requested resource not found: {arn}")
        return table

    def put_resource_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn, policy = request["ResourceArn"], request["Policy"]
        check_policy(policy)
        expected = request.get("ExpectedRevisionId")
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> str:
            table = self._policy_target(conn, ctx, arn)
            current = table.settings.get(_KEY, {}).get(arn)
            if expected is not None:
                if current is None:
                    raise PolicyNotFoundException(
                        f"Resource-based policy not found for the provided ResourceArn: {arn}"
                    )
                if current["RevisionId"] != expected:
                    raise PolicyNotFoundException(
                        f"Resource-based policy not found for the provided ResourceArn: "
                        f"Requested update for policy revision id {expected}, but the policy "
                        f"associated to target table {table.name} has revision id "
                        f"{current['RevisionId']}."
                    )
            revision = set_policy(table, arn, policy, now)
            self.catalog.save(conn, table)
            return revision

        return {"RevisionId": self.env.store.write(write)}

    def get_resource_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["ResourceArn"]
        table = self.env.store.read(lambda conn: self._policy_target(conn, ctx, arn))
        current = table.settings.get(_KEY, {}).get(arn)
        if current is None:
            raise PolicyNotFoundException(
                f"Resource-based policy not found for the provided ResourceArn: {arn}"
            )
        return {"Policy": current["Policy"], "RevisionId": current["RevisionId"]}

    def delete_resource_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["ResourceArn"]
        expected = request.get("ExpectedRevisionId")

        def write(conn: sqlite3.Connection) -> str:
            table = self._policy_target(conn, ctx, arn)
            policies = table.settings.get(_KEY, {})
            current = policies.get(arn)
            if current is None or (expected is not None and current["RevisionId"] != expected):
                raise PolicyNotFoundException(
                    f"Resource-based policy not found for the provided ResourceArn: {arn}"
                )
            del policies[arn]
            self.catalog.save(conn, table)
            return str(current["RevisionId"])

        return {"RevisionId": self.env.store.write(write)}
