"""SelectObjectContent: S3 Select over one object (the ``select`` package does the SQL and the
formats); the answer is an event stream of Records, then Progress (when asked), Stats and End.

The query is parsed before anything is read, so SQL errors answer 400 as on S3. The object is
read, decompressed and evaluated in a worker thread; the output is cut into Records events of
``CHUNK`` bytes. An error met before any record was produced answers as an HTTP error; one met
later ends the stream with an error event after the records already produced.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from overcast.errors import ServiceError
from overcast.gateway.context import RequestContext
from overcast.services.s3 import sse_at_rest
from overcast.services.s3.errors import InvalidObjectState
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.object_common import ARCHIVED, ObjectBase
from overcast.services.s3.select import inputs
from overcast.services.s3.select.errors import (
    ExpressionTooLong,
    InvalidExpressionType,
    InvalidRequestParameter,
    MissingRequiredParameter,
    UnsupportedSyntax,
)
from overcast.services.s3.select.evaluate import Evaluator
from overcast.services.s3.select.outputs import CsvWriter, JsonWriter
from overcast.services.s3.select.sql import parse

CHUNK = 64 << 10
MAX_EXPRESSION = 256 << 10


@dataclass(slots=True)
class _Result:
    chunks: list[bytes] = field(default_factory=list)
    scanned: int = 0
    processed: int = 0
    returned: int = 0
    error: ServiceError | None = None


def _formats(request: dict[str, Any]) -> tuple[str, dict[str, Any], str, dict[str, Any]]:
    source = request.get("InputSerialization") or {}
    target = request.get("OutputSerialization") or {}
    given_in = [k for k in ("CSV", "JSON", "Parquet") if source.get(k) is not None]
    given_out = [k for k in ("CSV", "JSON") if target.get(k) is not None]
    if len(given_in) != 1 or len(given_out) != 1:
        raise MissingRequiredParameter(
            "The SelectRequest entity must name exactly one input and one output format."
        )
    kind_in, kind_out = given_in[0], given_out[0]
    if kind_in == "Parquet" and (source.get("CompressionType") or "NONE") != "NONE":
        raise InvalidRequestParameter(
            "Parquet input does not support a CompressionType: Parquet compresses by column."
        )
    return kind_in, source[kind_in] or {}, kind_out, target[kind_out] or {}


class SelectObject(ObjectBase):
    async def select_object_content(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        expression = request.get("Expression") or ""
        if (request.get("ExpressionType") or "").upper() != "SQL":
            raise InvalidExpressionType()
        if len(expression.encode()) > MAX_EXPRESSION:
            raise ExpressionTooLong()
        kind_in, options_in, kind_out, options_out = _formats(request)
        query = parse(expression)
        name, key = request["Bucket"], request["Key"]

        def lookup(conn: sqlite3.Connection) -> tuple[Bucket, ObjectVersion]:
            bucket = self._access(ctx, conn, name, "s3:GetObject", key=key)
            return bucket, self._find(ctx, conn, bucket, key, None)

        _, obj = self._store.read(lookup)
        if obj.storage_class in ARCHIVED:
            raise InvalidObjectState(StorageClass=obj.storage_class)
        scan = request.get("ScanRange") or {}
        compression = (request.get("InputSerialization") or {}).get("CompressionType")
        if scan:
            _check_scan_range(scan, kind_in, options_in, compression)

        def run() -> _Result:
            data = self._read_all(obj)
            result = _Result(scanned=len(data))
            writer = CsvWriter(options_out) if kind_out == "CSV" else JsonWriter(options_out)
            buffer: list[str] = []
            try:
                raw = inputs.decompress(data, compression)
                if scan and kind_in != "Parquet":
                    delimiter = (options_in.get("RecordDelimiter") or "\n").encode()
                    raw = inputs.scan_range(raw, scan.get("Start"), scan.get("End"), delimiter)
                    result.scanned = len(raw)
                result.processed = len(raw)
                records = _records(raw, kind_in, options_in, query.source_path)
                size = 0
                for row in Evaluator(query).run(records):
                    text = writer.row(row)
                    buffer.append(text)
                    size += len(text)
                    if size >= CHUNK:
                        result.chunks.append("".join(buffer).encode())
                        buffer, size = [], 0
            except RecursionError:  # a very deep expression tree
                error: ServiceError = UnsupportedSyntax("The SQL expression is nested too deeply.")
                if not buffer and not result.chunks:
                    raise error from None
                result.error = error
            except ServiceError as exc:
                if not buffer and not result.chunks:
                    raise  # nothing produced yet: an HTTP error
                result.error = exc
            if buffer:
                result.chunks.append("".join(buffer).encode())
            result.returned = sum(len(c) for c in result.chunks)
            return result

        result = await asyncio.to_thread(run)
        progress = bool((request.get("RequestProgress") or {}).get("Enabled"))
        return {"Payload": _events(result, progress)}

    def _read_all(self, obj: ObjectVersion) -> bytes:
        # Decrypted: object bytes are encrypted at rest (sse_at_rest.py).
        return b"".join(sse_at_rest.iter_plain(self._store, obj.segments))


def _check_scan_range(
    scan: dict[str, Any], kind: str, options: dict[str, Any], compression: str | None
) -> None:
    """S3 scans ranges of uncompressed CSV and JSON LINES input only."""
    start, end = scan.get("Start"), scan.get("End")
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise InvalidRequestParameter("The ScanRange Start and End must not be negative.")
    if start is not None and end is not None and start > end:
        raise InvalidRequestParameter("The ScanRange End must not be less than its Start.")
    if (compression or "NONE").upper() != "NONE":
        raise InvalidRequestParameter("ScanRange is not supported for compressed input.")
    if kind == "JSON" and (options.get("Type") or "").upper() != "LINES":
        raise InvalidRequestParameter("ScanRange is supported for JSON input of Type LINES only.")


def _records(
    raw: bytes, kind: str, options: dict[str, Any], path: tuple[Any, ...]
) -> Iterator[Any]:
    if kind == "Parquet":
        return inputs.apply_source_path(inputs.parquet_records(raw), path)
    text = raw.decode("utf-8", "replace")
    if kind == "CSV":
        return inputs.csv_records(text, options)
    return inputs.apply_source_path(inputs.json_values(text, options.get("Type")), path)


async def _events(result: _Result, progress: bool) -> AsyncIterator[dict[str, Any]]:
    for chunk in result.chunks:
        yield {"Records": {"Payload": chunk}}
    if result.error is not None:
        raise result.error
    details = {
        "BytesScanned": result.scanned,
        "BytesProcessed": result.processed,
        "BytesReturned": result.returned,
    }
    if progress:
        yield {"Progress": {"Details": dict(details)}}
    yield {"Stats": {"Details": details}}
    yield {"End": {}}
