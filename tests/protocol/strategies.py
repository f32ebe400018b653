"""Hypothesis strategies for botocore shapes: valid inputs and outputs of any operation.

``input_strategy(operation, protocol)`` and ``output_strategy(operation, protocol)`` draw the
parameter dict a client would pass (or a provider would return). Values follow the model: required
members always, optional ones sometimes, enum values, min/max lengths and ranges, unions with
exactly one member, recursion cut at ``MAX_DEPTH``. Patterns are not honoured (they are not part
of the wire format and are costly to generate).

Values the AWS wire formats cannot carry are never drawn; each restriction is deliberate:

- strings use a small alphabet (ASCII letters, digits, the URL/XML-special punctuation, a space,
  and a few multi-byte characters); no control characters (XML 1.0 cannot carry most of them and
  normalises ``\\r``), no surrogates;
- header values are printable ASCII, non-empty, without surrounding whitespace (HTTP strips it),
  and list items in headers have no comma or quote (lists are comma-joined);
- URI labels are non-empty (an empty path segment names nothing), host labels are DNS labels;
- querystring/header map keys carry a prefix so they never collide with a modeled parameter;
- "float" shapes are single precision values (CBOR clients write them as float32);
- floats are finite (no NaN/Infinity: not equal to themselves / not representable everywhere);
- timestamps are whole milliseconds between 1970 and 2100, timezone-aware UTC;
- documents hold no nulls and no floats (JSON cannot tell 1.0 from 1 and null from absent);
- required lists/maps in headers or querystrings are non-empty (empty ones write nothing), and
  so are the lists in querystring maps;
- payload blobs/strings are non-empty (an empty body is indistinguishable from no payload);
- event stream members are never drawn (botocore serializes and parses them only on a live
  connection), even when required;
- status code members are always drawn (the status is always there), as 2xx codes other than
  204 (anything else is an error or has no body).
"""

from __future__ import annotations

import json
import string
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

MAX_DEPTH = 5  # below this, structures keep only required members and lists their minimum size
MAX_ITEMS = 2  # list/map size cap (raised to the shape's own minimum when larger)
MAX_TEXT = 12

BODY_ALPHABET = (
    string.ascii_letters + string.digits + " -_.~/:+=@,;!*'()%&?#[]{}<>\"\\$^`|" + "é漢😀"
)
HEADER_ALPHABET = string.ascii_letters + string.digits + "-_.~/:+=@;!*'()%&?#[]{}<>$^`| "
HEADER_LIST_ALPHABET = HEADER_ALPHABET.replace(",", "").replace('"', "")
HOST_LABEL_ALPHABET = string.ascii_lowercase + string.digits
HEADER_KEY_ALPHABET = string.ascii_lowercase + string.digits + "-"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_MILLIS = 4102444800 * 1000  # 2100-01-01

INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
FLOAT32_MAX = 3.4e38
STATUS_CODES = (200, 201, 202, 206)


@dataclass(frozen=True)
class Where:
    """Where on the wire a value goes: restricts what can be drawn for it."""

    location: str | None = None  # header / headers / querystring / uri / statusCode / None (body)
    greedy: bool = False  # a {Label+} URI label
    host_label: bool = False
    in_list: bool = False  # an item of a list bound to a header
    payload: bool = False  # the whole body of a rest operation
    required: bool = False  # a required list/map here must have items (empty writes nothing)


BODY = Where()


def _bounds(shape: Shape) -> tuple[Any, Any]:
    meta = shape.metadata
    return meta.get("min"), meta.get("max")


def _size(shape: Shape, depth: int, nonempty: bool = False) -> tuple[int, int]:
    lo, hi = _bounds(shape)
    lo = max(int(lo or 0), int(nonempty))
    cap = lo if depth >= MAX_DEPTH else max(lo, MAX_ITEMS)
    hi = cap if hi is None else max(lo, min(int(hi), cap))
    return lo, hi


class Strategies:
    """Strategy builder for one service, side and protocol, caching body shapes by name."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self._cache: dict[tuple[str, int, bool], st.SearchStrategy[Any]] = {}

    # --- entry points ---------------------------------------------------------------------

    def top(
        self,
        shape: Shape | None,
        side: str,
        greedy: frozenset[str] = frozenset(),
        skip: frozenset[str] = frozenset(),
    ) -> st.SearchStrategy[dict[str, Any]]:
        """The strategy of an operation's input or output structure (members know their wire).

        ``greedy`` names the {Label+} labels of the operation's requestUri; ``skip`` names
        members never drawn.
        """
        if shape is None:
            return st.just({})
        rest = self.protocol in ("rest-json", "rest-xml")
        payload = shape.serialization.get("payload") if rest else None
        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        req = set(shape.required_members)
        for name, member in shape.members.items():
            if is_event_stream(member) or name in skip:
                continue
            ser = member.serialization
            where = Where()
            if rest:
                location = ser.get("location")
                if location == "statusCode" and side == "input":
                    location = None  # only meaningful in outputs
                where = Where(
                    location=location,
                    greedy=location == "uri" and ser.get("name", name) in greedy,
                    payload=name == payload,
                    required=name in req,
                )
            if ser.get("hostLabel") and side == "input":
                where = Where(location=where.location, host_label=True)
            strategy = self.member(member, where, 1)
            always = name in req or where.location in ("uri", "statusCode")
            (required if always else optional)[name] = strategy
        return st.fixed_dictionaries(required, optional=optional)

    # --- members by wire location ---------------------------------------------------------

    def member(self, shape: Shape, where: Where, depth: int) -> st.SearchStrategy[Any]:
        kind = shape.type_name
        if where.location is None and not where.host_label:
            if where.payload and kind in ("blob", "string") and not _enum(shape):
                lo, hi = _bounds(shape)
                lo = max(1, int(lo or 0))
                if kind == "blob":
                    return st.binary(min_size=lo, max_size=max(lo, 16))
                return st.text(BODY_ALPHABET, min_size=lo, max_size=max(lo, MAX_TEXT))
            return self.body(shape, depth)
        if where.host_label:
            return st.text(HOST_LABEL_ALPHABET, min_size=1, max_size=10)
        if where.location == "statusCode":
            return st.sampled_from(STATUS_CODES)
        if where.location == "headers":  # a map of prefixed headers
            keys = st.text(HEADER_KEY_ALPHABET, min_size=1, max_size=6).map(lambda k: "k" + k)
            values = self._header_scalar(shape.value, Where("header"))
            return st.dictionaries(keys, values, min_size=int(where.required), max_size=MAX_ITEMS)
        if where.location == "header":
            if shape.serialization.get("jsonvalue"):
                return _json_object()
            if kind == "list":
                item = Where("header", in_list=True)
                lo, hi = _size(shape, depth, where.required)
                return st.lists(self._header_scalar(shape.member, item), min_size=lo, max_size=hi)
            return self._header_scalar(shape, where)
        if where.location == "querystring":
            if kind == "map":
                keys = st.text(HOST_LABEL_ALPHABET, min_size=1, max_size=6).map(lambda k: "q-" + k)
                value = shape.value
                if value.type_name == "list":
                    lo, hi = _size(value, depth, True)
                    values: st.SearchStrategy[Any] = st.lists(
                        self._query_scalar(value.member), min_size=lo, max_size=hi
                    )
                else:
                    values = self._query_scalar(value)
                return st.dictionaries(
                    keys, values, min_size=int(where.required), max_size=MAX_ITEMS
                )
            if kind == "list":
                lo, hi = _size(shape, depth, where.required)
                return st.lists(self._query_scalar(shape.member), min_size=lo, max_size=hi)
            return self._query_scalar(shape)
        if where.location == "uri":
            if kind == "string" and not _enum(shape):
                lo, hi = _bounds(shape)
                lo = max(1, int(lo or 0))
                hi = max(lo, min(int(hi), MAX_TEXT) if hi else MAX_TEXT)
                return st.text(BODY_ALPHABET, min_size=lo, max_size=hi)
            return self.scalar(shape)
        return self.body(shape, depth)

    def _header_scalar(self, shape: Shape, where: Where) -> st.SearchStrategy[Any]:
        if shape.type_name == "string" and not _enum(shape):
            alphabet = HEADER_LIST_ALPHABET if where.in_list else HEADER_ALPHABET
            lo, hi = _bounds(shape)
            lo = max(1, int(lo or 0))
            hi = max(lo, min(int(hi), MAX_TEXT) if hi else MAX_TEXT)
            return st.text(alphabet, min_size=lo, max_size=hi).filter(lambda s: s == s.strip())
        return self.scalar(shape)

    def _query_scalar(self, shape: Shape) -> st.SearchStrategy[Any]:
        return self.scalar(shape)

    # --- body values ----------------------------------------------------------------------

    def body(self, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
        depth = min(depth, MAX_DEPTH)
        # Member traits change the value too: the same string shape may be a JSON value here.
        key = (shape.name, depth, bool(shape.serialization.get("jsonvalue")))
        cached = self._cache.get(key)
        if cached is None:
            # Deferred so recursive shapes refer to themselves without infinite construction.
            cached = self._cache[key] = st.deferred(lambda: self._build(shape, depth))
        return cached

    def _build(self, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
        kind = shape.type_name
        if shape.metadata.get("document"):
            return _document()
        if kind == "structure":
            return self._structure(shape, depth)
        if kind == "list":
            lo, hi = _size(shape, depth)
            return st.lists(self.body(shape.member, depth + 1), min_size=lo, max_size=hi)
        if kind == "map":
            lo, hi = _size(shape, depth)
            return st.dictionaries(
                self.scalar(shape.key),
                self.body(shape.value, depth + 1),
                min_size=lo,
                max_size=hi,
            )
        return self.scalar(shape)

    def _structure(self, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
        members = {n: m for n, m in shape.members.items() if not is_event_stream(m)}
        if shape.metadata.get("union") or shape.is_tagged_union:
            if not members:
                return st.just({})
            return st.one_of(
                [st.fixed_dictionaries({n: self.body(m, depth + 1)}) for n, m in members.items()]
            )
        req = set(shape.required_members)
        required = {n: self.body(m, depth + 1) for n, m in members.items() if n in req}
        if depth >= MAX_DEPTH:
            return st.fixed_dictionaries(required)
        optional = {n: self.body(m, depth + 1) for n, m in members.items() if n not in req}
        return st.fixed_dictionaries(required, optional=optional)

    def scalar(self, shape: Shape) -> st.SearchStrategy[Any]:
        kind = shape.type_name
        enum = _enum(shape)
        if enum:
            return st.sampled_from(enum)
        lo, hi = _bounds(shape)
        if kind == "string":
            lo = int(lo or 0)
            hi = max(lo, min(int(hi), MAX_TEXT) if hi is not None else MAX_TEXT)
            if shape.serialization.get("jsonvalue"):
                # In a body, a JSON value is a string holding JSON (only headers take objects).
                return _json_object().map(json.dumps)
            return st.text(BODY_ALPHABET, min_size=lo, max_size=hi)
        if kind in ("integer", "long"):
            dlo, dhi = INT_RANGE[kind]
            return st.integers(
                dlo if lo is None else max(dlo, int(lo)), dhi if hi is None else min(dhi, int(hi))
            )
        if kind in ("float", "double"):
            if kind == "double":
                return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
            # "float" is single precision: CBOR clients write it as a float32.
            lo = -FLOAT32_MAX if lo is None else max(lo, -FLOAT32_MAX)
            hi = FLOAT32_MAX if hi is None else min(hi, FLOAT32_MAX)
            return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(_float32)
        if kind == "boolean":
            return st.booleans()
        if kind == "timestamp":
            return st.integers(0, MAX_MILLIS).map(lambda ms: EPOCH + timedelta(milliseconds=ms))
        if kind == "blob":
            lo = int(lo or 0)
            return st.binary(min_size=lo, max_size=max(lo, 16))
        raise Unsupported(f"shape type {kind}")


class Unsupported(Exception):
    """The operation needs a value this generator deliberately does not draw."""


def _float32(value: float) -> float:
    # May step just outside the shape's range: parsers do not check it.
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _enum(shape: Shape) -> list[str]:
    return list(getattr(shape, "enum", None) or [])


def is_event_stream(shape: Shape) -> bool:
    return bool(shape.serialization.get("eventstream") or shape.metadata.get("eventstream"))


def _json_object() -> st.SearchStrategy[Any]:
    return st.dictionaries(st.text(string.ascii_letters, max_size=4), _document(), max_size=2)


def _document() -> st.SearchStrategy[Any]:
    leaves = st.booleans() | st.integers(-1000, 1000) | st.text(BODY_ALPHABET, max_size=5)
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=2)
            | st.dictionaries(st.text(string.ascii_letters, max_size=4), inner, max_size=2)
        ),
        max_leaves=4,
    )


_builders: dict[tuple[str, str], Strategies] = {}


def _builder(operation: OperationModel, protocol: str) -> Strategies:
    # One builder per service and protocol: body shapes are shared by many operations.
    key = (operation.service_model.service_name, protocol)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = Strategies(protocol)
    return builder


def input_strategy(operation: OperationModel, protocol: str) -> st.SearchStrategy[dict[str, Any]]:
    """The parameters a client passes to ``operation`` (raises ``Unsupported``)."""
    uri = operation.http.get("requestUri", "").split("?")[0]
    greedy = frozenset(p[1:-2] for p in uri.split("/") if p.startswith("{") and p.endswith("+}"))
    return _builder(operation, protocol).top(operation.input_shape, "input", greedy)


def output_strategy(operation: OperationModel, protocol: str) -> st.SearchStrategy[dict[str, Any]]:
    """The result a provider returns from ``operation`` (raises ``Unsupported``)."""
    return _builder(operation, protocol).top(operation.output_shape, "output")


def error_fields_strategy(
    operation: OperationModel, shape: Shape, protocol: str
) -> st.SearchStrategy[dict[str, Any]]:
    """The extra members of a modeled error, without those the error format itself writes.

    Never drawn: the message (given apart), members bound to the ``x-amzn-ErrorType`` header
    (account's ``errorType``: that header is the error code), and in query/ec2 XML a member
    named ``Code`` or ``Type`` (the <Error> element's own children).
    """
    own = {"message"} | ({"code", "type"} if protocol in ("query", "ec2") else set())
    skip = frozenset(
        name
        for name, member in shape.members.items()
        if name.lower() in own or member.serialization.get("name", "").lower() == "x-amzn-errortype"
    )
    return _builder(operation, protocol).top(shape, "output", skip=skip)
