"""DynamoDB's provider: composes the operation mixins of this package."""

from __future__ import annotations

from overcast.services.base import Provider


class DynamoDBProvider(Provider):
    service = "dynamodb"
