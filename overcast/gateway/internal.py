"""Overcast's own HTTP endpoints, beside the AWS API on the same port.

- ``GET /_overcast/health``: version, data directory and the state of each native service
- ``POST /_overcast/reset``: wipe all state
- ``GET /_overcast/services``: every botocore service and whether Overcast implements it
- ``GET /_overcast/clock``; ``POST /_overcast/clock`` with ``{"set": epoch}`` or
  ``{"advance": seconds}``: the shared, controllable clock
- LocalStack's ``/_localstack/health`` (GET/HEAD/POST/PUT), ``/_localstack/info``,
  ``/_localstack/init[/<stage>]`` and ``/_aws/sqs/messages`` (peek at a queue), in LocalStack's
  shapes; moto's ``POST /moto-api/reset`` and ``POST /moto-api/reset-auth``
  (docs/compatibility.md)
"""

from __future__ import annotations

import contextvars
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from overcast import __version__
from overcast.gateway.asgi import Receive, Scope, Send, read_body, send_response
from overcast.protocol.http import Headers, HttpResponse
from overcast.services.registry import NATIVE

if TYPE_CHECKING:
    from overcast.gateway.app import Gateway

PREFIXES = ("/_overcast", "/_localstack", "/moto-api", "/_aws/")

# The query string of the request being handled, for handlers that filter (GET /_overcast/sns/...).
QUERY: contextvars.ContextVar[str] = contextvars.ContextVar("overcast_internal_query", default="")
# The whole ASGI scope, for handlers that read the path or headers (/_aws/sqs/messages).
SCOPE: contextvars.ContextVar[Scope] = contextvars.ContextVar("overcast_internal_scope")

# A handler answers (status, JSON payload), or a whole HttpResponse.
Handler = Callable[["Gateway", bytes], Awaitable["tuple[int, Any] | HttpResponse"]]

_SESSION_ID = str(uuid.uuid4())
_STARTED = time.monotonic()


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
    # LocalStack's POST {"action": "restart"|"kill"} and PUT (state updates) are not acted on:
    # the same report answers every method.
    registry = gw.env.registry
    return 200, {
        "services": {name: registry.state(name) for name in sorted(NATIVE)},
        "edition": "community",
        "version": __version__,
    }


async def _localstack_info(gw: Gateway, body: bytes) -> tuple[int, Any]:
    import datetime
    import hashlib
    import os
    import platform
    import socket

    now = datetime.datetime.fromtimestamp(gw.env.clock.now(), datetime.UTC)
    machine = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]
    return 200, {
        "version": __version__,
        "edition": "community",
        "is_license_activated": False,
        "session_id": _SESSION_ID,
        "machine_id": f"gen_{machine}",
        "system": platform.system().lower(),
        "is_docker": os.path.exists("/.dockerenv"),
        "server_time_utc": now.replace(tzinfo=None).isoformat(timespec="seconds"),
        "uptime": int(time.monotonic() - _STARTED),
    }


async def _localstack_init(gw: Gateway, body: bytes) -> tuple[int, Any]:
    from overcast.gateway.compat import init_hooks
    from overcast.init_hooks import STAGES

    hooks = init_hooks(gw)
    path = SCOPE.get()["path"].rstrip("/")
    if path == "/_localstack/init":
        return 200, hooks.describe()
    stage = path.rsplit("/", 1)[-1].upper()
    if stage not in STAGES:
        return 404, {"error": f"unknown stage {stage!r}; stages: {', '.join(STAGES)}"}
    return 200, hooks.describe_stage(stage)


async def _moto_reset_auth(gw: Gateway, body: bytes) -> tuple[int, Any]:
    """moto's shape; Overcast enforces IAM by ``--iam-mode``, not by a count of free requests,
    so the value is remembered and handed back, nothing more (docs/compatibility.md)."""
    global _no_auth_count
    try:
        count = float(body.decode() or "inf")
    except (UnicodeDecodeError, ValueError):
        return 400, {"Error": "Expected the number of initial requests without auth"}
    previous, _no_auth_count = _no_auth_count, count
    return 200, {"status": "ok", "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": str(previous)}


_no_auth_count = float("inf")


async def _moto_need_post(gw: Gateway, body: bytes) -> tuple[int, Any]:
    auth = SCOPE.get()["path"].rstrip("/").endswith("reset-auth")
    return 400, {"Error": "Need to POST to reset Moto" + (" Auth" if auth else "")}


async def _moto_seed(gw: Gateway, body: bytes) -> HttpResponse:
    """moto seeds its random generator (``?a=42``) for repeatable ids; Overcast's ids are random
    either way, so this only answers as moto does: 200, empty."""
    return HttpResponse(status=200, headers=Headers({"content-type": "text/html"}), body=b"")


async def _sqs_peek(gw: Gateway, body: bytes) -> HttpResponse:
    from overcast.gateway.sqs_messages import sqs_messages

    return sqs_messages(gw, SCOPE.get(), QUERY.get(), body)


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


async def _sns_delivery_status(gw: Gateway, body: bytes) -> tuple[int, Any]:
    """SNS delivery status log records (for CloudWatch Logs): ?topic=&log_group=&status=."""
    from urllib.parse import parse_qs

    sns: Any = gw.env.registry.provider("sns")
    query = {k: v[0] for k, v in parse_qs(QUERY.get()).items()}
    filters = {
        "topic_arn": query.get("topic") or query.get("topic_arn", ""),
        "log_group": query.get("log_group", ""),
        "status": query.get("status", "").upper(),
    }
    return 200, {"records": sns._delivery_status(filters)}


async def _s3_notifications(gw: Gateway, body: bytes) -> tuple[int, Any]:
    """S3 event deliveries with no live destination yet (Lambda, EventBridge)."""
    s3: Any = gw.env.registry.provider("s3")
    return 200, {"notifications": s3._captured_notifications({})}


async def _sns_certificate(gw: Gateway, body: bytes) -> HttpResponse:
    """The PEM itself, not JSON: what the envelope's ``SigningCertURL`` points at."""
    sns: Any = gw.env.registry.provider("sns")
    return HttpResponse(
        status=200,
        headers=Headers({"content-type": "application/x-x509-ca-cert"}),
        body=sns._certificate().encode(),
    )


async def _iam_decisions(gw: Gateway, body: bytes) -> tuple[int, Any]:
    # Imported when asked: the policy engine is not needed to start the server.
    from overcast.gateway.authorize import decisions_endpoint

    return await decisions_endpoint(gw, body)


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
    ("GET", "/_overcast/sns/delivery-status"): _sns_delivery_status,
    ("GET", "/_overcast/s3/notifications"): _s3_notifications,
    ("GET", "/_overcast/iam/decisions"): _iam_decisions,
    **{(m, "/_localstack/health"): _localstack_health for m in ("GET", "HEAD", "POST", "PUT")},
    ("GET", "/_localstack/info"): _localstack_info,
    ("GET", "/_localstack/init"): _localstack_init,
    ("POST", "/moto-api/reset-auth"): _moto_reset_auth,
    ("POST", "/moto-api/seed"): _moto_seed,
    ("GET", "/moto-api/reset"): _moto_need_post,
    ("GET", "/moto-api/reset-auth"): _moto_need_post,
    **{(m, "/_aws/sqs/messages"): _sqs_peek for m in ("GET", "POST")},
}

# Paths with a variable part: (method, prefix) -> handler.
PREFIX_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/_localstack/init/"): _localstack_init,
    ("GET", "/_aws/sqs/messages/"): _sqs_peek,
}


def _route(method: str, path: str) -> Handler | None:
    handler = ROUTES.get((method, path))
    if handler is None:
        for (m, prefix), candidate in PREFIX_ROUTES.items():
            if m == method and path.startswith(prefix):
                return candidate
    return handler


async def handle(gw: Gateway, scope: Scope, receive: Receive, send: Send) -> None:
    method = scope["method"]
    path = scope.get("path", "/").rstrip("/") or "/"
    handler = _route(method, path)
    body = await read_body(receive)
    if method not in ("GET", "HEAD") and _from_a_web_page(scope):
        # Reset, clock moves and the like must not be triggered by a page open in the user's
        # browser (a no-cors POST needs no preflight): tools and SDKs send no Origin.
        response = _json(403, {"error": "Overcast's own endpoints refuse cross-site requests"})
        await send_response(send, response)
        return
    if handler is None:
        known = any(p == path for _, p in ROUTES)
        response = _json(405 if known else 404, {"error": f"no endpoint {method} {path}"})
    else:
        QUERY.set(scope.get("query_string", b"").decode("latin-1"))
        SCOPE.set(scope)
        result = await handler(gw, body)
        if isinstance(result, HttpResponse):
            await send_response(send, result, head=method == "HEAD")
            return
        response = _json(*result)
    await send_response(send, response, head=method == "HEAD")


def _from_a_web_page(scope: Scope) -> bool:
    """Whether a browser sent this request from a page of another site."""
    headers = dict(scope.get("headers") or ())
    fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
    if fetch_site in ("cross-site", "same-site"):
        return True
    origin = headers.get(b"origin", b"").decode("latin-1").lower()
    if not origin:
        return False
    if origin == "null":  # sandboxed frames, file:// pages
        return True
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return origin.split("://", 1)[-1] != host
