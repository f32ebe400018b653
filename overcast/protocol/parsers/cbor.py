"""smithy-rpc-v2-cbor: the operation is named by the path, the input is one CBOR map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cbor2

from overcast.errors import SerializationException
from overcast.protocol.parsers.json import JsonRequestParser

if TYPE_CHECKING:
    pass


def decode_cbor(body: bytes) -> Any:
    """Decode a CBOR body; an empty body is an empty map."""
    if not body:
        return {}
    try:
        return cbor2.loads(body)
    except Exception as exc:  # cbor2 raises several types (CBORDecodeError, ValueError...)
        raise SerializationException(f"Unable to parse request body as CBOR: {exc}") from None


class CborRequestParser(JsonRequestParser):
    """The RPC-body parser with a CBOR document (bytes and tag-1 datetimes native)."""

    cbor = True

    @staticmethod
    def decode(body: bytes) -> Any:
        return decode_cbor(body)
