"""Verifying SigV4 requests signed in the ``Authorization`` header.

``SigV4Check`` holds everything but the payload hash, so a body that is still a stream can be
verified once it has been read (see ``payload.py``); ``ChunkSigningContext`` carries the seed
signature on to the aws-chunked decoder.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from overcast.gateway.auth.scope import (
    SIGV4_TERMINATOR,
    CredentialScope,
    parse_credential,
    parse_sigv4_authorization,
)
from overcast.gateway.auth.signing import (
    build_canonical_request,
    canonical_headers,
    canonical_queries,
    canonical_uris,
    hmac_hex,
    signatures_equal,
    signing_key,
    string_to_sign,
)
from overcast.gateway.auth.style import ErrorStyle
from overcast.protocol.http import HttpRequest

_CREDENTIAL_FORMAT = '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request"'


@dataclass(frozen=True)
class ChunkSigningContext:
    """What chunk and trailer signatures chain from: the key, time, scope and seed signature."""

    key: bytes
    amz_date: str
    scope: str
    seed_signature: str


@dataclass
class SigV4Check:
    """A signed request's canonical parts, waiting for the payload hash."""

    credential: CredentialScope
    key: bytes
    amz_date: str
    signature: str
    signed_headers: str
    style: ErrorStyle
    # (canonical URI, canonical query) candidates, the usual encoding first.
    variants: list[tuple[str, str]] = field(default_factory=list)
    method: str = "GET"
    headers: str = ""

    def _canonical(self, uri: str, query: str, payload_hash: str) -> str:
        return build_canonical_request(
            self.method, uri, query, self.headers, self.signed_headers, payload_hash
        )

    def verify(self, payload_hashes: list[str]) -> ChunkSigningContext:
        """Raise the protocol's mismatch error unless one canonical form matches."""
        scope = self.credential.scope
        for payload_hash in payload_hashes:
            for uri, query in self.variants:
                canonical = self._canonical(uri, query, payload_hash)
                expected = hmac_hex(self.key, string_to_sign(self.amz_date, scope, canonical))
                if signatures_equal(expected, self.signature):
                    return ChunkSigningContext(self.key, self.amz_date, scope, self.signature)
        uri, query = self.variants[0]
        canonical = self._canonical(uri, query, payload_hashes[0])
        raise self.style.mismatch(
            self.credential.access_key,
            string_to_sign(self.amz_date, scope, canonical),
            self.signature,
            canonical,
        )


def parse_amz_date(value: str) -> float | None:
    """Epoch seconds of a ``20130524T000000Z`` timestamp; None when malformed."""
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def parse_http_date(value: str) -> float | None:
    """Epoch seconds of an RFC 1123 date (the ``Date`` header); None when malformed."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def request_time(request: HttpRequest) -> tuple[str, float] | None:
    """The signed ``X-Amz-Date`` (or ``Date``) as (amz timestamp, epoch seconds)."""
    value = request.headers.get("x-amz-date")
    if value is not None:
        epoch = parse_amz_date(value)
        return None if epoch is None else (value, epoch)
    value = request.headers.get("date")
    if value is not None:
        epoch = parse_http_date(value)
        if epoch is not None:
            return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch)), epoch
    return None


def new_check(
    request: HttpRequest,
    credential: CredentialScope,
    secret: str,
    amz_date: str,
    signature: str,
    signed_headers: str,
    style: ErrorStyle,
    exclude_query: str | None = None,
) -> SigV4Check:
    """A ``SigV4Check`` with every canonical URI/query variant of ``request``."""
    names = signed_headers.split(";")
    check = SigV4Check(
        credential=credential,
        key=signing_key(secret, credential.date, credential.region, credential.service),
        amz_date=amz_date,
        signature=signature,
        signed_headers=signed_headers,
        style=style,
        method=request.method.upper(),
        headers=canonical_headers(request, names),
    )
    for uri in canonical_uris(request.path, style.s3):
        for query in canonical_queries(request.query, exclude_query):
            check.variants.append((uri, query))
    return check


def header_check(
    request: HttpRequest, secret: str, style: ErrorStyle, now: float
) -> tuple[SigV4Check, CredentialScope]:
    """Parse and sanity-check a SigV4 ``Authorization`` header; the signature is checked later."""
    header = request.headers.get("authorization", "")
    parsed = parse_sigv4_authorization(header)
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name, value in (
            ("Credential", parsed.credential),
            ("Signature", parsed.signature),
            ("SignedHeaders", parsed.signed_headers),
        )
        if not value
    ]
    signed = request_time(request)
    if signed is None:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing:
        if style.s3:
            raise style.malformed("The authorization header is malformed; " + " ".join(missing))
        raise style.malformed(" ".join(missing) + f" Authorization={header}")
    assert parsed.credential and parsed.signature and parsed.signed_headers and signed
    credential = parse_credential(parsed.credential)
    if credential is None:
        raise style.malformed(
            "The authorization header is malformed; the Credential is mal-formed; "
            f"expecting {_CREDENTIAL_FORMAT}."
        )
    if credential.terminator != SIGV4_TERMINATOR:
        raise style.malformed(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{credential.terminator}'."
        )
    amz_date, epoch = signed
    style.check_skew(epoch, amz_date, now)
    check = new_check(
        request, credential, secret, amz_date, parsed.signature, parsed.signed_headers, style
    )
    return check, credential
