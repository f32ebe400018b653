"""Real signed requests from botocore's own signers, turned into Overcast ``HttpRequest``s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.auth import BaseSigner
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.gateway.auth import Authenticator, Credential, StaticCredentials
from overcast.protocol.http import Headers, HttpRequest

ACCOUNT = "111122223333"
DEFAULT_ACCOUNT = "000000000000"
KNOWN_KEY = "AKIAKNOWNKEY0000001"
SECRET = "known/secret+key/ABCDEFGHIJKLMNOP"
TEMP_KEY = "ASIATEMPORARYKEY0001"
TEMP_SECRET = "temporary-secret"
TOKEN = "session-token-value"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/alice"


def store() -> StaticCredentials:
    return StaticCredentials(
        [
            Credential(KNOWN_KEY, SECRET, ACCOUNT, PRINCIPAL),
            Credential(
                TEMP_KEY,
                TEMP_SECRET,
                ACCOUNT,
                f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s",
                session_token=TOKEN,
                expires_at=time.time() + 3600,
            ),
        ]
    )


def authenticator(offset: float = 0.0) -> Authenticator:
    """An authenticator whose clock is ``offset`` seconds ahead of the real one."""
    return Authenticator(store(), DEFAULT_ACCOUNT, lambda: time.time() + offset)


def creds(key: str = KNOWN_KEY, secret: str = SECRET, token: str | None = None) -> Credentials:
    return Credentials(key, secret, token)


def aws_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    auth_path: str | None = None,
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    if auth_path is not None:
        request.auth_path = auth_path
    return request


def to_http(request: AWSRequest) -> HttpRequest:
    """What the server receives for a prepared botocore request."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    items: list[tuple[str, str]] = []
    for name, value in prepared.headers.items():
        items.append((name, value.decode() if isinstance(value, bytes) else value))
    headers = Headers(items)
    if "host" not in headers:
        headers.add("host", parts.netloc)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = body.read()
    return HttpRequest(
        method=prepared.method, path=parts.path, query=parts.query, headers=headers, body=body
    )


def signed(signer: BaseSigner, request: AWSRequest) -> HttpRequest:
    signer.add_auth(request)
    return to_http(request)


def s3_url(bucket: str, key: str = "", host: str = "localhost:4566") -> str:
    path = f"/{bucket}/{quote(key, safe='/~')}" if key else f"/{bucket}"
    return f"http://{host}{path}"


class PieceStream:
    """A ``BodyStream`` that hands out ``data`` a few bytes at a time (a slow network)."""

    def __init__(self, data: bytes, piece: int = 7) -> None:
        self._data = data
        self._piece = piece
        self._pos = 0

    async def read(self, size: int = -1) -> bytes:
        if size < 0:
            end = len(self._data)
        else:
            end = min(len(self._data), self._pos + min(size, self._piece))
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(1 << 16):
            yield chunk


def read_all(stream: Any, size: int = 5) -> bytes:
    """Drain a BodyStream with reads of ``size`` bytes."""

    async def drain() -> bytes:
        out = bytearray()
        while chunk := await stream.read(size):
            out += chunk
        return bytes(out)

    return asyncio.run(drain())
