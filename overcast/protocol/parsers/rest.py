"""What rest-json and rest-xml share: members bound to the URI, headers and query string, and
the HTTP payload.

``RestRequestParser`` compiles each operation once into a ``RestPlan`` (where every member
lives, and its text converter); subclasses only say how to decode a body and build converters for
body members (JSON object or XML element).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from overcast.protocol.parsers.base import (
    BadScalar,
    Converter,
    Memo,
    OperationCache,
    host_prefix_pattern,
    text_scalar,
    text_to_timestamp,
)
from overcast.protocol.parsers.json import fill_host_labels, host_label_members

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from overcast.errors import ServiceError
    from overcast.protocol.http import HttpRequest

TextConverter = Callable[[str], Any]

# The weekday of an HTTP date ("Mon, 16 Dec 2019 ...") is followed by a comma of its own.
_WEEKDAY = re.compile(r"^\s*(Mon|Tue|Wed|Thu|Fri|Sat|Sun)$")


def split_header_list(text: str) -> list[str]:
    """Split a list header on commas, honouring double-quoted items with backslash escapes."""
    items: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            items.append("".join(buf))
            comma = text.find(",", i)
            i = n + 1 if comma < 0 else comma + 1
        else:
            comma = text.find(",", i)
            end = n if comma < 0 else comma
            items.append(text[i:end].strip())
            i = end + 1
    return items


def split_timestamp_list(text: str) -> list[str]:
    """Split a list of timestamps, re-joining HTTP dates that the comma split apart."""
    out: list[str] = []
    for part in text.split(","):
        if out and _WEEKDAY.match(out[-1]):
            out[-1] = out[-1] + "," + part
        else:
            out.append(part)
    return [p.strip() for p in out]


def _header_converter(shape: Shape) -> TextConverter:
    if shape.type_name != "list":
        return text_scalar(shape)
    item = shape.member
    if item.type_name == "timestamp":
        return lambda text: [text_to_timestamp(t) for t in split_timestamp_list(text)]
    conv = text_scalar(item)
    return lambda text: [conv(t) for t in split_header_list(text)]


def _template_query_keys(operation: OperationModel) -> frozenset[str]:
    uri = operation.http.get("requestUri", "")
    _, _, query = uri.partition("?")
    return frozenset(part.partition("=")[0] for part in query.split("&") if part)


class RestPlan:
    """Where each input member of one operation is read from."""

    def __init__(self, operation: OperationModel, parser: RestRequestParser) -> None:
        shape = operation.input_shape
        self.uri: list[tuple[str, str, TextConverter]] = []
        self.headers: list[tuple[str, str, TextConverter]] = []
        self.header_maps: list[tuple[str, str, TextConverter]] = []
        self.query: list[tuple[str, str, TextConverter, bool]] = []
        self.query_map: tuple[str, TextConverter, bool] | None = None
        self.template_keys = _template_query_keys(operation)
        self.payload_member: str | None = None
        self.payload_kind = ""
        self.payload_convert: Converter | None = None
        self.body_convert: Converter | None = None
        self.host_pattern = host_prefix_pattern(operation)
        self.host_labels = host_label_members(operation)
        self.empty = shape is None
        if shape is None:
            return
        memo = Memo()
        body_members: dict[str, Shape] = {}
        for name, member in shape.members.items():
            ser = member.serialization
            location = ser.get("location")
            wire = ser.get("name", name)
            if location == "uri":
                self.uri.append((name, wire, text_scalar(member)))
            elif location == "header":
                self.headers.append((name, wire.lower(), _header_converter(member)))
            elif location == "headers":
                self.header_maps.append((name, wire.lower(), text_scalar(member.value)))
            elif location == "querystring":
                if member.type_name == "map":
                    value = member.value
                    is_list = value.type_name == "list"
                    conv = text_scalar(value.member if is_list else value)
                    self.query_map = (name, conv, is_list)
                elif member.type_name == "list":
                    self.query.append((name, wire, text_scalar(member.member), True))
                else:
                    self.query.append((name, wire, text_scalar(member), False))
            elif location == "statusCode":
                continue
            else:
                body_members[name] = member
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            self.payload_member = payload
            kind = member.type_name
            if kind == "blob":
                self.payload_kind = "stream" if member.serialization.get("streaming") else "blob"
            elif kind == "string":
                self.payload_kind = "string"
            else:
                self.payload_kind = "document" if member.metadata.get("document") else "shape"
                self.payload_convert = parser.compile_payload(member, memo)
        elif body_members:
            self.body_convert = parser.compile_body(shape, body_members, memo)


class RestRequestParser:
    """The rest binding; subclasses provide the body format (JSON or XML)."""

    def __init__(self) -> None:
        self._plans: OperationCache[RestPlan] = OperationCache(lambda op: RestPlan(op, self))

    # --- hooks for the body format ---------------------------------------------------------

    def compile_body(self, shape: Shape, members: dict[str, Shape], memo: Memo) -> Converter:
        """Converter from the decoded body to a dict of the body ``members`` of ``shape``."""
        raise NotImplementedError

    def compile_payload(self, member: Shape, memo: Memo) -> Converter:
        """Converter from the decoded body to the value of a structure/union payload member."""
        raise NotImplementedError

    def decode_body(self, body: bytes, kind: str) -> Any:
        """The decoded body, or None when empty; ``kind`` is 'body', 'shape' or 'document'."""
        raise NotImplementedError

    def value_error(self, exc: BadScalar, operation: OperationModel) -> ServiceError:
        """The protocol's error for a header, label or query value of the wrong type."""
        raise NotImplementedError

    def body_error(self, exc: BadScalar) -> ServiceError:
        """The protocol's error for a body member of the wrong type."""
        raise NotImplementedError

    # --- parsing ----------------------------------------------------------------------------

    def parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        plan = self._plans.get(operation)
        if plan.empty:
            return {}
        params: dict[str, Any] = {}
        try:
            self._bind_http(request, plan, uri_params or {}, params)
        except BadScalar as exc:
            raise self.value_error(exc, operation) from None
        try:
            self._bind_body(request, plan, params)
        except BadScalar as exc:
            raise self.body_error(exc) from None
        fill_host_labels(params, request, plan.host_pattern, plan.host_labels)
        return params

    def _bind_http(
        self, request: HttpRequest, plan: RestPlan, uri_params: dict[str, str], params: dict
    ) -> None:
        for name, label, conv in plan.uri:
            text = uri_params.get(label)
            if text is not None:
                params[name] = conv(text)
        if plan.headers or plan.header_maps:
            # One pass over the raw headers; ``Headers.get`` would rescan them per member.
            raw = request.headers.raw_items()
            first: dict[str, str] = {}
            for key, value in raw:
                if key in first:
                    # Repeated header lines are one comma-separated value (RFC 9110 5.3).
                    first[key] = f"{first[key]},{value}"
                else:
                    first[key] = value
            for name, header, conv in plan.headers:
                text = first.get(header)
                if text is not None:
                    params[name] = conv(text)
            for name, prefix, conv in plan.header_maps:
                cut = len(prefix)
                found = {
                    key[cut:]: conv(value) for key, value in first.items() if key.startswith(prefix)
                }
                if found:
                    params[name] = found
        if (plan.query or plan.query_map) and request.query:
            query = request.query_params
            bound: set[str] = set()
            for name, key, conv, is_list in plan.query:
                values = query.get(key)
                if values is not None:
                    bound.add(key)
                    try:
                        params[name] = [conv(v) for v in values] if is_list else conv(values[0])
                    except BadScalar as exc:
                        exc.wire_name, exc.text = key, values[0]
                        raise
            if plan.query_map is not None:
                name, conv, is_list = plan.query_map
                rest = {
                    k: ([conv(x) for x in v] if is_list else conv(v[0]))
                    for k, v in query.items()
                    if k not in bound and k not in plan.template_keys
                }
                if rest:
                    # Members bound by name take precedence over the catch-all map.
                    params[name] = rest

    def _bind_body(self, request: HttpRequest, plan: RestPlan, params: dict) -> None:
        member = plan.payload_member
        if member is not None:
            kind = plan.payload_kind
            if kind == "stream":
                params[member] = request.stream if request.stream is not None else request.body
            elif kind == "blob":
                if request.body:
                    params[member] = request.body
            elif kind == "string":
                if request.body:
                    params[member] = request.body.decode("utf-8", errors="replace")
            else:
                document = self.decode_body(request.body, kind)
                if document is not None and plan.payload_convert is not None:
                    params[member] = plan.payload_convert(document)
        elif plan.body_convert is not None:
            document = self.decode_body(request.body, "body")
            if document is not None:
                params.update(plan.body_convert(document))
