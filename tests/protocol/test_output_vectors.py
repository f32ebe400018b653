"""botocore's protocol output vectors, read backwards: serialize each case's result (or error)
with Overcast's serializer and parse the response with botocore's own parser; it must give the
case's result back. Bytes need not match the vector's response.

Cases that test what only a client can see are listed in ``EXCEPTIONS`` with the reason.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.eventstream import EventStream
from botocore.model import ServiceModel, Shape
from botocore.parsers import create_parser

from overcast.errors import error_class
from overcast.protocol.http import HttpResponse
from overcast.protocol.serializers import get_serializer

VECTORS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance"
) / "botocore-protocol-vectors"

_UNSET_UNION = "checks a client ignores an unset union payload; nothing for a server to send"
_UNKNOWN_UNION = "checks a client's SDK_UNKNOWN_MEMBER for a union member it does not know"
_ALL_HEADERS = (
    "a header map with an empty or x- prefix also collects the request id and Content-Length "
    "headers every answer carries, and header names travel lower-cased"
)
_EMPTY_BLOB = "botocore reads an absent blob payload as b''; nothing distinguishes them on the wire"
# The next ones botocore's own runner skips (protocol-tests-ignore-list.json):
_FLAT_LIST_NAME = (
    "botocore names a flattened list's elements by the list member's locationName, the vector "
    "by the structure member's; we write what botocore reads"
)
_HEADER_LIST_SPLIT = "botocore splits list headers on every comma, even inside quotes and dates"
# (file, case id or description) -> why the round trip cannot hold.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("output/rest-json.json", "RestJsonHttpPayloadWithUnsetUnion"): _UNSET_UNION,
    ("output/rest-xml.json", "RestXmlHttpPayloadWithUnsetUnion"): _UNSET_UNION,
    ("legacy/output/rest-json.json", "17.2"): _UNKNOWN_UNION,
    ("legacy/output/rest-xml.json", "16.2"): _UNKNOWN_UNION,
    ("legacy/output/rest-json.json", "9.0"): _ALL_HEADERS,
    ("output/rest-json.json", "HttpPrefixHeadersResponse"): _ALL_HEADERS,
    ("output/rest-json.json", "RestJsonHttpPayloadTraitsWithNoBlobBody"): _EMPTY_BLOB,
    ("output/rest-xml.json", "HttpPayloadTraitsWithNoBlobBody"): _EMPTY_BLOB,
    ("output/query.json", "QueryXmlLists"): _FLAT_LIST_NAME,
    ("output/ec2.json", "Ec2XmlLists"): _FLAT_LIST_NAME,
    ("output/rest-xml.json", "XmlLists"): _FLAT_LIST_NAME,
    ("output/rest-json.json", "RestJsonInputAndOutputWithQuotedStringHeaders"): _HEADER_LIST_SPLIT,
    ("output/rest-json.json", "RestJsonInputAndOutputWithTimestampHeaders"): _HEADER_LIST_SPLIT,
    ("output/rest-xml.json", "InputAndOutputWithTimestampHeaders"): _HEADER_LIST_SPLIT,
}


def _cases() -> list[Any]:
    if not VECTORS.is_dir():
        return []
    out = []
    for path in sorted([*VECTORS.glob("output/*.json"), *VECTORS.glob("legacy/output/*.json")]):
        rel = str(path.relative_to(VECTORS))
        for suite_index, suite in enumerate(json.loads(path.read_text())):
            for case_index, case in enumerate(suite["cases"]):
                key = case.get("id") or case.get("description") or f"{suite_index}.{case_index}"
                marks = []
                reason = EXCEPTIONS.get((rel, key))
                if reason:
                    marks.append(pytest.mark.skip(reason=reason))
                case_id = f"{rel}::{suite_index}.{case_index}::{key}"
                out.append(pytest.param(rel, suite, case, id=case_id, marks=marks))
    return out


def _model(suite: dict[str, Any], case: dict[str, Any]) -> ServiceModel:
    metadata = dict(suite["metadata"])
    metadata.setdefault("protocols", [metadata["protocol"]])
    metadata.setdefault("apiVersion", "2014-01-01")
    operation = dict(case.get("given") or {"name": "OperationName"})
    operation.setdefault("http", {"method": "POST", "requestUri": "/"})
    return ServiceModel(
        {
            "metadata": metadata,
            "shapes": suite.get("shapes", {}),
            "operations": {operation["name"]: operation},
        }
    )


def _prepare(shape: Shape | None, value: Any) -> Any:
    """The case's result as a provider would hand it over: real floats for NaN/Infinity."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if shape.serialization.get("eventstream"):
        # The provider hands an event stream over as a list of {EventName: {members}}.
        return [{k: _prepare(shape.members.get(k), v) for k, v in e.items()} for e in value]
    if kind == "structure" and not shape.metadata.get("document"):
        return {k: _prepare(shape.members.get(k), v) for k, v in value.items()}
    if kind == "list":
        return [_prepare(shape.member, v) for v in value]
    if kind == "map":
        return {k: _prepare(shape.value, v) for k, v in value.items()}
    if kind in ("float", "double") and isinstance(value, str):
        return float(value.replace("Infinity", "inf"))
    return value


def _normal(value: Any) -> Any:
    """One spelling for values that compare equal across the wire."""
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    if hasattr(value, "read"):
        return _normal(value.read())
    if isinstance(value, EventStream):
        return [_normal(event) for event in value]
    return value


class _RawStream:
    """What botocore's event stream parser reads from (urllib3's ``response.stream()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


def _body(response: HttpResponse) -> bytes:
    body = response.body
    if isinstance(body, AsyncIterable):

        async def collect() -> bytes:
            return b"".join([chunk async for chunk in body])

        return asyncio.run(collect())
    return body


def _wire(response: HttpResponse, event_stream: bool = False) -> dict[str, Any]:
    headers = HeadersDict()
    for name, value in response.headers.raw_items():
        headers[name] = value
    body: Any = _body(response)
    if event_stream:
        body = _RawStream(body)
    return {"status_code": response.status, "headers": headers, "body": body, "context": {}}


@pytest.mark.parametrize(("rel", "suite", "case"), _cases())
def test_output_vector(rel: str, suite: dict[str, Any], case: dict[str, Any]) -> None:
    model = _model(suite, case)
    protocol = model.metadata["protocol"]
    operation = model.operation_model(next(iter(model.operation_names)))
    serializer = get_serializer(protocol)
    parser = create_parser(protocol)
    output_shape = operation.output_shape
    if "error" in case or "errorCode" in case:
        code = case["errorCode"]
        error_cls = error_class(code, status=case["response"]["status_code"])
        # The message travels as the error's message, the other members as its fields.
        fields = {k: v for k, v in (case.get("error") or {}).items() if k.lower() != "message"}
        error = error_cls(case.get("errorMessage", ""), **fields)
        response = serializer.serialize_error(error, model, operation, "req-1")
        wire = _wire(response)
        parsed = parser.parse(wire, output_shape)
        assert parsed["Error"]["Code"] == code, wire
        assert parsed["Error"].get("Message", "") == case.get("errorMessage", ""), wire
        error_shape = model.shape_for_error_code(code)
        if error_shape is not None and case.get("error"):
            modeled = parser.parse(_wire(response), error_shape)
            assert _normal(modeled) == _normal(case["error"]), wire
        return
    result = _prepare(output_shape, case["result"])
    response = serializer.serialize(result, operation, "req-1")
    wire = _wire(response, operation.has_event_stream_output)
    parsed = parser.parse(wire, output_shape)
    assert _normal(parsed) == _normal(case["result"]), wire
