"""Every S3, S3 Control and Lambda operation, as boto3 signs and sends it, matches itself.

The route table ranks a template's query constraints before completeness (``_score``). This
builds the request botocore sends for each operation (required members only, then each
optional query or header member alone, then every optional query member at once: GetObject
with ``versionId``, ``partNumber`` and the ``response-*`` keys together) and checks the matcher
names that operation. The only exceptions are operations whose wire form is identical to
another's (deprecated twins; ListDirectoryBuckets, which AWS serves on another endpoint).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from functools import cache
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.model import Shape

from overcast.protocol.http import Headers, HttpRequest
from overcast.protocol.models import service_model
from overcast.protocol.operations import Match, find_operation

# Same method, path and query as the operation they resolve to: no matcher can tell them apart.
SAME_WIRE = {
    "s3": {
        "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
        "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
        "GetBucketNotification": "GetBucketNotificationConfiguration",
        "PutBucketNotification": "PutBucketNotificationConfiguration",
        "ListDirectoryBuckets": "ListBuckets",
    },
    "s3control": {},
    "lambda": {},
}


class _Sent(Exception):
    pass


def _value(shape: Shape, name: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_tagged_union", False):
            first = next(iter(shape.members))
            return {first: _value(shape.members[first], first)}
        return {m: _value(shape.members[m], m) for m in shape.required_members}
    if kind == "list":
        return [_value(shape.member, name)]  # type: ignore[attr-defined]
    if kind == "map":
        return {"k": _value(shape.value, name)}  # type: ignore[attr-defined]
    if kind == "string":
        if shape.enum:
            return shape.enum[0]
        if name == "AccountId":
            return "123456789012"
        if name == "Bucket":
            return "bucket-name"
        return "v" * max(2, shape.metadata.get("min", 2))
    if kind in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 1700000000
    if kind == "blob":
        return b"x"
    if kind in ("float", "double"):
        return 1.0
    return "x"


def _variants(shape: Shape | None) -> Iterator[tuple[str, dict[str, Any]]]:
    base = _value(shape, "") if shape is not None else {}
    yield "required", base
    if shape is None:
        return
    optional = {
        name: member
        for name, member in shape.members.items()
        if name not in shape.required_members
        and member.serialization.get("location") in ("querystring", "header")
        and member.type_name != "map"
    }
    for name, member in optional.items():
        yield name, {**base, name: _value(member, name)}
    query = {
        n: _value(m, n)
        for n, m in optional.items()
        if m.serialization.get("location") == "querystring"
    }
    if len(query) > 1:
        yield "all-query", {**base, **query}


@cache
def _sent(service: str) -> list[tuple[str, str, Any]]:
    """(operation, variant, botocore's AWSPreparedRequest) for every variant of every operation."""
    client = botocore.session.get_session().create_client(
        service,
        region_name="us-east-1",
        endpoint_url="http://localhost:4566",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )
    captured: list[Any] = []

    def capture(request: Any, **_: Any) -> None:
        captured.append(request)
        raise _Sent

    client.meta.events.register("before-send", capture)
    out = []
    model = client.meta.service_model
    for operation in model.operation_names:
        for label, params in _variants(model.operation_model(operation).input_shape):
            captured.clear()
            with pytest.raises(_Sent):
                client._make_api_call(operation, params)
            out.append((operation, label, captured[0]))
    return out


def _matched(model: Any, method: str, url: str, sent_headers: Any) -> Any:
    parts = urllib.parse.urlsplit(url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in sent_headers.items()}
    request = HttpRequest(method, parts.path or "/", query=parts.query, headers=Headers(headers))
    return find_operation(request, model, model.protocol)


@pytest.mark.parametrize("service", ["s3", "s3control", "lambda"])
def test_every_operation_as_botocore_sends_it_matches_itself(service: str) -> None:
    model = service_model(service)
    wrong = []
    for operation, label, sent in _sent(service):
        found = _matched(model, sent.method, sent.url, sent.headers)
        # A twin with an optional key of its own in the query is told apart by it.
        expected = {operation, SAME_WIRE[service].get(operation, operation)}
        if found.match is not Match.FULL or found.name not in expected:
            wrong.append(f"{operation} [{label}] {sent.method} {sent.url} -> {found.name}")
    assert wrong == []


def test_s3_requests_with_the_x_id_other_sdks_add_match_too() -> None:
    """The JavaScript v3 and Java v2 SDKs send ``?x-id=GetObject`` where the model's requestUri
    names it; botocore leaves it out."""
    model = service_model("s3")
    wrong = []
    for operation, label, sent in _sent("s3"):
        if "x-id=" not in model.operation_model(operation).http["requestUri"]:
            continue
        joiner = "&" if urllib.parse.urlsplit(sent.url).query else "?"
        url = f"{sent.url}{joiner}x-id={operation}"
        found = _matched(model, sent.method, url, sent.headers)
        if found.match is not Match.FULL or found.name != operation:
            wrong.append(f"{operation} [{label}] {sent.method} {url} -> {found.name}")
    assert wrong == []


def test_the_enumeration_covers_every_s3_operation() -> None:
    operations = {operation for operation, _, _ in _sent("s3")}
    assert operations == set(service_model("s3").operation_names)
    # and the query keys that route: versionId, partNumber, response-*, tagging, acl...
    queries = {
        key
        for _, _, sent in _sent("s3")
        for key, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(sent.url).query, True)
    }
    assert {"versionId", "partNumber", "response-content-type", "tagging", "acl"} <= queries
    assert {"retention", "legal-hold", "uploadId", "attributes"} <= queries
