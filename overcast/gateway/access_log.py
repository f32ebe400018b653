"""One readable line per request: time, account, service.Operation, status, ms, error code."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext

access = logging.getLogger("overcast.access")


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
    access.info(line)
