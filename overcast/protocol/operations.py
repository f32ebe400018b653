"""Which operation an HTTP request calls: wire-protocol detection and operation matching.

RPC protocols name the operation outright (``Action`` for query/ec2, ``X-Amz-Target`` for json,
``/service/S/operation/Op`` for smithy-rpc-v2-cbor). The rest protocols are matched on method and
the ``requestUri`` templates of the model, compiled once per service: labels (``{Bucket}``,
greedy ``{Key+}``), the template's own query part (``?versioning``, ``?list-type=2``) as required
query arguments, and among several matches the most specific wins (query constraints met, required
header/query members present, more literal segments). As in Starlette, the answer is one of
``Match.NONE / PARTIAL / FULL``: PARTIAL is the right service with no such operation (or a known
path with the wrong method).
"""

from __future__ import annotations

import enum
import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from overcast.protocol.parsers.base import MalformedQueryString
from overcast.protocol.parsers.query import form_items

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

    from overcast.protocol.http import HttpRequest

QUERY = "query"
EC2 = "ec2"
JSON = "json"
REST_JSON = "rest-json"
REST_XML = "rest-xml"
CBOR = "smithy-rpc-v2-cbor"

_CBOR_PATH = re.compile(r"/service/([^/]+)/operation/([^/?]+)/?$")


class Match(enum.Enum):
    NONE = 0
    PARTIAL = 1
    FULL = 2


@dataclass
class OperationMatch:
    match: Match
    protocol: str  # wire protocol of this request (see detect_protocol)
    operation: OperationModel | None = None
    uri_params: dict[str, str] = field(default_factory=dict)  # decoded requestUri labels
    name: str | None = None  # the operation name asked for, even if unknown (for errors)


# --- Protocol detection ---------------------------------------------------------------------


def _is_form(request: HttpRequest) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def detect_protocol(
    request: HttpRequest, protocols: tuple[str, ...], query_compatible: bool | None = None
) -> str:
    """The wire protocol ``request`` uses, among the service's ``protocols``.

    ``query_compatible`` is the service's ``awsQueryCompatible`` flag: such json services (SQS)
    also take query requests from older SDKs. ``None`` (unknown) lets a json service accept an
    unmistakable query request (form body, or an ``Action`` parameter).
    """
    headers = request.headers
    if CBOR in protocols and (
        headers.get("smithy-protocol") == "rpc-v2-cbor" or _CBOR_PATH.search(request.path)
    ):
        return CBOR
    if JSON in protocols and "x-amz-target" in headers:
        return JSON
    rpc = EC2 if EC2 in protocols else QUERY if QUERY in protocols else None
    if rpc is None and JSON in protocols and query_compatible is not False:
        rpc = QUERY
    if rpc is not None and (_is_form(request) or _has_action(request)):
        return rpc
    return protocols[0]


def _has_action(request: HttpRequest) -> bool:
    # SDKs put Action first in the form body; GET requests carry it in the query string.
    if request.body.startswith(b"Action="):
        return True
    return "Action=" in request.query and "Action" in request.query_params


# --- Operation matching ---------------------------------------------------------------------


def find_operation(
    request: HttpRequest, service_model: ServiceModel, protocol: str
) -> OperationMatch:
    """The operation of ``service_model`` that ``request`` calls over ``protocol``."""
    if protocol in (REST_JSON, REST_XML):
        return _routes(service_model).match(request, service_model, protocol)
    if protocol in (QUERY, EC2):
        try:
            name = next((v for k, v in form_items(request) if k == "Action"), None)
        except MalformedQueryString:
            name = None  # the parser reports the malformed body
    elif protocol == CBOR:
        m = _CBOR_PATH.search(request.path)
        name = unquote(m.group(2)) if m else None
    else:
        target = request.headers.get("x-amz-target")
        name = target.rpartition(".")[2] if target else None
    return _named(service_model, protocol, name)


def _named(service_model: ServiceModel, protocol: str, name: str | None) -> OperationMatch:
    if name and name in _operation_names(service_model):
        return OperationMatch(Match.FULL, protocol, service_model.operation_model(name), {}, name)
    return OperationMatch(Match.PARTIAL, protocol, None, {}, name or None)


_names_cache: weakref.WeakKeyDictionary[ServiceModel, frozenset[str]] = weakref.WeakKeyDictionary()


def _operation_names(service_model: ServiceModel) -> frozenset[str]:
    names = _names_cache.get(service_model)
    if names is None:
        names = _names_cache[service_model] = frozenset(service_model.operation_names)
    return names


# --- rest: requestUri templates -------------------------------------------------------------

_LABEL = re.compile(r"\{([^}]+)\}")


@dataclass
class _Route:
    """One operation under a path template: its method and what it further requires."""

    name: str
    method: str
    constraints: tuple[tuple[str, str | None], ...]  # template query: (key, value or None)
    required_headers: tuple[str, ...]  # required members bound to headers / query keys
    required_query: tuple[str, ...]
    optional_query: frozenset[str] = frozenset()  # every other query key the input binds
    deprecated: bool = False


@dataclass
class _PathTemplate:
    """The operations sharing one requestUri path, compiled into one regex."""

    regex: re.Pattern[str]
    labels: tuple[str, ...]  # label name of each regex group, in order
    literal_segments: int
    greedy: bool
    routes: list[_Route] = field(default_factory=list)

    def match(self, path: str) -> dict[str, str] | None:
        m = self.regex.match(path)
        if m is None:
            return None
        return {label: unquote(value) for label, value in zip(self.labels, m.groups(), strict=True)}


def _compile_path(path: str) -> _PathTemplate:
    parts = _LABEL.split(path)
    regex = ["^"]
    labels: list[str] = []
    greedy = False
    for i, part in enumerate(parts):
        if i % 2 == 0:
            regex.append(re.escape(part))
        elif part.endswith("+"):
            labels.append(part[:-1])
            greedy = True
            regex.append("(.+)")
        else:
            labels.append(part)
            regex.append("([^/]+)")
    # A trailing slash is optional (S3 "GET /bucket/" is ListObjects) unless the template
    # ends in a greedy label, which keeps the slash as part of the value.
    if not path.endswith("/") and not (greedy and parts[-1] == ""):
        regex.append("/?")
    regex.append("$")
    literal = sum(1 for seg in path.split("/") if seg and "{" not in seg)
    return _PathTemplate(re.compile("".join(regex)), tuple(labels), literal, greedy)


def _first_segment(path: str) -> str:
    return path[1:].split("/", 1)[0] if path.startswith("/") else ""


def _parse_constraints(query: str) -> tuple[tuple[str, str | None], ...]:
    out: list[tuple[str, str | None]] = []
    for part in query.split("&"):
        if part:
            key, eq, value = part.partition("=")
            out.append((unquote(key), unquote(value) if eq else None))
    return tuple(out)


def _required_located(operation: OperationModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    shape = operation.input_shape
    if shape is None:
        return (), ()
    headers: list[str] = []
    query: list[str] = []
    for name in shape.required_members:
        member = shape.members.get(name)
        if member is None:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "header":
            headers.append(wire.lower())
        elif location == "querystring" and member.type_name != "map":
            query.append(wire)
    return tuple(headers), tuple(query)


def _query_keys(operation: OperationModel) -> set[str]:
    shape = operation.input_shape
    if shape is None:
        return set()
    return {
        member.serialization.get("name", name)
        for name, member in shape.members.items()
        if member.serialization.get("location") == "querystring" and member.type_name != "map"
    }


class _RouteTable:
    """Every operation of one rest service, grouped by distinct path template."""

    def __init__(self, service_model: ServiceModel) -> None:
        templates: dict[str, _PathTemplate] = {}
        for name in service_model.operation_names:
            operation = service_model.operation_model(name)
            http = operation.http
            path, _, query = http.get("requestUri", "/").partition("?")
            template = templates.get(path)
            if template is None:
                template = templates[path] = _compile_path(path)
            headers, required_query = _required_located(operation)
            template.routes.append(
                _Route(
                    name,
                    http.get("method", "POST"),
                    _parse_constraints(query),
                    headers,
                    required_query,
                    _query_keys(operation) - set(required_query),
                    bool(operation.deprecated),
                )
            )
        routes = [route for template in templates.values() for route in template.routes]
        # What a match depends on besides the path: which required headers are present, and
        # the values of the query keys that constraints name with a value (``list-type=2``).
        self._headers = tuple(sorted({h for route in routes for h in route.required_headers}))
        self._valued = frozenset(k for r in routes for k, v in r.constraints if v is not None)
        self._memo: dict[tuple[Any, ...], tuple[_PathTemplate, _Route] | None] = {}
        # Index by first path segment; templates starting with a label go under "".
        self._by_first: dict[str, list[_PathTemplate]] = {}
        self._wild: list[_PathTemplate] = []
        for path, template in templates.items():
            first = _first_segment(path)
            if "{" in first:
                self._wild.append(template)
            else:
                self._by_first.setdefault(first, []).append(template)

    def match(
        self, request: HttpRequest, service_model: ServiceModel, protocol: str
    ) -> OperationMatch:
        path = request.path or "/"
        candidates = self._by_first.get(_first_segment(path), [])
        method = request.method.upper()
        query = request.query_params if request.query else {}
        headers = request.headers
        matched = []
        for template in (*candidates, *self._wild):
            uri_params = template.match(path)
            if uri_params is not None:
                matched.append((template, uri_params))
        if not matched:
            return OperationMatch(Match.NONE, protocol)
        # The winner depends only on the templates the path matches, the method, the query's
        # keys (and constrained values) and the required headers present: scored once per such
        # request shape (S3 GetObject has ~30 routes to score), then remembered.
        valued = self._valued
        key = (
            method,
            *[id(template) for template, _ in matched],
            tuple((k, tuple(v) if k in valued else None) for k, v in query.items()),
            self._present_headers(headers),
        )
        memo = self._memo
        won = memo.get(key, _UNSCORED)
        if won is _UNSCORED:
            won = self._score(matched, method, query, headers)
            if len(memo) >= _MEMO_SIZE:  # query keys are the client's: bound the memo
                memo.clear()
            memo[key] = won
        if won is None:
            return OperationMatch(Match.PARTIAL, protocol)
        template, route = won  # type: ignore[misc]
        uri_params = next(params for t, params in matched if t is template)
        return OperationMatch(
            Match.FULL, protocol, service_model.operation_model(route.name), uri_params, route.name
        )

    def _present_headers(self, headers: Any) -> tuple[str, ...]:
        wanted = self._headers
        if not wanted:
            return ()
        names = {name for name, _ in headers.raw_items()}  # one pass, not one per header
        return tuple(h for h in wanted if h in names)

    @staticmethod
    def _score(
        matched: list[tuple[_PathTemplate, dict[str, str]]],
        method: str,
        query: dict[str, list[str]],
        headers: Any,
    ) -> tuple[_PathTemplate, _Route] | None:
        best: tuple[tuple[int, ...], _Route, _PathTemplate] | None = None
        for template, _ in matched:
            for route in template.routes:
                if route.method != method:
                    continue
                met = _constraints_met(route.constraints, query)
                if met < 0:
                    continue
                present = sum(1 for h in route.required_headers if h in headers) + sum(
                    1 for q in route.required_query if q in query
                )
                complete = present == len(route.required_headers) + len(route.required_query)
                optional = sum(1 for q in query if q in route.optional_query) if query else 0
                # Ties go to the operation today's SDKs call: S3's `GET /{Bucket}?lifecycle` is
                # GetBucketLifecycleConfiguration, not the deprecated GetBucketLifecycle.
                # The template's own query part comes first: `GET /key?attributes` without its
                # required header is GetObjectAttributes (answering its error, as S3 does), not
                # a GetObject that happens to be complete.
                score = (
                    met,
                    int(complete),
                    present,
                    template.literal_segments,
                    int(not template.greedy),
                    optional,
                    int(not route.deprecated),
                )
                if best is None or score > best[0]:
                    best = (score, route, template)
        return None if best is None else (best[2], best[1])


_UNSCORED: Any = object()
_MEMO_SIZE = 4096


def _constraints_met(constraints: tuple[tuple[str, str | None], ...], query: dict) -> int:
    """How many template query constraints hold; -1 if one is violated."""
    met = 0
    for key, value in constraints:
        values = query.get(key)
        if values is None:
            # "x-id" only echoes the operation name; SDKs that omit it still mean the op.
            if key == "x-id":
                continue
            return -1
        if value is not None and value not in values:
            return -1
        met += 1
    return met


_tables: weakref.WeakKeyDictionary[ServiceModel, _RouteTable] = weakref.WeakKeyDictionary()


def _routes(service_model: ServiceModel) -> _RouteTable:
    table = _tables.get(service_model)
    if table is None:
        table = _tables[service_model] = _RouteTable(service_model)
    return table
