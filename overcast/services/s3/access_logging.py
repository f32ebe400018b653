"""Server access logging: Put/GetBucketLogging, and the writer that delivers AWS-format log
records as objects in the target bucket.

Each response to a request on a bucket with logging enabled becomes one log line (AWS's
space-separated format, ``format_line``), stored in ``s3_access_log_pending`` by a background
write. A clock timer (``FLUSH_SECONDS`` of the shared clock after the oldest pending line, also
after a restart) gathers the lines into one object per source bucket and puts them through S3's
own write path into the target bucket, keyed as S3 keys them (``TargetPrefix`` +
``YYYY-mm-DD-HH-MM-SS-UniqueString``, or the partitioned layout). Logging never delays the
logged request; a record written before a crash is still delivered after the restart.

Requests answered before operation matching (the provider's ``intercept``: browser POST
uploads, website endpoints, CORS preflight) are logged too, as S3 logs them
(``REST.POST.UPLOAD``, ``WEBSITE.GET.OBJECT``, ``REST.OPTIONS.PREFLIGHT``): ``label_intercepted``
names their bucket, key and operation in ``ctx.params`` before they are answered.

Which buckets log is kept in memory (loaded once at startup, updated by PutBucketLogging), so
requests on other buckets pay one dict lookup. Like AWS's, the logs are best-effort: a line is
stored by a background write just after its response, so a crash in that instant loses it.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import hashlib
import json
import logging
import secrets
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from time import perf_counter
from typing import Any
from urllib.parse import quote

from overcast.clock import Timer
from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.services.base import ServiceEnv
from overcast.services.s3 import store
from overcast.services.s3.common import S3Base, canonical_user_id
from overcast.services.s3.errors import (
    CrossLocationLoggingProhibitted,
    InvalidArgument,
    InvalidTargetBucketForLogging,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import ObjectVersion
from overcast.services.s3.ownership import ENFORCED, ownership
from overcast.services.s3.preconditions import check_expected_owner
from overcast.services.s3.website import website_bucket
from overcast.state.blobs import Blob

log = logging.getLogger("overcast.s3.access_logs")

NAMESPACE = "s3.access_logs"
MIGRATIONS = [
    """
    CREATE TABLE s3_access_log_pending (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        key_format TEXT NOT NULL,
        at REAL NOT NULL,
        line TEXT NOT NULL
    );
    """,
]
CONFIG_KEY = "logging"
FLUSH_SECONDS = 60.0

# Operation name -> the OPERATION field of a log record ("REST.<verb>.<resource>").
_OPERATIONS = {
    "GetObject": "REST.GET.OBJECT",
    "HeadObject": "REST.HEAD.OBJECT",
    "PutObject": "REST.PUT.OBJECT",
    "DeleteObject": "REST.DELETE.OBJECT",
    "CopyObject": "REST.COPY.OBJECT",
    "DeleteObjects": "REST.POST.MULTI_OBJECT_DELETE",
    "ListObjects": "REST.GET.BUCKET",
    "ListObjectsV2": "REST.GET.BUCKET",
    "ListObjectVersions": "REST.GET.BUCKETVERSIONS",
    "HeadBucket": "REST.HEAD.BUCKET",
    "CreateBucket": "REST.PUT.BUCKET",
    "DeleteBucket": "REST.DELETE.BUCKET",
    "CreateMultipartUpload": "REST.POST.UPLOADS",
    "UploadPart": "REST.PUT.PART",
    "UploadPartCopy": "REST.COPY.PART",
    "CompleteMultipartUpload": "REST.POST.UPLOAD",
    "AbortMultipartUpload": "REST.DELETE.UPLOAD",
    "ListParts": "REST.GET.UPLOAD",
    "ListMultipartUploads": "REST.GET.UPLOADS",
    "GetObjectTagging": "REST.GET.OBJECT_TAGGING",
    "PutObjectTagging": "REST.PUT.OBJECT_TAGGING",
    "DeleteObjectTagging": "REST.DELETE.OBJECT_TAGGING",
    "GetObjectAcl": "REST.GET.ACL",
    "PutObjectAcl": "REST.PUT.ACL",
    "SelectObjectContent": "REST.POST.SELECT",
}


# ctx.params member naming the log operation of a request answered through ``intercept``.
INTERCEPTED = "_log_operation"


def operation_of(ctx: RequestContext) -> str:
    intercepted = ctx.params.get(INTERCEPTED)
    if intercepted:
        return str(intercepted)
    name = ctx.operation_name or ""
    known = _OPERATIONS.get(name)
    if known is not None:
        return known
    method = ctx.request.method.upper()
    subresource = next((k for k, v in ctx.request.query_items if v == ""), None)
    return f"REST.{method}.{(subresource or 'BUCKET').upper().replace('-', '_')}"


def _field(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def _quoted(value: str | None) -> str:
    return '"-"' if not value else '"' + value.replace('"', '\\"') + '"'


def log_time(ts: float) -> str:
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return moment.strftime("[%d/%b/%Y:%H:%M:%S +0000]")


def format_line(
    ctx: RequestContext, response: HttpResponse, owner: str, bucket: str, now: float
) -> str:
    """One record in AWS's server access log format (fields in AWS's documented order)."""
    request = ctx.request
    identity = ctx.identity
    if identity is None or identity.access_key is None:
        requester = "-"
    elif identity.principal is not None:
        requester = identity.principal.arn
    else:
        requester = canonical_user_id(identity.account_id)
    uri = request.path + ("?" + request.query if request.query else "")
    body = response.body
    sent: int | str | None = len(body) if isinstance(body, bytes | bytearray) and body else None
    if sent is None and response.headers.get("content-length") not in (None, "0"):
        sent = response.headers.get("content-length") if request.method != "HEAD" else None
    size: Any = ctx.params.get("ContentLength") if request.method == "PUT" else None
    reads = ctx.operation_name in ("GetObject", "HeadObject")
    if size is None and (reads or str(ctx.params.get(INTERCEPTED, "")).startswith("WEBSITE.")):
        size = response.headers.get("content-length")
    total_ms = max(0, int((perf_counter() - ctx.started) * 1000))
    auth = {"sigv4-query": "QueryString", "sigv2-query": "QueryString"}
    method = identity.method if identity is not None else "anonymous"
    signature = (
        "SigV2" if method.startswith("sigv2") else ("SigV4" if method != "anonymous" else None)
    )
    fields = [
        canonical_user_id(owner),
        bucket,
        log_time(now),
        request.client_ip,
        requester,
        ctx.request_id,
        operation_of(ctx),
        _field(quote(ctx.params["Key"], safe="/~") if ctx.params.get("Key") else None),
        _quoted(f"{request.method} {uri} HTTP/1.1"),
        str(response.status),
        _field(ctx.error_code),
        _field(sent),
        _field(size),
        str(total_ms),
        str(total_ms) if response.status < 300 else "-",
        _quoted(request.headers.get("referer")),
        _quoted(request.headers.get("user-agent")),
        _field(response.headers.get("x-amz-version-id")),
        _field(response.headers.get("x-amz-id-2")),
        _field(signature),
        "-" if request.scheme != "https" else "TLS_AES_128_GCM_SHA256",
        "-" if signature is None else auth.get(method, "AuthHeader"),
        _field(request.host),
        "-" if request.scheme != "https" else "TLSv1.3",
        "-",
        "-",
    ]
    return " ".join(fields) + "\n"


def log_key(prefix: str, key_format: dict[str, Any], source: dict[str, str], now: float) -> str:
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    stamp = moment.strftime("%Y-%m-%d-%H-%M-%S")
    unique = secrets.token_hex(8).upper()
    if "PartitionedPrefix" in key_format:
        day = moment.strftime("%Y/%m/%d")
        return (
            f"{prefix}{source['account']}/{source['region']}/{source['bucket']}/{day}/"
            f"{stamp}-{unique}"
        )
    return f"{prefix}{stamp}-{unique}"


class AccessLogging(S3Base):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        env.store.migrate(NAMESPACE, MIGRATIONS)
        self._logged: dict[str, dict[str, Any]] = self._load_logged()
        self._flush_timer: Timer | None = None
        self._log_writes: set[asyncio.Task[Any]] = set()
        self._log_flushes: set[asyncio.Task[Any]] = set()
        env.store.on_reset(self._logged.clear)
        oldest = self._store.read(
            lambda c: c.execute("SELECT MIN(at) FROM s3_access_log_pending").fetchone()[0]
        )
        if oldest is not None:  # records left by a previous run: due as they were then
            self._arm_flush(oldest)

    def _load_logged(self) -> dict[str, dict[str, Any]]:
        rows = self._store.read(
            lambda c: c.execute(
                "SELECT name, account_id, region, config FROM s3_buckets "
                "WHERE config LIKE '%\"logging\"%'"
            ).fetchall()
        )
        out: dict[str, dict[str, Any]] = {}
        for name, account, region, text in rows:
            config = json.loads(text).get(CONFIG_KEY)
            if config:
                out[name] = {**config, "account": account, "region": region}
        return out

    # --- the configuration ----------------------------------------------------------------

    def put_bucket_logging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        enabled = (request.get("BucketLoggingStatus") or {}).get("LoggingEnabled")
        action = "s3:PutBucketLogging"

        def run(conn: sqlite3.Connection) -> dict[str, Any] | None:
            bucket = self._access(ctx, conn, request["Bucket"], action)
            check_expected_owner(request, bucket.account_id)
            if not enabled:
                bucket.config.pop(CONFIG_KEY, None)
                store.update_bucket(conn, bucket)
                return None
            name = enabled.get("TargetBucket") or ""
            target = store.get_bucket(conn, name)
            if target is None:
                raise InvalidTargetBucketForLogging(
                    "The target bucket for logging does not exist", TargetBucket=name
                )
            if target.account_id != bucket.account_id:
                raise InvalidTargetBucketForLogging(
                    "The owner for the bucket to be logged and the target bucket must be the same.",
                    TargetBucket=name,
                )
            if enabled.get("TargetGrants") and ownership(target) == ENFORCED:
                raise InvalidArgument(
                    "Target grants are not supported for a target bucket that uses the bucket "
                    "owner enforced setting for Object Ownership."
                )
            if target.region != bucket.region:
                raise CrossLocationLoggingProhibitted(
                    SourceBucketLocation=bucket.region, TargetBucketLocation=target.region
                )
            config = {
                "TargetBucket": name,
                "TargetPrefix": enabled.get("TargetPrefix") or "",
            }
            if enabled.get("TargetGrants"):
                config["TargetGrants"] = enabled["TargetGrants"]
            if enabled.get("TargetObjectKeyFormat"):
                config["TargetObjectKeyFormat"] = enabled["TargetObjectKeyFormat"]
            bucket.config[CONFIG_KEY] = config
            store.update_bucket(conn, bucket)
            return {**config, "account": bucket.account_id, "region": bucket.region}

        logged = self._store.write(run)
        if logged is None:
            self._logged.pop(request["Bucket"], None)
        else:
            self._logged[request["Bucket"]] = logged
        return {}

    def get_bucket_logging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetBucketLogging")
        config = bucket.config.get(CONFIG_KEY)
        return {"LoggingEnabled": dict(config)} if config else {}

    # --- the log writer -------------------------------------------------------------------

    def _label_intercepted(self, ctx: RequestContext) -> None:
        """Name the bucket, key and log operation of a request ``intercept`` may answer (the
        model's parser never sees it), so that ``_log_access`` logs it. A request that turns
        out not to be intercepted gets its parameters from the parser afterwards."""
        if not self._logged:
            return
        request = ctx.request
        method = request.method.upper()
        website = website_bucket(request.host) if "s3-website" in request.host.lower() else None
        if website is not None:
            path = request.decoded_path.lstrip("/")
            key = path.partition("/")[2] if path.partition("/")[0] == website else path
            operation = f"WEBSITE.{method}.OBJECT"
            ctx.params = {"Bucket": website, "Key": key, INTERCEPTED: operation}
            return
        name, _, key = request.decoded_path.lstrip("/").partition("/")
        if not name:
            return
        if method == "OPTIONS":
            ctx.params = {"Bucket": name, "Key": key, INTERCEPTED: "REST.OPTIONS.PREFLIGHT"}
        elif method == "POST" and not key:
            content_type = request.headers.get("content-type", "").lower()
            if content_type.startswith("multipart/form-data"):
                ctx.params = {"Bucket": name, INTERCEPTED: "REST.POST.UPLOAD"}

    def _log_access(self, ctx: RequestContext, response: HttpResponse) -> None:
        """Response hook: queue a log record for a request on a logging bucket."""
        if not self._logged:
            return
        name = ctx.params.get("Bucket") if ctx.params else None
        if not isinstance(name, str):
            return
        config = self._logged.get(name)
        if config is None:
            return
        if ctx.operation_name == "DeleteBucket" and response.status < 300:
            self._logged.pop(name, None)
            return
        now = self._now()
        line = format_line(ctx, response, config["account"], name, now)
        key_format = json.dumps(
            {
                "prefix": config["TargetPrefix"],
                "format": config.get("TargetObjectKeyFormat") or {},
                "account": config["account"],
                "region": config["region"],
            }
        )

        def insert(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO s3_access_log_pending (source, target, key_format, at, line) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, config["TargetBucket"], key_format, now, line),
            )

        task = asyncio.get_running_loop().create_task(self._store.awrite(insert))
        self._log_writes.add(task)
        task.add_done_callback(self._log_writes.discard)
        self._arm_flush(now)

    def _arm_flush(self, since: float) -> None:
        """Deliver ``FLUSH_SECONDS`` after the oldest undelivered record."""
        if self._flush_timer is None:
            self._flush_timer = self.env.clock.call_at(since + FLUSH_SECONDS, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_timer = None
        task = asyncio.get_running_loop().create_task(self._flush_logs())
        self._log_flushes.add(task)
        task.add_done_callback(self._flush_done)

    def _flush_done(self, task: asyncio.Task[None]) -> None:
        """A failed delivery is retried a flush period later: its records are still pending
        (each log object's records leave the table only with the object that holds them)."""
        self._log_flushes.discard(task)
        if task.cancelled():
            return  # shutting down: the records are delivered after the restart
        error = task.exception()
        if error is not None:
            log.error("server access log delivery failed; retrying", exc_info=error)
            self._arm_flush(self._now())

    async def _flush_logs(self) -> None:
        """Deliver every pending line: one log object per (source bucket, target)."""
        writes = [t for t in self._log_writes if not t.done()]
        if writes:  # records still being written join this delivery
            await asyncio.wait(writes)
        rows = await self._store.aread(
            lambda c: c.execute(
                "SELECT id, source, target, key_format, line FROM s3_access_log_pending ORDER BY id"
            ).fetchall()
        )
        groups: dict[tuple[str, str, str], list[tuple[int, str]]] = defaultdict(list)
        for row_id, source, target, key_format, line in rows:
            groups[(source, target, key_format)].append((row_id, line))
        for (source, target, key_format), entries in groups.items():
            data = "".join(line for _, line in entries).encode()
            layout = json.loads(key_format)  # before the blob: nothing to undo if it fails
            blob = await asyncio.to_thread(self._store.blobs.put_bytes, data)
            batch = _LogObject(
                source, target, layout, [i for i, _ in entries], blob,
                f'"{hashlib.md5(data).hexdigest()}"', self._now(),
            )  # fmt: skip
            deliver = functools.partial(self._deliver_log, batch=batch)
            try:
                delivered = await self._store.awrite(deliver)
            except Exception:  # rolled back: nothing refers to the blob
                self._store.blobs.delete(blob.id)
                raise
            if not delivered:
                self._store.blobs.delete(blob.id)

    def _deliver_log(self, c: sqlite3.Connection, *, batch: _LogObject) -> bool:
        """Put the log object in its target bucket; False when the target is gone."""
        marks = ", ".join("?" for _ in batch.ids)
        c.execute(f"DELETE FROM s3_access_log_pending WHERE id IN ({marks})", batch.ids)
        bucket = store.get_bucket(c, batch.target)
        if bucket is None:
            return False  # the target is gone: S3 silently drops the records
        fmt = batch.key_format
        where = {"account": fmt["account"], "region": fmt["region"], "bucket": batch.source}
        key = log_key(fmt["prefix"], fmt["format"], where, batch.now)
        obj = ObjectVersion(
            bucket=batch.target,
            key=key,
            version_id="",
            last_modified=batch.now,
            size=batch.blob.size,
            etag=batch.etag,
            segments=[(batch.blob.id, batch.blob.size)],
            meta={"content_type": "text/plain", "owner": bucket.account_id},
        )
        store.put_version(c, self._store, bucket, obj)
        object_event(None, c, self.env, bucket, key, "ObjectCreated:Put", obj, now=batch.now)
        return True


@dataclass(frozen=True, slots=True)
class _LogObject:
    source: str
    target: str
    key_format: dict[str, Any]
    ids: list[int]
    blob: Blob
    etag: str
    now: float
