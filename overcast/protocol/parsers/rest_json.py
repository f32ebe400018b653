"""rest-json: the rest binding with a JSON body (Lambda, API Gateway, most newer services)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from overcast.errors import SerializationException
from overcast.protocol.parsers.base import BadScalar, Converter, Memo
from overcast.protocol.parsers.json import (
    compile_members,
    compile_value,
    decode_json,
    structure_converter,
)
from overcast.protocol.parsers.rest import RestRequestParser

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from overcast.errors import ServiceError


class RestJsonRequestParser(RestRequestParser):
    def compile_body(self, shape: Shape, members: dict[str, Shape], memo: Memo) -> Converter:
        return structure_converter(compile_members(members, memo))

    def compile_payload(self, member: Shape, memo: Memo) -> Converter:
        return compile_value(member, memo)

    def decode_body(self, body: bytes, kind: str) -> Any:
        if not body or body.isspace():
            return None
        if kind == "document":
            try:
                return json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise SerializationException(f"Unable to parse request body: {exc}") from None
        return decode_json(body)

    def value_error(self, exc: BadScalar, operation: OperationModel) -> ServiceError:
        return SerializationException(str(exc))

    def body_error(self, exc: BadScalar) -> ServiceError:
        return SerializationException(str(exc))
