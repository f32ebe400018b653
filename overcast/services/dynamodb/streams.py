"""DynamoDB: streams (operations mixed into DynamoDBProvider)."""

from __future__ import annotations


class StreamOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""

    def _record_change(
        self,
        conn: object,
        table: object,
        old: dict | None,
        new: dict | None,
        *,
        user_identity: dict | None = None,
    ) -> None:
        """Called by every item write, inside its transaction (``conn``), with the old and new
        item images (None for a create or a delete); ``user_identity`` for TTL deletions."""
