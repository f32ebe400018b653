"""DynamoDB: partiql (operations mixed into DynamoDBProvider)."""

from __future__ import annotations


class PartiqlOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""
