"""The drop-in layer around the gateway for tools built for LocalStack and moto.

``server.serve`` wraps the app with :func:`wrap`, which adds:

* init hooks at their lifecycle points (``overcast.init_hooks``) and the stdout line ``Ready.``
  once the server really answers on its port (``/_localstack/health``) and the ``ready.d``
  scripts ran, as LocalStack prints it (a failing script is logged, and ``Ready.`` still comes);
* the ``x-localstack: true`` header on every response, as LocalStack sends it (tools probe it to
  tell an emulator from AWS): ``asgi.COMMON_HEADERS``, added where responses are written, so the
  middleware does not wrap ``send`` (a closure and an extra await on every message);
* with ``settings.moto_compat``: moto's default account ``123456789012`` for unknown access keys
  and the ``x-moto-account-id`` request header choosing the account of a request;
* API Gateway invoke hosts (``<id>.execute-api.localhost.localstack.cloud``) answered with a
  clean ``501 NotImplemented``: API Gateway is not built yet, and an invoke path must not be
  mistaken for an S3 key.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import urllib.request
import weakref
from collections.abc import Callable
from http.client import HTTPException
from typing import TYPE_CHECKING, Any

from overcast.gateway import asgi
from overcast.gateway.asgi import Message, Receive, Scope, Send, read_body, send_response
from overcast.gateway.routing import execute_api_id
from overcast.gateway.urls import local_endpoint
from overcast.init_hooks import SHUTDOWN_TIMEOUT_S, InitHooks
from overcast.settings import DEFAULT_ACCOUNT

if TYPE_CHECKING:
    from overcast.gateway.auth import Identity
    from overcast.protocol.http import HttpRequest
    from overcast.settings import Settings

log = logging.getLogger("overcast.init")

MOTO_ACCOUNT = "123456789012"
MOTO_ACCOUNT_HEADER = "x-moto-account-id"
LOCALSTACK_HEADER = (b"x-localstack", b"true")
READY_PATIENCE_S = 15.0  # then a warning (LocalStack gives up at 15 s); polls slow down

ASGIApp = Callable[[Scope, Receive, Send], Any]

# app -> its init hooks, for /_localstack/init (one per served app; weak: tests build many apps)
_HOOKS: weakref.WeakKeyDictionary[Any, InitHooks] = weakref.WeakKeyDictionary()


def wrap(
    app: ASGIApp, settings: Settings, on_ready: Callable[[], None]
) -> tuple[ASGIApp, Callable[[], None]]:
    """``(app, on_ready)`` with the compatibility layer; ``app`` is usually the ``Gateway``."""
    hooks = init_hooks(app, settings)
    if LOCALSTACK_HEADER not in asgi.COMMON_HEADERS:
        asgi.COMMON_HEADERS.append(LOCALSTACK_HEADER)
    if settings.moto_compat and hasattr(app, "authenticator"):
        app.authenticator = MotoAccounts(app.authenticator, moto_default_account(settings))  # type: ignore[attr-defined]

    def ready() -> None:
        on_ready()
        threading.Thread(
            target=_after_ready, args=(hooks, settings), name="init-ready", daemon=True
        ).start()

    return CompatApp(app, hooks), ready


def init_hooks(app: Any, settings: Settings | None = None) -> InitHooks:
    """The init hooks of ``app`` (found, with every script ``UNKNOWN``, if it was never served)."""
    hooks = _HOOKS.get(app)
    if hooks is None:
        hooks = _HOOKS[app] = InitHooks(settings or app.settings)
    return hooks


def moto_default_account(settings: Settings) -> str:
    """moto's default account, unless an account was configured (``--account``)."""
    return MOTO_ACCOUNT if settings.default_account == DEFAULT_ACCOUNT else settings.default_account


class CompatApp:
    """ASGI middleware: API Gateway invoke hosts, and init stages on the lifespan events."""

    def __init__(self, app: ASGIApp, hooks: InitHooks) -> None:
        self.app = app
        self.hooks = hooks
        self.settings = getattr(app, "settings", None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"host":
                    if b".execute-api." in value:
                        await _execute_api(value.decode("latin-1"), receive, send)
                        return
                    break
            await self.app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        hooks = self.hooks

        async def receive_staged() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.to_thread(hooks.run_stage, "BOOT")
            elif message["type"] == "lifespan.shutdown":
                hooks.stopping.set()  # a server stopped before it answered is never Ready.
                await asyncio.to_thread(hooks.run_stage, "SHUTDOWN", SHUTDOWN_TIMEOUT_S)
            return message

        async def send_staged(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                await asyncio.to_thread(hooks.run_stage, "START")
            await send(message)

        await self.app(scope, receive_staged, send_staged)


async def _execute_api(host: str, receive: Receive, send: Send) -> None:
    import json

    from overcast import ids
    from overcast.protocol.http import Headers, HttpResponse

    await read_body(receive)
    api = execute_api_id(host) or host
    message = f"API Gateway is not implemented in Overcast yet: cannot invoke API {api}."
    response = HttpResponse(
        status=501,
        headers=Headers(
            {
                "content-type": "application/json",
                "x-amzn-errortype": "NotImplemented",
                "x-amzn-requestid": ids.request_id(),
            }
        ),
        body=json.dumps({"__type": "NotImplemented", "message": message}).encode(),
    )
    await send_response(send, response)


def _after_ready(
    hooks: InitHooks, settings: Settings, answers: Callable[[str], bool] | None = None
) -> None:
    """Wait until the server answers on its port, run ``ready.d``, then print ``Ready.`` once.

    There is no deadline after which ``Ready.`` is printed anyway: tools take the line to mean
    that requests will be answered. A server stopped before it answered never prints it.
    """
    probe = answers or _answers
    url = local_endpoint(settings.host, settings.port) + "/_localstack/health"
    began = time.monotonic()
    warned = False
    while not probe(url):
        waited = time.monotonic() - began
        if not warned and waited > READY_PATIENCE_S:
            log.warning("the server does not answer on %s yet; Ready. waits for it", url)
            warned = True
        if hooks.stopping.wait(0.02 if waited < READY_PATIENCE_S else 0.5):
            return
    hooks.run_stage("READY")
    if not hooks.stopping.is_set():
        print("Ready.", flush=True)


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via HTTP_PROXY
    try:
        with opener.open(url, timeout=1.0) as response:
            response.read()
    except (OSError, ValueError, HTTPException):  # refused, reset, an error status, not HTTP
        return False
    return True


class MotoAccounts:
    """An authenticator as moto answers: unverified callers act in moto's default account, or
    in the account their ``x-moto-account-id`` header names. Verified keys keep their own."""

    def __init__(self, inner: Any, default_account: str) -> None:
        self._inner = inner
        self._default = default_account

    def authenticate(self, request: HttpRequest, protocol: str) -> Identity:
        from dataclasses import replace

        identity: Identity = self._inner.authenticate(request, protocol)
        if identity.verified:
            return identity
        account = request.headers.get(MOTO_ACCOUNT_HEADER) or self._default
        if not (len(account) == 12 and account.isdigit()):
            account = self._default
        if account == identity.account_id:
            return identity
        return replace(identity, account_id=account, principal_arn=f"arn:aws:iam::{account}:root")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
