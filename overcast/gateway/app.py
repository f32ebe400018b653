"""The ASGI application: one endpoint for every AWS service.

The pipeline for an AWS request, in order (``Gateway._handle_aws``):

1. route     find the service (``routing.resolve_service``), S3 virtual hosts to path style
2. match     find the wire protocol and the operation (``protocol.operations``)
3. body      read the body, or leave it streaming for operations with a streaming payload
4. auth      verify the signature and map the access key to an account (``gateway.auth``)
5. parse     the operation's input dict (``protocol.parsers``), then ``protocol.validate``
6. authorize the policy-engine hook (IAM issue)
7. dispatch  the provider's method named after the operation (``services.registry``)
8. serialize the result or the ``ServiceError`` (``protocol.serializers``)
9. log       one access-log line

Paths under ``/_overcast/``, ``/_localstack/`` and ``/moto-api/`` are Overcast's own endpoints
(``gateway.internal``).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import time
from typing import TYPE_CHECKING, Any

from overcast import errors, ids
from overcast.gateway import internal
from overcast.gateway.access_log import log_request
from overcast.gateway.asgi import (
    AsgiBodyStream,
    Receive,
    Scope,
    Send,
    read_body,
    request_from_scope,
    send_response,
)
from overcast.gateway.context import RequestContext
from overcast.gateway.routing import resolve_service, rewrite_s3_virtual_host
from overcast.protocol.http import HttpRequest, HttpResponse
from overcast.protocol.models import ServiceInfo, service_model
from overcast.services.base import ServiceEnv
from overcast.services.registry import ServiceRegistry
from overcast.settings import Settings

if TYPE_CHECKING:
    from botocore.model import ServiceModel

    from overcast.gateway.auth import CredentialChain
    from overcast.protocol.operations import OperationMatch

log = logging.getLogger("overcast.gateway")

_REST = ("rest-json", "rest-xml")


def create_app(settings: Settings) -> Gateway:
    """Build the gateway; opens the state store now so that startup problems surface at once."""
    from overcast.clock import Clock
    from overcast.events import EventBus
    from overcast.state import Store

    store = Store.open(settings.data_dir, synchronous=settings.synchronous)
    clock = Clock(store=store)
    registry = ServiceRegistry()
    credentials = _static_credentials(settings)
    env = ServiceEnv(
        settings=settings,
        store=store,
        clock=clock,
        events=EventBus(store, clock),
        registry=registry,
        credentials=credentials,
    )
    registry.env = env
    credentials.bind(env)  # STS and IAM keys are looked up in this cloud's state
    return Gateway(env)


class Gateway:
    def __init__(self, env: ServiceEnv) -> None:
        from overcast.gateway.auth import Authenticator

        self.env = env
        self.settings = env.settings
        self.authenticator = Authenticator(
            env.credentials, env.settings.default_account, now=env.clock.now
        )

    # --- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope.get("path", "/")
            if path.startswith(internal.PREFIXES):
                await internal.handle(self, scope, receive, send)
            else:
                await self._handle_aws(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # reported by the server as a failed startup
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        _tune_gc()
        await _maybe_await(getattr(self.env.clock, "start", None))
        await self.env.events.start()
        # After the server is up (loading a provider costs its model and imports), so startup
        # stays fast; then pending deliveries and retries proceed without waiting for a request.
        asyncio.get_running_loop().call_later(0.2, self._resume_background)

    def _resume_background(self) -> None:
        from overcast.services.registry import BACKGROUND

        for name in sorted(BACKGROUND):
            try:
                if self.env.store.has_namespace(name):
                    self.env.registry.provider(name)
            except Exception:  # a resume failure must not take the server down
                log.exception("could not resume %s's background work", name)

    async def shutdown(self) -> None:
        for provider in self.env.registry.loaded():
            stop = getattr(provider, "stop", None)
            if stop is not None:
                await _maybe_await(stop)
        await self.env.events.stop()
        await _maybe_await(getattr(self.env.clock, "stop", None))
        self.env.store.close()

    def reset(self) -> None:
        """Wipe all state (``/_overcast/reset``)."""
        self.env.store.reset()
        for provider in self.env.registry.loaded():
            provider.reset()

    # --- the AWS pipeline ---------------------------------------------------------------------

    async def _handle_aws(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = request_from_scope(scope)
        ctx = RequestContext(
            request=request,
            request_id=ids.request_id(),
            env=self.env,
            started=time.perf_counter(),
            region=self.settings.default_region,
        )
        try:
            response = await self._process(ctx, receive)
        except errors.ServiceError as exc:
            response = self._error_response(ctx, exc)
        except Exception:
            log.exception("internal error in %s.%s", _svc(ctx), ctx.operation_name)
            response = self._error_response(ctx, errors.InternalFailure())
        if ctx.service is not None:
            provider = self.env.registry.provider(ctx.service.name)
            decorate = getattr(provider, "decorate_response", None)
            if decorate is not None:
                decorate(ctx, response)
        if _body_left_unread(ctx):
            # Answering before the body was read (an early error, an `Expect: 100-continue`
            # upload refused): the rest of the body must not be taken for the next request.
            response.headers.set("connection", "close")
        await send_response(send, response, head=request.method == "HEAD")
        log_request(ctx, response.status)

    async def _process(self, ctx: RequestContext, receive: Receive) -> HttpResponse:
        steps = _steps or _load_steps()
        signing_scope, detect_protocol = steps.signing_scope, steps.detect_protocol
        request = ctx.request
        headers = request.headers
        # RPC-style requests carry the operation in the body: read it before routing.
        body_read = ctx.body_read = False
        if "x-amz-target" in headers or "smithy-protocol" in headers or _is_form(request):
            request.body = await read_body(receive)
            body_read = ctx.body_read = True

        scope = signing_scope(request)
        info = resolve_service(request, scope.service if scope else None, _has_operation)
        if info is None:
            raise errors.UnknownService()
        ctx.service = info
        if scope and scope.region:
            ctx.region = scope.region
        if info.name == "s3":
            rewrite_s3_virtual_host(request)
        model = service_model(info.name)
        ctx.service_model = model
        protocol = detect_protocol(request, info.protocols)
        ctx.protocol = protocol

        # Requests a service answers outside its model (S3's CORS preflight, browser POST
        # uploads, website endpoints) go to the provider before operation matching.
        provider = self.env.registry.provider(info.name)
        intercept = getattr(provider, "intercept", None)
        if intercept is not None:
            intercepted = await intercept(ctx, receive)
            if intercepted is not None:
                return intercepted

        if protocol not in _REST and not body_read:
            request.body = await read_body(receive)
            body_read = ctx.body_read = True
        match = _find_operation(request, info, model, protocol)
        ctx.operation_name = match.name
        if match.match is not steps.FULL or match.operation is None:
            raise _unknown_operation(protocol, info, match.name, request)
        operation = match.operation
        ctx.operation = operation

        if not body_read:
            if operation.has_streaming_input:
                request.stream = ctx.body_stream = AsgiBodyStream(receive)
            else:
                request.body = await read_body(receive)
                ctx.body_read = True

        ctx.identity = self.authenticator.authenticate(request, protocol)
        if ctx.identity.region:
            ctx.region = ctx.identity.region

        params = steps.get_parser(protocol).parse(request, operation, match.uri_params)
        steps.validate(params, operation, protocol)
        ctx.params = params
        steps.authorize(ctx)

        result = await self._dispatch(ctx, info, operation.name, params)
        return steps.get_serializer(protocol).serialize(result or {}, operation, ctx.request_id)

    async def _dispatch(
        self, ctx: RequestContext, info: ServiceInfo, operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        registry = self.env.registry
        provider = registry.provider(info.name)
        method_name = registry.method_name(info.name, operation) if provider else None
        if provider is None or method_name is None:
            raise errors.NotImplementedOperation(
                f"The operation {operation} of service {info.name} is not implemented "
                "in Overcast yet."
            )
        result = getattr(provider, method_name)(ctx, params)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _error_response(self, ctx: RequestContext, exc: errors.ServiceError) -> HttpResponse:
        ctx.error_code = exc.error_code
        if ctx.service_model is None or ctx.protocol is None:
            return _bare_error(ctx, exc)
        from overcast.protocol.serializers import get_serializer

        return get_serializer(ctx.protocol).serialize_error(
            exc, ctx.service_model, ctx.operation, ctx.request_id
        )


# Container allocations (net) between young-generation collections; CPython's default is 700.
GC_YOUNG = 10_000


def _tune_gc() -> None:
    """Keep the cyclic GC off the request path.

    Requests in flight together (awaiting a group commit, a body) hold a few thousand objects
    between them, so at CPython's default threshold each burst of them triggers young
    collections whose survivors get promoted and, every few thousand requests, a full
    collection over every object of the process (botocore's models: ~50 ms each). Profiled,
    that was ~20% of a 1 KiB PutObject's CPU. The objects alive at startup (modules, loaded
    models; ``protocol.models`` freezes each model it loads too) are moved out of the
    collector's scans, and the young generation is large enough for a burst of requests.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 10, 10)


def _body_left_unread(ctx: RequestContext) -> bool:
    if ctx.body_read:
        return False
    if ctx.body_stream is not None:
        return not ctx.body_stream.done
    headers = ctx.request.headers
    return headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers


def _static_credentials(settings: Settings) -> CredentialChain:
    from overcast.gateway.auth import Credential, CredentialChain

    return CredentialChain(
        Credential(
            access_key=k.access_key,
            secret_key=k.secret_key,
            account_id=k.account_id,
            principal_arn=f"arn:aws:iam::{k.account_id}:root",
        )
        for k in settings.static_keys
    )


class _Steps:
    """The pipeline's steps, imported at the first request: not at startup (imports are most of
    the startup time), nor on every request (an import statement costs even when loaded)."""

    def __init__(self) -> None:
        from overcast.gateway.auth import signing_scope
        from overcast.gateway.authorize import authorize
        from overcast.protocol.operations import Match, detect_protocol, find_operation
        from overcast.protocol.parsers import get_parser
        from overcast.protocol.serializers import get_serializer
        from overcast.protocol.validate import validate

        self.signing_scope = signing_scope
        self.detect_protocol = detect_protocol
        self.find_operation = find_operation
        self.FULL = Match.FULL
        self.get_parser = get_parser
        self.get_serializer = get_serializer
        self.validate = validate
        self.authorize = authorize


_steps: _Steps | None = None


def _load_steps() -> _Steps:
    global _steps
    _steps = _Steps()
    return _steps


def _has_operation(info: ServiceInfo, request: HttpRequest) -> bool:
    steps = _steps or _load_steps()
    model = service_model(info.name)
    protocol = steps.detect_protocol(request, info.protocols)
    return _find_operation(request, info, model, protocol).match is steps.FULL


def _find_operation(
    request: HttpRequest, info: ServiceInfo, model: ServiceModel, protocol: str
) -> OperationMatch:
    """``find_operation``, remembered on the request: routing's tie-break (s3 vs s3control)
    and the pipeline's match step then match the URI templates once, not twice.

    Only REST matches are kept (they read the method, path, query and headers, never the body,
    which RPC protocols may read after routing); the key has the path, which routing rewrites
    for S3 virtual hosts.
    """
    find_operation = (_steps or _load_steps()).find_operation
    if protocol not in _REST:
        return find_operation(request, model, protocol)
    key = (info.name, protocol, request.path)
    cache = request.operation_matches
    if cache is None:
        cache = request.operation_matches = {}
    match = cache.get(key)
    if match is None:
        match = cache[key] = find_operation(request, model, protocol)
    return match


def _unknown_operation(
    protocol: str, info: ServiceInfo, name: str | None, request: HttpRequest
) -> errors.ServiceError:
    if protocol in ("query", "ec2"):
        return errors.InvalidAction(f"The action {name} is not valid for this web service.")
    if protocol in _REST:
        exc: errors.ServiceError = errors.error_class("UnknownOperationException", 404)(
            f"No operation of service {info.name} matches {request.method} {request.path}"
        )
        return exc
    return errors.UnknownOperationException(
        f"The operation {name} is not an operation of service {info.name}."
    )


def _bare_error(ctx: RequestContext, exc: errors.ServiceError) -> HttpResponse:
    """An error before any service was found: JSON for JSON clients, else S3-style XML."""
    from xml.sax.saxutils import escape

    from overcast.protocol.http import Headers

    headers = Headers({"x-amzn-requestid": ctx.request_id})
    if "x-amz-target" in ctx.request.headers:
        import json

        headers.set("content-type", "application/x-amz-json-1.0")
        headers.set("x-amzn-errortype", exc.error_code)
        body = json.dumps({"__type": exc.error_code, "message": exc.error_message}).encode()
    else:
        headers.set("content-type", "application/xml")
        body = (
            f"<ErrorResponse><Error><Code>{escape(exc.error_code)}</Code>"
            f"<Message>{escape(exc.error_message)}</Message></Error>"
            f"<RequestId>{ctx.request_id}</RequestId></ErrorResponse>"
        ).encode()
    return HttpResponse(status=exc.http_status, headers=headers, body=body)


def _is_form(request: HttpRequest) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def _svc(ctx: RequestContext) -> str:
    return ctx.service.name if ctx.service else "-"


async def _maybe_await(fn: Any) -> None:
    if fn is None:
        return
    result = fn()
    if asyncio.iscoroutine(result) or inspect.isawaitable(result):
        await result
