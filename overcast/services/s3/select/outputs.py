"""S3 Select's output side: result rows as CSV or JSON records."""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any

from overcast.services.s3.select.errors import InvalidQuoteFields
from overcast.services.s3.select.evaluate import Row
from overcast.services.s3.select.values import MISSING, format_timestamp, to_string


def _plain(value: Any) -> Any:
    """A value as JSON carries it (decimals as numbers, timestamps as text)."""
    if isinstance(value, decimal.Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    if isinstance(value, datetime.datetime):
        return format_timestamp(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not MISSING}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class CsvWriter:
    def __init__(self, options: dict[str, Any]) -> None:
        quote_fields = (options.get("QuoteFields") or "ASNEEDED").upper()
        if quote_fields not in ("ALWAYS", "ASNEEDED"):
            raise InvalidQuoteFields()
        self.always = quote_fields == "ALWAYS"
        self.delimiter = options.get("FieldDelimiter") or ","
        self.record_delimiter = options.get("RecordDelimiter") or "\n"
        self.quote = options.get("QuoteCharacter") or '"'
        self.escape = options.get("QuoteEscapeCharacter") or self.quote
        self._special = {self.delimiter, self.quote, "\n", "\r", *self.record_delimiter}

    def _field(self, value: Any) -> str:
        if value is None or value is MISSING:
            text = ""
        elif isinstance(value, dict | list):
            text = json.dumps(_plain(value), separators=(",", ":"), default=str)
        else:
            text = to_string(value)
        if self.always or any(c in text for c in self._special):
            return self.quote + text.replace(self.quote, self.escape + self.quote) + self.quote
        return text

    def row(self, row: Row) -> str:
        values: list[Any] = []
        for name, value in row:
            if name == "" and isinstance(value, dict):
                values.extend(value.values())  # SELECT * over JSON: the record's fields
            else:
                values.append(value)
        return self.delimiter.join(self._field(v) for v in values) + self.record_delimiter


class JsonWriter:
    def __init__(self, options: dict[str, Any]) -> None:
        self.record_delimiter = options.get("RecordDelimiter") or "\n"

    def row(self, row: Row) -> str:
        if len(row) == 1 and row[0][0] == "":
            value = row[0][1]
            document = _plain(value) if isinstance(value, dict) else {"_1": _plain(value)}
        else:
            document = {name: _plain(value) for name, value in row if value is not MISSING}
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str)
        return text + self.record_delimiter
