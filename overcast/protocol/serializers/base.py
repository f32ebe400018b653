"""What every response serializer shares: the error facts, scalar encoders and request-id headers.

``BaseResponseSerializer`` fixes the two public methods; each protocol family subclasses it.
``resolve_error`` turns a ``ServiceError`` into the facts every error format needs (wire code,
query code, status, fault side, modeled shape), taking them from the service model's error shape
when there is one. The scalar helpers (``timestamp_formatter``, ``float_text``, ``b64``) encode
values the same way across protocols.
"""

from __future__ import annotations

import base64
import hashlib
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from overcast.protocol.dialects import dialect_for
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.timestamps import ISO8601, UNIX, format_timestamp

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, StructureShape

    from overcast.errors import ServiceError


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """The facts of one error answer, whatever the protocol."""

    code: str  # the code as raised (the shape name when the model has the shape)
    query_code: str  # the awsQuery wire code (the shape's ``error.code`` trait when modeled)
    status: int
    sender_fault: bool
    shape: StructureShape | None  # the modeled error shape, if any

    @property
    def fault(self) -> str:
        return "Sender" if self.sender_fault else "Receiver"


# Error shapes by (model, code): ``ServiceModel.shape_for`` builds a new Shape on every call.
_error_shapes: weakref.WeakKeyDictionary[ServiceModel, dict[str, StructureShape | None]] = (
    weakref.WeakKeyDictionary()
)


def error_shape(service_model: ServiceModel, code: str) -> StructureShape | None:
    """The modeled exception shape named ``code`` (or whose ``error.code`` trait is ``code``)."""
    cache = _error_shapes.get(service_model)
    if cache is None:
        cache = _error_shapes[service_model] = {}
    try:
        return cache[code]
    except KeyError:
        pass
    shape: Any = None
    if code in service_model.shape_names:
        candidate = service_model.shape_for(code)
        if candidate.metadata.get("exception"):
            shape = candidate
    if shape is None:
        shape = service_model.shape_for_error_code(code)
    cache[code] = shape
    return shape


def resolve_error(error: ServiceError, service_model: ServiceModel) -> ErrorInfo:
    """Code, status and fault of ``error``, preferring the model's error shape traits."""
    code = error.error_code
    shape = error_shape(service_model, code)
    if shape is None:
        return ErrorInfo(code, code, error.http_status, error.sender_fault, None)
    trait: dict[str, Any] = shape.metadata.get("error") or {}
    query_code = trait.get("code") or dialect_for(service_model).legacy_query_codes.get(
        shape.name, shape.name
    )
    return ErrorInfo(
        code=shape.name,
        query_code=query_code,
        status=trait.get("httpStatusCode", error.http_status),
        sender_fault=trait.get("senderFault", error.sender_fault),
        shape=shape,
    )


def message_member(shape: StructureShape | None, default: str) -> str:
    """The member name the error shape uses for its message ('message' or 'Message')."""
    if shape is not None:
        for name in shape.members:
            if name.lower() == "message":
                return name
    return default


# --- scalar encoders ------------------------------------------------------------------------


def timestamp_formatter(fmt: str) -> Callable[[Any], str | int | float]:
    """A formatter for ``fmt`` with fast paths for the common values (UTC datetimes, epochs)."""
    if fmt == ISO8601:

        def iso(value: Any) -> str | int | float:
            if isinstance(value, datetime) and (value.tzinfo is None or value.tzinfo is UTC):
                # isoformat is the fastest formatter; AWS writes milliseconds only when set.
                if value.microsecond:
                    return value.isoformat(timespec="milliseconds")[:23] + "Z"
                return value.isoformat(timespec="seconds")[:19] + "Z"
            return format_timestamp(value, fmt)

        return iso
    if fmt == UNIX:

        def unix(value: Any) -> str | int | float:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, float):
                return int(value) if value.is_integer() else round(value, 3)
            return format_timestamp(value, fmt)

        return unix
    return lambda value: format_timestamp(value, fmt)


def float_text(value: Any) -> str:
    """A float as AWS writes it in text: NaN/Infinity/-Infinity spelled out."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    return str(value)


def special_float(value: Any) -> Any:
    """JSON bodies carry NaN and the infinities as strings; other numbers pass unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        return float_text(value)
    return value


def to_float(value: Any) -> Any:
    """Accept the textual spellings for float members (binary encodings need real floats)."""
    if isinstance(value, str):
        return float(value.replace("Infinity", "inf"))
    return value


def b64(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")


def as_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


# --- the serializer base ----------------------------------------------------------------------


class BaseResponseSerializer:
    """One wire protocol's response and error encoder; stateless apart from per-shape caches."""

    protocol: str = ""
    content_type: str = "application/json"

    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse:
        raise NotImplementedError

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        raise NotImplementedError

    # Shared pieces -------------------------------------------------------------------------

    def request_id_headers(self, headers: Headers, service_model: ServiceModel, rid: str) -> None:
        """The request id header(s) the service sends (S3 style or the common amzn one)."""
        if dialect_for(service_model).s3_request_ids:
            headers.add("x-amz-request-id", rid)
            headers.add("x-amz-id-2", host_id(rid))
        else:
            headers.add("x-amzn-RequestId", rid)

    @staticmethod
    def finish(status: int, headers: Headers, body: bytes) -> HttpResponse:
        headers.set("Content-Length", str(len(body)))
        return HttpResponse(status=status, headers=headers, body=body)

    @staticmethod
    def error_headers(headers: Headers, error: ServiceError) -> None:
        for name, value in error.headers.items():
            headers.set(name, value)


def host_id(request_id: str) -> str:
    """S3's x-amz-id-2: opaque base64; derived from the request id so it is stable per request."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest() * 2).decode("ascii")
