"""S3 Select's input side: decompression (GZIP, BZIP2), the scan range, and the readers that
turn an object's bytes into records (CSV, JSON DOCUMENT/LINES, Parquet through pyarrow)."""

from __future__ import annotations

import bz2
import csv
import datetime
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, TextIO

from overcast.services.s3.errors import NotImplemented_
from overcast.services.s3.select import ast
from overcast.services.s3.select.errors import (
    CSVParsingError,
    InvalidCompressionFormat,
    InvalidFileHeaderInfo,
    InvalidJsonType,
    InvalidRequestParameter,
    JSONParsingError,
    ParquetParsingError,
)
from overcast.services.s3.select.evaluate import CsvRecord, _step
from overcast.services.s3.select.values import MISSING

MAX_RECORD = 1 << 20  # S3 Select refuses records over 1 MB


def decompress(data: bytes, compression: str | None) -> bytes:
    kind = (compression or "NONE").upper()
    try:
        if kind == "NONE":
            return data
        if kind == "GZIP":
            return gzip.decompress(data)
        if kind == "BZIP2":
            return bz2.decompress(data)
    except (OSError, EOFError, ValueError, zlib.error):
        raise InvalidCompressionFormat(
            f"The file is not in a supported compression format. {kind} was specified, but the "
            "object is not compressed that way."
        ) from None
    raise InvalidCompressionFormat()


def scan_range(data: bytes, start: int | None, end: int | None, delimiter: bytes) -> bytes:
    """The records that start inside ``[start, end]`` (inclusive), as S3 scans them; an End
    alone means the last End bytes."""
    size = len(data)
    if start is None and end is None:
        return data
    if start is None:
        first, last = max(0, size - int(end or 0)), size - 1
    else:
        first, last = int(start), size - 1 if end is None else min(int(end), size - 1)
    if first >= size or last < first:
        return b""
    if first > 0:
        found = data.find(delimiter, first - 1)
        if found < 0:
            return b""
        first = found + len(delimiter)
    if first > last:
        return b""
    stop = data.find(delimiter, last)
    stop = size if stop < 0 else stop + len(delimiter)
    return data[first:stop]


# --- streaming input ---------------------------------------------------------------------------


class ChunkReader(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks; ``count`` is bytes read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        self.count += size
        return size


def open_text(raw: BinaryIO, compression: str | None) -> tuple[TextIO, ChunkReader]:
    """The decompressed text of ``raw``, and a counter of the decompressed bytes."""
    kind = (compression or "NONE").upper()
    binary: BinaryIO
    if kind == "NONE":
        binary = raw
    elif kind == "GZIP":
        binary = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
    elif kind == "BZIP2":
        binary = bz2.BZ2File(raw)  # type: ignore[assignment]
    else:
        raise InvalidCompressionFormat()
    counted = ChunkReader(iter(lambda: binary.read(1 << 20), b""))
    buffered = io.BufferedReader(counted, 1 << 20)
    return io.TextIOWrapper(buffered, encoding="utf-8", errors="replace", newline=""), counted


DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error)


def split_stream(stream: TextIO, delimiter: str) -> Iterator[str]:
    """Records of a text stream cut at ``delimiter`` (a custom RecordDelimiter)."""
    pending = ""
    while chunk := stream.read(1 << 16):
        pending += chunk
        *records, pending = pending.split(delimiter)
        yield from records
    if pending:
        yield pending


# --- CSV -------------------------------------------------------------------------------------


def _single(value: str | None, default: str, name: str) -> str:
    if value is None or value == "":
        return default
    if len(value) != 1:
        raise InvalidRequestParameter(f"The {name} must be a single character.")
    return value


def csv_records(text: str | TextIO, options: dict[str, Any]) -> Iterator[CsvRecord]:
    header_info = (options.get("FileHeaderInfo") or "NONE").upper()
    if header_info not in ("NONE", "USE", "IGNORE"):
        raise InvalidFileHeaderInfo()
    delimiter = _single(options.get("FieldDelimiter"), ",", "FieldDelimiter")
    quote = _single(options.get("QuoteCharacter"), '"', "QuoteCharacter")
    escape = options.get("QuoteEscapeCharacter") or quote
    comments = options.get("Comments") or "#"
    record_delimiter = options.get("RecordDelimiter") or "\n"
    stream = io.StringIO(text, newline="") if isinstance(text, str) else text
    if record_delimiter in ("\n", "\r\n"):
        lines: Any = stream
    else:
        lines = (line + "\n" for line in split_stream(stream, record_delimiter))
    reader = csv.reader(
        lines,
        delimiter=delimiter,
        quotechar=quote,
        escapechar=None if escape == quote else escape,
        doublequote=escape == quote,
        strict=False,
    )
    header: dict[str, int] | None = None
    folded: dict[str, int] | None = None
    first = True
    try:
        for row in reader:
            if not row or (len(row) == 1 and row[0] == ""):
                continue
            if comments and row[0].startswith(comments):
                continue
            if first:
                first = False
                if header_info == "USE":
                    header = {name: i for i, name in reversed(list(enumerate(row)))}
                    folded = {name.lower(): i for i, name in reversed(list(enumerate(row)))}
                    continue
                if header_info == "IGNORE":
                    continue
            if sum(len(v) for v in row) > MAX_RECORD:
                from overcast.services.s3.select.errors import OverMaxRecordSize

                raise OverMaxRecordSize()
            yield CsvRecord(row, header, folded)
    except csv.Error as exc:
        raise CSVParsingError(f"Encountered an error parsing the CSV file: {exc}.") from None


# --- JSON ------------------------------------------------------------------------------------


def json_values(source: str | TextIO, kind: str | None) -> Iterator[Any]:
    json_type = (kind or "").upper()
    if json_type not in ("DOCUMENT", "LINES"):
        raise InvalidJsonType()
    decoder = json.JSONDecoder()
    if json_type == "LINES":
        lines = source.splitlines() if isinstance(source, str) else source
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield decoder.decode(line)
            except ValueError:
                raise JSONParsingError(
                    f"Encountered an error parsing the JSON file at line {number}."
                ) from None
        return
    text = source if isinstance(source, str) else source.read()
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos] in " \t\r\n":
            pos += 1
        if pos >= size:
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            raise JSONParsingError() from None
        yield value


def apply_source_path(values: Iterator[Any], path: tuple[ast.Step, ...]) -> Iterator[Any]:
    """``FROM S3Object[*].a[*]``: each top-level value, navigated, wildcards flattened."""
    steps = path[1:] if path and path[0].wildcard else path

    def walk(value: Any, rest: tuple[ast.Step, ...]) -> Iterator[Any]:
        if not rest:
            yield value
            return
        step = rest[0]
        if step.wildcard:
            if isinstance(value, list):
                for element in value:
                    yield from walk(element, rest[1:])
            elif isinstance(value, dict):
                for element in value.values():
                    yield from walk(element, rest[1:])
            return
        found = _step(value, step)
        if found is not MISSING:
            yield from walk(found, rest[1:])

    for value in values:
        yield from walk(value, steps)


# --- Parquet ---------------------------------------------------------------------------------


PARQUET_MISSING = (
    "Parquet input is not available on this server: install Overcast's parquet extra "
    "(pip install 'overcast[parquet]', which adds pyarrow)."
)


def require_parquet() -> None:
    """Refuse Parquet input up front, before the object is read, when pyarrow is missing (an
    optional dependency: the ``parquet`` extra)."""
    try:
        import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        raise NotImplemented_(PARQUET_MISSING) from None


def parquet_records(data: bytes) -> Iterator[dict[str, Any]]:
    require_parquet()
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # optional: the parquet extra

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception:
        raise ParquetParsingError() from None
    for batch in table.to_batches(max_chunksize=4096):
        for row in batch.to_pylist():
            yield {k: _parquet_value(v) for k, v in row.items()}


def _parquet_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.UTC)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
