"""Who signed a request and how, read cheaply from the headers and query string, before the body.

The gateway routes on ``SigningScope.service`` (the credential scope's signing name) and picks
the account from the access key; nothing here hashes or checks anything. The parsers for the
SigV4 ``Authorization`` header and ``X-Amz-Credential`` value also serve the verifiers.
"""

from __future__ import annotations

from dataclasses import dataclass

from overcast.protocol.http import HttpRequest

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4A_ALGORITHM = "AWS4-ECDSA-P256-SHA256"
SIGV4_TERMINATOR = "aws4_request"
SIGV4A_HEADER = "sigv4a-header"  # recognised for routing and identity, signature not verified


@dataclass(frozen=True)
class SigningScope:
    """The access key and credential scope a request claims, before any verification."""

    access_key: str
    region: str | None  # None for SigV2
    service: str | None  # the credential scope's signing name ("s3", "sqs"); None for SigV2
    # "sigv4-header" | "sigv4-query" | "sigv2-header" | "sigv2-query" (| "sigv4a-header")
    method: str


@dataclass(frozen=True)
class CredentialScope:
    """``AKID/20130524/us-east-1/s3/aws4_request`` taken apart."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str

    @property
    def scope(self) -> str:
        """The credential scope as it appears in the string to sign (without the key)."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


def parse_credential(value: str) -> CredentialScope | None:
    """Split a SigV4 credential; None unless it has exactly the five parts."""
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or not all(parts):
        return None
    return CredentialScope(*parts)


@dataclass(frozen=True)
class SigV4Authorization:
    """The parameters of a ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``
    header, as sent (``None`` for a missing one)."""

    credential: str | None
    signed_headers: str | None
    signature: str | None


def parse_sigv4_authorization(value: str) -> SigV4Authorization:
    """Read the parameters after the algorithm name; separators may or may not have spaces."""
    params: dict[str, str] = {}
    for part in value[len(SIGV4_ALGORITHM) :].split(","):
        name, sep, item = part.strip().partition("=")
        if sep:
            params.setdefault(name, item.strip())
    return SigV4Authorization(
        params.get("Credential"), params.get("SignedHeaders"), params.get("Signature")
    )


def _credential_param(authorization: str) -> str | None:
    start = authorization.find("Credential=")
    if start < 0:
        return None
    start += len("Credential=")
    end = len(authorization)
    for stop in (",", " "):
        found = authorization.find(stop, start)
        if 0 <= found < end:
            end = found
    return authorization[start:end]


def _sigv4_header_scope(authorization: str) -> SigningScope | None:
    credential = parse_credential(_credential_param(authorization) or "")
    if credential is None:
        return None
    return SigningScope(
        credential.access_key, credential.region, credential.service, "sigv4-header"
    )


def _sigv4a_header_scope(request: HttpRequest, authorization: str) -> SigningScope | None:
    # SigV4a scopes have no region (AKID/date/service/aws4_request): it is in X-Amz-Region-Set.
    parts = (_credential_param(authorization) or "").rsplit("/", 3)
    if len(parts) != 4 or not all(parts):
        return None
    region_set = request.headers.get("x-amz-region-set", "").split(",")[0].strip()
    region = None if region_set in ("", "*") else region_set
    return SigningScope(parts[0], region, parts[2], SIGV4A_HEADER)


_UNREAD: object = object()


def signing_scope(request: HttpRequest) -> SigningScope | None:
    """The claimed signer of ``request``; None when unsigned (anonymous) or unreadable.

    Read once per request: routing asks first, authentication again.
    """
    scope = request.__dict__.get("_overcast_signing_scope", _UNREAD)
    if scope is _UNREAD:
        scope = request.__dict__["_overcast_signing_scope"] = _read_scope(request)
    return scope  # type: ignore[return-value]


def _read_scope(request: HttpRequest) -> SigningScope | None:
    authorization = request.headers.get("authorization")
    if authorization:
        if authorization.startswith(SIGV4_ALGORITHM + " "):
            return _sigv4_header_scope(authorization)
        if authorization.startswith(SIGV4A_ALGORITHM + " "):
            return _sigv4a_header_scope(request, authorization)
        if authorization.startswith("AWS "):
            access_key, sep, _ = authorization[4:].strip().rpartition(":")
            return SigningScope(access_key, None, None, "sigv2-header") if sep else None
        return None
    query = request.query
    if not query:
        return None
    # Substring tests first: parsing the query costs more than this on unsigned requests.
    if "X-Amz-Credential=" in query:
        values = request.query_params.get("X-Amz-Credential")
        credential = parse_credential(values[0]) if values else None
        if credential is None:
            return None
        return SigningScope(
            credential.access_key, credential.region, credential.service, "sigv4-query"
        )
    if "AWSAccessKeyId=" in query and "Signature=" in query:
        values = request.query_params.get("AWSAccessKeyId")
        return SigningScope(values[0], None, None, "sigv2-query") if values else None
    return None
