"""The HTTP binding of the rest protocols: status code, headers and payload.

``RestSerializer`` is the base of the rest-json and rest-xml serializers. It binds the output
members the model places in HTTP (``location: statusCode / header / headers``), picks the body
(a blob/string payload member as raw bytes or an async stream, an event-stream payload as framed
events, a structure payload, or the remaining members as a document) and leaves the document
encoding to its subclass. The binding plan of each shape is computed once and cached.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from overcast.protocol.eventstream import CONTENT_TYPE as EVENT_STREAM_TYPE
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import BaseResponseSerializer, b64, float_text
from overcast.protocol.serializers.events import EventStreamEncoder, stream_value
from overcast.protocol.timestamps import RFC822, format_timestamp

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape, StructureShape

HeaderText = Callable[[Any], str]


@dataclass(slots=True)
class RestPlan:
    """Where each member of one output (or error) shape goes."""

    status_member: str | None = None
    headers: list[tuple[str, str, HeaderText]] = field(default_factory=list)
    header_maps: list[tuple[str, str]] = field(default_factory=list)  # (member, prefix)
    payload: str | None = None
    payload_shape: Shape | None = None
    raw_payload: bool = False  # a blob/string payload: the body is the value itself
    event_stream: bool = False  # an event-stream payload: the body is framed events
    body_members: frozenset[str] = frozenset()  # members encoded in a body document
    # member -> (header, text): built at first use from ``headers``.
    header_index: dict[str, tuple[str, HeaderText]] | None = None


def header_text(shape: Shape) -> HeaderText:
    """How a value of ``shape`` is written as one header value."""
    kind = shape.type_name
    if kind == "timestamp":
        fmt = shape.serialization.get("timestampFormat") or RFC822
        return lambda v: str(format_timestamp(v, fmt))
    if kind == "boolean":
        return lambda v: ("true" if v else "false") if isinstance(v, bool) else str(v).lower()
    if kind in ("float", "double"):
        return float_text
    if kind == "blob":
        return b64
    if kind == "list":
        item = header_text(shape.member)  # type: ignore[attr-defined]
        quote = shape.member.type_name == "string"  # type: ignore[attr-defined]
        return lambda v: ",".join(
            _quoted(item(x)) if quote else item(x) for x in v if x is not None
        )
    if kind == "string" and shape.serialization.get("jsonvalue"):
        return lambda v: b64(json.dumps(v, separators=(",", ":")))
    return str


def _quoted(text: str) -> str:
    """RFC 7230 list item: quote strings holding the separator or quotes."""
    if "," in text or '"' in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def bind_headers(plan: RestPlan, values: Mapping[str, Any], headers: Headers) -> int | None:
    """Write the header members of ``values``; return the status member's value if present."""
    index = plan.header_index
    if index is None:
        index = plan.header_index = {name: (header, text) for name, header, text in plan.headers}
    # Walk the result, not the model: S3's GetObject has ~40 header members, a result ~8.
    for name, value in values.items():
        if value is not None:
            entry = index.get(name)
            if entry is not None:
                headers.set(entry[0], entry[1](value))
    for name, prefix in plan.header_maps:
        value = values.get(name)
        if value:
            for key, item in value.items():
                if item is not None:
                    headers.set(prefix + key, str(item))
    if plan.status_member is not None:
        status = values.get(plan.status_member)
        if status is not None:
            return int(status)
    return None


class RestSerializer(BaseResponseSerializer):
    """Status/header/payload binding; subclasses encode documents (JSON or XML)."""

    def __init__(self) -> None:
        self._plans: dict[int, tuple[Shape, RestPlan]] = {}

    # Subclass hooks ------------------------------------------------------------------------

    def encode_document(
        self, operation: OperationModel, shape: StructureShape, value: Mapping[str, Any]
    ) -> bytes:
        """The body of an output without a payload member: its body members."""
        raise NotImplementedError

    def encode_payload(
        self, operation: OperationModel, member: str, shape: Shape, value: Any
    ) -> bytes:
        """The body of a structure payload member."""
        raise NotImplementedError

    def event_encoder(self, operation: OperationModel) -> EventStreamEncoder:
        """The encoder of event-stream payloads (events' documents in the body format)."""
        raise NotImplementedError

    # Binding -------------------------------------------------------------------------------

    def plan(self, shape: StructureShape) -> RestPlan:
        hit = self._plans.get(id(shape))
        if hit is not None:
            return hit[1]
        plan = RestPlan()
        body: set[str] = set()
        for name, member in shape.members.items():
            ser = member.serialization
            location = ser.get("location")
            if location == "statusCode":
                plan.status_member = name
            elif location == "header":
                plan.headers.append((name, ser.get("name", name), header_text(member)))
            elif location == "headers":
                plan.header_maps.append((name, ser.get("name", "")))
            else:
                body.add(name)
        payload = shape.serialization.get("payload")
        if payload is not None:
            plan.payload = payload
            plan.payload_shape = shape.members[payload]
            plan.raw_payload = plan.payload_shape.type_name in ("blob", "string")
            plan.event_stream = bool(plan.payload_shape.serialization.get("eventstream"))
        else:
            plan.body_members = frozenset(body)
        self._plans[id(shape)] = (shape, plan)
        return plan

    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse:
        status: int = operation.http.get("responseCode", 200)
        headers = Headers()
        body: bytes | AsyncIterable[bytes] = b""
        shape = operation.output_shape
        if shape is not None:
            plan = self.plan(shape)
            bound = bind_headers(plan, result, headers)
            if bound is not None:
                status = bound
            if plan.payload is not None:
                body = self._payload_body(operation, plan, result.get(plan.payload), headers)
            elif plan.body_members:
                # Even with every member unset: AWS sends the empty document ({} or the root
                # element), and clients parse it (S3 GetBucketLocation's empty root = us-east-1).
                body = self.encode_document(operation, shape, result)
        if status == 204 and body:
            # Some models declare 204 yet give the output body members; a 204 cannot carry them.
            status = 200
        if body and isinstance(body, bytes) and "content-type" not in headers:
            headers.set("Content-Type", self.content_type)
        self.request_id_headers(headers, operation.service_model, request_id)
        return self.respond(operation, status, headers, body)

    def _payload_body(
        self, operation: OperationModel, plan: RestPlan, value: Any, headers: Headers
    ) -> bytes | AsyncIterable[bytes]:
        assert plan.payload is not None and plan.payload_shape is not None
        if plan.event_stream:
            # Lambda binds a member to Content-Type; otherwise the stream's own media type.
            if "content-type" not in headers:
                headers.set("Content-Type", EVENT_STREAM_TYPE)
            events = stream_value({plan.payload: value}, plan.payload)
            return self.event_encoder(operation).stream(plan.payload_shape, events)  # type: ignore[arg-type]
        if value is None:
            return b""
        if plan.raw_payload:
            if "content-type" not in headers:
                kind = plan.payload_shape.type_name
                headers.set("Content-Type", "text/plain" if kind == "string" else self.raw_type)
            if isinstance(value, str):
                return value.encode("utf-8")
            if isinstance(value, bytes | bytearray | memoryview):
                return bytes(value)
            return value  # an async stream of chunks, passed through unbuffered
        return self.encode_payload(operation, plan.payload, plan.payload_shape, value)

    raw_type = "application/octet-stream"

    @staticmethod
    def respond(
        operation: OperationModel | None,
        status: int,
        headers: Headers,
        body: bytes | AsyncIterable[bytes],
    ) -> HttpResponse:
        # HEAD answers and 204/304 never carry a body; Content-Length a member set is kept
        # (HeadObject's is the object's size).
        if status in (204, 304) or (
            operation is not None and operation.http.get("method") == "HEAD"
        ):
            body = b""
        elif isinstance(body, bytes) and "content-length" not in headers:
            headers.set("Content-Length", str(len(body)))
        return HttpResponse(status=status, headers=headers, body=body)

    def error_fields(
        self, shape: StructureShape | None, fields: dict[str, Any], headers: Headers
    ) -> dict[str, Any]:
        """Bind an error's header members; return the fields left for the body."""
        if shape is None or not fields:
            return fields
        plan = self.plan(shape)
        bind_headers(plan, fields, headers)
        bound = {name for name, _, _ in plan.headers} | {name for name, _ in plan.header_maps}
        return {k: v for k, v in fields.items() if k not in bound}
