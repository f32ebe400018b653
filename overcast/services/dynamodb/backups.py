"""DynamoDB: backups and point-in-time recovery (operations mixed into DynamoDBProvider)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overcast.services.dynamodb.models import Table


class BackupOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""

    def _pitr_record(
        self, conn: sqlite3.Connection, table: Table, old: dict | None, new: dict | None, now: float
    ) -> None:
        """Keep the change in the table's point-in-time history when PITR is enabled."""

    def _pitr_forget(self, conn: sqlite3.Connection, table: Table) -> None:
        """The table was deleted: its history goes with it."""
