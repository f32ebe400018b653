"""DynamoDB: exports (operations mixed into DynamoDBProvider)."""

from __future__ import annotations


class ExportOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""
