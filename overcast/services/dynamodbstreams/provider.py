"""DynamoDB Streams' provider."""

from __future__ import annotations

from overcast.services.base import Provider


class DynamoDBStreamsProvider(Provider):
    service = "dynamodbstreams"
