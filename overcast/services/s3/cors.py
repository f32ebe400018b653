"""Bucket CORS: validating PutBucketCors, matching a request against the rules, and the
Access-Control-* headers S3 answers for preflights and actual requests.

A rule matches when one of its AllowedOrigins matches the Origin (one ``*`` wildcard at most),
the method is among its AllowedMethods and, for preflights, every header of
Access-Control-Request-Headers matches one of its AllowedHeaders (case-insensitive). The first
matching rule wins, as on S3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from overcast.iam.matching import wildcard_match
from overcast.protocol.http import Headers
from overcast.services.s3.errors import InvalidRequest, MalformedXML

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100
MAX_SIZE = 64 * 1024

Rule = Mapping[str, Any]


def validate(config: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The rules of a CORSConfiguration, in the stored form; S3's errors when invalid."""
    rules = list((config or {}).get("CORSRules") or [])
    if not rules or len(rules) > MAX_RULES:
        raise MalformedXML()
    stored = []
    for rule in rules:
        methods = list(rule.get("AllowedMethods") or [])
        origins = list(rule.get("AllowedOrigins") or [])
        if not methods or not origins:
            raise MalformedXML()
        for method in methods:
            if method not in METHODS:
                raise InvalidRequest(
                    f"Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                )
        for origin in origins:
            if origin.count("*") > 1:
                raise InvalidRequest(
                    f'AllowedOrigin "{origin}" can not have more than one wildcard.'
                )
        for header in rule.get("AllowedHeaders") or []:
            if header.count("*") > 1:
                raise InvalidRequest(
                    f'AllowedHeader "{header}" can not have more than one wildcard.'
                )
        kept = {k: v for k, v in rule.items() if v not in (None, [])}
        stored.append(kept)
    if len(repr(stored)) > MAX_SIZE:
        raise InvalidRequest("The CORS configuration exceeds the maximum size of 64 KB.")
    return stored


def _origin_matches(rule: Rule, origin: str) -> bool:
    return any(wildcard_match(p, origin) for p in rule.get("AllowedOrigins", ()))


def _header_allowed(rule: Rule, header: str) -> bool:
    return any(wildcard_match(p, header, ignore_case=True) for p in rule.get("AllowedHeaders", ()))


def match(
    rules: Sequence[Rule], origin: str, method: str, request_headers: Sequence[str] = ()
) -> Rule | None:
    for rule in rules:
        if method not in rule.get("AllowedMethods", ()):
            continue
        if not _origin_matches(rule, origin):
            continue
        if all(_header_allowed(rule, h) for h in request_headers):
            return rule
    return None


def requested_headers(value: str | None) -> list[str]:
    return [h.strip().lower() for h in (value or "").split(",") if h.strip()]


def response_headers(
    rule: Rule, origin: str, *, preflight: bool, request_headers: Sequence[str] = ()
) -> Headers:
    """The Access-Control-* headers for a matched rule."""
    headers = Headers()
    wildcard = "*" in rule.get("AllowedOrigins", ())
    headers.set("Access-Control-Allow-Origin", "*" if wildcard else origin)
    headers.set("Access-Control-Allow-Methods", ", ".join(rule.get("AllowedMethods", ())))
    if not wildcard:
        # S3 allows credentials whenever the origin is echoed rather than "*".
        headers.set("Access-Control-Allow-Credentials", "true")
    if preflight and request_headers:
        headers.set("Access-Control-Allow-Headers", ", ".join(request_headers))
    expose = rule.get("ExposeHeaders")
    if expose:
        headers.set("Access-Control-Expose-Headers", ", ".join(expose))
    if rule.get("MaxAgeSeconds") is not None:
        headers.set("Access-Control-Max-Age", str(rule["MaxAgeSeconds"]))
    headers.set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
    return headers
