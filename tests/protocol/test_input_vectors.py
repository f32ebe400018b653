"""botocore's protocol input vectors, read backwards: the serialized request must route to the
case's operation and parse back to the case's params.

Cases that test behaviour only a client can see are listed in ``EXCEPTIONS`` with the reason.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from botocore.model import ServiceModel, Shape

from overcast.protocol.http import Headers, HttpRequest
from overcast.protocol.operations import Match, detect_protocol, find_operation
from overcast.protocol.parsers import get_parser
from overcast.protocol.timestamps import parse_timestamp

VECTORS = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "conformance"
) / "botocore-protocol-vectors"

# (file, case id or description) -> why the server cannot reproduce the client's params.
_GZIP = "requestcompression: the vector has no body, it checks the client's Content-Encoding"
_EMPTY = "the client omits an empty list/map: nothing on the wire tells the server it was given"
_HOST_PATH = "the client endpoint has a path prefix (/custom) the server cannot know"
EXCEPTIONS: dict[tuple[str, str], str] = {
    **{
        (f"input/{f}.json", f"{case}_{suffix}"): _GZIP
        for f, suffix in (
            ("ec2", "ec2Query"),
            ("query", "awsQuery"),
            ("json", "awsJson1_1"),
            ("json_1_0", "awsJson1_0"),
        )
        for case in ("SDKAppliedContentEncoding", "SDKAppendsGzipAndIgnoresHttpProvidedEncoding")
    },
    ("input/ec2.json", "Ec2EmptyQueryLists"): _EMPTY,
    ("input/query.json", "QueryEmptyQueryMaps"): _EMPTY,
    ("input/rest-json.json", "RestJsonOmitsEmptyListQueryValues"): _EMPTY,
    ("legacy/input/rest-json.json", "26.1"): _EMPTY,
    ("legacy/input/rest-xml.json", "26.1"): _EMPTY,
    ("input/rest-json.json", "RestJsonHostWithPath"): _HOST_PATH,
}


def _cases() -> list[Any]:
    if not VECTORS.is_dir():
        return []
    out = []
    for path in sorted([*VECTORS.glob("input/*.json"), *VECTORS.glob("legacy/input/*.json")]):
        rel = str(path.relative_to(VECTORS))
        for suite_index, suite in enumerate(json.loads(path.read_text())):
            for case_index, case in enumerate(suite["cases"]):
                key = case.get("id") or case.get("description") or f"{suite_index}.{case_index}"
                case_id = f"{rel}::{suite_index}.{case_index}::{key}"
                marks = []
                reason = EXCEPTIONS.get((rel, key))
                if reason:
                    marks.append(pytest.mark.skip(reason=reason))
                out.append(pytest.param(rel, suite, case, id=case_id, marks=marks))
    return out


def _model(suite: dict, case: dict) -> ServiceModel:
    metadata = dict(suite["metadata"])
    metadata.setdefault("protocols", [metadata["protocol"]])
    metadata.setdefault("apiVersion", "2014-01-01")
    operation = case["given"]
    return ServiceModel(
        {
            "metadata": metadata,
            "shapes": suite.get("shapes", {}),
            "operations": {operation["name"]: operation},
        },
        service_name="vectortest",
    )


def _request(model: ServiceModel, given: dict, serialized: dict) -> HttpRequest:
    protocol = model.metadata["protocol"]
    path, _, query = serialized.get("uri", "/").partition("?")
    headers = Headers(serialized.get("headers", {}))
    if "host" in serialized:
        headers.set("host", serialized["host"])
    if protocol == "json" and "x-amz-target" not in headers:
        # Vectors list only the headers they check; a real client always sends the target.
        headers.set("x-amz-target", f"{model.metadata.get('targetPrefix', '')}.{given['name']}")
    body = serialized.get("body", "")
    raw = base64.b64decode(body) if protocol == "smithy-rpc-v2-cbor" else body.encode()
    method = serialized.get("method") or given.get("http", {}).get("method", "POST")
    return HttpRequest(method, path or "/", query, headers, raw)


# --- Normalisation of both sides to comparable values ---------------------------------------


def _norm(value: Any, shape: Shape | None) -> Any:
    if value is None:
        return None
    kind = shape.type_name if shape is not None else None
    if shape is not None and shape.metadata.get("document"):
        return value
    if kind == "structure" and isinstance(value, dict):
        out = {}
        for k, v in value.items():
            member = shape.members.get(k)
            nv = _norm(v, member)
            if nv is not None:
                out[k] = nv
        return out
    if kind == "list" and isinstance(value, list):
        return [_norm(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _norm(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, datetime):
            dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, int | float):
            dt = datetime.fromtimestamp(value, UTC)
        else:
            dt = parse_timestamp(value)
        return round(dt.timestamp(), 3)
    if kind == "blob":
        if isinstance(value, str):
            return value.encode()
        if isinstance(value, bytes | bytearray):
            return bytes(value)
        return value
    if kind in ("float", "double"):
        if isinstance(value, str):
            value = float(value)
        return "NaN" if math.isnan(value) else float(value)
    if kind in ("bigdecimal", "bigDecimal"):
        return Decimal(str(value))
    return value


@pytest.mark.skipif(not VECTORS.is_dir(), reason="shared conformance vectors are absent")
@pytest.mark.parametrize(("rel", "suite", "case"), _cases())
def test_input_vector(rel: str, suite: dict, case: dict) -> None:
    model = _model(suite, case)
    protocol = model.metadata["protocol"]
    request = _request(model, case["given"], case["serialized"])
    detected = detect_protocol(
        request, tuple(model.metadata["protocols"]), "awsQueryCompatible" in model.metadata
    )
    assert detected == protocol
    found = find_operation(request, model, detected)
    assert found.match is Match.FULL, found
    assert found.operation is not None
    assert found.operation.name == case["given"]["name"]
    params = get_parser(detected).parse(request, found.operation, found.uri_params)
    shape = found.operation.input_shape
    expected = _norm(case.get("params", {}), shape) or {}
    assert _norm(params, shape) or expected == {}
