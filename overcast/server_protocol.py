"""uvicorn's HTTP protocol with fewer system calls and copies on Overcast's two hot paths.

Small answers: uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, then the body as a second write: two system calls, and two TCP
segments the client wakes up for. For the many small answers of an AWS API (a 1 KiB GetObject,
an SQS SendMessage) that second write is a measurable share of the server's CPU. The transport
uvicorn sees here gathers the writes made during one turn of the event loop and sends them
together at the end of that turn; large writes (streamed bodies) go straight through, after
what was gathered before them, so order is kept and nothing big is copied.

Large uploads: uvicorn appends each body chunk the parser hands over to a bytearray and copies
it again into bytes for the app. Profiled on a 256 MiB PutObject, that was over half of the
event loop's time. Here a chunk is handed over as the very bytes object the parser made (no
copy: ``bytes()`` of exact bytes is the same object), and reading pauses while it waits for the
app, so the next chunks stay in the kernel's buffer instead of being merged into it (a copy
each time: measured, pausing costs the loop less than merging up to 1 MiB did, ~20% less on
four concurrent 8 MiB part uploads).
"""

from __future__ import annotations

import asyncio
from typing import Any

# Writes this big are sent at once: joining them would cost a copy for no syscall saved.
DIRECT_WRITE = 64 * 1024
# Request body bytes buffered for the app past which the socket stops being read.
PAUSE_BODY = 0


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

    # Called per request or per body chunk: direct, not through __getattr__.
    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()  # type: ignore[attr-defined]

    def resume_reading(self) -> None:
        self._transport.resume_reading()  # type: ignore[attr-defined]

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        # set_protocol, set_write_buffer_limits...
        return getattr(self._transport, name)


def overcast_protocol(base: type[asyncio.Protocol]) -> type[asyncio.Protocol]:
    """``base`` (uvicorn's httptools protocol class) writing through a ``CoalescingTransport``
    and taking request bodies without copies."""

    class OvercastHttp(base):  # type: ignore[valid-type,misc]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(
                CoalescingTransport(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
            )

        def on_body(self, body: bytes) -> None:
            # uvicorn's on_body, minus its copies (see above).
            cycle = self.cycle
            if (self.parser.should_upgrade() and self._should_upgrade()) or cycle.response_complete:
                return
            pending = cycle.body
            if not pending:
                cycle.body = body  # uvicorn's receive() hands out bytes(cycle.body): this object
            elif type(pending) is bytes:
                cycle.body = bytearray(pending) + body
            else:
                pending += body
            if len(cycle.body) > PAUSE_BODY:
                self.flow.pause_reading()
            cycle.message_event.set()

    OvercastHttp.__name__ = OvercastHttp.__qualname__ = f"Overcast{base.__name__}"
    return OvercastHttp
