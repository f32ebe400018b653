"""S3's EventBridge events wait in the store while nothing subscribes to events.event.put, and
are put on the bus, oldest first, once something does (EventBridge is not implemented yet)."""

from __future__ import annotations

import asyncio
from typing import Any

from overcast import events
from overcast.gateway.app import create_app
from overcast.services.s3.events_out import captured
from overcast.settings import Settings


def _payload(key: str) -> dict[str, Any]:
    return {
        "account_id": "000000000000", "region": "us-east-1", "bucket": "bkt", "key": key,
        "size": 1, "etag": '"e"', "version_id": None, "sequencer": "00", "time": 0.0,
        "event_name": "ObjectCreated:Put", "request_id": "r", "source_ip": "1.2.3.4",
        "principal_id": "AWS:x", "requester": "000000000000", "base_url": "",
    }  # fmt: skip


def test_pending_until_eventbridge_listens() -> None:
    async def run() -> tuple[list[dict[str, Any]], list[events.Event], list[dict[str, Any]]]:
        env = create_app(Settings(data_dir=None)).env
        await env.events.start()
        s3: Any = env.registry.provider("s3")
        for key in ("first", "second"):
            env.store.write(lambda c, k=key: s3._to_eventbridge(c, p=_payload(k)))
        before = captured(env.store, "eventbridge")
        got: list[events.Event] = []

        async def handler(event: events.Event) -> None:
            got.append(event)

        env.events.subscribe(events.EVENTS_EVENT_PUT, handler, name="test.eventbridge")
        env.store.write(s3._hand_to_eventbridge)
        await env.events.drain()
        after = captured(env.store, "eventbridge")
        await env.events.stop()
        return before, got, after

    before, got, after = asyncio.run(run())
    assert [e["pending"] for e in before] == [True, True]
    assert [e.payload["event"]["detail"]["object"]["key"] for e in got] == ["first", "second"]
    assert got[0].payload["event_bus_name"] == "default"
    assert got[0].payload["event"]["source"] == "aws.s3"
    assert [e["pending"] for e in after] == [False, False]
