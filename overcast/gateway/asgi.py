"""ASGI plumbing: the request body (whole or streamed) and writing an HttpResponse."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from overcast.protocol.http import Headers, HttpRequest, HttpResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Headers added to every response this process sends (the compat layer adds ``x-localstack``):
# appended here rather than by wrapping ``send``, which costs a closure and an await per message.
COMMON_HEADERS: list[tuple[bytes, bytes]] = []


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class AsgiBodyStream:
    """A request body read from ASGI ``receive`` as the consumer asks, never all at once."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffer = bytearray()
        self._done = False

    @property
    def done(self) -> bool:
        """True once the whole body has arrived (whether or not all of it was consumed)."""
        return self._done

    async def _fill(self) -> bool:
        if self._done:
            return False
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self._done = True
            return False
        self._buffer += message.get("body", b"")
        if not message.get("more_body", False):
            self._done = True
        return True

    async def read(self, size: int = -1) -> bytes:
        if size < 0:
            while await self._fill():
                pass
        else:
            while len(self._buffer) < size and await self._fill():
                pass
        n = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        chunk = bytes(self._buffer[:n])
        del self._buffer[:n]
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._buffer:
            chunk = bytes(self._buffer)
            self._buffer.clear()
            yield chunk
        # Each message's body as received: no copy through the buffer (large uploads).
        while not self._done:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self._done = True
                return
            if not message.get("more_body", False):
                self._done = True
            body = message.get("body", b"")
            if body:
                yield body


def request_from_scope(scope: Scope) -> HttpRequest:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    client = scope.get("client")
    return HttpRequest(
        method=scope["method"],
        path=path or "/",
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=Headers.from_asgi(scope.get("headers", ())),
        scheme=scope.get("scheme", "http"),
        client_ip=client[0] if client else "127.0.0.1",
    )


async def send_response(send: Send, response: HttpResponse, *, head: bool = False) -> None:
    headers = [
        (k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.raw_items()
    ]
    if COMMON_HEADERS:
        headers += COMMON_HEADERS
    body = response.body
    if isinstance(body, bytes | bytearray):
        if "content-length" not in response.headers:
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if head else bytes(body)})
        return
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if not head:
        async for chunk in body:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    elif hasattr(body, "aclose"):
        await body.aclose()
    await send({"type": "http.response.body", "body": b""})
