"""``Authenticator``: from a request to the ``Identity`` it acts as.

Unknown access keys are let through unverified as the default account's root (clients send
``test``/``test``), at the cost of a header parse and a dict lookup. Keys the ``CredentialStore``
knows get AWS's full treatment: session token, skew, and signature, with the error each protocol
answers. Streaming (aws-chunked) bodies are unwrapped for every caller, since the provider must
see the object's bytes whoever sent them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from overcast.errors import ServiceError
from overcast.gateway.auth import presign, sigv2
from overcast.gateway.auth.chunked import AwsChunkedBody, ChunkDecoder, ChunkSigner, decode_chunked
from overcast.gateway.auth.credentials import (
    Credential,
    CredentialStore,
    InvalidAccessKeyId,
    PrincipalInfo,
)
from overcast.gateway.auth.errors import InvalidArgument, XAmzContentSHA256Mismatch
from overcast.gateway.auth.payload import HashingBody
from overcast.gateway.auth.scope import (
    SIGV4_ALGORITHM,
    SIGV4A_HEADER,
    SigningScope,
    signing_scope,
)
from overcast.gateway.auth.signing import (
    EMPTY_SHA256,
    S3_SIGNING_NAMES,
    STREAMING_PAYLOADS,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
)
from overcast.gateway.auth.sigv4 import ChunkSigningContext, SigV4Check, header_check
from overcast.gateway.auth.style import ErrorStyle
from overcast.protocol.http import HttpRequest

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Identity:
    """Who a request acts as, once authenticated."""

    account_id: str
    principal_arn: str  # "arn:aws:iam::<account>:root" for unknown keys
    access_key: str | None  # None when anonymous
    region: str | None
    method: str  # as SigningScope.method, or "anonymous"
    verified: bool  # True when the signature was checked with a known secret
    session_token: str | None = None
    # The IAM user, role session or federated user (keys from IAM or STS); None for root.
    principal: PrincipalInfo | None = None


def _session_token(request: HttpRequest, method: str) -> str | None:
    if method == "sigv4-query":
        values = request.query_params.get("X-Amz-Security-Token")
        return values[0] if values else None
    if method == "sigv2-query":
        values = request.query_params.get("x-amz-security-token")
        if values:
            return values[0]
    return request.headers.get("x-amz-security-token")


class Authenticator:
    """Authenticates requests against a ``CredentialStore``."""

    def __init__(
        self, credentials: CredentialStore, default_account: str, now: Callable[[], float]
    ) -> None:
        self._credentials = credentials
        self._default_account = default_account
        self._root_arn = f"arn:aws:iam::{default_account}:root"
        self._now = now

    def authenticate(self, request: HttpRequest, protocol: str) -> Identity:
        """The request's ``Identity``; raises the protocol's ``ServiceError`` when it fails."""
        scope = signing_scope(request)
        if scope is None:
            return self._anonymous(request, protocol)
        style = ErrorStyle(protocol, scope.service in S3_SIGNING_NAMES or scope.service is None)
        if scope.method == "sigv4-query":
            presign.check_expiry(request, style, self._now())
        elif scope.method == "sigv2-query":
            sigv2.check_query_expiry(request, self._now())
        token = _session_token(request, scope.method)
        credential = self._credentials.lookup(scope.access_key)
        if credential is None:
            if scope.method == "sigv4-header":
                _check_header_complete(request, style, self._now())
            _unwrap_chunked(request, None, scope.access_key)
            return Identity(
                self._default_account,
                self._root_arn,
                scope.access_key,
                scope.region,
                scope.method,
                verified=False,
                session_token=token,
            )
        if credential.status != "Active":
            raise InvalidAccessKeyId() if style.s3 else style.invalid_token()
        self._check_token(credential, token, style)
        if scope.method == SIGV4A_HEADER:
            # SigV4a (ECDSA) signatures are not checked: the identity is the key's, unverified.
            _unwrap_chunked(request, None, scope.access_key)
            return Identity(
                credential.account_id,
                credential.principal_arn,
                credential.access_key,
                scope.region,
                scope.method,
                verified=False,
                session_token=token,
                principal=credential.principal,
            )
        context = self._verify(request, scope, credential, style)
        _unwrap_chunked(request, context, scope.access_key)
        return Identity(
            credential.account_id,
            credential.principal_arn,
            credential.access_key,
            scope.region,
            scope.method,
            verified=True,
            session_token=token,
            principal=credential.principal,
        )

    def _anonymous(self, request: HttpRequest, protocol: str) -> Identity:
        authorization = request.headers.get("authorization")
        if authorization or "X-Amz-Credential=" in request.query:
            _reject_unreadable(request, protocol, authorization, self._now())
        _unwrap_chunked(request, None, "")
        return Identity(
            self._default_account, self._root_arn, None, None, "anonymous", verified=False
        )

    def _check_token(self, credential: Credential, token: str | None, style: ErrorStyle) -> None:
        if credential.session_token is not None and token != credential.session_token:
            raise style.invalid_token()
        if credential.expires_at is not None and credential.expires_at < self._now():
            raise style.expired_token()

    def _verify(
        self, request: HttpRequest, scope: SigningScope, credential: Credential, style: ErrorStyle
    ) -> ChunkSigningContext | None:
        secret = credential.secret_key
        if scope.method == "sigv4-header":
            check, _ = header_check(request, secret, style, self._now())
            return _verify_payload(request, check, style)
        if scope.method == "sigv4-query":
            check, _ = presign.query_check(request, secret, style)
            return check.verify(_presigned_payload_hashes(request, style))
        sigv2.verify(request, secret, style, self._now(), query=scope.method == "sigv2-query")
        return None


def _check_header_complete(request: HttpRequest, style: ErrorStyle, now: float) -> None:
    """Reject an incomplete SigV4 header even for an unknown key (substring tests: cheap)."""
    authorization = request.headers.get("authorization", "")
    if "Signature=" not in authorization or "SignedHeaders=" not in authorization:
        header_check(request, "", style, now)


def _reject_unreadable(
    request: HttpRequest, protocol: str, authorization: str | None, now: float
) -> None:
    """Raise AWS's answer to an Authorization header or presigned query it cannot read."""
    style = ErrorStyle(protocol, protocol == "rest-xml")
    if authorization is None:
        presign.check_expiry(request, style, now)
        presign.query_check(request, "", style)
    elif authorization.startswith(SIGV4_ALGORITHM + " "):
        header_check(request, "", style, now)
    elif style.s3:
        raise InvalidArgument(
            "Unsupported Authorization Type",
            ArgumentName="Authorization",
            ArgumentValue=authorization,
        )
    raise style.malformed(
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={authorization}"
    )


def _mismatch_error(style: ErrorStyle, client: str, computed: str) -> ServiceError:
    if style.s3:
        return XAmzContentSHA256Mismatch(
            ClientComputedContentSHA256=client, S3ComputedContentSHA256=computed
        )
    return style.signature_error()


def _verify_payload(
    request: HttpRequest, check: SigV4Check, style: ErrorStyle
) -> ChunkSigningContext | None:
    """Check the signature over the payload hash, reading it from the header or the body."""
    declared = request.headers.get("x-amz-content-sha256")
    if declared is not None:
        is_digest = _SHA256_HEX.fullmatch(declared) is not None
        known = is_digest or declared == UNSIGNED_PAYLOAD or declared in STREAMING_PAYLOADS
        if style.s3 and not known:
            raise InvalidArgument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.",
                ArgumentName="x-amz-content-sha256",
                ArgumentValue=declared,
            )
        context = check.verify([declared])
        if is_digest:
            declared = declared.lower()
            if request.stream is not None:

                def on_end(computed: str) -> None:
                    if computed != declared:
                        raise _mismatch_error(style, declared, computed)

                request.stream = HashingBody(request.stream, on_end)
            else:
                computed = hashlib.sha256(request.body).hexdigest()
                if computed != declared:
                    raise _mismatch_error(style, declared, computed)
        return context
    if request.stream is None:
        return check.verify([hashlib.sha256(request.body).hexdigest()])

    # The payload hash is only known once the body is read: verify then.
    def verify_at_end(digest: str) -> None:
        check.verify([digest])

    request.stream = HashingBody(request.stream, verify_at_end)
    return None


def _presigned_payload_hashes(request: HttpRequest, style: ErrorStyle) -> list[str]:
    declared = request.headers.get("x-amz-content-sha256")
    if declared is not None:
        return [declared]
    if style.s3 or request.stream is not None:
        return [UNSIGNED_PAYLOAD, EMPTY_SHA256]
    return [hashlib.sha256(request.body).hexdigest(), UNSIGNED_PAYLOAD]


def _unwrap_chunked(
    request: HttpRequest, context: ChunkSigningContext | None, access_key: str
) -> None:
    """Replace an aws-chunked body with its decoded bytes and fix the length headers."""
    headers = request.headers
    content_sha = headers.get("x-amz-content-sha256")
    encoding = headers.get("content-encoding")
    chunked_encoding = encoding is not None and "aws-chunked" in encoding.lower()
    if content_sha not in STREAMING_PAYLOADS and not chunked_encoding:
        return
    signed = content_sha in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
    signer = ChunkSigner(context, access_key) if context is not None and signed else None
    decoded_length: int | None = None
    declared_length = headers.get("x-amz-decoded-content-length")
    if declared_length is not None and declared_length.strip().isdigit():
        decoded_length = int(declared_length)
    trailer_names = [n for v in headers.getall("x-amz-trailer") for n in v.split(",")]
    decoder = ChunkDecoder(
        signer=signer,
        decoded_length=decoded_length,
        declared_trailers=trailer_names,
        signed_trailer=content_sha == STREAMING_SIGNED_TRAILER,
    )
    if request.stream is not None:
        request.stream = AwsChunkedBody(request.stream, decoder)
    else:
        request.body = decode_chunked(request.body, decoder)
        decoded_length = len(request.body)
        # The body is already whole, so its trailers can travel as ordinary headers.
        for name, value in decoder.trailers.items():
            headers.set(name, value)
    if decoded_length is None:
        headers.remove("content-length")
    else:
        headers.set("content-length", str(decoded_length))
    if encoding is not None:
        rest = [c.strip() for c in encoding.split(",") if c.strip().lower() != "aws-chunked"]
        if rest:
            headers.set("content-encoding", ", ".join(rest))
        else:
            headers.remove("content-encoding")
