"""DynamoDB: ttl (operations mixed into DynamoDBProvider)."""

from __future__ import annotations


class TtlOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""
