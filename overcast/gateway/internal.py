"""Overcast's own HTTP endpoints, beside the AWS API on the same port.

- ``GET /_overcast/health``: version, data directory and the state of each native service
- ``POST /_overcast/reset``: wipe all state
- ``GET /_overcast/services``: every botocore service and whether Overcast implements it
- ``GET /_overcast/clock``; ``POST /_overcast/clock`` with ``{"set": epoch}`` or
  ``{"advance": seconds}``: the shared, controllable clock
- ``/_localstack/health`` and ``POST /moto-api/reset``: aliases for existing tooling
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from overcast import __version__
from overcast.gateway.asgi import Receive, Scope, Send, read_body, send_response
from overcast.protocol.http import Headers, HttpResponse
from overcast.services.registry import NATIVE

if TYPE_CHECKING:
    from overcast.gateway.app import Gateway

PREFIXES = ("/_overcast", "/_localstack", "/moto-api")

Handler = Callable[["Gateway", bytes], Awaitable[tuple[int, Any]]]


def _json(status: int, payload: Any) -> HttpResponse:
    body = json.dumps(payload, indent=None, separators=(",", ":")).encode()
    return HttpResponse(
        status=status, headers=Headers({"content-type": "application/json"}), body=body
    )


async def _health(gw: Gateway, body: bytes) -> tuple[int, Any]:
    registry = gw.env.registry
    return 200, {
        "status": "running",
        "version": __version__,
        "edition": "overcast",
        "ephemeral": gw.settings.ephemeral,
        "data_dir": str(gw.settings.data_dir) if gw.settings.data_dir else None,
        "services": {name: registry.state(name) for name in sorted(NATIVE)},
    }


async def _localstack_health(gw: Gateway, body: bytes) -> tuple[int, Any]:
    registry = gw.env.registry
    return 200, {
        "services": {name: registry.state(name) for name in sorted(NATIVE)},
        "edition": "community",
        "version": __version__,
    }


async def _reset(gw: Gateway, body: bytes) -> tuple[int, Any]:
    gw.reset()
    return 200, {"status": "ok"}


async def _services(gw: Gateway, body: bytes) -> tuple[int, Any]:
    from overcast.protocol.models import service_names

    registry = gw.env.registry
    return 200, {"services": {name: registry.state(name) for name in service_names()}}


async def _clock_get(gw: Gateway, body: bytes) -> tuple[int, Any]:
    return 200, gw.env.clock.describe()


async def _clock_post(gw: Gateway, body: bytes) -> tuple[int, Any]:
    try:
        request = json.loads(body or b"{}")
        if "set" in request:
            gw.env.clock.set(float(request["set"]))
        if "advance" in request:
            gw.env.clock.advance(float(request["advance"]))
    except (ValueError, TypeError, AttributeError) as exc:
        return 400, {"error": f"expected {{'set': epoch}} or {{'advance': seconds}}: {exc}"}
    return 200, gw.env.clock.describe()


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_overcast/health"): _health,
    ("HEAD", "/_overcast/health"): _health,
    ("POST", "/_overcast/reset"): _reset,
    ("GET", "/_overcast/services"): _services,
    ("GET", "/_overcast/clock"): _clock_get,
    ("POST", "/_overcast/clock"): _clock_post,
    ("POST", "/moto-api/reset"): _reset,
    **{(m, "/_localstack/health"): _localstack_health for m in ("GET", "HEAD", "POST", "PUT")},
}


async def handle(gw: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    method = scope["method"]
    path = scope.get("path", "/").rstrip("/") or "/"
    handler = ROUTES.get((method, path))
    body = await read_body(receive)
    if handler is None:
        known = any(p == path for _, p in ROUTES)
        response = _json(405 if known else 404, {"error": f"no endpoint {method} {path}"})
    else:
        status, payload = await handler(gw, body)
        response = _json(status, payload)
    await send_response(send, response, head=method == "HEAD")
