"""File formats of DynamoDB exports to and imports from S3.

Exports are laid out as AWS lays them out under ``<prefix>/AWSDynamoDB/<export id>/``: gzip'd
data files in ``data/`` (DYNAMODB_JSON: one ``{"Item": {...}}`` per line; ION: one
``{Item:{...}}`` Ion text value per line after ``$ion_1_0``), ``manifest-files.json`` (one JSON
line per data file), ``manifest-summary.json`` and their ``.md5`` companions, and ``_started``.
Imports read DYNAMODB_JSON and CSV (header from ``HeaderList`` or the first line; every value a
string except key attributes, typed by the table's definitions), optionally gzip'd; ION input is
read by ``import_ion.py``.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
from decimal import Decimal
from typing import Any

from overcast.services.dynamodbstreams.codec import decode_value, encode_value

Item = dict[str, dict[str, Any]]


def _ion_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _ion_value(value: dict[str, Any]) -> str:
    ((kind, v),) = value.items()
    if kind == "S":
        return _ion_string(v)
    if kind == "N":
        number = Decimal(v)
        return f"{number:f}" if number == number.to_integral_value() else f"{number:f}d0"
    if kind == "B":
        return "{{" + base64.b64encode(bytes(v)).decode() + "}}"
    if kind == "BOOL":
        return "true" if v else "false"
    if kind == "NULL":
        return "null"
    if kind == "L":
        return "[" + ",".join(_ion_value(m) for m in v) + "]"
    if kind == "M":
        return "{" + ",".join(f"{_ion_string(k)}:{_ion_value(m)}" for k, m in v.items()) + "}"
    member = {"SS": "S", "NS": "N", "BS": "B"}[kind]
    members = ",".join(_ion_value({member: m}) for m in v)
    return f"$dynamodb_{kind}::[{members}]"


def data_line(item: Item, fmt: str) -> str:
    if fmt == "ION":
        fields = ",".join(f"{_ion_string(k)}:{_ion_value(v)}" for k, v in item.items())
        return "{Item:{" + fields + "}}"
    return json.dumps({"Item": {k: encode_value(v) for k, v in item.items()}}, ensure_ascii=False)


def change_line(keys: Item, old: Item | None, new: Item | None, micros: int, view: str) -> str:
    """One line of an incremental export (DYNAMODB_JSON)."""
    doc: dict[str, Any] = {
        "Metadata": {"WriteTimestampMicros": {"N": str(micros)}},
        "Keys": {k: encode_value(v) for k, v in keys.items()},
    }
    if new is not None:
        doc["NewImage"] = {k: encode_value(v) for k, v in new.items()}
    if old is not None and view == "NEW_AND_OLD_IMAGES":
        doc["OldImage"] = {k: encode_value(v) for k, v in old.items()}
    return json.dumps(doc, ensure_ascii=False)


def gzip_lines(lines: list[str]) -> bytes:
    text = "\n".join(lines) + ("\n" if lines else "")
    return gzip.compress(text.encode("utf-8"), mtime=0)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # S3's content digest


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# -- imports -------------------------------------------------------------------------------------


class BadLine(ValueError):
    """A line of an import file that is not an item."""


def _decode_json_value(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) != 1:
        raise BadLine("not an AttributeValue")
    return decode_value(value)


def decompress(data: bytes, compression: str | None) -> bytes:
    if compression == "GZIP" or (compression in (None, "NONE") and data[:2] == b"\x1f\x8b"):
        return gzip.decompress(data)
    if compression == "ZSTD":
        raise BadLine("ZSTD input is not supported")
    return data


def json_items(text: str) -> list[Item | BadLine]:
    """The items of a DYNAMODB_JSON file (a BadLine for each line that is not one)."""
    out: list[Item | BadLine] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            item = doc.get("Item") if isinstance(doc, dict) else None
            if not isinstance(item, dict):
                raise BadLine('a line must be {"Item": {...}}')
            out.append({k: _decode_json_value(v) for k, v in item.items()})
        except (ValueError, TypeError, AttributeError) as exc:
            out.append(BadLine(str(exc)))
    return out


def csv_items(
    text: str, delimiter: str, header: list[str] | None, key_types: dict[str, str]
) -> list[Item | BadLine]:
    """The items of a CSV file: strings, except the key attributes (typed as defined)."""
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if header is None:
        if not rows:
            return []
        header, rows = rows[0], rows[1:]
    out: list[Item | BadLine] = []
    for row in rows:
        if not row:
            continue
        if len(row) > len(header):
            out.append(BadLine("more values than header columns"))
            continue
        item: Item = {}
        for name, value in zip(header, row, strict=False):
            if value == "" and name not in key_types:
                continue
            kind = key_types.get(name, "S")
            item[name] = {"B": base64.b64decode(value)} if kind == "B" else {kind: value}
        out.append(item)
    return out
