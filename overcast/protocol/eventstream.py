"""The AWS event stream binary framing (``application/vnd.amazon.eventstream``), encoding side.

An event stream is a sequence of messages. Each message is::

    prelude:  total length (uint32) | headers length (uint32) | CRC32 of those 8 bytes (uint32)
    headers:  name length (uint8) | name (UTF-8) | value type (uint8) | value
    payload:  raw bytes
    trailer:  CRC32 of everything above (uint32)

all big-endian. Header values are typed: booleans carry no value bytes (the type is the value),
integers are fixed-width two's complement, byte arrays and strings have a uint16 length prefix,
timestamps are int64 milliseconds since the epoch, UUIDs are 16 raw bytes.

``encode_message`` frames one message; ``event_message``, ``exception_message`` and
``error_message`` build the three message kinds services send; ``encode_stream`` frames a whole
(sync or async) sequence of messages as an async iterator of chunks, the shape of a streaming
``HttpResponse`` body.
"""

from __future__ import annotations

import struct
import uuid
from binascii import crc32
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

CONTENT_TYPE = "application/vnd.amazon.eventstream"

# Limits the decoders enforce (botocore rejects larger headers and payloads outright); checking
# here turns a client-side "malformed stream" into a server-side error that names the cause.
MAX_HEADERS_LENGTH = 128 * 1024
MAX_PAYLOAD_LENGTH = 24 * 1024 * 1024
_MAX_HEADER_NAME = 255  # uint8 length prefix
_MAX_HEADER_BYTES = 0x7FFF  # uint16 length prefix; the spec keeps it to a signed short
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")


class HeaderType(IntEnum):
    """The wire type codes of header values."""

    TRUE = 0
    FALSE = 1
    BYTE = 2
    SHORT = 3
    INTEGER = 4
    LONG = 5
    BYTES = 6
    STRING = 7
    TIMESTAMP = 8
    UUID = 9


@dataclass(frozen=True, slots=True)
class Typed:
    """A header value with an explicit wire type (an int that must travel as a long...)."""

    type: HeaderType
    value: Any


HeaderValue = bool | int | str | bytes | datetime | uuid.UUID | Typed
_INT_FORMATS = {
    HeaderType.BYTE: struct.Struct(">b"),
    HeaderType.SHORT: struct.Struct(">h"),
    HeaderType.INTEGER: struct.Struct(">i"),
    HeaderType.LONG: struct.Struct(">q"),
    HeaderType.TIMESTAMP: struct.Struct(">q"),
}


def _infer(value: Any) -> Typed:
    # bool before int: bool is an int subclass.
    if isinstance(value, Typed):
        return value
    if isinstance(value, bool):
        return Typed(HeaderType.TRUE if value else HeaderType.FALSE, value)
    if isinstance(value, int):
        fits = -(2**31) <= value < 2**31
        return Typed(HeaderType.INTEGER if fits else HeaderType.LONG, value)
    if isinstance(value, str):
        return Typed(HeaderType.STRING, value)
    if isinstance(value, bytes | bytearray | memoryview):
        return Typed(HeaderType.BYTES, bytes(value))
    if isinstance(value, datetime):
        return Typed(HeaderType.TIMESTAMP, value)
    if isinstance(value, uuid.UUID):
        return Typed(HeaderType.UUID, value)
    raise TypeError(f"no event stream header type for {type(value).__name__}")


def _millis(value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return round(value.timestamp() * 1000)
    return int(value)  # a bare number is already epoch milliseconds, as on the wire


def encode_header(name: str, value: HeaderValue) -> bytes:
    """One header: name length, name, type code, value bytes."""
    raw_name = name.encode("utf-8")
    if not raw_name or len(raw_name) > _MAX_HEADER_NAME:
        raise ValueError(f"event stream header name must be 1-255 bytes: {name!r}")
    typed = _infer(value)
    kind = HeaderType(typed.type)
    if kind in (HeaderType.TRUE, HeaderType.FALSE):
        # The boolean's value is its type; a Typed(TRUE/FALSE) with a contrary value wins.
        if isinstance(typed.value, bool):
            kind = HeaderType.TRUE if typed.value else HeaderType.FALSE
        body = b""
    elif kind in _INT_FORMATS:
        number = _millis(typed.value) if kind is HeaderType.TIMESTAMP else int(typed.value)
        try:
            body = _INT_FORMATS[kind].pack(number)
        except struct.error as exc:
            raise ValueError(f"header {name!r}: {number} does not fit a {kind.name}") from exc
    elif kind in (HeaderType.BYTES, HeaderType.STRING):
        data = typed.value
        if isinstance(data, str):
            data = data.encode("utf-8")
        data = bytes(data)
        if len(data) > _MAX_HEADER_BYTES:
            raise ValueError(f"header {name!r} value is {len(data)} bytes (max 32767)")
        body = struct.pack(">H", len(data)) + data
    else:  # UUID
        v = typed.value
        body = v.bytes if isinstance(v, uuid.UUID) else uuid.UUID(str(v)).bytes
    return bytes((len(raw_name),)) + raw_name + bytes((kind,)) + body


def encode_headers(headers: Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]]) -> bytes:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return b"".join(encode_header(name, value) for name, value in items)


def encode_message(
    headers: Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]], payload: bytes = b""
) -> bytes:
    """One framed message: prelude, its CRC, headers, payload, message CRC."""
    raw_headers = encode_headers(headers)
    if len(raw_headers) > MAX_HEADERS_LENGTH:
        raise ValueError(f"event stream headers are {len(raw_headers)} bytes (max 128 KiB)")
    if len(payload) > MAX_PAYLOAD_LENGTH:
        raise ValueError(f"event stream payload is {len(payload)} bytes (max 24 MiB)")
    total = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    prelude_crc = crc32(prelude)
    head = prelude + _CRC.pack(prelude_crc)
    # The message CRC covers the prelude and its CRC too: continue from the prelude's CRC state.
    message_crc = crc32(payload, crc32(raw_headers, crc32(_CRC.pack(prelude_crc), prelude_crc)))
    return b"".join((head, raw_headers, payload, _CRC.pack(message_crc)))


@dataclass(slots=True)
class Message:
    """One message before framing; ``headers`` keep their order on the wire."""

    headers: list[tuple[str, HeaderValue]] = field(default_factory=list)
    payload: bytes = b""

    def encode(self) -> bytes:
        return encode_message(self.headers, self.payload)


def event_message(
    event_type: str,
    payload: bytes = b"",
    content_type: str | None = None,
    headers: Iterable[tuple[str, HeaderValue]] = (),
) -> Message:
    """An ``event`` message; ``headers`` are the event's own (modeled ``eventheader``) ones."""
    out: list[tuple[str, HeaderValue]] = [(":message-type", "event"), (":event-type", event_type)]
    if content_type is not None:
        out.append((":content-type", content_type))
    out.extend(headers)
    return Message(out, payload)


def exception_message(exception_type: str, payload: bytes, content_type: str) -> Message:
    """A modeled exception of the stream (a member of the stream union marked as exception)."""
    return Message(
        [
            (":message-type", "exception"),
            (":exception-type", exception_type),
            (":content-type", content_type),
        ],
        payload,
    )


def error_message(code: str, message: str) -> Message:
    """An unmodeled error: code and message travel in headers, the payload is empty."""
    return Message([(":message-type", "error"), (":error-code", code), (":error-message", message)])


async def encode_stream(
    messages: Iterable[Message | bytes] | AsyncIterable[Message | bytes],
) -> AsyncIterator[bytes]:
    """Frame each message as it comes (already framed bytes pass through): one chunk apiece."""
    if isinstance(messages, AsyncIterable):
        async for message in messages:
            yield message if isinstance(message, bytes) else message.encode()
    else:
        for message in messages:
            yield message if isinstance(message, bytes) else message.encode()
