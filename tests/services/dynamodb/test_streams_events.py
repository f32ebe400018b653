"""DynamoDB stream records published on the event bus (what Lambda event source mappings
consume): one event per change, committed with the write, in Lambda's record format."""

from __future__ import annotations

import asyncio
from typing import Any

from overcast import events
from overcast.gateway.app import create_app
from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpRequest
from overcast.settings import Settings


def _ctx(env: Any) -> RequestContext:
    return RequestContext(
        request=HttpRequest("POST", "/"), request_id="r", env=env, started=0.0, region="us-east-1"
    )


def test_item_changes_are_published_for_lambda() -> None:
    async def run() -> list[events.Event]:
        env = create_app(Settings(data_dir=None)).env
        await env.events.start()
        got: list[events.Event] = []

        async def handler(event: events.Event) -> None:
            got.append(event)

        env.events.subscribe(events.DYNAMODB_ITEM_CHANGED, handler, name="test.ddb")
        ddb: Any = env.registry.provider("dynamodb")
        ctx = _ctx(env)
        ddb.create_table(
            ctx,
            {
                "TableName": "events-table",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            },
        )
        for item in (
            {"pk": {"S": "a"}, "b": {"B": b"\x01"}},
            {"pk": {"S": "a"}, "b": {"B": b"\x01"}},
        ):
            result = ddb.put_item(ctx, {"TableName": "events-table", "Item": item})
            if asyncio.iscoroutine(result):
                await result
        await env.events.drain()
        await env.events.stop()
        return got

    got = asyncio.run(run())
    assert len(got) == 1  # the identical second put changed nothing
    payload = got[0].payload
    assert payload["table_name"] == "events-table"
    assert payload["event_name"] == "INSERT"
    assert payload["keys"] == {"pk": {"S": "a"}}
    assert payload["new_image"]["b"] == {"B": "AQ=="}
    record = payload["record"]
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == payload["stream_arn"]
    assert record["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "b": {"B": "AQ=="}}
    assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
    assert record["dynamodb"]["SequenceNumber"] == payload["sequence_number"]
