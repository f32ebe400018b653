"""DynamoDB: backups (operations mixed into DynamoDBProvider)."""

from __future__ import annotations


class BackupOps:
    """Operations and hooks of this part of DynamoDB; see provider.py."""
