"""One readable line per request: time, account, service.Operation, status, ms, error code.

Through ``logging`` a line costs a LogRecord, a Formatter and ``strftime`` every time: ~15% of a
small request. ``write_to(handler)`` (the CLI's logging setup) makes ``log_request`` format the
line itself, the same text the handler's formatter would produce, and write it straight to the
handler's stream: one write per event-loop turn for the requests that finished in it. Without
it (an embedded gateway, tests) lines go through ``logging``. Either way the ``overcast.access``
logger's level decides: at WARNING or above, no access lines.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext

access = logging.getLogger("overcast.access")

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"  # local time, then ".mmm": the CLI's log format

_handler: logging.StreamHandler[TextIO] | None = None
_second = -1  # the whole second the cached time prefix is for
_prefix = ""
_lines: list[str] = []  # formatted, not yet written


def write_to(handler: logging.StreamHandler[TextIO] | None) -> None:
    """Write access lines straight to ``handler``'s stream (None: through ``logging`` again)."""
    global _handler
    flush()
    _handler = handler


def log_request(ctx: RequestContext, status: int) -> None:
    if not access.isEnabledFor(logging.INFO):
        return
    ms = (time.perf_counter() - ctx.started) * 1000
    service = ctx.service.name if ctx.service else "-"
    operation = ctx.operation_name or "-"
    account = ctx.identity.account_id if ctx.identity else "-"
    line = f"{account} {service}.{operation} {status} {ms:.1f}ms"
    if ctx.error_code:
        line += f" {ctx.error_code}"
    handler = _handler
    if handler is None:
        # Through logging: a JSON formatter (--log-format json) writes these fields as they are.
        fields = {"account": account, "service": service, "operation": operation, "status": status}
        access.info(line, extra={**fields, "ms": round(ms, 1), "error_code": ctx.error_code})
        return
    global _second, _prefix
    now = time.time()
    second = int(now)
    if second != _second:  # strftime once a second, not once a request
        _second, _prefix = second, time.strftime(TIME_FORMAT, time.localtime(second))
    _lines.append(f"{_prefix}.{int((now - second) * 1000):03d} {line}\n")
    if len(_lines) == 1:
        # One write for all the lines of this event-loop turn (requests finishing together).
        try:
            asyncio.get_running_loop().call_soon(flush)
        except RuntimeError:  # no loop running: write now
            flush()


def flush() -> None:
    """Write the access lines gathered so far (also run at exit)."""
    handler = _handler
    if not _lines or handler is None:
        return
    text = "".join(_lines)
    _lines.clear()
    handler.acquire()  # the lock logging's own records take on this stream
    try:
        handler.stream.write(text)
        handler.stream.flush()
    except Exception:  # as logging does: a broken log stream never fails a request
        handler.handleError(logging.makeLogRecord({"msg": text}))
    finally:
        handler.release()


atexit.register(flush)
