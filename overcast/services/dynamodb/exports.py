"""DynamoDB: exports to S3 (ExportTableToPointInTime) and imports from S3 (ImportTable).

Both run asynchronously, as on AWS: the call answers IN_PROGRESS and a task started right after
does the work, then marks the job COMPLETED (or FAILED with S3's error code). An export reads the
table as of ExportTime from the point-in-time history (PITR must be enabled, as AWS requires);
an import creates the table at once (CREATING) and loads the items. S3 objects are written and
read through the S3 provider's own operations, acting as the root of the caller's account, so
bucket existence, ownership and policies apply. Jobs are documents in the ``exports`` and
``imports`` collections; a job interrupted by a restart is run again when the provider loads.

The CPU work of a job (formatting and gzipping an export's lines, decompressing and parsing an
import's files) runs in a worker thread (``asyncio.to_thread``): done on the event loop, a large
job would hold every other request of the server until it ended. State is still read and written
through the store (``aread``/``awrite``), and S3 through its provider, from the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
import logging
import os
import sqlite3
import time
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from overcast import ids
from overcast.errors import ServiceError
from overcast.gateway.auth.authenticator import Identity
from overcast.gateway.context import RequestContext
from overcast.protocol.http import BufferedBody, Headers, HttpRequest
from overcast.services.dynamodb import backups_store as bstore
from overcast.services.dynamodb import export_formats as fmt
from overcast.services.dynamodb import storage, values
from overcast.services.dynamodb.backups import pitr_setting
from overcast.services.dynamodb.common import check_table_name
from overcast.services.dynamodb.errors import (
    ExportNotFoundException,
    ImportNotFoundException,
    InvalidExportTimeException,
    PointInTimeRecoveryUnavailableException,
    ResourceInUseException,
    TableNotFoundException,
    ValidationException,
)
from overcast.services.dynamodb.import_ion import ion_items
from overcast.services.dynamodb.models import ACTIVE, CREATING

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.dynamodb.models import Table
    from overcast.services.dynamodb.storage import Catalog

log = logging.getLogger("overcast.dynamodb.exports")

ITEMS_PER_FILE = 10_000
IMPORT_BATCH = 1_000  # items an import writes per transaction
PAGE = 25


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(epoch: float) -> str:
    return _time(epoch).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _page(docs: list[dict[str, Any]], token: str | None, size: int) -> tuple[list, str | None]:
    start = int(token) if token and token.isdigit() else 0
    chunk = docs[start : start + size]
    return chunk, str(start + size) if start + size < len(docs) else None


class ExportOps:
    """Exports and imports (composed in provider.py)."""

    env: ServiceEnv
    catalog: Catalog

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)  # type: ignore[call-arg]
        self._exports = env.store.collection("dynamodb", "exports")
        self._imports = env.store.collection("dynamodb", "imports")
        self._jobs: set[asyncio.Task[None]] = set()
        with contextlib.suppress(RuntimeError):  # no loop: resumed on the next start
            self._resume_jobs()

    # -- S3 through its provider ---------------------------------------------------------------

    def _s3_ctx(self, account_id: str, region: str, headers: dict[str, str] | None = None) -> Any:
        identity = Identity(
            account_id=account_id,
            principal_arn=f"arn:aws:iam::{account_id}:root",
            access_key="dynamodb.amazonaws.com",
            region=region,
            method="internal",
            verified=True,
        )
        request = HttpRequest("PUT", "/", headers=Headers(headers or {}))
        return RequestContext(
            request=request,
            request_id=ids.request_id(),
            env=self.env,
            started=time.perf_counter(),
            identity=identity,
            region=region,
        )

    async def _s3(self, account_id: str, operation: str, request: dict[str, Any]) -> Any:
        s3 = self.env.registry.provider("s3")
        assert s3 is not None
        where = getattr(s3, "get_bucket_location")(  # noqa: B009 - an operation by name
            self._s3_ctx(account_id, "us-east-1"), {"Bucket": request["Bucket"]}
        )
        region = where.get("LocationConstraint") or "us-east-1"
        headers = {}
        if "ContentLength" in request:
            headers["content-length"] = str(request["ContentLength"])
        result = getattr(s3, operation)(self._s3_ctx(account_id, region, headers), request)
        if inspect.isawaitable(result):
            result = await result
        return result

    async def _put(self, account_id: str, bucket: str, key: str, data: bytes) -> str:
        out = await self._s3(
            account_id,
            "put_object",
            {
                "Bucket": bucket,
                "Key": key,
                "Body": BufferedBody(data),
                "ContentLength": len(data),
            },
        )
        return str(out.get("ETag", "")).strip('"')

    async def _get(self, account_id: str, bucket: str, key: str) -> bytes:
        out = await self._s3(account_id, "get_object", {"Bucket": bucket, "Key": key})
        body = out.get("Body", b"")
        if isinstance(body, bytes | bytearray):
            return bytes(body)
        chunks = [chunk async for chunk in body]
        return b"".join(chunks)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._jobs.add(task)
        task.add_done_callback(self._jobs.discard)

    def _resume_jobs(self) -> None:
        asyncio.get_running_loop()  # RuntimeError when not serving
        # (Collection.scan's "list" annotation confuses mypy inside Collection's namespace.)
        for account_id, region, arn, doc in self._exports.scan():  # type: ignore[attr-defined]
            if doc["ExportStatus"] == "IN_PROGRESS":
                self._spawn(self._run_export(account_id, region, arn))
        for account_id, region, arn, doc in self._imports.scan():  # type: ignore[attr-defined]
            if doc["ImportStatus"] == "IN_PROGRESS":
                self._spawn(self._run_import(account_id, region, arn))
            else:  # a stop between recording the end and activating the table
                self._spawn(self._activate_imported(account_id, region, doc))

    # -- exports -------------------------------------------------------------------------------

    async def export_table_to_point_in_time(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        table_arn = request["TableArn"]
        table = self.env.store.read(lambda c: self.catalog.by_arn(c, table_arn))
        if table is None or table.account_id != ctx.account_id:
            raise TableNotFoundException(f"Table not found: {table_arn}")
        setting = pitr_setting(table)
        if not setting.get("enabled"):
            raise PointInTimeRecoveryUnavailableException(
                f"Point in time recovery is not enabled for table '{table.name}'"
            )
        now = self.env.clock.now()
        when = now
        incremental = None
        if request.get("ExportType") == "INCREMENTAL_EXPORT":
            incremental = _incremental_window(request, float(setting["since"]), now)
        elif request.get("ExportTime") is not None:
            given = request["ExportTime"]
            when = _epoch(given)
            if when < float(setting["since"]) or when > now:
                raise InvalidExportTimeException(
                    "ExportTime must be within the point in time recovery window of the table"
                )
        export_format = request.get("ExportFormat") or "DYNAMODB_JSON"
        export_id = f"{int(now * 1000):014d}-{os.urandom(4).hex()}"
        arn = f"{table.arn}/export/{export_id}"
        token = request.get("ClientToken")
        if token:
            for _, earlier in self._exports.all(ctx.account_id, ctx.region):
                if earlier.get("ClientToken") == token and earlier["TableArn"] == table.arn:
                    return {"ExportDescription": _export_description(earlier)}
        doc: dict[str, Any] = {
            "ExportArn": arn,
            "ExportStatus": "IN_PROGRESS",
            "StartTime": now,
            "TableArn": table.arn,
            "TableId": table.table_id,
            "KeyNames": list(table.key_names),
            "ExportTime": when,
            "S3Bucket": request["S3Bucket"],
            "S3SseAlgorithm": request.get("S3SseAlgorithm") or "AES256",
            "ExportFormat": export_format,
            "ExportType": "FULL_EXPORT",
        }
        if incremental is not None:
            if export_format != "DYNAMODB_JSON":
                raise ValidationException("Incremental exports support only DYNAMODB_JSON")
            del doc["ExportTime"]
            doc["ExportType"] = "INCREMENTAL_EXPORT"
            doc["IncrementalExportSpecification"] = incremental
        for member in ("ClientToken", "S3BucketOwner", "S3Prefix", "S3SseKmsKeyId"):
            if request.get(member):
                doc[member] = request[member]
        self._exports.put(ctx.account_id, ctx.region, arn, doc)
        self._spawn(self._run_export(ctx.account_id, ctx.region, arn))
        return {"ExportDescription": _export_description(doc)}

    async def _run_export(self, account_id: str, region: str, arn: str) -> None:
        doc = self._exports.get(account_id, region, arn)
        if doc is None:
            return
        try:
            await self._write_export(account_id, region, doc)
        except ServiceError as exc:
            doc.update(
                ExportStatus="FAILED", FailureCode=exc.error_code, FailureMessage=exc.error_message
            )
        except Exception as exc:  # never leave a job IN_PROGRESS forever
            log.exception("export %s failed", arn)
            doc.update(ExportStatus="FAILED", FailureCode="InternalError", FailureMessage=str(exc))
        doc["EndTime"] = self.env.clock.now()
        self._exports.put(account_id, region, arn, doc)

    async def _write_export(self, account_id: str, region: str, doc: dict[str, Any]) -> None:
        kind = doc["ExportFormat"]
        if doc["ExportType"] == "INCREMENTAL_EXPORT":
            lines, size = await self.env.store.aread(lambda c: _changes(c, doc))
        else:
            rows = await self.env.store.aread(lambda c: self._snapshot_rows(c, doc))
            lines = await asyncio.to_thread(_data_lines, rows, kind)
            size = sum(s for _, s in rows)
        bucket = doc["S3Bucket"]
        export_id = doc["ExportArn"].rsplit("/", 1)[1]
        prefix = f"{doc['S3Prefix'].rstrip('/')}/" if doc.get("S3Prefix") else ""
        base = f"{prefix}AWSDynamoDB/{export_id}"
        suffix = "ion.gz" if kind == "ION" else "json.gz"
        await self._put(account_id, bucket, f"{base}/_started", b"")
        manifest_lines = []
        for start in range(0, max(len(lines), 1), ITEMS_PER_FILE):
            chunk = lines[start : start + ITEMS_PER_FILE]
            if not chunk and lines:
                break
            data, md5 = await asyncio.to_thread(_data_file, chunk, kind)
            key = f"{base}/data/{os.urandom(13).hex()[:26]}.{suffix}"
            etag = await self._put(account_id, bucket, key, data)
            manifest_lines.append(
                {
                    "itemCount": len(chunk),
                    "md5Checksum": md5,
                    "etag": etag,
                    "dataFileS3Key": key,
                }
            )
        files = "".join(json.dumps(line) + "\n" for line in manifest_lines).encode()
        files_key = f"{base}/manifest-files.json"
        await self._put(account_id, bucket, files_key, files)
        await self._put(
            account_id, bucket, f"{base}/manifest-files.md5", fmt.md5_hex(files).encode()
        )
        end = self.env.clock.now()
        summary: dict[str, Any] = {
            "version": "2020-06-30",
            "exportArn": doc["ExportArn"],
            "startTime": _iso(doc["StartTime"]),
            "endTime": _iso(end),
            "tableArn": doc["TableArn"],
            "tableId": doc["TableId"],
            "s3Bucket": bucket,
            "s3Prefix": doc.get("S3Prefix"),
            "s3SseAlgorithm": doc["S3SseAlgorithm"],
            "s3SseKmsKeyId": doc.get("S3SseKmsKeyId"),
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": size,
            "itemCount": len(lines),
            "outputFormat": kind,
            "exportType": doc["ExportType"],
        }
        if doc["ExportType"] == "INCREMENTAL_EXPORT":
            window = doc["IncrementalExportSpecification"]
            summary["exportFromTime"] = _iso(window["ExportFromTime"])
            summary["exportToTime"] = _iso(window["ExportToTime"])
            summary["exportViewType"] = window["ExportViewType"]
        else:
            summary["exportTime"] = _iso(float(doc["ExportTime"]))
        text = json.dumps(summary).encode()
        await self._put(account_id, bucket, f"{base}/manifest-summary.json", text)
        await self._put(
            account_id, bucket, f"{base}/manifest-summary.md5", fmt.md5_hex(text).encode()
        )
        doc.update(
            ExportStatus="COMPLETED",
            ExportManifest=f"{base}/manifest-summary.json",
            ItemCount=len(lines),
            BilledSizeBytes=size,
        )

    def _snapshot_rows(
        self, conn: sqlite3.Connection, doc: dict[str, Any]
    ) -> list[tuple[dict[str, Any], int]]:
        """The items of a full export: the table itself when exporting now, else as of
        ExportTime from the point-in-time history."""
        when = float(doc["ExportTime"])
        table = self.catalog.by_arn(conn, doc["TableArn"])
        if (
            table is not None
            and table.table_id == doc["TableId"]
            and when >= self.env.clock.now() - 1.0
        ):
            return list(storage.scan(conn, table))
        rows = []
        for text in bstore.items_at(conn, doc["TableId"], when):
            item = storage.decode_item(text)
            rows.append((item, values.item_size(item)))
        return rows

    def describe_export(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._exports.get(ctx.account_id, ctx.region, request["ExportArn"])
        if doc is None:
            raise ExportNotFoundException(f"Export not found: {request['ExportArn']}")
        return {"ExportDescription": _export_description(doc)}

    def list_exports(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        docs = [doc for _, doc in self._exports.all(ctx.account_id, ctx.region)]
        if request.get("TableArn"):
            docs = [d for d in docs if d["TableArn"] == request["TableArn"]]
        docs.sort(key=lambda d: (d["StartTime"], d["ExportArn"]))
        chunk, token = _page(docs, request.get("NextToken"), request.get("MaxResults") or PAGE)
        out: dict[str, Any] = {
            "ExportSummaries": [
                {
                    "ExportArn": d["ExportArn"],
                    "ExportStatus": d["ExportStatus"],
                    "ExportType": d["ExportType"],
                }
                for d in chunk
            ]
        }
        if token:
            out["NextToken"] = token
        return out

    # -- imports -------------------------------------------------------------------------------

    async def import_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        params = request["TableCreationParameters"]
        name = params["TableName"]
        input_format = request["InputFormat"]
        token = request.get("ClientToken")
        if token:
            for _, earlier in self._imports.all(ctx.account_id, ctx.region):
                if earlier.get("ClientToken") == token:
                    return {"ImportTableDescription": _import_description(earlier)}
        check_table_name(name, "tableCreationParameters.tableName")
        table = self._new_table(ctx, name, dict(params))  # type: ignore[attr-defined]
        table.status = CREATING
        # CREATING until the load completes (DescribeTable, waiters); item operations meanwhile
        # answer ResourceNotFoundException, as AWS's for a table that is not ACTIVE.
        table.settings["importing"] = True
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> Table:
            if self.catalog.load(conn, ctx.account_id, ctx.region, name) is not None:
                raise ResourceInUseException(f"Table already exists: {name}")
            return self.catalog.insert(conn, table)

        table = self.env.store.write(write)
        import_id = f"{int(now * 1000):014d}-{os.urandom(4).hex()}"
        arn = f"{table.arn}/import/{import_id}"
        doc: dict[str, Any] = {
            "ImportArn": arn,
            "ImportStatus": "IN_PROGRESS",
            "TableArn": table.arn,
            "TableId": table.table_id,
            "S3BucketSource": request["S3BucketSource"],
            "ErrorCount": 0,
            "CloudWatchLogGroupArn": ids.arn(
                "logs", ctx.region, ctx.account_id, "log-group:/aws-dynamodb/imports:*"
            ),
            "InputFormat": input_format,
            "InputCompressionType": request.get("InputCompressionType") or "NONE",
            "TableCreationParameters": params,
            "StartTime": now,
            "ProcessedSizeBytes": 0,
            "ProcessedItemCount": 0,
            "ImportedItemCount": 0,
        }
        if request.get("InputFormatOptions"):
            doc["InputFormatOptions"] = request["InputFormatOptions"]
        if token:
            doc["ClientToken"] = token
        self._imports.put(ctx.account_id, ctx.region, arn, doc)
        self._spawn(self._run_import(ctx.account_id, ctx.region, arn))
        return {"ImportTableDescription": _import_description(doc)}

    async def _run_import(self, account_id: str, region: str, arn: str) -> None:
        doc = self._imports.get(account_id, region, arn)
        if doc is None:
            return
        try:
            await self._load_import(account_id, region, doc)
            doc["ImportStatus"] = "COMPLETED"
        except ServiceError as exc:
            doc.update(
                ImportStatus="FAILED", FailureCode=exc.error_code, FailureMessage=exc.error_message
            )
        except Exception as exc:
            log.exception("import %s failed", arn)
            doc.update(ImportStatus="FAILED", FailureCode="InternalError", FailureMessage=str(exc))
        doc["EndTime"] = self.env.clock.now()
        self._imports.put(account_id, region, arn, doc)
        # Then the table: whoever finds it writable finds the import over.
        await self._activate_imported(account_id, region, doc)

    async def _activate_imported(self, account_id: str, region: str, doc: dict[str, Any]) -> None:
        """The import is over (completed or failed): its table becomes ACTIVE and writable."""
        name = doc["TableCreationParameters"]["TableName"]

        def activate(conn: sqlite3.Connection) -> None:
            table = self.catalog.load(conn, account_id, region, name)
            if (
                table is not None
                and table.table_id == doc["TableId"]
                and table.settings.get("importing")
            ):
                table.status = ACTIVE
                del table.settings["importing"]
                self.catalog.save(conn, table)

        await self.env.store.awrite(activate)

    async def _load_import(self, account_id: str, region: str, doc: dict[str, Any]) -> None:
        source = doc["S3BucketSource"]
        bucket = source["S3Bucket"]
        prefix = source.get("S3KeyPrefix") or ""
        keys: list[str] = []
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = await self._s3(account_id, "list_objects_v2", dict(request))
            keys += [o["Key"] for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            request["ContinuationToken"] = page["NextContinuationToken"]
        keys = [k for k in keys if not _is_manifest(k)]
        params = doc["TableCreationParameters"]
        key_names = {k["AttributeName"] for k in params["KeySchema"]}
        types = {d["AttributeName"]: d["AttributeType"] for d in params["AttributeDefinitions"]}
        key_types = {k: types[k] for k in key_names if k in types}
        options = (doc.get("InputFormatOptions") or {}).get("Csv") or {}
        for key in keys:
            raw = await self._get(account_id, bucket, key)
            parsed = await asyncio.to_thread(
                _file_items,
                raw,
                doc["InputCompressionType"],
                doc["InputFormat"],
                options.get("Delimiter") or ",",
                options.get("HeaderList"),
                key_types,
            )
            if parsed is None:  # not decompressible or not UTF-8: the whole file is an error
                doc["ErrorCount"] += 1
                continue
            doc["ProcessedSizeBytes"] += len(raw)
            # One transaction per batch, not per file: the writer is shared, and a request
            # writing meanwhile (from the event loop) waits for the transaction in progress.
            for start in range(0, len(parsed), IMPORT_BATCH):
                batch = parsed[start : start + IMPORT_BATCH]
                processed, imported, errors = await self.env.store.awrite(
                    functools.partial(
                        self._load_batch, account_id, region, doc, key_types, items=batch
                    )
                )
                doc["ProcessedItemCount"] += processed
                doc["ImportedItemCount"] += imported
                doc["ErrorCount"] += errors

    def _load_batch(
        self,
        account_id: str,
        region: str,
        doc: dict[str, Any],
        key_types: dict[str, str],
        conn: sqlite3.Connection,
        *,
        items: list[Any],
    ) -> tuple[int, int, int]:
        """Write one batch of an import's items: ``(processed, imported, errors)``."""
        name = doc["TableCreationParameters"]["TableName"]
        table = self.catalog.load(conn, account_id, region, name)
        if table is None or table.table_id != doc["TableId"]:
            raise TableNotFoundException(f"Table not found: {name}")
        imported = errors = 0
        for item in items:
            if isinstance(item, fmt.BadLine) or not _valid(item, key_types):
                errors += 1
                continue
            storage.put_item(conn, table, values.normalize_item(item))
            imported += 1
        return len(items), imported, errors

    def describe_import(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._imports.get(ctx.account_id, ctx.region, request["ImportArn"])
        if doc is None:
            raise ImportNotFoundException(f"Import not found: {request['ImportArn']}")
        return {"ImportTableDescription": _import_description(doc)}

    def list_imports(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        docs = [doc for _, doc in self._imports.all(ctx.account_id, ctx.region)]
        if request.get("TableArn"):
            docs = [d for d in docs if d["TableArn"] == request["TableArn"]]
        docs.sort(key=lambda d: (d["StartTime"], d["ImportArn"]))
        chunk, token = _page(docs, request.get("NextToken"), request.get("PageSize") or PAGE)
        summaries = []
        for d in chunk:
            summary = {
                k: d[k]
                for k in (
                    "ImportArn", "ImportStatus", "TableArn", "S3BucketSource",
                    "CloudWatchLogGroupArn", "InputFormat",
                )
                if k in d
            }  # fmt: skip
            summary["StartTime"] = _time(d["StartTime"])
            if "EndTime" in d:
                summary["EndTime"] = _time(d["EndTime"])
            summaries.append(summary)
        out: dict[str, Any] = {"ImportSummaryList": summaries}
        if token:
            out["NextToken"] = token
        return out


def _incremental_window(request: dict[str, Any], since: float, now: float) -> dict[str, Any]:
    """IncrementalExportSpecification, checked as AWS does: within the PITR window, from 15
    minutes to 24 hours long."""
    spec = request.get("IncrementalExportSpecification") or {}
    if spec.get("ExportFromTime") is None or spec.get("ExportToTime") is None:
        raise ValidationException(
            "IncrementalExportSpecification with ExportFromTime and ExportToTime is required "
            "for an INCREMENTAL_EXPORT"
        )
    start, end = (_epoch(spec[k]) for k in ("ExportFromTime", "ExportToTime"))
    if start < since or end > now or start >= end:
        raise InvalidExportTimeException(
            "The export period must be within the point in time recovery window of the table"
        )
    if not 15 * 60 <= end - start <= 24 * 3600:
        raise ValidationException(
            "The export period must be at least 15 minutes and at most 24 hours long"
        )
    return {
        "ExportFromTime": start,
        "ExportToTime": end,
        "ExportViewType": spec.get("ExportViewType") or "NEW_AND_OLD_IMAGES",
    }


def _changes(conn: sqlite3.Connection, doc: dict[str, Any]) -> tuple[list[str], int]:
    """The lines of an incremental export (items whose state differs between the two times)
    and their size."""
    window = doc["IncrementalExportSpecification"]
    lines: list[str] = []
    size = 0
    changes = bstore.changes_between(
        conn, doc["TableId"], window["ExportFromTime"], window["ExportToTime"]
    )
    for old_text, new_text, at in changes:
        if old_text == new_text:
            continue
        old = storage.decode_item(old_text) if old_text else None
        new = storage.decode_item(new_text) if new_text else None
        ref = new if new is not None else old
        assert ref is not None
        keys = {k: ref[k] for k in doc["KeyNames"] if k in ref}
        lines.append(fmt.change_line(keys, old, new, int(at * 1_000_000), window["ExportViewType"]))
        size += values.item_size(ref)
    return lines, size


def _data_lines(rows: list[tuple[dict[str, Any], int]], kind: str) -> list[str]:
    """An export's data lines (in a worker thread: a large table takes seconds)."""
    return [fmt.data_line(item, kind) for item, _ in rows]


def _data_file(chunk: list[str], kind: str) -> tuple[bytes, str]:
    """One gzip'd data file of an export and its base64 MD5 (in a worker thread)."""
    data = fmt.gzip_lines(["$ion_1_0", *chunk] if kind == "ION" else chunk)
    return data, fmt.md5_b64(data)


def _file_items(
    raw: bytes,
    compression: str,
    input_format: str,
    delimiter: str,
    header: list[str] | None,
    key_types: dict[str, str],
) -> list[Any] | None:
    """The items of one import file (in a worker thread), or None when it cannot be read."""
    try:
        text = fmt.decompress(raw, compression).decode("utf-8")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, fmt.BadLine):  # corrupt gzip too
        return None
    if input_format == "CSV":
        return list(fmt.csv_items(text, delimiter, header, key_types))
    if input_format == "ION":
        return list(ion_items(text))
    return list(fmt.json_items(text))


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _is_manifest(key: str) -> bool:
    tail = key.rsplit("/", 1)[-1]
    return tail in ("_started", "manifest-summary.json", "manifest-files.json") or tail.endswith(
        ".md5"
    )


def _valid(item: dict[str, Any], key_types: dict[str, str]) -> bool:
    try:
        values.validate_item(item)
    except ServiceError:
        return False
    return all(name in item and next(iter(item[name])) == kind for name, kind in key_types.items())


def _export_description(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in doc.items() if k != "KeyNames"}
    for member in ("StartTime", "EndTime", "ExportTime"):
        if member in out:
            out[member] = _time(out[member])
    if "IncrementalExportSpecification" in out:
        window = dict(out["IncrementalExportSpecification"])
        for member in ("ExportFromTime", "ExportToTime"):
            window[member] = _time(window[member])
        out["IncrementalExportSpecification"] = window
    return out


def _import_description(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    for member in ("StartTime", "EndTime"):
        if member in out:
            out[member] = _time(out[member])
    return out
