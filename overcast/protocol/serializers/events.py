"""Event-stream outputs: a provider's events as framed ``vnd.amazon.eventstream`` messages.

An operation's output may have one member whose shape is an event stream (a union of event
structures, S3 SelectObjectContent's ``Payload``, Kinesis SubscribeToShard's ``EventStream``).
The provider returns that member as a list or an (async) iterable of events, each
``{EventName: {members}}``. ``EventStreamEncoder`` turns each event into one message:

- members marked ``eventheader`` become typed message headers (named by the member);
- a member marked ``eventpayload`` is the whole payload: a blob or string raw, a structure
  encoded in the protocol's body format;
- otherwise the event's other members are encoded together as the protocol's body document;
- an event whose member is a modeled exception (``exception`` trait) becomes an ``exception``
  message; a ``ServiceError`` raised while iterating ends the stream with the matching exception
  message, or an ``error`` message when the stream does not model it.

The protocol supplies the body codec (``EventCodec``): JSON, XML or CBOR. The awsJson and RPC v2
CBOR protocols put the output's other members in a first ``initial-response`` event
(``initial_response``); rest protocols bind them to HTTP as usual.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from overcast.errors import ServiceError
from overcast.protocol.eventstream import (
    HeaderType,
    HeaderValue,
    Message,
    Typed,
    error_message,
    event_message,
    exception_message,
)
from overcast.protocol.serializers.base import as_bytes, message_member
from overcast.protocol.timestamps import to_datetime

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

log = logging.getLogger("overcast.protocol.eventstream")

# (shape, value, root element name) -> the encoded document; JSON and CBOR ignore the root name.
EncodeDocument = Callable[["Shape", Any, str], bytes]

_HEADER_TYPES = {
    "byte": HeaderType.BYTE,
    "short": HeaderType.SHORT,
    "integer": HeaderType.INTEGER,
    "long": HeaderType.LONG,
    "blob": HeaderType.BYTES,
    "string": HeaderType.STRING,
    "timestamp": HeaderType.TIMESTAMP,
}


@dataclass(frozen=True, slots=True)
class EventCodec:
    """How one protocol writes the documents inside events."""

    content_type: str
    encode: EncodeDocument


@dataclass(slots=True)
class EventPlan:
    """Where each member of one event (or exception) structure goes."""

    shape: StructureShape
    exception: bool
    headers: list[tuple[str, Callable[[Any], HeaderValue]]] = field(default_factory=list)
    payload: str | None = None
    payload_shape: Shape | None = None
    body: bool = False  # the event has body members, so it always carries a document


def _header_value(shape: Shape) -> Callable[[Any], HeaderValue]:
    """How a member value becomes a typed header value (the model fixes int vs long)."""
    kind = shape.type_name
    if kind == "boolean":
        return bool
    wire = _HEADER_TYPES.get(kind)
    if wire is None:  # floats, documents...: not header types; send their text
        return str
    if wire is HeaderType.BYTES:
        return lambda v: Typed(wire, as_bytes(v))
    if wire is HeaderType.STRING:
        return lambda v: Typed(wire, str(v))
    if wire is HeaderType.TIMESTAMP:
        # Providers give timestamps as datetimes or epoch seconds; the header holds milliseconds.
        return lambda v: Typed(wire, to_datetime(v))
    return lambda v: Typed(wire, v)


def event_plan(shape: StructureShape) -> EventPlan:
    plan = EventPlan(shape, exception=bool(shape.metadata.get("exception")))
    for name, member in shape.members.items():
        ser = member.serialization
        if ser.get("eventheader"):
            plan.headers.append((name, _header_value(member)))
        elif ser.get("eventpayload"):
            plan.payload, plan.payload_shape = name, member
        else:
            plan.body = True
    if plan.payload is not None:
        plan.body = False  # an explicit payload is the whole body
    return plan


class EventStreamEncoder:
    """The events of one protocol, encoded against the stream's union shape (plans cached)."""

    def __init__(self, codec: EventCodec) -> None:
        self.codec = codec
        self._plans: dict[int, tuple[Shape, dict[str, EventPlan]]] = {}

    def plans(self, stream: StructureShape) -> dict[str, EventPlan]:
        hit = self._plans.get(id(stream))
        if hit is not None:
            return hit[1]
        plans = {name: event_plan(member) for name, member in stream.members.items()}  # type: ignore[arg-type]
        self._plans[id(stream)] = (stream, plans)  # keeps the shape alive so its id stays unique
        return plans

    def message(self, stream: StructureShape, event: Mapping[str, Any]) -> Message:
        """The message of one ``{EventName: {members}}`` event."""
        if len(event) != 1:
            raise ValueError(f"an event names exactly one event type, got {sorted(event)}")
        ((name, value),) = event.items()
        plan = self.plans(stream).get(name)
        if plan is None:
            raise ValueError(f"{stream.name} has no event {name!r}")
        value = value or {}
        if plan.exception:
            return self._exception(plan, name, value)
        headers: list[tuple[str, HeaderValue]] = []
        for member, convert in plan.headers:
            item = value.get(member)
            if item is not None:
                headers.append((member, convert(item)))
        if plan.payload is not None:
            assert plan.payload_shape is not None
            member = value.get(plan.payload)
            payload, content_type = self._payload(plan.payload_shape, member, name)
            return event_message(name, payload, content_type, headers)
        if plan.body:
            skip = {member for member, _ in plan.headers}
            body = {k: v for k, v in value.items() if k not in skip}
            document = self.codec.encode(plan.shape, body, name)
            return event_message(name, document, self.codec.content_type, headers)
        # Events without members (S3's Cont and End) carry no payload at all.
        return event_message(name, b"", None, headers)

    def _payload(self, shape: Shape, value: Any, event: str) -> tuple[bytes, str | None]:
        # A structure payload's document is named by the event (S3's <Stats>, <Progress>).
        kind = shape.type_name
        if kind == "blob":
            return (b"" if value is None else as_bytes(value)), "application/octet-stream"
        if kind == "string":
            return (b"" if value is None else as_bytes(value)), "text/plain"
        if value is None:
            return b"", None
        return self.codec.encode(shape, value, event), self.codec.content_type

    def _exception(self, plan: EventPlan, name: str, value: Mapping[str, Any]) -> Message:
        document = self.codec.encode(plan.shape, value, name)
        return exception_message(name, document, self.codec.content_type)

    def error(self, stream: StructureShape, error: ServiceError) -> Message:
        """A ``ServiceError`` raised mid-stream: the modeled exception if the stream has it."""
        plan = self.plans(stream).get(error.error_code)
        if plan is None or not plan.exception:
            return error_message(error.error_code, error.error_message)
        fields = dict(error.fields)
        fields[message_member(plan.shape, "message")] = error.error_message
        return self._exception(plan, error.error_code, fields)

    async def stream(
        self,
        stream: StructureShape,
        events: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]] | None,
        first: Message | None = None,
    ) -> AsyncIterator[bytes]:
        """The framed messages of ``events`` (after ``first``, the initial response)."""
        if first is not None:
            yield first.encode()
        if events is None:
            return
        try:
            if isinstance(events, AsyncIterable):
                async for event in events:
                    yield self.message(stream, event).encode()
            else:
                for event in events:
                    yield self.message(stream, event).encode()
        except ServiceError as exc:
            # The 200 and its headers are gone: the stream itself must carry the error, and it
            # ends the stream as AWS's do.
            yield self.error(stream, exc).encode()
        except Exception:
            log.exception("event stream of %s failed", stream.name)
            yield error_message("InternalFailure", "The event stream failed.").encode()
        finally:
            closer = getattr(events, "aclose", None)
            if closer is not None:
                await closer()


def initial_response(
    codec: EventCodec, shape: StructureShape, result: Mapping[str, Any]
) -> Message:
    """awsJson / RPC v2 CBOR: the first event carries the output's non-stream members."""
    stream = shape.event_stream_name
    rest = {k: v for k, v in result.items() if k != stream}
    document = codec.encode(shape, rest, shape.name)
    return event_message("initial-response", document, codec.content_type)


def stream_value(result: Mapping[str, Any], name: str) -> Any:
    """The stream member's events; a provider may hand over a generator, a list or nothing."""
    value = result.get(name)
    if isinstance(value, Mapping):
        return [value]  # one lone event, not wrapped in a list
    return value
