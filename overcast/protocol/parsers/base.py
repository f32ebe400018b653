"""Shared pieces of the request parsers: protocol errors, scalar decoding, per-operation caches.

Every parser compiles an operation's input shape once into a tree of small converter functions
(closures) and caches it per ``OperationModel``; a request then runs only those closures, with no
model walking, dict copying or re-compilation on the hot path.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import math
import re
import weakref
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from overcast.errors import ServiceError
from overcast.protocol.timestamps import parse_timestamp

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from overcast.protocol.http import HttpRequest

T = TypeVar("T")
Converter = Callable[[Any], Any]


# --- Protocol errors not in overcast.errors -------------------------------------------------


class MalformedXML(ServiceError):
    """rest-xml: the body is not well-formed XML or does not match the operation's shape."""

    status = 400
    message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MalformedQueryString(ServiceError):
    """query/ec2: a parameter cannot be decoded."""

    status = 400


class InvalidRequest(ServiceError):
    """rest protocols: a header, label or query value of the wrong type."""

    status = 400


class BadScalar(ValueError):
    """Raised by scalar converters; each parser maps it to its protocol's error."""

    # Set where the value was bound: the query key (or header) it came under, and its text.
    wire_name: str | None = None
    text: str | None = None


# --- Caches ---------------------------------------------------------------------------------


class OperationCache(Generic[T]):
    """One compiled plan per OperationModel, dropped with the model (weak keys)."""

    def __init__(self, build: Callable[[OperationModel], T]) -> None:
        self._build = build
        self._plans: weakref.WeakKeyDictionary[OperationModel, T] = weakref.WeakKeyDictionary()

    def get(self, operation: OperationModel) -> T:
        plan = self._plans.get(operation)
        if plan is None:
            plan = self._build(operation)
            self._plans[operation] = plan
        return plan


def shape_key(shape: Shape) -> tuple[str, str]:
    """Identity of a shape *as referenced*: member references add traits (locationName...)."""
    return shape.name, repr(sorted(shape.serialization.items()))


class Memo:
    """Compile-time memo of converters by shape key; a placeholder breaks recursive shapes."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], Converter] = {}
        self._pending: dict[tuple[str, str], list[Converter]] = {}

    def get(self, shape: Shape, build: Callable[[Shape], Converter]) -> Converter:
        key = shape_key(shape)
        done = self._done.get(key)
        if done is not None:
            return done
        pending = self._pending.get(key)
        if pending is not None:
            # Recursive reference: call through a cell filled when the outer build finishes.
            return lambda value: pending[0](value)
        cell: list[Converter] = []
        self._pending[key] = cell
        conv = build(shape)
        cell.append(conv)
        del self._pending[key]
        self._done[key] = conv
        return conv


# --- Scalars from text (query strings, XML text, headers, URI labels) -----------------------


def text_to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadScalar(f"invalid integer: {text!r}") from None


def text_to_float(text: str) -> float:
    try:
        return float(text)  # accepts NaN, Infinity, -Infinity as AWS sends them
    except ValueError:
        raise BadScalar(f"invalid number: {text!r}") from None


def text_to_decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise BadScalar(f"invalid number: {text!r}") from None


def text_to_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadScalar(f"invalid boolean: {text!r}")


def text_to_timestamp(text: str) -> datetime:
    try:
        return parse_timestamp(text)
    except (ValueError, OverflowError, OSError):
        raise BadScalar(f"invalid timestamp: {text!r}") from None


def b64_to_bytes(text: str | bytes) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadScalar("invalid base64") from None


def text_to_jsonvalue(text: str) -> Any:
    """A ``jsonvalue`` header: base64 of a JSON document."""
    try:
        return json.loads(base64.b64decode(text))
    except (binascii.Error, ValueError):
        raise BadScalar("invalid base64-encoded JSON value") from None


def _text_identity(text: str) -> str:
    return text


TEXT_SCALARS: dict[str, Callable[[str], Any]] = {
    "string": _text_identity,
    "character": _text_identity,
    "integer": text_to_int,
    "long": text_to_int,
    "short": text_to_int,
    "byte": text_to_int,
    "biginteger": text_to_int,
    "bigInteger": text_to_int,
    "float": text_to_float,
    "double": text_to_float,
    "bigdecimal": text_to_decimal,
    "bigDecimal": text_to_decimal,
    "boolean": text_to_bool,
    "timestamp": text_to_timestamp,
    "blob": b64_to_bytes,
}


def text_scalar(shape: Shape) -> Callable[[str], Any]:
    """The text-to-value function of a scalar shape (strings pass through)."""
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        return text_to_jsonvalue
    return TEXT_SCALARS.get(shape.type_name, _text_identity)


# --- Scalars from decoded JSON / CBOR values -------------------------------------------------


def epoch_to_datetime(value: float) -> datetime:
    try:
        return datetime.fromtimestamp(value, UTC)
    except (ValueError, OverflowError, OSError):
        raise BadScalar(f"invalid timestamp: {value!r}") from None


_FLOAT_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_from_word(value: str) -> float:
    try:
        return _FLOAT_WORDS[value]
    except KeyError:
        raise BadScalar(f"invalid number: {value!r}") from None


# --- Request compression (the ``requestcompression`` trait) --------------------------------


def accepts_compression(operation: OperationModel) -> bool:
    return bool(operation.request_compression)


def request_body(request: HttpRequest, compressed: bool, error: type[ServiceError]) -> bytes:
    """The body, gunzipped when the operation takes compressed requests and the client sent one.

    Only operations with the trait: elsewhere Content-Encoding describes stored content (S3).
    """
    body = request.body
    if compressed and body:
        encoding = request.headers.get("content-encoding", "")
        if "gzip" in encoding.lower():
            try:
                return gzip.decompress(body)
            except (OSError, EOFError, zlib.error):
                raise error("The request body could not be decompressed (gzip).") from None
    return body


# --- Host prefixes (endpoint.hostPrefix) ----------------------------------------------------

_IP_HOST = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(:\d+)?$")


def host_prefix_pattern(operation: OperationModel) -> re.Pattern[str] | None:
    """A regex over the Host header for the operation's ``{Label}`` host prefix, if any."""
    endpoint = getattr(operation, "endpoint", None) or {}
    prefix = endpoint.get("hostPrefix") if isinstance(endpoint, dict) else None
    if not prefix or "{" not in prefix:
        return None
    parts = re.split(r"\{(\w+)\}", prefix)
    regex = "".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p}>[A-Za-z0-9-]+)" for i, p in enumerate(parts)
    )
    return re.compile("^" + regex)


def host_labels(request: HttpRequest, pattern: re.Pattern[str] | None) -> dict[str, str]:
    """Labels of the host prefix found in the Host header (never from a bare IP address)."""
    if pattern is None:
        return {}
    host = request.host
    if not host or _IP_HOST.match(host):
        return {}
    m = pattern.match(host)
    return m.groupdict() if m else {}
