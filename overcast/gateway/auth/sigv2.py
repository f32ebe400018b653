"""Verifying S3's legacy signature version 2 (HMAC-SHA1), in the header and the query string.

Header form: ``Authorization: AWS AKID:base64(hmac-sha1(secret, string-to-sign))``; query form:
``AWSAccessKeyId``, ``Expires`` (epoch seconds) and ``Signature``. The string to sign is::

    METHOD\\nContent-MD5\\nContent-Type\\nDate-or-Expires\\n<x-amz-* headers>\\n<resource>

where the resource is ``/bucket/key`` (the bucket taken from the Host for virtual-hosted
requests) plus the sub-resources among the query parameters.
"""

from __future__ import annotations

import base64
import hmac
from urllib.parse import unquote

from overcast.errors import AccessDenied
from overcast.gateway.auth.sigv4 import parse_http_date
from overcast.gateway.auth.style import ErrorStyle, iso8601
from overcast.protocol.http import HttpRequest

# Query parameters that are part of the signed resource (AWS's documented list).
SUBRESOURCES = frozenset(
    [
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "policyStatus",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "retention",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    ]
)

_VHOST_MARKERS = (".s3.", ".s3-", ".s3-website", ".localhost")


def virtual_host_bucket(host: str) -> str | None:
    """The bucket of a virtual-hosted-style Host (``bucket.s3.amazonaws.com``), else None."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    lowered = hostname.lower()
    for marker in _VHOST_MARKERS:
        index = lowered.find(marker)
        if index > 0:
            return hostname[:index]
    return None


def _sub_resources(raw_query: str) -> str:
    selected = []
    for item in raw_query.split("&"):
        name, sep, value = item.partition("=")
        if name in SUBRESOURCES:
            selected.append((name, unquote(value) if sep else None))
    if not selected:
        return ""
    selected.sort(key=lambda pair: pair[0])
    return "?" + "&".join(name if value is None else f"{name}={value}" for name, value in selected)


def _resources(request: HttpRequest) -> list[str]:
    path = request.path or "/"
    sub = _sub_resources(request.query)
    resources = [path + sub]
    if path.count("/") == 1 and len(path) > 1:
        # botocore signs a path-style bucket request (``/bucket``) as ``/bucket/``.
        resources.append(f"{path}/{sub}")
    bucket = virtual_host_bucket(request.host)
    if bucket:
        resources.insert(0, f"/{bucket}{path}{sub}")
    return resources


def _amz_headers(request: HttpRequest, query: bool) -> str:
    values: dict[str, list[str]] = {}
    for name, value in request.headers.raw_items():
        if name.startswith("x-amz-"):
            values.setdefault(name, []).append(value.strip())
    if query:
        # Presigning moves signed x-amz-* headers into the query string.
        for name, value in request.query_items:
            lowered = name.lower()
            if lowered.startswith("x-amz-") and lowered not in values:
                values[lowered] = [value.strip()]
    return "".join(f"{name}:{','.join(values[name])}\n" for name in sorted(values))


def _standard(request: HttpRequest, name: str, query: bool) -> str:
    value = request.headers.get(name)
    if value is None and query:
        for key, item in request.query_items:
            if key.lower() == name:
                return item.strip()
    return (value or "").strip()


def strings_to_sign(request: HttpRequest, query: bool) -> list[str]:
    """The string-to-sign candidates, the likeliest first."""
    head = (
        f"{request.method.upper()}\n{_standard(request, 'content-md5', query)}\n"
        f"{_standard(request, 'content-type', query)}\n"
    )
    if query:
        dates = [_query_value(request, "Expires") or ""]
    else:
        date = request.headers.get("date", "").strip()
        # With x-amz-date the Date line is empty, though some clients sign both.
        dates = ["", date] if "x-amz-date" in request.headers else [date]
    amz = _amz_headers(request, query)
    return [
        f"{head}{date}\n{amz}{resource}"
        for date in dict.fromkeys(dates)
        for resource in _resources(request)
    ]


def sign(secret: str, string_to_sign: str) -> str:
    digest = hmac.digest(secret.encode(), string_to_sign.encode(), "sha1")
    return base64.b64encode(digest).decode("ascii")


def _query_value(request: HttpRequest, name: str) -> str | None:
    values = request.query_params.get(name)
    return values[0] if values else None


def check_query_expiry(request: HttpRequest, now: float) -> None:
    """Raise ``AccessDenied`` once a presigned SigV2 URL is past its ``Expires``."""
    expires = _query_value(request, "Expires")
    if expires is None:
        raise AccessDenied("Query-string authentication requires the Signature, Expires "
                           "and AWSAccessKeyId parameters")  # fmt: skip
    try:
        deadline = int(expires)
    except ValueError:
        raise AccessDenied(f"Invalid date (should be seconds since epoch): {expires}") from None
    if now > deadline:
        raise AccessDenied(
            "Request has expired", Expires=iso8601(deadline), ServerTime=iso8601(now)
        )


def header_signature(request: HttpRequest) -> tuple[str, str]:
    """(access key, signature) of an ``AWS AKID:signature`` header."""
    access_key, _, signature = request.headers.get("authorization", "")[4:].strip().rpartition(":")
    return access_key, signature


def verify(request: HttpRequest, secret: str, style: ErrorStyle, now: float, query: bool) -> None:
    """Raise unless the SigV2 signature matches (and, for headers, the Date is current)."""
    if query:
        access_key = _query_value(request, "AWSAccessKeyId") or ""
        # A "+" left unencoded in the base64 signature was decoded as a space.
        provided = (_query_value(request, "Signature") or "").replace(" ", "+")
    else:
        access_key, provided = header_signature(request)
        # x-amz-date, when present (even empty), is the date: Date is then not consulted.
        headers = request.headers
        value = headers["x-amz-date"] if "x-amz-date" in headers else headers.get("date")
        signed_at = parse_http_date(value) if value else None
        if signed_at is None or signed_at < 0:  # before the epoch: not a date S3 accepts
            raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
        style.check_skew(signed_at, value or "", now)
    candidates = strings_to_sign(request, query)
    for candidate in candidates:
        if hmac.compare_digest(sign(secret, candidate).encode(), provided.encode()):
            return
    raise style.mismatch(access_key, candidates[0], provided)
