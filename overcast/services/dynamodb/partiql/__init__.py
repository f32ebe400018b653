"""DynamoDB's PartiQL: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction."""

from overcast.services.dynamodb.partiql.ops import PartiqlOps

__all__ = ["PartiqlOps"]
