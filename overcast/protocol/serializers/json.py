"""The awsJson 1.0/1.1 response serializer and the shape-driven value encoder it shares.

``ValueEncoder`` compiles, once per shape, a converter from the provider's value to what the
wire encoder takes: member names replaced by their ``locationName``, ``None`` members dropped,
timestamps and blobs encoded, members bound to HTTP headers left out. Scalars that need no change
have no converter at all, so plain strings and numbers cost nothing. The codec hooks decide how
timestamps, blobs and floats look: JSON (epoch seconds, base64, "NaN" strings) or CBOR (tag 1
datetimes, raw bytes, real floats).

An output with an event-stream member is answered as ``application/vnd.amazon.eventstream``: an
``initial-response`` event holding the other members, then the provider's events (``events.py``).

Errors are ``{"__type": code, "message": text, ...fields}`` with ``x-amzn-ErrorType``; an
awsQueryCompatible service (SQS) adds ``x-amzn-query-error: <query code>;Sender|Receiver`` so
SDKs map the error back to the code its old query protocol used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from overcast.protocol.dialects import dialect_for
from overcast.protocol.eventstream import CONTENT_TYPE as EVENT_STREAM_TYPE
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import (
    BaseResponseSerializer,
    ErrorInfo,
    b64,
    message_member,
    resolve_error,
    special_float,
    timestamp_formatter,
)
from overcast.protocol.serializers.events import (
    EventCodec,
    EventStreamEncoder,
    initial_response,
    stream_value,
)
from overcast.protocol.timestamps import ISO8601, UNIX, format_timestamp

try:  # orjson is several times faster; the stdlib encoder is the fallback
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

    from overcast.errors import ServiceError

Convert = Callable[[Any], Any]

_REST_LOCATIONS = frozenset({"header", "headers", "statusCode"})


def _fallback(value: Any) -> Any:
    """Values JSON has no type for, as found in documents (Decimal from DynamoDB code...)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return format_timestamp(value, ISO8601)
    if isinstance(value, bytes | bytearray):
        return b64(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (orjson when installed; it rejects ints beyond 64 bits)."""
    if orjson is not None:
        try:
            return orjson.dumps(value, default=_fallback)
        except TypeError:
            pass
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_fallback).encode(
        "utf-8"
    )


class ValueEncoder:
    """Per-shape converters from provider values to JSON/CBOR-ready values (cached)."""

    def __init__(self, timestamp_format: str = UNIX) -> None:
        self._timestamp_format = timestamp_format
        self._cache: dict[int, tuple[Shape, Convert | None]] = {}

    # Codec hooks (JSON by default; the CBOR encoder overrides them).
    def timestamp(self, shape: Shape) -> Convert:
        return timestamp_formatter(
            shape.serialization.get("timestampFormat") or self._timestamp_format
        )

    def blob(self, shape: Shape) -> Convert | None:
        return b64

    def floating(self, shape: Shape) -> Convert | None:
        return special_float

    def converter(self, shape: Shape, as_is: frozenset[str] = frozenset()) -> Convert | None:
        """The converter of ``shape``'s values, or None when values go on the wire as they are.

        ``as_is``: names of the service's structure shapes whose values go out unconverted
        (``ServiceDialect.json_as_is``); the shapes are the service's own, so caching by shape
        holds.
        """
        hit = self._cache.get(id(shape))
        if hit is not None:
            return hit[1]
        fn = self._compile(shape, as_is)
        self._cache[id(shape)] = (shape, fn)  # keeps the shape alive so its id stays unique
        return fn

    def encode(self, shape: Shape, value: Any, as_is: frozenset[str] = frozenset()) -> Any:
        fn = self.converter(shape, as_is)
        return value if fn is None else fn(value)

    def _compile(self, shape: Shape, as_is: frozenset[str] = frozenset()) -> Convert | None:
        kind = shape.type_name
        if kind == "structure":
            if shape.is_document_type or shape.name in as_is:  # type: ignore[attr-defined]
                return None
            return self._compile_structure(shape, as_is)  # type: ignore[arg-type]
        if kind == "list":
            item = self.converter(shape.member, as_is)  # type: ignore[attr-defined]
            if item is None:
                return None
            return lambda v: [None if x is None else item(x) for x in v]
        if kind == "map":
            val = self.converter(shape.value, as_is)  # type: ignore[attr-defined]
            if val is None:
                return None
            return lambda v: {k: None if x is None else val(x) for k, x in v.items()}
        if kind == "timestamp":
            return self.timestamp(shape)
        if kind == "blob":
            return self.blob(shape)
        if kind in ("float", "double"):
            return self.floating(shape)
        return None

    def _compile_structure(self, shape: StructureShape, as_is: frozenset[str]) -> Convert:
        # member name -> (wire name, converter); built on first use so recursive shapes end.
        plans: list[dict[str, tuple[str, Convert | None]]] = []

        def convert_structure(value: Mapping[str, Any]) -> dict[str, Any]:
            if not plans:
                plans.append({n: (k, fn) for n, k, fn in self.structure_plan(shape, as_is)})
            plan = plans[0]
            out: dict[str, Any] = {}
            # Walk the value, not the model: values are sparse (a DynamoDB AttributeValue sets
            # one of ten members). Keys the model does not know are dropped.
            for name, item in value.items():
                if item is not None:
                    entry = plan.get(name)
                    if entry is not None:
                        fn = entry[1]
                        out[entry[0]] = item if fn is None else fn(item)
            return out

        return convert_structure

    def structure_plan(
        self, shape: StructureShape, as_is: frozenset[str] = frozenset()
    ) -> list[tuple[str, str, Convert | None]]:
        """(member name, wire name, converter) of each body member."""
        return [
            (name, member.serialization.get("name", name), self.converter(member, as_is))
            for name, member in shape.members.items()
            if member.serialization.get("location") not in _REST_LOCATIONS
        ]


def error_document(
    encoder: ValueEncoder, info: ErrorInfo, error: ServiceError, default_message_key: str
) -> dict[str, Any]:
    """The error's body members: its message and extra fields, encoded by the error shape."""
    doc: dict[str, Any] = {}
    fields = {k: v for k, v in error.fields.items() if k.lower() != "message"}
    if info.shape is not None:
        doc.update(encoder.encode(info.shape, fields))
        doc.update({k: v for k, v in fields.items() if k not in info.shape.members})
    else:
        doc.update(fields)
    doc[message_member(info.shape, default_message_key)] = error.error_message
    return doc


def event_stream_response(
    events: EventStreamEncoder, shape: StructureShape, result: dict[str, Any], request_id: str
) -> HttpResponse:
    """An RPC (awsJson, RPC v2 CBOR) event-stream answer: initial-response, then the events."""
    name = shape.event_stream_name
    first = initial_response(events.codec, shape, result)
    body = events.stream(shape.members[name], stream_value(result, name), first)  # type: ignore[arg-type]
    headers = Headers([("Content-Type", EVENT_STREAM_TYPE), ("x-amzn-RequestId", request_id)])
    return HttpResponse(status=200, headers=headers, body=body)


def query_error_header(headers: Headers, info: ErrorInfo, service_model: ServiceModel) -> None:
    """awsQueryCompatible services name the legacy query code in ``x-amzn-query-error``."""
    if "awsQueryCompatible" in service_model.metadata:
        headers.add("x-amzn-query-error", f"{info.query_code};{info.fault}")


class JsonSerializer(BaseResponseSerializer):
    protocol = "json"

    def __init__(self) -> None:
        self.encoder = ValueEncoder()
        self.events = EventStreamEncoder(EventCodec("application/json", self._event_document))

    def _event_document(self, shape: Shape, value: Any, root: str) -> bytes:
        return dumps(self.encoder.encode(shape, value))

    def content_type_for(self, service_model: ServiceModel) -> str:
        return f"application/x-amz-json-{service_model.metadata.get('jsonVersion', '1.0')}"

    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        if shape is not None and operation.has_event_stream_output:
            return event_stream_response(self.events, shape, result, request_id)
        if shape is None:
            body = b"{}"
        else:
            # Shapes the dialect sends as they are: ``dumps`` base64-encodes their bytes.
            as_is = dialect_for(operation.service_model).json_as_is
            body = dumps(self.encoder.encode(shape, result, as_is))
        headers = Headers([("Content-Type", self.content_type_for(operation.service_model))])
        headers.add("x-amzn-RequestId", request_id)
        return self.finish(200, headers, body)

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        info = resolve_error(error, service_model)
        doc = {"__type": info.code, **error_document(self.encoder, info, error, "message")}
        headers = Headers([("Content-Type", self.content_type_for(service_model))])
        headers.add("x-amzn-RequestId", request_id)
        headers.add("x-amzn-ErrorType", info.code)
        query_error_header(headers, info, service_model)
        self.error_headers(headers, error)
        return self.finish(info.status, headers, dumps(doc))
