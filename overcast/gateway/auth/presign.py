"""Verifying SigV4 presigned URLs (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature`` in the query string).

Expiry is checked for every request, known key or not, since a presigned URL must stop working
whoever signed it; the signature only for keys whose secret is known.
"""

from __future__ import annotations

from overcast.errors import AccessDenied
from overcast.gateway.auth.errors import AuthorizationQueryParametersError
from overcast.gateway.auth.scope import SIGV4_ALGORITHM, CredentialScope, parse_credential
from overcast.gateway.auth.sigv4 import SigV4Check, new_check, parse_amz_date
from overcast.gateway.auth.style import ErrorStyle, iso8601
from overcast.protocol.http import HttpRequest

MAX_EXPIRES = 7 * 24 * 3600
_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


def _param(request: HttpRequest, name: str) -> str | None:
    values = request.query_params.get(name)
    return values[0] if values else None


def _malformed(style: ErrorStyle, message: str) -> Exception:
    if style.s3:
        return AuthorizationQueryParametersError(message)
    return style.malformed(message)


def check_expiry(request: HttpRequest, style: ErrorStyle, now: float) -> None:
    """Raise when the presigned URL is malformed or past ``X-Amz-Date + X-Amz-Expires``."""
    missing = [name for name in _REQUIRED if not _param(request, name)]
    # S3 asks for the whole set; only X-Amz-Expires is optional outside S3.
    if missing and (style.s3 or missing != ["X-Amz-Expires"]):
        raise _malformed(
            style,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters.",
        )
    if _param(request, "X-Amz-Algorithm") != SIGV4_ALGORITHM:
        raise _malformed(style, 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    amz_date = _param(request, "X-Amz-Date") or ""
    signed_at = parse_amz_date(amz_date)
    if signed_at is None:
        raise _malformed(
            style, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    expires_value = _param(request, "X-Amz-Expires")
    if expires_value is None:
        return
    try:
        expires = int(expires_value)
    except ValueError:
        raise _malformed(style, "X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _malformed(style, "X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise _malformed(
            style, "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        )
    if now > signed_at + expires:
        if style.s3:
            raise AccessDenied(
                "Request has expired",
                **{
                    "X-Amz-Expires": expires_value,
                    "Expires": iso8601(signed_at + expires),
                    "ServerTime": iso8601(now),
                },
            )
        raise style.signature_error(
            f"Signature expired: {amz_date} is now earlier than "
            f"{iso8601(now)} (X-Amz-Expires={expires_value})"
        )


def query_check(
    request: HttpRequest, secret: str, style: ErrorStyle
) -> tuple[SigV4Check, CredentialScope]:
    """A ``SigV4Check`` for a presigned request (``check_expiry`` has validated the params)."""
    credential = parse_credential(_param(request, "X-Amz-Credential") or "")
    if credential is None:
        raise _malformed(
            style,
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
        )
    check = new_check(
        request,
        credential,
        secret,
        _param(request, "X-Amz-Date") or "",
        _param(request, "X-Amz-Signature") or "",
        _param(request, "X-Amz-SignedHeaders") or "",
        style,
        exclude_query="X-Amz-Signature",
    )
    return check, credential
