"""DynamoDB: global tables (operations mixed into DynamoDBProvider)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overcast.services.dynamodb.models import Table


class GlobalTableOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""

    def _replicate(
        self, conn: sqlite3.Connection, table: Table, old: dict | None, new: dict | None, now: float
    ) -> None:
        """Copy the change to the table's replicas in other regions (last writer wins)."""
