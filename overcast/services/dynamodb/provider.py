"""DynamoDB's provider: composes the operation mixins of this package.

The core groups (tables, items, query/scan, batch, transactions) share ``DynamoBase``
(``self.catalog``, table lookup); the other parts (streams, TTL, backups, PartiQL, global tables,
exports) are mixins placed first so their hooks (``_record_change``...) are found.
"""

from __future__ import annotations

from overcast.services.dynamodb.backups import BackupOps
from overcast.services.dynamodb.batch import BatchOps
from overcast.services.dynamodb.exports import ExportOps
from overcast.services.dynamodb.global_tables import GlobalTableOps
from overcast.services.dynamodb.insights import InsightsOps
from overcast.services.dynamodb.partiql import PartiqlOps
from overcast.services.dynamodb.policies import PolicyOps
from overcast.services.dynamodb.query import QueryOps
from overcast.services.dynamodb.streams import StreamOps
from overcast.services.dynamodb.tables import TableOps
from overcast.services.dynamodb.transactions import TransactionOps
from overcast.services.dynamodb.ttl import TtlOps


class DynamoDBProvider(
    StreamOps,
    TtlOps,
    BackupOps,
    PartiqlOps,
    GlobalTableOps,
    ExportOps,
    TableOps,
    QueryOps,
    BatchOps,
    TransactionOps,
    PolicyOps,
    InsightsOps,
):
    service = "dynamodb"
