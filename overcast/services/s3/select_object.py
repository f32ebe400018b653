"""SelectObjectContent: S3 Select over one object (the ``select`` package does the SQL and the
formats); the answer is an event stream of Records, then Progress (when asked), Stats and End.

The query is parsed before anything is read, so SQL errors answer 400 as on S3. The object is
streamed (decrypted, decompressed) through the evaluator in a worker thread (``select.stream``)
whose output, cut into Records events of ``CHUNK`` bytes, streams as it comes: memory stays
bounded whatever the object's size (Parquet, JSON DOCUMENT and ScanRange input are read whole).
An error met before any record was produced answers as an HTTP error; one met later ends the
stream with an error event after the records already produced.
"""

from __future__ import annotations

import io
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from overcast.errors import ServiceError
from overcast.gateway.context import RequestContext
from overcast.services.s3 import encryption, sse_at_rest
from overcast.services.s3.errors import InvalidObjectState
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.object_common import ARCHIVED, ObjectBase
from overcast.services.s3.select import inputs
from overcast.services.s3.select.errors import (
    ExpressionTooLong,
    InvalidCompressionFormat,
    InvalidExpressionType,
    InvalidRequestParameter,
    MissingRequiredParameter,
    UnsupportedSyntax,
)
from overcast.services.s3.select.evaluate import Evaluator
from overcast.services.s3.select.outputs import CsvWriter, JsonWriter
from overcast.services.s3.select.sql import parse
from overcast.services.s3.select.stream import Producer
from overcast.services.s3.storage_class import restore_state

log = logging.getLogger("overcast.s3")

CHUNK = 64 << 10
MAX_EXPRESSION = 256 << 10


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
    if kind_in == "Parquet":
        inputs.require_parquet()
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
            obj = self._find(ctx, conn, bucket, key, None)
            self._check_object_owner(ctx, conn, bucket, obj, "s3:GetObject")
            return bucket, obj

        _, obj = self._store.read(lookup)
        encryption.check_key_for(obj.meta, request)  # an SSE-C object needs its key
        if obj.storage_class in ARCHIVED and restore_state(obj, self._now()) != "restored":
            raise InvalidObjectState(StorageClass=obj.storage_class)
        scan = request.get("ScanRange") or {}
        compression = (request.get("InputSerialization") or {}).get("CompressionType")
        if scan:
            _check_scan_range(scan, kind_in, options_in, compression)

        writer = CsvWriter(options_out) if kind_out == "CSV" else JsonWriter(options_out)

        now = self._now()

        def work(emit: Callable[[str, Any], None]) -> None:
            chunks = sse_at_rest.iter_plain(self._store, obj.segments)  # decrypted
            _run_select(query, chunks, kind_in, options_in, compression, scan, writer, emit, now)

        producer = Producer(work)
        first = await producer.next()
        if first[0] == "error":  # before any record: an HTTP error
            producer.cancel()
            raise _as_service_error(first[1])
        progress = bool((request.get("RequestProgress") or {}).get("Enabled"))
        return {"Payload": _events(producer, first, progress)}


def _run_select(
    query: Any, chunks: Iterable[bytes], kind: str, options: dict[str, Any],
    compression: str | None, scan: dict[str, Any], writer: CsvWriter | JsonWriter,
    emit: Callable[[str, Any], None], now: float,
) -> None:  # fmt: skip
    """The worker thread: read, decompress, evaluate, and emit output chunks, then the stats."""
    source = inputs.ChunkReader(chunks)
    raw: Any = io.BufferedReader(source, 1 << 20)
    if scan and kind != "Parquet":
        delimiter = (options.get("RecordDelimiter") or "\n").encode()
        raw = io.BytesIO(
            inputs.scan_range(raw.read(), scan.get("Start"), scan.get("End"), delimiter)
        )
    returned = 0
    try:
        if kind == "Parquet":
            data = raw.read()
            processed = lambda: len(data)  # noqa: E731
            records: Iterator[Any] = inputs.apply_source_path(
                inputs.parquet_records(data), query.source_path
            )
        else:
            text, counter = inputs.open_text(raw, compression)
            processed = lambda: counter.count  # noqa: E731
            if kind == "CSV":
                records = inputs.csv_records(text, options)
            else:
                values = inputs.json_values(text, options.get("Type"))
                records = inputs.apply_source_path(values, query.source_path)
        buffer: list[str] = []
        size = 0
        try:
            for row in Evaluator(query, now).run(records):
                line = writer.row(row)
                buffer.append(line)
                size += len(line)
                if size >= CHUNK:
                    chunk, buffer, size = "".join(buffer).encode(), [], 0
                    returned += len(chunk)
                    emit("records", chunk)
        except (ServiceError, RecursionError, *inputs.DECOMPRESSION_ERRORS):
            if buffer:  # the records before the error are sent, then the error
                emit("records", "".join(buffer).encode())
            raise
        if buffer:
            chunk = "".join(buffer).encode()
            returned += len(chunk)
            emit("records", chunk)
    except inputs.DECOMPRESSION_ERRORS:
        raise InvalidCompressionFormat(
            "The file is not in a supported compression format. "
            f"{(compression or 'NONE').upper()} was specified."
        ) from None
    except RecursionError:  # a very deep expression tree
        raise UnsupportedSyntax("The SQL expression is nested too deeply.") from None
    scanned = len(raw.getvalue()) if isinstance(raw, io.BytesIO) else source.count
    emit("stats", {"BytesScanned": scanned, "BytesProcessed": processed(),
                   "BytesReturned": returned})  # fmt: skip


def _as_service_error(exc: BaseException) -> BaseException:
    if isinstance(exc, ServiceError):
        return exc
    log.error("S3 Select failed", exc_info=exc)
    return exc


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


async def _events(
    producer: Producer, first: tuple[str, Any], progress: bool
) -> AsyncIterator[dict[str, Any]]:
    item = first
    try:
        while True:
            kind, value = item
            if kind == "records":
                yield {"Records": {"Payload": value}}
            elif kind == "error":
                raise _as_service_error(value)
            else:  # the stats: the end
                if progress:
                    yield {"Progress": {"Details": dict(value)}}
                yield {"Stats": {"Details": value}}
                yield {"End": {}}
                return
            item = await producer.next()
    finally:
        producer.cancel()
