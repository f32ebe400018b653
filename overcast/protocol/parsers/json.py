"""The JSON-family body: json (awsJson 1.0/1.1), rest-json bodies, and CBOR's decoded values.

``compile_value(shape, memo, cbor=...)`` turns a shape into a converter from the decoded document
(``json.loads`` / ``cbor2.loads`` output) to the operation's Python values. JSON and CBOR differ
only in scalars: JSON carries blobs as base64 text and timestamps as epoch numbers, CBOR carries
bytes and tag-1 datetimes natively. ``JsonRequestParser`` is the whole awsJson protocol: the
operation is named by X-Amz-Target, so the body is all there is to read.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from overcast.errors import SerializationException

try:  # orjson decodes several times faster; the stdlib decoder is the fallback
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]
from overcast.protocol.parsers.base import (
    BadScalar,
    Converter,
    Memo,
    OperationCache,
    accepts_compression,
    b64_to_bytes,
    epoch_to_datetime,
    float_from_word,
    host_labels,
    host_prefix_pattern,
    request_body,
    text_to_timestamp,
)

if TYPE_CHECKING:
    import re

    from botocore.model import OperationModel, Shape

    from overcast.protocol.http import HttpRequest


def _type_name(value: Any) -> str:
    return type(value).__name__


def _string(value: Any) -> str:
    if type(value) is str:
        return value
    raise BadScalar(f"expected a string, got {_type_name(value)}")


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise BadScalar(f"expected an integer, got {_type_name(value)}")


def _float(value: Any) -> float:
    t = type(value)
    if t is float:
        return value
    if t is int:
        return float(value)
    if t is str:
        return float_from_word(value)
    raise BadScalar(f"expected a number, got {_type_name(value)}")


def _decimal(value: Any) -> Decimal:
    if type(value) in (int, float):
        return Decimal(str(value))
    if isinstance(value, Decimal):
        return value
    raise BadScalar(f"expected a number, got {_type_name(value)}")


def _boolean(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise BadScalar(f"expected a boolean, got {_type_name(value)}")


def _json_timestamp(value: Any) -> datetime:
    t = type(value)
    if t is int or t is float:
        return epoch_to_datetime(value)
    if t is str:
        return text_to_timestamp(value)
    raise BadScalar(f"expected a timestamp, got {_type_name(value)}")


def _cbor_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return epoch_to_datetime(value.timestamp())
    return _json_timestamp(value)


def _json_blob(value: Any) -> bytes:
    if type(value) is str:
        return b64_to_bytes(value)
    raise BadScalar(f"expected base64 text, got {_type_name(value)}")


def _cbor_blob(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if type(value) is str:  # lenient: some encoders send text for blobs
        return value.encode()
    raise BadScalar(f"expected bytes, got {_type_name(value)}")


def _document(value: Any) -> Any:
    return value


_SCALARS: dict[str, Converter] = {
    "string": _string,
    "character": _string,
    "integer": _integer,
    "long": _integer,
    "short": _integer,
    "byte": _integer,
    "biginteger": _integer,
    "bigInteger": _integer,
    "float": _float,
    "double": _float,
    "bigdecimal": _decimal,
    "bigDecimal": _decimal,
    "boolean": _boolean,
    "timestamp": _json_timestamp,
    "blob": _json_blob,
}
_CBOR_SCALARS = {**_SCALARS, "timestamp": _cbor_timestamp, "blob": _cbor_blob}


def compile_value(shape: Shape, memo: Memo, *, cbor: bool = False) -> Converter:
    """The converter for values of ``shape`` in a decoded JSON (or CBOR) document."""
    return memo.get(shape, lambda s: _build(s, memo, cbor))


def compile_members(
    members: dict[str, Shape], memo: Memo, *, cbor: bool = False
) -> dict[str, tuple[str, Converter]]:
    """Wire name -> (member name, converter) for a structure's members."""
    table: dict[str, tuple[str, Converter]] = {}
    for name, member in members.items():
        wire = member.serialization.get("name", name)
        table[wire] = (name, compile_value(member, memo, cbor=cbor))
    return table


def structure_converter(table: dict[str, tuple[str, Converter]]) -> Converter:
    def convert(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise BadScalar(f"expected an object, got {_type_name(value)}")
        out: dict[str, Any] = {}
        for key, item in value.items():
            entry = table.get(key)
            # Unknown members are ignored and null means absent, as AWS does.
            if entry is not None and item is not None:
                out[entry[0]] = entry[1](item)
        return out

    return convert


def _build(shape: Shape, memo: Memo, cbor: bool) -> Converter:
    kind = shape.type_name
    if shape.metadata.get("document"):
        return _document
    if kind == "structure":
        return structure_converter(compile_members(shape.members, memo, cbor=cbor))
    if kind == "list":
        item_conv = compile_value(shape.member, memo, cbor=cbor)
        sparse = bool(shape.metadata.get("sparse"))

        def convert_list(value: Any) -> list[Any]:
            if type(value) is not list:
                raise BadScalar(f"expected an array, got {_type_name(value)}")
            if sparse:
                return [None if v is None else item_conv(v) for v in value]
            return [item_conv(v) for v in value if v is not None]

        return convert_list
    if kind == "map":
        key_conv = compile_value(shape.key, memo, cbor=cbor)
        value_conv = compile_value(shape.value, memo, cbor=cbor)
        sparse_map = bool(shape.metadata.get("sparse"))

        def convert_map(value: Any) -> dict[Any, Any]:
            if type(value) is not dict:
                raise BadScalar(f"expected an object, got {_type_name(value)}")
            out: dict[Any, Any] = {}
            for k, v in value.items():
                if v is None:
                    if sparse_map:
                        out[key_conv(k)] = None
                    continue
                out[key_conv(k)] = value_conv(v)
            return out

        return convert_map
    return (_CBOR_SCALARS if cbor else _SCALARS).get(kind, _document)


def decode_json(body: bytes) -> Any:
    """Decode a JSON body; an empty body is an empty object."""
    if not body or body.isspace():
        return {}
    if orjson is not None:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the stdlib decoder accepts more (NaN, integers past 64 bits, UTF-16) or says why
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SerializationException(f"Unable to parse request body as JSON: {exc}") from None


def fill_host_labels(
    params: dict[str, Any],
    request: HttpRequest,
    pattern: re.Pattern[str] | None,
    labels: dict[str, str],
) -> None:
    """Members bound to host labels, taken from the Host header when the body lacked them."""
    if pattern is None:
        return
    for label, value in host_labels(request, pattern).items():
        member = labels.get(label)
        if member is not None and member not in params:
            params[member] = value


def host_label_members(operation: OperationModel) -> dict[str, str]:
    shape = operation.input_shape
    if shape is None:
        return {}
    return {
        m.serialization.get("name", name): name
        for name, m in shape.members.items()
        if m.serialization.get("hostLabel")
    }


class RpcPlan:
    __slots__ = ("compressed", "convert", "host_labels", "host_pattern")

    def __init__(self, operation: OperationModel, cbor: bool) -> None:
        shape = operation.input_shape
        self.convert: Converter | None = (
            None if shape is None else compile_value(shape, Memo(), cbor=cbor)
        )
        self.host_pattern = host_prefix_pattern(operation)
        self.host_labels = host_label_members(operation)
        self.compressed = accepts_compression(operation)


class JsonRequestParser:
    """awsJson 1.0 / 1.1: the whole input is the JSON body.

    Also the base of the CBOR parser, which differs only in ``cbor`` (the plan's scalar rules)
    and ``decode``.
    """

    cbor = False

    def __init__(self) -> None:
        self._plans: OperationCache[RpcPlan] = OperationCache(lambda op: RpcPlan(op, self.cbor))

    @staticmethod
    def decode(body: bytes) -> Any:
        return decode_json(body)

    def parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        plan = self._plans.get(operation)
        if plan.convert is None:
            return {}
        document = self.decode(request_body(request, plan.compressed, SerializationException))
        try:
            params = plan.convert(document)
        except BadScalar as exc:
            raise SerializationException(str(exc)) from None
        fill_host_labels(params, request, plan.host_pattern, plan.host_labels)
        return params
