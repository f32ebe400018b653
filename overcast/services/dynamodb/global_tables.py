"""DynamoDB: global tables (operations mixed into DynamoDBProvider)."""

from __future__ import annotations


class GlobalTableOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""
