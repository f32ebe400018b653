"""S3: static website hosting.

Two halves:

* the configuration API, Put/Get/DeleteBucketWebsite, validated as S3 validates it (its codes and
  message texts), stored whole in ``Bucket.config["website"]``;
* the website endpoint, ``<bucket>.s3-website[-.]<region>.amazonaws.com`` and its local shapes
  (``<bucket>.s3-website.localhost[:port]``, ``...localhost.localstack.cloud``), answered by
  ``_website_request`` from the provider's ``intercept`` hook, before authentication.

The endpoint behaves like a plain web server in front of the bucket, as S3's does:

* only GET and HEAD (anything else is 405), always anonymous: an object is served only when
  anybody may read it (bucket policy or ACL), whatever credentials the request carries;
* ``/`` and keys ending in ``/`` serve the index document below them; a key that is not an
  object but whose ``key/<index>`` is answers ``302`` to ``key/``;
* errors are HTML pages (not XML), or the configured error document with the error's status;
  a missing key is 404 only when anybody may list the bucket, else 403 (S3 does not reveal
  which keys exist to who may not list them);
* redirects: RedirectAllRequestsTo, routing rules (key prefix and/or error code conditions) and
  an object's ``x-amz-website-redirect-location``, all 301 unless a rule says otherwise;
* conditional requests (304/412) and single byte ranges (206/416), as GetObject.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from overcast.gateway.asgi import Receive
from overcast.gateway.context import RequestContext
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import host_id
from overcast.protocol.timestamps import RFC822, format_timestamp
from overcast.services.s3 import store
from overcast.services.s3.body import iter_segments
from overcast.services.s3.common import S3Base
from overcast.services.s3.conditions import check_read_conditions
from overcast.services.s3.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidRequest,
    MalformedXML,
    NoSuchWebsiteConfiguration,
    NotModified,
    PreconditionFailed,
)
from overcast.services.s3.models import Bucket, ObjectVersion

MAX_ROUTING_RULES = 50
_DEFAULT_CONTENT_TYPE = "binary/octet-stream"
_HTML = "text/html; charset=utf-8"
# Where S3 sends a request to a website endpoint that names no bucket.
_NO_BUCKET_LOCATION = "https://aws.amazon.com/s3/"
_HOST_SUFFIXES = (
    ".localhost.localstack.cloud",
    ".localhost",
    ".amazonaws.com.cn",
    ".amazonaws.com",
)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Stored meta fields sent back as the response headers of the same name.
_META_HEADERS = (
    ("content_encoding", "Content-Encoding"),
    ("content_disposition", "Content-Disposition"),
    ("content_language", "Content-Language"),
    ("cache_control", "Cache-Control"),
    ("expires", "Expires"),
)


# --- configuration -------------------------------------------------------------------------


class Website(S3Base):
    def put_bucket_website(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        config = _validated(request.get("WebsiteConfiguration"))
        self._write_config(ctx, request, "s3:PutBucketWebsite", "website", config)
        return {}

    def get_bucket_website(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetBucketWebsite")
        config = bucket.config.get("website")
        if config is None:
            raise NoSuchWebsiteConfiguration(BucketName=bucket.name)
        return dict(config)

    def delete_bucket_website(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._write_config(ctx, request, "s3:DeleteBucketWebsite", "website")
        return {}

    # --- the website endpoint ---------------------------------------------------------------

    async def _website_request(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Serve a request to a website endpoint host; None when the host is not one."""
        host = ctx.request.host
        # Every S3 request comes through here: one substring test for the common case.
        if "s3-website" not in host.lower():
            return None
        bucket_name = website_bucket(host)
        if bucket_name is None:
            return None
        # The endpoint is anonymous whatever the request carries: check access as nobody.
        anon = dataclasses.replace(ctx, identity=None)
        request = ctx.request
        if not bucket_name:
            return _redirect(ctx, 301, _NO_BUCKET_LOCATION)
        if request.method not in ("GET", "HEAD"):
            return _error_page(
                ctx,
                405,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
                {"Method": request.method, "ResourceType": "OBJECT"},
            )
        bucket = self._store.read(lambda conn: store.get_bucket(conn, bucket_name))
        if bucket is None:
            return _error_page(
                ctx,
                404,
                "NoSuchBucket",
                "The specified bucket does not exist",
                {"BucketName": bucket_name},
            )
        config: dict[str, Any] | None = bucket.config.get("website")
        if config is None:
            return _error_page(
                ctx,
                404,
                "NoSuchWebsiteConfiguration",
                NoSuchWebsiteConfiguration.message,
                {"BucketName": bucket_name},
            )
        raw_path = _raw_key_path(request.path, bucket_name)
        redirect_all = config.get("RedirectAllRequestsTo")
        if redirect_all is not None:
            scheme = redirect_all.get("Protocol") or request.scheme
            return _redirect(ctx, 301, f"{scheme}://{redirect_all['HostName']}/{raw_path}")
        return await _Visit(self, anon, bucket, config, raw_path).answer()

    def _website_read(self, bucket: Bucket, key: str) -> ObjectVersion | None:
        obj = self._store.read(lambda conn: store.get_latest(conn, bucket.name, key))
        return None if obj is None or obj.delete_marker else obj

    def _website_readable(self, anon: RequestContext, bucket: Bucket, obj: ObjectVersion) -> bool:
        try:
            self._authorize(anon, bucket, "s3:GetObject", key=obj.key, obj=obj)
            # Another account's object is public only through its own ACL, not the bucket's.
            self._check_object_owner(anon, None, bucket, obj, "s3:GetObject")
        except AccessDenied:
            return False
        return True


class _Failure(Exception):
    """An error answer of the website endpoint: status, code, message and detail fields."""

    def __init__(self, status: int, code: str, message: str, **fields: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


class _Visit:
    """One GET/HEAD of a website whose configuration serves documents (not RedirectAll)."""

    def __init__(
        self,
        site: Website,
        anon: RequestContext,
        bucket: Bucket,
        config: dict[str, Any],
        raw_path: str,
    ) -> None:
        self.site = site
        self.anon = anon
        self.ctx = anon  # the request as seen by anybody (no identity)
        self.bucket = bucket
        self.config = config
        self.raw_path = raw_path
        self.key = unquote(raw_path)
        self.rules: list[dict[str, Any]] = config.get("RoutingRules") or []

    async def answer(self) -> HttpResponse:
        rule = self._rule(None)
        if rule is not None:
            return self._follow(rule)
        suffix = self.config["IndexDocument"]["Suffix"]
        key = self.key
        if key == "" or key.endswith("/"):
            key += suffix
        try:
            obj = self._readable(key)
        except _Failure as failure:
            if not self.key.endswith("/") and self.key:
                # Not an object: a "folder" whose index document exists is sent to its slash.
                folder_index = self.site._website_read(self.bucket, f"{self.key}/{suffix}")
                if folder_index is not None and self.site._website_readable(
                    self.anon, self.bucket, folder_index
                ):
                    return _redirect(self.ctx, 302, f"/{self.raw_path}/")
            return self._fail(failure)
        redirect = obj.meta.get("website_redirect")
        if redirect:
            return _redirect(self.ctx, 301, redirect)
        try:
            return _serve(self.site, self.ctx, obj)
        except _Failure as failure:
            return _error_page(self.ctx, failure.status, failure.code, failure.message, {})

    def _readable(self, key: str) -> ObjectVersion:
        """The object at ``key`` if anybody may read it; else the error S3's website answers."""
        obj = self.site._website_read(self.bucket, key)
        if obj is None:
            if self.site._grants(self.anon, self.bucket, "s3:ListBucket"):
                raise _Failure(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            raise _Failure(403, "AccessDenied", "Access Denied")
        if not self.site._website_readable(self.anon, self.bucket, obj):
            raise _Failure(403, "AccessDenied", "Access Denied")
        return obj

    def _fail(self, failure: _Failure) -> HttpResponse:
        rule = self._rule(failure.status)
        if rule is not None:
            return self._follow(rule)
        fields = dict(failure.fields)
        error_key = (self.config.get("ErrorDocument") or {}).get("Key")
        if error_key is None:
            return _error_page(self.ctx, failure.status, failure.code, failure.message, fields)
        try:
            document = self._readable(error_key)
        except _Failure as inner:
            return _error_page(
                self.ctx,
                failure.status,
                failure.code,
                failure.message,
                fields,
                document_error=inner,
            )
        # The custom error document, with the status of the original error.
        response = _object_response(self.site, self.ctx, document, failure.status)
        _error_headers(response.headers, failure.code, failure.message, fields)
        return response

    def _rule(self, status: int | None) -> dict[str, Any] | None:
        """The first routing rule that applies: before the lookup (``status`` None) only rules
        without an error-code condition; after an error, those whose code is ``status``."""
        for rule in self.rules:
            condition = rule.get("Condition") or {}
            code = condition.get("HttpErrorCodeReturnedEquals")
            if status is None and code is not None:
                continue
            if status is not None and (code is None or int(code) != status):
                continue
            if not self.key.startswith(condition.get("KeyPrefixEquals") or ""):
                continue
            return rule
        return None

    def _follow(self, rule: dict[str, Any]) -> HttpResponse:
        redirect: dict[str, Any] = rule["Redirect"]
        request = self.ctx.request
        scheme = redirect.get("Protocol") or request.scheme
        host = redirect.get("HostName") or request.host
        if redirect.get("ReplaceKeyWith") is not None:
            path = redirect["ReplaceKeyWith"]
        elif redirect.get("ReplaceKeyPrefixWith") is not None:
            prefix = (rule.get("Condition") or {}).get("KeyPrefixEquals") or ""
            path = redirect["ReplaceKeyPrefixWith"] + _quote(self.key[len(prefix) :])
        else:
            path = self.raw_path
        status = int(redirect.get("HttpRedirectCode") or 301)
        return _redirect(self.ctx, status, f"{scheme}://{host}/{path}")


# --- serving objects ----------------------------------------------------------------------


def _serve(site: Website, ctx: RequestContext, obj: ObjectVersion) -> HttpResponse:
    """A readable object as GetObject answers it: conditions, then an optional byte range."""
    headers = ctx.request.headers
    try:
        check_read_conditions(
            obj,
            if_match=headers.get("if-match"),
            if_none_match=headers.get("if-none-match"),
            if_modified_since=headers.get("if-modified-since"),
            if_unmodified_since=headers.get("if-unmodified-since"),
        )
    except NotModified as exc:
        out = _base_headers(ctx)
        for name, value in exc.headers.items():
            out.set(name, value)
        return HttpResponse(status=304, headers=out, body=b"")
    except PreconditionFailed as exc:
        raise _Failure(412, exc.error_code, exc.error_message) from None
    span = _range(headers.get("range"), obj.size)
    if span is None:
        return _object_response(site, ctx, obj, 200)
    start, end = span
    response = _object_response(site, ctx, obj, 206, start, end)
    response.headers.set("Content-Range", f"bytes {start}-{end - 1}/{obj.size}")
    return response


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` of a single ``bytes=`` range; None for none (or one S3 ignores).

    Raises a 416 failure when the range starts past the end, as S3 does.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or bad syntax: S3 sends the whole object
    first, last = match.groups()
    if not first:
        if not last:
            return None
        length = int(last)
        if length == 0:
            raise _Failure(416, "InvalidRange", "The requested range is not satisfiable")
        return max(0, size - length), size
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range is ignored, as S3 does
    if start >= size:
        raise _Failure(416, "InvalidRange", "The requested range is not satisfiable")
    end = size if not last else min(int(last) + 1, size)
    return start, end


def _object_response(
    site: Website,
    ctx: RequestContext,
    obj: ObjectVersion,
    status: int,
    start: int = 0,
    end: int | None = None,
) -> HttpResponse:
    headers = _base_headers(ctx)
    meta = obj.meta
    stop = obj.size if end is None else end
    headers.set("Content-Type", meta.get("content_type") or _DEFAULT_CONTENT_TYPE)
    headers.set("Content-Length", str(stop - start))
    headers.set("ETag", obj.etag)
    headers.set("Last-Modified", str(format_timestamp(int(obj.last_modified), RFC822)))
    headers.set("Accept-Ranges", "bytes")
    if obj.version_id and obj.version_id != "null":
        headers.set("x-amz-version-id", obj.version_id)
    for field, name in _META_HEADERS:
        if meta.get(field):
            headers.set(name, str(meta[field]))
    for name, value in (meta.get("user") or {}).items():
        headers.add(f"x-amz-meta-{name}", str(value))
    if ctx.request.method == "HEAD" or stop <= start:
        return HttpResponse(status=status, headers=headers, body=b"")
    body = iter_segments(site._store, obj.segments, start, stop)
    return HttpResponse(status=status, headers=headers, body=body)


# --- answers ---------------------------------------------------------------------------------


def _base_headers(ctx: RequestContext) -> Headers:
    return Headers([("x-amz-request-id", ctx.request_id), ("x-amz-id-2", host_id(ctx.request_id))])


def _redirect(ctx: RequestContext, status: int, location: str) -> HttpResponse:
    headers = _base_headers(ctx)
    headers.set("Location", location)
    headers.set("Content-Length", "0")
    return HttpResponse(status=status, headers=headers, body=b"")


def _error_headers(headers: Headers, code: str, message: str, fields: dict[str, str]) -> None:
    headers.set("x-amz-error-code", code)
    headers.set("x-amz-error-message", message)
    for name, value in fields.items():
        # Header values must stay latin-1; a key with other characters is left out.
        if value.isascii():
            headers.set(f"x-amz-error-detail-{name}", value)


def _error_page(
    ctx: RequestContext,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str],
    *,
    document_error: _Failure | None = None,
) -> HttpResponse:
    """S3's own HTML error page; ``document_error`` says why the error document was not sent."""
    title = f"{status} {HTTPStatus(status).phrase}"
    lines = [
        "<html>",
        f"<head><title>{title}</title></head>",
        "<body>",
        f"<h1>{title}</h1>",
        "<ul>",
        *_items([("Code", code), ("Message", message), *fields.items()]),
        *_items([("RequestId", ctx.request_id), ("HostId", host_id(ctx.request_id))]),
        "</ul>",
    ]
    if document_error is not None:
        lines += [
            "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>",
            "<ul>",
            *_items(
                [
                    ("Code", document_error.code),
                    ("Message", document_error.message),
                    *document_error.fields.items(),
                ]
            ),
            "</ul>",
        ]
    lines += ["<hr/>", "</body>", "</html>", ""]
    body = "\n".join(lines).encode()
    headers = _base_headers(ctx)
    _error_headers(headers, code, message, fields)
    headers.set("Content-Type", _HTML)
    headers.set("Content-Length", str(len(body)))
    return HttpResponse(status=status, headers=headers, body=body)


def _items(pairs: Iterable[tuple[str, str]]) -> list[str]:
    return [f"<li>{escape(name)}: {escape(str(value))}</li>" for name, value in pairs]


# --- hosts and paths -------------------------------------------------------------------------


def website_bucket(host: str) -> str | None:
    """The bucket a website endpoint host names ("" for the bare endpoint); None for any host
    that is not a website endpoint.

    ``b.s3-website-us-east-1.amazonaws.com``, ``b.s3-website.eu-west-1.amazonaws.com``,
    ``b.s3-website.localhost:4566``, ``b.s3-website.localhost.localstack.cloud``.
    """
    name = host.lower()
    if name.startswith("["):
        return None
    if name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    name = name.rstrip(".")
    for suffix in _HOST_SUFFIXES:
        if name.endswith(suffix):
            labels = name[: -len(suffix)].split(".")
            break
    else:
        return None
    # The endpoint label is the last label or followed only by a region.
    if len(labels) >= 2 and labels[-1] != "s3-website" and _REGION.match(labels[-1]):
        endpoint, bucket_labels = labels[-2], labels[:-2]
        if endpoint != "s3-website":
            return None
    else:
        endpoint, bucket_labels = labels[-1], labels[:-1]
        if endpoint != "s3-website" and not (
            endpoint.startswith("s3-website-") and _REGION.match(endpoint[len("s3-website-") :])
        ):
            return None
    return ".".join(bucket_labels)


def _raw_key_path(path: str, bucket: str) -> str:
    """The request's key, still percent-encoded: the gateway rewrote the path to
    ``/<bucket>/<key>`` (routing.rewrite_s3_virtual_host)."""
    prefix = f"/{bucket}"
    if path.startswith(prefix) and path[len(prefix) : len(prefix) + 1] in ("", "/"):
        return path[len(prefix) + 1 :]
    return path.lstrip("/")


def _quote(key: str) -> str:
    return quote(key, safe="/~!$&'()*+,;=:@")


# --- validation ------------------------------------------------------------------------------


def _validated(config: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration to store, or S3's error for it (codes and texts as S3 answers)."""
    if not config:
        if config is None:
            raise MalformedXML()
        raise InvalidArgument(
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
            ArgumentName="IndexDocument",
            ArgumentValue="null",
        )
    redirect_all = config.get("RedirectAllRequestsTo")
    if redirect_all is not None:
        if any(
            config.get(k) is not None for k in ("IndexDocument", "ErrorDocument", "RoutingRules")
        ):
            raise InvalidArgument(
                "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
                ArgumentName="RedirectAllRequestsTo",
                ArgumentValue="not null",
            )
        if not redirect_all.get("HostName"):
            raise MalformedXML()
        _check_protocol(redirect_all.get("Protocol"))
        return {"RedirectAllRequestsTo": _pick(redirect_all, ("HostName", "Protocol"))}
    index = config.get("IndexDocument")
    if index is None:
        raise InvalidArgument(
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
            ArgumentName="IndexDocument",
            ArgumentValue="null",
        )
    suffix = index.get("Suffix")
    if suffix is None:
        raise MalformedXML()
    if suffix == "" or "/" in suffix:
        raise InvalidArgument(
            "The IndexDocument Suffix is not well formed",
            ArgumentName="IndexDocument",
            ArgumentValue=suffix,
        )
    out: dict[str, Any] = {"IndexDocument": {"Suffix": suffix}}
    error = config.get("ErrorDocument")
    if error is not None:
        key = error.get("Key")
        if key is None:
            raise MalformedXML()
        if key == "":
            raise InvalidArgument(
                "The ErrorDocument Key is not well formed",
                ArgumentName="ErrorDocument",
                ArgumentValue="",
            )
        out["ErrorDocument"] = {"Key": key}
    rules = config.get("RoutingRules")
    if rules is not None:
        if len(rules) > MAX_ROUTING_RULES:
            raise InvalidRequest(
                f"{len(rules)} routing rules provided, the number of routing rules in a website "
                f"configuration is limited to {MAX_ROUTING_RULES}."
            )
        out["RoutingRules"] = [_validated_rule(rule) for rule in rules]
    return out


def _validated_rule(rule: dict[str, Any]) -> dict[str, Any]:
    redirect = rule.get("Redirect")
    if redirect is None:
        raise MalformedXML()
    out: dict[str, Any] = {}
    condition = rule.get("Condition")
    if condition is not None:
        if condition.get("KeyPrefixEquals") is None and (
            condition.get("HttpErrorCodeReturnedEquals") is None
        ):
            raise InvalidRequest(
                "Condition cannot be empty. To redirect all requests without a condition, the "
                "condition element shouldn't be present."
            )
        code = condition.get("HttpErrorCodeReturnedEquals")
        if code is not None:
            _check_code(code, redirect=False)
        out["Condition"] = _pick(condition, ("HttpErrorCodeReturnedEquals", "KeyPrefixEquals"))
    if redirect.get("ReplaceKeyWith") is not None and (
        redirect.get("ReplaceKeyPrefixWith") is not None
    ):
        raise InvalidRequest("You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
    if redirect.get("HttpRedirectCode") is not None:
        _check_code(redirect["HttpRedirectCode"], redirect=True)
    _check_protocol(redirect.get("Protocol"))
    out["Redirect"] = _pick(
        redirect,
        ("HostName", "HttpRedirectCode", "Protocol", "ReplaceKeyPrefixWith", "ReplaceKeyWith"),
    )
    return out


def _check_code(text: str, *, redirect: bool) -> None:
    try:
        code = int(text)
    except ValueError:
        raise MalformedXML() from None
    if redirect:
        valid, kind, allowed = 300 < code < 400, "redirect", "3XX except 300"
    else:
        valid, kind, allowed = 400 <= code < 600, "error", "4XX or 5XX"
    if not valid:
        raise InvalidRequest(
            f"The provided HTTP {kind} code ({text}) is not valid. Valid codes are {allowed}."
        )


def _check_protocol(protocol: str | None) -> None:
    if protocol is not None and protocol not in ("http", "https"):
        raise InvalidRequest(
            "Invalid protocol, protocol can be http or https. If not defined the protocol will "
            "be selected automatically."
        )


def _pick(source: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: source[name] for name in names if source.get(name) is not None}
