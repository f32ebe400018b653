"""What every DynamoDB operation group shares: the table catalog and table lookup by name/ARN."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.ids import arn
from overcast.services.base import Provider, ServiceEnv
from overcast.services.dynamodb import capacity
from overcast.services.dynamodb.errors import ResourceInUseException, ResourceNotFoundException
from overcast.services.dynamodb.models import ACTIVE, CREATING, UPDATING, Table
from overcast.services.dynamodb.storage import Catalog, Item

_NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")


def check_table_name(name: str, member: str = "tableName") -> None:
    """AWS's pattern check on a table name (the gateway does not check patterns)."""
    if not _NAME.match(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )


def table_arn(ctx: RequestContext, name: str) -> str:
    return arn("dynamodb", ctx.region, ctx.account_id, f"table/{name}", ctx.partition)


class DynamoBase(Provider):
    """The provider's base: ``self.catalog`` and helpers to find tables."""

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self.catalog = Catalog.of(env.store)
        self.throttle = capacity.Throttle(env)

    def _name(self, ctx: RequestContext, name: str) -> str:
        """A TableName parameter, which may be the table's ARN; checked."""
        if name.startswith("arn:"):
            parts = name.split(":", 5)
            if (
                len(parts) != 6
                or not parts[5].startswith("table/")
                or parts[3] != ctx.region
                or parts[4] != ctx.account_id
            ):
                raise ResourceNotFoundException(
                    f"Requested resource not found: Table: {name} not found"
                )
            name = parts[5][len("table/") :]
        if len(name) < 3:
            raise ValidationException(
                f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy "
                "constraint: Member must have length greater than or equal to 3"
            )
        if len(name) > 255:
            raise ValidationException(
                f"1 validation error detected: Value '{name}' at 'tableName' failed to satisfy "
                "constraint: Member must have length less than or equal to 255"
            )
        check_table_name(name)
        return name

    def _table(
        self, ctx: RequestContext, name: str, *, describe: bool = False, any_status: bool = False
    ) -> Table:
        """The table (cached, read-only), or ResourceNotFoundException in AWS's two wordings
        (DescribeTable names the table; item operations do not). A table still being loaded by
        ImportTable is CREATING: only described, as AWS's "not ACTIVE" tables."""
        table = self.catalog.cached(ctx.account_id, ctx.region, name)  # a cached name is valid
        if table is None:
            table = self.catalog.get(ctx.account_id, ctx.region, self._name(ctx, name))
        if table is None:
            if describe:
                raise ResourceNotFoundException(
                    f"Requested resource not found: Table: {self._name(ctx, name)} not found"
                )
            raise ResourceNotFoundException()
        if not (describe or any_status) and table.settings.get("importing"):
            raise ResourceNotFoundException()
        return table

    def _changeable(self, table: Table) -> Table:
        """UpdateTable and DeleteTable of a table ImportTable is still loading (CREATING): AWS's
        ResourceInUseException."""
        if table.settings.get("importing"):
            raise ResourceInUseException(
                f"Attempt to change a resource which is still in use: Table is being created: "
                f"{table.name}"
            )
        return table

    # -- hooks of the other parts (streams.py, global_tables.py), placed before this class ---

    def _record_change(
        self,
        conn: sqlite3.Connection,
        table: Table,
        old: Item | None,
        new: Item | None,
        *,
        user_identity: dict[str, Any] | None = None,
    ) -> None:
        """Every item write calls this inside its transaction (streams, PITR, replication)."""

    def _sync_stream(self, conn: sqlite3.Connection, table: Table) -> object:
        """After saving a table whose StreamSpecification changed."""
        return None

    def _table_deleted(self, conn: sqlite3.Connection, table: Table) -> None:
        """DeleteTable, before the table's rows go."""

    def _replica_updates(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection,
        table: Table,
        updates: list[dict[str, Any]],
    ) -> None:
        """UpdateTable's ReplicaUpdates (global tables)."""
        raise ValidationException("ReplicaUpdates are not supported")

    def _describe(self, table: Table) -> dict[str, Any]:
        counts = self.env.store.read(lambda conn: self.catalog.counts(conn, table))
        desc = table.describe(counts)
        # Work is done synchronously: after the response that said CREATING/UPDATING, the
        # table is ACTIVE (boto3's waiters pass on their first poll).
        if table.status in (CREATING, UPDATING) and not table.settings.get("importing"):
            desc["TableStatus"] = ACTIVE
        return desc
