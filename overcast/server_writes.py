"""One socket write per small response instead of two.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then the body as a second write: two system calls, and two TCP
segments the client wakes up for. For the many small answers of an AWS API (a 1 KiB GetObject,
an SQS SendMessage) that second write is a measurable share of the server's CPU. The transport
uvicorn sees here gathers the writes made during one turn of the event loop and sends them
together at the end of that turn; large writes (streamed bodies) go straight through, after
what was gathered before them, so order is kept and nothing big is copied.
"""

from __future__ import annotations

import asyncio
from typing import Any

# Writes this big are sent at once: joining them would cost a copy for no syscall saved.
DIRECT_WRITE = 64 * 1024


class CoalescingTransport:
    """Wraps a transport; ``write`` defers small writes to the end of the loop's current turn."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) >= DIRECT_WRITE:
            if self._pending:
                self.flush()
            self._transport.write(data)
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= DIRECT_WRITE:
            self.flush()

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what was gathered (a no-op when nothing is; the scheduled call may come late)."""
        pending = self._pending
        if not pending:
            return
        self._pending = []
        self._size = 0
        if self._transport.is_closing():
            return
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._size = 0
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        # is_closing, get_extra_info, pause_reading, resume_reading, set_protocol...
        return getattr(self._transport, name)


def coalescing_protocol(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """``base`` (a uvicorn HTTP protocol class) writing through a ``CoalescingTransport``."""

    class Coalescing(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(
                CoalescingTransport(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
            )

    Coalescing.__name__ = Coalescing.__qualname__ = f"Coalescing{base.__name__}"
    return Coalescing
