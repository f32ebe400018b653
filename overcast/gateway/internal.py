"""Overcast's own HTTP endpoints, beside the AWS API on the same port.

- ``GET /_overcast/health``: version, data directory and the state of each native service
- ``POST /_overcast/reset``: wipe all state
- ``GET /_overcast/services``: every botocore service and whether Overcast implements it
- ``GET /_overcast/clock``; ``POST /_overcast/clock`` with ``{"set": epoch}`` or
  ``{"advance": seconds}``: the shared, controllable clock
- ``/_localstack/health`` and ``POST /moto-api/reset``: aliases for existing tooling
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from overcast import __version__
from overcast.gateway.asgi import Receive, Scope, Send, read_body, send_response
from overcast.gateway.authorize import decisions_endpoint
from overcast.protocol.http import Headers, HttpResponse
from overcast.services.registry import NATIVE

if TYPE_CHECKING:
    from overcast.gateway.app import Gateway

PREFIXES = ("/_overcast", "/_localstack", "/moto-api")

# The query string of the request being handled, for handlers that filter (GET /_overcast/sns/...).
QUERY: contextvars.ContextVar[str] = contextvars.ContextVar("overcast_internal_query", default="")

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


async def _sns_messages(gw: Gateway, body: bytes) -> tuple[int, Any]:
    from urllib.parse import parse_qs

    sns: Any = gw.env.registry.provider("sns")
    query = {k: v[0] for k, v in parse_qs(QUERY.get()).items()}
    filters = {
        "topic_arn": query.get("topic") or query.get("topic_arn", ""),
        "protocol": query.get("protocol", ""),
        "endpoint": query.get("endpoint", ""),
    }
    return 200, {"messages": sns._captured(filters)}


async def _sns_messages_clear(gw: Gateway, body: bytes) -> tuple[int, Any]:
    sns: Any = gw.env.registry.provider("sns")
    sns._clear_captured()
    return 200, {"status": "ok"}


async def _sns_certificate(gw: Gateway, body: bytes) -> tuple[int, Any]:
    sns: Any = gw.env.registry.provider("sns")
    return 200, sns._certificate()


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_overcast/health"): _health,
    ("HEAD", "/_overcast/health"): _health,
    ("POST", "/_overcast/reset"): _reset,
    ("GET", "/_overcast/services"): _services,
    ("GET", "/_overcast/clock"): _clock_get,
    ("POST", "/_overcast/clock"): _clock_post,
    ("POST", "/moto-api/reset"): _reset,
    ("GET", "/_overcast/sns/messages"): _sns_messages,
    ("DELETE", "/_overcast/sns/messages"): _sns_messages_clear,
    ("GET", "/_overcast/sns/SimpleNotificationService.pem"): _sns_certificate,
    ("GET", "/_overcast/iam/decisions"): decisions_endpoint,
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
        QUERY.set(scope.get("query_string", b"").decode("latin-1"))
        status, payload = await handler(gw, body)
        if handler is _sns_certificate:  # the PEM itself, not JSON
            response = HttpResponse(
                status=status,
                headers=Headers({"content-type": "application/x-x509-ca-cert"}),
                body=payload.encode(),
            )
        else:
            response = _json(status, payload)
    await send_response(send, response, head=method == "HEAD")
