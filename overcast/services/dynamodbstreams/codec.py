"""Items as JSON text: DynamoDB JSON with binary members base64-encoded (stream records,
point-in-time history, backups and exports keep items this way)."""

from __future__ import annotations

import base64
from typing import Any

Item = dict[str, dict[str, Any]]


def encode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, v),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(bytes(v)).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(bytes(m)).decode() for m in v]}
    if kind == "L":
        return {"L": [encode_value(m) for m in v]}
    if kind == "M":
        return {"M": {k: encode_value(m) for k, m in v.items()}}
    return {kind: v}


def decode_value(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, v),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(v)}
    if kind == "BS":
        return {"BS": [base64.b64decode(m) for m in v]}
    if kind == "L":
        return {"L": [decode_value(m) for m in v]}
    if kind == "M":
        return {"M": {k: decode_value(m) for k, m in v.items()}}
    return {kind: v}


def encode_item(item: Item | None) -> Item | None:
    return None if item is None else {k: encode_value(v) for k, v in item.items()}


def decode_item(item: Item | None) -> Item | None:
    return None if item is None else {k: decode_value(v) for k, v in item.items()}
