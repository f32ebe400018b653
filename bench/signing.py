"""Build botocore-signed requests for any ``service.Operation`` against any endpoint.

botocore itself serializes and signs the request (so the bytes are exactly what an SDK sends); a
``before-send`` hook captures the prepared request and aborts before anything goes on the wire.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

REGION = "us-east-1"
ACCESS_KEY = "test"
SECRET_KEY = "test"


@dataclass(frozen=True)
class SignedRequest:
    """One HTTP request as botocore would send it."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def target(self) -> str:
        """The request target (path and query) for the request line."""
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def to_wire(self) -> bytes:
        """The request serialized as HTTP/1.1 bytes (keep-alive, explicit Content-Length)."""
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        has_host = False
        for name, value in self.headers.items():
            lower = name.lower()
            if lower in ("content-length", "connection", "transfer-encoding"):
                continue
            has_host = has_host or lower == "host"
            lines.append(f"{name}: {value}")
        if not has_host:
            lines.append(f"Host: {urlsplit(self.url).netloc}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def parse_op(op: str) -> tuple[str, str]:
    """``"sts.GetCallerIdentity"`` -> ``("sts", "GetCallerIdentity")``."""
    service, _, operation = op.partition(".")
    if not service or not operation:
        raise ValueError(f"--op must look like service.Operation, got {op!r}")
    return service, operation


def parse_params(params: str | None) -> dict[str, Any]:
    """Parse ``--params`` JSON (an object) into operation keyword arguments."""
    if not params:
        return {}
    value = json.loads(params)
    if not isinstance(value, dict):
        raise ValueError("--params must be a JSON object")
    return value


def make_client(service: str, endpoint: str, *, max_pool: int = 10) -> Any:
    """A botocore client for ``service`` pointed at ``endpoint`` with dummy credentials."""
    import botocore.config
    import botocore.session

    session = botocore.session.get_session()
    config = botocore.config.Config(
        retries={"max_attempts": 1, "mode": "standard"},
        max_pool_connections=max_pool,
        s3={"addressing_style": "path"},
    )
    return session.create_client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    )


def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
    """Invoke ``operation`` (PascalCase) on a botocore client."""
    from botocore import xform_name

    return getattr(client, xform_name(operation))(**params)


def sign_request(endpoint: str, op: str, params: dict[str, Any] | None = None) -> SignedRequest:
    """Serialize and sign ``op`` with botocore and return the request without sending it."""
    service, operation = parse_op(op)
    from botocore.exceptions import ParamValidationError, UnknownServiceError

    try:
        client = make_client(service, endpoint)
    except UnknownServiceError:
        raise ValueError(f"unknown service {service!r} in --op {op!r}") from None
    if operation not in client.meta.service_model.operation_names:
        raise ValueError(f"{service} has no operation {operation!r}")

    def capture(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", capture)
    try:
        call(client, operation, params or {})
    except ParamValidationError as exc:
        raise ValueError(f"--params for {op}: {exc}") from None
    except _Captured as captured:
        req = captured.request
        body = req.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = body.read()
        headers = {_text(k): _text(v) for k, v in req.headers.items()}
        return SignedRequest(req.method, req.url, headers, body)
    raise RuntimeError(f"{op} was not sent through botocore's before-send hook")


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class Resigner:
    """Re-signs a captured request from scratch (new ``X-Amz-Date``, new signature) every call,
    as an SDK signs every request.

    botocore's signer costs ~70-125 us per request, which caps one client core at a few thousand
    requests per second: less than the server rates being measured. So botocore signs the
    template once, and each ``sign`` redoes only what changes with the time, with the same SigV4
    steps (the canonical request's ``x-amz-date`` line, its SHA-256, the string to sign, the
    HMAC chain with the signing key cached per day), ~10 us. The result is checked against
    botocore's own signature for the same instant at construction; on any difference (or with
    ``fast=False``) botocore signs every request instead.
    """

    def __init__(self, template: SignedRequest, op: str, *, fast: bool = True) -> None:
        from botocore.auth import S3SigV4Auth, SigV4Auth
        from botocore.credentials import Credentials

        service, _ = parse_op(op)
        client = make_client(service, template.url)
        signing_name = client.meta.service_model.signing_name or service
        creds = Credentials(ACCESS_KEY, SECRET_KEY)
        auth_cls = S3SigV4Auth if service == "s3" else SigV4Auth
        self._auth = auth_cls(creds, signing_name, REGION)
        self._signing_name = signing_name
        self._template = template
        drop = {"authorization", "x-amz-date", "x-amz-security-token"}
        self._headers = {k: v for k, v in template.headers.items() if k.lower() not in drop}
        self._keys: dict[str, bytes] = {}
        self._canonical: tuple[str, str] | None = None
        if fast:
            self._canonical = self._prepare_fast()

    def sign(self) -> SignedRequest:
        """A freshly signed copy of the template (new X-Amz-Date and Authorization)."""
        if self._canonical is not None:
            return self._sign_fast(time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        return self._sign_botocore()

    def _sign_botocore(self) -> SignedRequest:
        from botocore.awsrequest import AWSRequest

        t = self._template
        req = AWSRequest(method=t.method, url=t.url, data=t.body, headers=dict(self._headers))
        self._auth.add_auth(req)
        headers = {_text(k): _text(v) for k, v in req.headers.items()}
        return SignedRequest(t.method, t.url, headers, t.body)

    def _prepare_fast(self) -> tuple[str, str] | None:
        """The canonical request around its ``x-amz-date`` value, if the fast path is exact."""
        from botocore.awsrequest import AWSRequest

        t = self._template
        req = AWSRequest(method=t.method, url=t.url, data=t.body, headers=dict(self._headers))
        self._auth.add_auth(req)
        stamp = req.context["timestamp"]
        expected = _text(req.headers["Authorization"])
        del req.headers["Authorization"]  # not part of what was signed
        canonical = self._auth.canonical_request(req)
        line = f"\nx-amz-date:{stamp}\n"
        if canonical.count(line) != 1:
            return None
        before, after = canonical.split(line)
        self._canonical = (before + "\nx-amz-date:", "\n" + after)
        got = self._sign_fast(stamp).headers["Authorization"]
        return self._canonical if got == expected else None

    def _sign_fast(self, stamp: str) -> SignedRequest:
        assert self._canonical is not None
        day = stamp[:8]
        key = self._keys.get(day)
        scope = f"{day}/{REGION}/{self._signing_name}/aws4_request"
        if key is None:
            key = f"AWS4{SECRET_KEY}".encode()
            for part in (day, REGION, self._signing_name, "aws4_request"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            self._keys = {day: key}
        before, after = self._canonical
        digest = hashlib.sha256(f"{before}{stamp}{after}".encode()).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        signed = ";".join(sorted(k.lower() for k in self._signed_names()))
        headers = dict(self._headers)
        headers["X-Amz-Date"] = stamp
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        t = self._template
        return SignedRequest(t.method, t.url, headers, t.body)

    def _signed_names(self) -> list[str]:
        names = getattr(self, "_names", None)
        if names is None:
            assert self._canonical is not None
            # The canonical request's second-to-last line lists the signed headers.
            tail = self._canonical[1].split("\n")
            names = self._names = tail[-2].split(";")
        return names
