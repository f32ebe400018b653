"""SigV4 building blocks shared by header, presigned and chunk verification.

The canonical request is rebuilt from the request exactly as the client built it: the raw path
(S3) or the path with dot segments removed and encoded once more (every other service), the query
re-encoded and sorted, the signed headers trimmed and joined. Where clients disagree on encoding
(a literal ``+`` or ``(`` in a path), the variants are tried in turn; that only costs extra HMACs
on the failure path, never on a good request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, unquote

from overcast.protocol.http import HttpRequest

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_PAYLOADS = frozenset(
    {STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
)

# Signing names whose requests are signed over the raw path (no normalisation, no re-encoding).
S3_SIGNING_NAMES = frozenset({"s3", "s3-object-lambda", "s3-outposts", "s3express"})

_URI_SAFE = "-_.~"


@lru_cache(maxsize=512)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and the terminator (cached per day)."""
    key = hmac.digest(("AWS4" + secret).encode(), date.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def hmac_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def signatures_equal(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode(), provided.lower().encode())


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, also collapsing repeated slashes as AWS does."""
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    lead = "/" if path.startswith("/") else ""
    trail = "/" if path.endswith("/") and kept else ""
    return lead + "/".join(kept) + trail


def canonical_uris(raw_path: str, s3: bool) -> list[str]:
    """Canonical URI candidates, the usual encoding first."""
    path = raw_path or "/"
    if s3:
        # S3 signs the path as sent; a client that left a reserved character unencoded signed
        # the AWS-encoded form of the decoded key instead.
        candidates = [path, quote(unquote(path), safe="/" + _URI_SAFE)]
    else:
        # Other services: normalised, then URI-encoded once more (so "%2F" becomes "%252F").
        normalised = _remove_dot_segments(path) or "/"
        candidates = [
            quote(normalised, safe="/" + _URI_SAFE),
            quote(quote(unquote(normalised), safe="/" + _URI_SAFE), safe="/" + _URI_SAFE),
        ]
    return list(dict.fromkeys(candidates))


def _raw_pairs(raw_query: str, exclude: str | None) -> list[tuple[str, str]]:
    pairs = []
    for item in raw_query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        if exclude is not None and unquote(name) == exclude:
            continue
        pairs.append((name, value))
    return pairs


def canonical_queries(raw_query: str, exclude: str | None = None) -> list[str]:
    """Canonical query string candidates: AWS re-encoding first, then the raw pairs sorted."""
    pairs = _raw_pairs(raw_query, exclude)
    encoded = sorted(
        (quote(unquote(name), safe=_URI_SAFE), quote(unquote(value), safe=_URI_SAFE))
        for name, value in pairs
    )
    candidates = ["&".join(f"{n}={v}" for n, v in encoded)]
    candidates.append("&".join(f"{n}={v}" for n, v in sorted(pairs)))
    return list(dict.fromkeys(candidates))


def canonical_headers(request: HttpRequest, signed_headers: Iterable[str]) -> str:
    """``name:value\\n`` for each signed header, values trimmed, repeats joined with commas."""
    lines = []
    for name in signed_headers:
        values = request.headers.getall(name)
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "".join(lines)


def build_canonical_request(
    method: str, uri: str, query: str, headers: str, signed_headers: str, payload_hash: str
) -> str:
    return f"{method}\n{uri}\n{query}\n{headers}\n{signed_headers}\n{payload_hash}"
