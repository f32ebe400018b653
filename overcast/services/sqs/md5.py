"""The MD5 digests SQS returns: of the body, and of message (system) attributes.

The attribute digest is AWS's documented encoding, attributes sorted by name, each as:
length-prefixed name (4-byte big-endian length + UTF-8), length-prefixed data type, one
transport byte (1 for String/Number, 2 for Binary) and the length-prefixed value.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

_STRING, _BINARY = b"\x01", b"\x02"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def body_md5(body: str) -> str:
    return md5_hex(body.encode("utf-8"))


def _field(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def attributes_md5(attributes: dict[str, dict[str, Any]]) -> str:
    """MD5 of ``{name: {"DataType", "StringValue"|"BinaryValue"}}`` as AWS computes it."""
    out = bytearray()
    for name in sorted(attributes):
        attr = attributes[name]
        data_type = attr["DataType"]
        out += _field(name.encode("utf-8")) + _field(data_type.encode("utf-8"))
        if attr.get("BinaryValue") is not None:
            value = attr["BinaryValue"]
            out += _BINARY + _field(value if isinstance(value, bytes) else bytes(value))
        else:
            out += _STRING + _field(str(attr.get("StringValue", "")).encode("utf-8"))
    return md5_hex(bytes(out))
