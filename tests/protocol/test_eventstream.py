"""Event-stream outputs, checked against botocore's own decoder and response parsers.

The framing (``overcast.protocol.eventstream``) is decoded with ``EventStreamBuffer`` (which
verifies both CRCs); the serializers' event-stream answers are read with botocore's response
parser of the operation's protocol, as a client would, for S3 SelectObjectContent (rest-xml),
Kinesis SubscribeToShard (json), Lambda InvokeWithResponseStream (rest-json) and CloudWatch Logs
StartLiveTail (json), plus modeled exceptions and errors raised mid-stream.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from binascii import crc32
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.eventstream import ChecksumMismatch, EventStream, EventStreamBuffer
from botocore.exceptions import EventStreamError
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import create_parser
from urllib3 import HTTPHeaderDict

from overcast.errors import ServiceError, error_class
from overcast.protocol.eventstream import (
    CONTENT_TYPE,
    HeaderType,
    Message,
    Typed,
    encode_message,
    encode_stream,
    error_message,
    event_message,
)
from overcast.protocol.http import HttpResponse
from overcast.protocol.models import service_model
from overcast.protocol.serializers import get_serializer


def _collect(body: bytes | AsyncIterable[bytes]) -> bytes:
    if isinstance(body, bytes):
        return body

    async def read() -> bytes:
        return b"".join([chunk async for chunk in body])

    return asyncio.run(read())


def _decode(data: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


class _Raw:
    """urllib3's response as botocore's EventStream reads it (``stream()``), in small chunks."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        # Odd-sized chunks: messages must survive being split anywhere.
        for i in range(0, len(self._body), 7):
            yield self._body[i : i + 7]


def _parse(response: HttpResponse, operation: OperationModel) -> tuple[dict[str, Any], bytes]:
    """botocore's parse of the answer, the event stream read to a list; and the raw body."""
    headers = HTTPHeaderDict()
    for name, value in response.headers.raw_items():
        headers.add(name, value)
    raw = _collect(response.body)
    wire = {"status_code": response.status, "headers": headers, "body": _Raw(raw)}
    wire["context"] = {"operation_name": operation.name}
    parsed = create_parser(operation.service_model.protocol).parse(wire, operation.output_shape)
    parsed.pop("ResponseMetadata", None)
    return parsed, raw


def _events(stream: EventStream) -> list[Any]:
    return list(stream)


def _serialize(service: str, operation: str, result: dict[str, Any]) -> tuple[HttpResponse, Any]:
    model = service_model(service)
    op = model.operation_model(operation)
    return get_serializer(model.protocol).serialize(result, op, "rid-1"), op


# --- framing ----------------------------------------------------------------------------


def test_message_decodes_with_every_header_type() -> None:
    when = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers = [
        ("t", True),
        ("f", False),
        ("b", Typed(HeaderType.BYTE, -5)),
        ("s", Typed(HeaderType.SHORT, 300)),
        ("i", 70000),
        ("l", 2**40),
        ("bytes", b"\x00\x01"),
        ("str", "héllo"),
        ("ts", when),
        ("id", ident),
    ]
    (message,) = _decode(encode_message(headers, b"payload"))
    assert message.payload == b"payload"
    assert message.headers == {
        "t": True,
        "f": False,
        "b": -5,
        "s": 300,
        "i": 70000,
        "l": 2**40,
        "bytes": b"\x00\x01",
        "str": "héllo",
        "ts": int(when.timestamp() * 1000),
        "id": ident.bytes,
    }


def test_prelude_and_message_crcs() -> None:
    data = encode_message([(":event-type", "Records")], b"abc")
    total, headers_length, prelude_crc = struct.unpack(">III", data[:12])
    assert total == len(data)
    assert headers_length == len(data) - 16 - 3
    assert prelude_crc == crc32(data[:8])
    assert struct.unpack(">I", data[-4:])[0] == crc32(data[:-4])


def test_corrupted_payload_fails_the_message_crc() -> None:
    data = bytearray(encode_message([(":event-type", "Records")], b"abc"))
    data[-5] ^= 0xFF  # last payload byte
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(data))


def test_corrupted_prelude_fails_the_prelude_crc() -> None:
    data = bytearray(encode_message([], b"abc"))
    data[5] ^= 0x01  # headers length
    with pytest.raises(ChecksumMismatch):
        _decode(bytes(data))


def test_invalid_headers_are_refused() -> None:
    with pytest.raises(ValueError, match="header name"):
        encode_message([("x" * 256, "v")])
    with pytest.raises(ValueError, match="does not fit"):
        encode_message([("n", Typed(HeaderType.INTEGER, 2**31))])
    with pytest.raises(ValueError, match="32767"):
        encode_message([("big", "x" * 40000)])
    with pytest.raises(TypeError):
        encode_message([("n", 1.5)])  # type: ignore[list-item]


def test_encode_stream_frames_sync_and_async_sources() -> None:
    messages = [event_message("A", b"1"), event_message("B", b"2", "text/plain")]

    async def source() -> AsyncIterator[Message]:
        for message in messages:
            yield message

    for body in (encode_stream(messages), encode_stream(source())):
        decoded = _decode(_collect(body))
        assert [m.headers[":event-type"] for m in decoded] == ["A", "B"]
        assert [m.payload for m in decoded] == [b"1", b"2"]
        assert decoded[1].headers[":content-type"] == "text/plain"
    (error,) = _decode(error_message("Code", "text").encode())
    assert error.headers == {
        ":message-type": "error",
        ":error-code": "Code",
        ":error-message": "text",
    }


# --- serializers ------------------------------------------------------------------------


def test_s3_select_object_content() -> None:
    result = {
        "Payload": [
            {"Records": {"Payload": b"a,b\n1,2\n"}},
            {"Stats": {"Details": {"BytesScanned": 10, "BytesProcessed": 9, "BytesReturned": 8}}},
            {"Progress": {"Details": {"BytesScanned": 1, "BytesProcessed": 1, "BytesReturned": 0}}},
            {"Cont": {}},
            {"End": {}},
        ]
    }
    response, op = _serialize("s3", "SelectObjectContent", result)
    assert response.headers["content-type"] == CONTENT_TYPE
    parsed, raw = _parse(response, op)
    assert _events(parsed["Payload"]) == result["Payload"]
    messages = _decode(raw)
    assert messages[0].headers[":content-type"] == "application/octet-stream"
    assert messages[1].payload.startswith(b'<Stats xmlns="">')
    assert messages[3].payload == b"" and ":content-type" not in messages[3].headers


def test_kinesis_subscribe_to_shard_starts_with_initial_response() -> None:
    record = {
        "SequenceNumber": "49",
        "ApproximateArrivalTimestamp": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "Data": b"\x00data",
        "PartitionKey": "pk",
    }
    event = {
        "SubscribeToShardEvent": {
            "Records": [record],
            "ContinuationSequenceNumber": "50",
            "MillisBehindLatest": 0,
        }
    }

    async def events() -> AsyncIterator[dict[str, Any]]:
        # Providers stream: events come from an async generator, not a list.
        yield event
        yield event

    response, op = _serialize("kinesis", "SubscribeToShard", {"EventStream": events()})
    assert not isinstance(response.body, bytes)
    parsed, raw = _parse(response, op)
    assert _events(parsed["EventStream"]) == [event, event]
    first = _decode(raw)[0]
    assert first.headers[":event-type"] == "initial-response"
    assert first.payload == b"{}"


def test_json_stream_without_events_still_has_the_initial_response() -> None:
    response, op = _serialize("kinesis", "SubscribeToShard", {})
    parsed, raw = _parse(response, op)
    assert _events(parsed["EventStream"]) == []
    assert [m.headers[":event-type"] for m in _decode(raw)] == ["initial-response"]


def test_lambda_invoke_with_response_stream() -> None:
    result = {
        "StatusCode": 200,
        "ExecutedVersion": "$LATEST",
        "EventStream": [
            {"PayloadChunk": {"Payload": b'{"partial":'}},
            {"PayloadChunk": {"Payload": b"1}"}},
            {"InvokeComplete": {"LogResult": "bG9n"}},
        ],
    }
    response, op = _serialize("lambda", "InvokeWithResponseStream", result)
    parsed, _ = _parse(response, op)
    assert parsed["StatusCode"] == 200
    assert parsed["ExecutedVersion"] == "$LATEST"
    assert parsed["ResponseStreamContentType"] == CONTENT_TYPE
    assert _events(parsed["EventStream"]) == result["EventStream"]


def test_logs_start_live_tail() -> None:
    update = {
        "sessionUpdate": {
            "sessionMetadata": {"sampled": False},
            "sessionResults": [
                {
                    "logStreamName": "s",
                    "logGroupIdentifier": "g",
                    "message": "hello",
                    "timestamp": 1700000000000,
                    "ingestionTime": 1700000000001,
                }
            ],
        }
    }
    result = {
        "responseStream": [
            {"sessionStart": {"requestId": "r", "sessionId": "s", "logGroupIdentifiers": ["g"]}},
            update,
        ]
    }
    response, op = _serialize("logs", "StartLiveTail", result)
    parsed, _ = _parse(response, op)
    assert _events(parsed["responseStream"]) == result["responseStream"]


def test_modeled_exception_event() -> None:
    events = [
        {"sessionStart": {"sessionId": "s"}},
        {"SessionTimeoutException": {"message": "late"}},
    ]
    response, op = _serialize("logs", "StartLiveTail", {"responseStream": events})
    parsed, raw = _parse(response, op)
    stream = iter(parsed["responseStream"])
    assert next(stream) == {"sessionStart": {"sessionId": "s"}}
    with pytest.raises(EventStreamError) as caught:
        next(stream)
    assert caught.value.response["Error"] == {"Code": "SessionTimeoutException", "Message": "late"}
    last = _decode(raw)[-1]
    assert last.headers[":message-type"] == "exception"
    assert last.headers[":exception-type"] == "SessionTimeoutException"


def _failing(error: Exception) -> AsyncIterator[dict[str, Any]]:
    async def events() -> AsyncIterator[dict[str, Any]]:
        yield {"PayloadChunk": {"Payload": b"x"}}
        raise error

    return events()


def test_service_error_raised_mid_stream() -> None:
    # Modeled in the stream union (Kinesis): an exception message; not modeled: an error one.
    modeled = error_class("ResourceInUseException")("busy")

    async def kinesis_events() -> AsyncIterator[dict[str, Any]]:
        raise modeled
        yield {}

    response, op = _serialize("kinesis", "SubscribeToShard", {"EventStream": kinesis_events()})
    parsed, _ = _parse(response, op)
    with pytest.raises(EventStreamError) as caught:
        _events(parsed["EventStream"])
    assert caught.value.response["Error"] == {"Code": "ResourceInUseException", "Message": "busy"}

    unmodeled: ServiceError = error_class("ThrottlingException")("slow down")
    response, op = _serialize(
        "lambda", "InvokeWithResponseStream", {"EventStream": _failing(unmodeled)}
    )
    parsed, _ = _parse(response, op)
    stream = iter(parsed["EventStream"])
    assert next(stream) == {"PayloadChunk": {"Payload": b"x"}}
    with pytest.raises(EventStreamError) as caught:
        next(stream)
    assert caught.value.response["Error"] == {"Code": "ThrottlingException", "Message": "slow down"}


def test_unexpected_failure_ends_the_stream_with_an_internal_failure() -> None:
    response, op = _serialize(
        "lambda", "InvokeWithResponseStream", {"EventStream": _failing(RuntimeError("boom"))}
    )
    _, raw = _parse(response, op)
    last = _decode(raw)[-1]
    assert last.headers[":message-type"] == "error"
    assert last.headers[":error-code"] == "InternalFailure"


def _synthetic(protocol: str) -> OperationModel:
    """A small model with typed event headers, for protocols no botocore service streams in."""
    payload = {"payload": "Stream"} if protocol.startswith("rest") else {}
    model = ServiceModel(
        {
            "metadata": {
                "protocol": protocol,
                "protocols": [protocol],
                "apiVersion": "2024-01-01",
                "jsonVersion": "1.0",
                "targetPrefix": "Svc",
                "endpointPrefix": "svc",
            },
            "operations": {
                "Watch": {
                    "name": "Watch",
                    "http": {"method": "POST", "requestUri": "/"},
                    "output": {"shape": "WatchOutput"},
                }
            },
            "shapes": {
                "WatchOutput": {
                    "type": "structure",
                    "members": {"Id": {"shape": "Str"}, "Stream": {"shape": "Events"}},
                    **payload,
                },
                "Events": {
                    "type": "structure",
                    "eventstream": True,
                    "members": {"Tick": {"shape": "Tick"}},
                },
                "Tick": {
                    "type": "structure",
                    "event": True,
                    "members": {
                        "Count": {"shape": "Long", "eventheader": True},
                        "At": {"shape": "Time", "eventheader": True},
                        "Ok": {"shape": "Bool", "eventheader": True},
                        "Note": {"shape": "Str"},
                        "When": {"shape": "Time"},
                    },
                },
                "Str": {"type": "string"},
                "Long": {"type": "long"},
                "Bool": {"type": "boolean"},
                "Time": {"type": "timestamp"},
            },
        }
    )
    return model.operation_model("Watch")


@pytest.mark.parametrize("protocol", ["json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor"])
def test_event_headers_and_body_members(protocol: str) -> None:
    at = datetime(2024, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
    tick = {"Count": 3, "At": at, "Ok": True, "Note": "n", "When": datetime(2024, 1, 2, tzinfo=UTC)}
    op = _synthetic(protocol)
    result = {"Id": "abc", "Stream": [{"Tick": tick}]}
    parsed, raw = _parse(get_serializer(protocol).serialize(result, op, "rid"), op)
    assert _events(parsed["Stream"]) == [{"Tick": tick}]
    if not protocol.startswith("rest"):  # RPC protocols: the other members are the first event
        assert parsed["Id"] == "abc"
    message = _decode(raw)[-1]
    assert message.headers["Count"] == 3 and message.headers["At"] == 1704067201500
