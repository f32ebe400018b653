"""DynamoDB's provider: composes the operation mixins of this package."""

from __future__ import annotations

from overcast.services.base import Provider
from overcast.services.dynamodb.backups import BackupOps
from overcast.services.dynamodb.exports import ExportOps
from overcast.services.dynamodb.global_tables import GlobalTableOps
from overcast.services.dynamodb.partiql import PartiqlOps
from overcast.services.dynamodb.streams import StreamOps
from overcast.services.dynamodb.ttl import TtlOps


class DynamoDBProvider(
    StreamOps, TtlOps, BackupOps, PartiqlOps, GlobalTableOps, ExportOps, Provider
):
    service = "dynamodb"
