"""Run an ASGI app under a swappable HTTP server (uvicorn, granian or hypercorn).

The CLI calls :func:`serve`; which server to use was chosen by measurement (see
docs/asgi-servers.md). Every server module is imported lazily inside its runner so that importing
this module costs nothing at startup.

Contract shared by all runners:

* every ``(host, port)`` listener is bound before ``on_ready()`` is called, and bind errors
  surface as :class:`ServerStartError` with a one-line message;
* the server's own access log is off (the app logs requests itself);
* SIGINT/SIGTERM stop the server cleanly and the ASGI lifespan shutdown runs.

Given the ``Settings`` (passed, or read from ``app.settings``: the gateway has them), ``serve``
also adds the drop-in compatibility layer (``gateway.compat``: init hooks and the ``Ready.`` line,
the ``x-localstack`` header, moto's account header) and, with ``settings.tls``, HTTPS on the same
ports as HTTP: each accepted connection's first byte is peeked (0x16 opens a TLS handshake) and
the connection is handed to the HTTP protocol with or without TLS. That costs one readiness wait
and one ``recv(MSG_PEEK)`` per connection, nothing per request. Same-port TLS needs uvicorn (the
default): granian and hypercorn bind and accept on their own, so they serve plain HTTP only.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl

    from overcast.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SERVERS: tuple[str, ...] = ("uvicorn", "granian", "hypercorn")

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_BACKLOG = 2048
_GRACE_S = 2.0  # how long shutdown waits for in-flight requests
_FIRST_BYTE_TIMEOUT_S = 60.0  # a connection that sends nothing this long is closed
_TLS_HANDSHAKE = 0x16  # the first byte of a TLS record carrying a handshake (ClientHello)

log = logging.getLogger("overcast.server")


class ServerStartError(Exception):
    """The server could not start; ``str(exc)`` is a one-line message for humans."""


def serve(
    app: ASGIApp,
    listeners: Sequence[tuple[str, int]],
    *,
    server: str = "uvicorn",
    log_level: str = "warning",
    on_ready: Callable[[], None] | None = None,
    settings: Settings | None = None,
) -> None:
    """Serve ``app`` on every listener until SIGINT/SIGTERM, then shut down cleanly."""
    if settings is None:
        settings = getattr(app, "settings", None)
    if server not in SERVERS:
        raise ServerStartError(f"unknown server {server!r}; choose one of {', '.join(SERVERS)}")
    if not listeners:
        raise ServerStartError("no listener given")
    try:
        _import_server(server)
    except ImportError as exc:
        raise ServerStartError(
            f"server {server!r} is not installed ({exc.name}); pip install {server}"
        ) from None
    ready = on_ready or (lambda: None)
    tls_context = None
    if settings is not None:
        from overcast.gateway.compat import wrap

        app, ready = wrap(app, settings, ready)
        if settings.tls:
            if server == "uvicorn":
                tls_context = _tls_context(settings)
            else:
                log.warning("HTTPS on the same port needs --server uvicorn: %s serves HTTP", server)
    if server == "uvicorn":
        _serve_uvicorn(app, listeners, log_level, ready, tls_context)
    elif server == "hypercorn":
        _serve_hypercorn(app, listeners, log_level, ready)
    else:
        _serve_granian(app, listeners, log_level, ready)


def _tls_context(settings: Settings) -> ssl.SSLContext:
    from overcast import tls

    try:
        return tls.server_context(settings)
    except (OSError, ValueError) as exc:
        raise ServerStartError(
            f"cannot prepare the TLS certificate in {tls.tls_dir(settings)}: {exc}"
        ) from None


def _import_server(server: str) -> None:
    """Fail early, with the missing package's name, when a server is not installed."""
    if server == "uvicorn":
        import uvicorn  # noqa: F401
    elif server == "hypercorn":
        import hypercorn  # noqa: F401
    else:
        import granian  # noqa: F401


# ---------------------------------------------------------------------------------------------
# Binding


def bind_listeners(listeners: Sequence[tuple[str, int]]) -> list[socket.socket]:
    """Bind and listen on every listener, or close them all and raise ServerStartError."""
    sockets: list[socket.socket] = []
    try:
        for host, port in listeners:
            sockets.append(_bind_one(host, port))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind_one(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServerStartError(f"cannot resolve host {host!r}") from None
    family, type_, proto, _, addr = infos[0]
    sock = socket.socket(family, type_, proto)
    try:
        # SO_REUSEADDR only skips TIME_WAIT on restart; Linux still refuses a second listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(addr)
        sock.listen(_BACKLOG)
    except OSError as exc:
        sock.close()
        raise ServerStartError(_bind_message(exc, host, port)) from None
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


def _bind_message(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use"
    if exc.errno == errno.EACCES:
        return f"permission denied binding port {port} on {host}"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"address {host} is not available on this machine"
    return f"cannot listen on {host}:{port}: {exc.strerror or exc}"


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _startup_notifier(app: ASGIApp, on_startup: Callable[[], None]) -> ASGIApp:
    """Wrap ``app`` so ``on_startup`` runs right after it reports lifespan startup complete."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return

        async def send_hook(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                asyncio.get_running_loop().call_soon(on_startup)

        await app(scope, receive, send_hook)

    return wrapped


# ---------------------------------------------------------------------------------------------
# uvicorn


def _serve_uvicorn(
    app: ASGIApp,
    listeners: Sequence[tuple[str, int]],
    log_level: str,
    on_ready: Callable[[], None],
    tls_context: ssl.SSLContext | None = None,
) -> None:
    import uvicorn

    sockets = bind_listeners(listeners)
    http: Any
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        from overcast.server_protocol import overcast_protocol

        http = overcast_protocol(HttpToolsProtocol)
    except ImportError:  # no httptools: uvicorn's pure-Python parser
        http = "h11"
    config = uvicorn.Config(
        app,
        loop="none",  # the loop comes from _new_loop() below (uvloop when installed)
        http=http,
        ws="none",  # no AWS API here speaks WebSocket; skips importing wsproto (~17 ms)
        lifespan="on",
        access_log=False,
        log_level=log_level,
        log_config=None,  # uvicorn's records go to the root logger, in the CLI's format
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=60,
        # In-flight long polls (e.g. SQS WaitTimeSeconds=20) must not hold Ctrl-C hostage.
        timeout_graceful_shutdown=_GRACE_S,
        backlog=_BACKLOG,
    )

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            if tls_context is None:
                await super().startup(sockets=sockets)
            else:
                # No asyncio servers: uvicorn runs the lifespan, our listeners accept.
                await super().startup(sockets=[])
                if self.started:
                    loop = asyncio.get_running_loop()

                    def protocol() -> asyncio.Protocol:
                        return self.config.http_protocol_class(  # type: ignore[call-arg]
                            config=self.config,
                            server_state=self.server_state,
                            app_state=self.lifespan.state,
                            _loop=loop,
                        )

                    self.servers = [
                        _SniffingListener(sock, protocol, tls_context)  # type: ignore[list-item]
                        for sock in sockets or ()
                    ]
            if self.started and not self.should_exit:
                on_ready()

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn re-raises the captured signal after shutdown, killing the process before
            # serve() returns; forget it so the caller exits normally.
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    srv = _Server(config)
    try:
        # uvicorn installs its own SIGINT/SIGTERM handlers and runs lifespan shutdown on them.
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            runner.run(srv.serve(sockets=sockets))
    finally:
        for sock in sockets:
            sock.close()
    if not srv.started:
        raise ServerStartError("application startup failed (see the log above)")


class _SniffingListener:
    """Accepts on a bound socket and serves each connection as HTTP or HTTPS by its first byte.

    Callbacks, not coroutines, up to the hand-over (accepting a batch per wake-up, as asyncio's
    own servers do): the Python-level cost per connection stays small. Stands in for the
    ``asyncio.Server`` uvicorn keeps (it calls ``close()`` and ``wait_closed()``).
    """

    def __init__(
        self,
        sock: socket.socket,
        protocol_factory: Callable[[], asyncio.Protocol],
        context: ssl.SSLContext,
    ) -> None:
        self._sock = sock
        self._factory = protocol_factory
        self._context = context
        self._loop = asyncio.get_running_loop()
        # connections waiting for their first byte: fd -> (socket, timeout handle)
        self._waiting: dict[int, tuple[socket.socket, asyncio.TimerHandle]] = {}
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False
        self._loop.add_reader(sock.fileno(), self._accept)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        for fd, (conn, timer) in list(self._waiting.items()):
            timer.cancel()
            self._loop.remove_reader(fd)
            conn.close()
        self._waiting.clear()
        for task in self._starting:
            task.cancel()

    async def wait_closed(self) -> None:
        """Until the hand-overs in progress ended (served connections are uvicorn's)."""
        await asyncio.gather(*self._starting, return_exceptions=True)

    def _accept(self) -> None:
        for _ in range(_BACKLOG):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE and the like: pause accepting a little, as asyncio
                log.warning("accept failed: %s", exc)
                self._loop.remove_reader(self._sock.fileno())
                self._loop.call_later(1.0, self._resume)
                return
            conn.setblocking(False)
            if conn.family in (socket.AF_INET, socket.AF_INET6):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sniff(conn)

    def _resume(self) -> None:
        if not self._closed:
            self._loop.add_reader(self._sock.fileno(), self._accept)

    def _sniff(self, conn: socket.socket) -> None:
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):  # nothing sent yet: wait for it
            fd = conn.fileno()
            timer = self._loop.call_later(_FIRST_BYTE_TIMEOUT_S, self._give_up, fd)
            self._waiting[fd] = (conn, timer)
            self._loop.add_reader(fd, self._readable, fd)
            return
        except OSError:
            conn.close()
            return
        if not first:  # closed before sending anything
            conn.close()
            return
        task = self._loop.create_task(self._hand_over(conn, first[0] == _TLS_HANDSHAKE))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    def _readable(self, fd: int) -> None:
        conn, timer = self._waiting.pop(fd)
        timer.cancel()
        self._loop.remove_reader(fd)
        self._sniff(conn)

    def _give_up(self, fd: int) -> None:
        """A connection silent past the timeout is closed."""
        conn, _ = self._waiting.pop(fd)
        self._loop.remove_reader(fd)
        conn.close()

    async def _hand_over(self, conn: socket.socket, tls: bool) -> None:
        try:
            await self._loop.connect_accepted_socket(
                self._factory, conn, ssl=self._context if tls else None
            )
        except asyncio.CancelledError:
            conn.close()
            raise
        except (OSError, ValueError) as exc:  # a failed handshake: the client's problem
            log.debug("connection dropped before HTTP: %s", exc)
            conn.close()


# ---------------------------------------------------------------------------------------------
# hypercorn


def _serve_hypercorn(
    app: ASGIApp, listeners: Sequence[tuple[str, int]], log_level: str, on_ready: Callable[[], None]
) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    sockets = bind_listeners(listeners)
    config = Config()
    config.bind = [f"fd://{sock.fileno()}" for sock in sockets]
    config.accesslog = None
    config.loglevel = log_level.upper()
    config.keep_alive_timeout = 60
    config.graceful_timeout = _GRACE_S
    started = False

    def mark_ready() -> None:
        nonlocal started
        started = True
        on_ready()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        await hypercorn_serve(
            _startup_notifier(app, mark_ready),  # type: ignore[arg-type]
            config,
            shutdown_trigger=stop.wait,
            mode="asgi",
        )

    try:
        with asyncio.Runner(loop_factory=_new_loop) as runner:
            runner.run(main())
    except Exception as exc:
        if not started:
            raise ServerStartError(f"application startup failed: {exc}") from exc
        raise
    finally:
        # hypercorn wrapped each fd in its own socket object and closed it: only forget ours, so
        # a number the kernel may already have reused is never closed twice.
        for sock in sockets:
            sock.detach()


# ---------------------------------------------------------------------------------------------
# granian (embedded server: the Rust HTTP stack, the app on this process's asyncio loop)


def _serve_granian(
    app: ASGIApp, listeners: Sequence[tuple[str, int]], log_level: str, on_ready: Callable[[], None]
) -> None:
    import logging

    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server.embed import Server

    # Granian binds its own sockets: probe each port first so "in use" fails with our message.
    for sock in bind_listeners(listeners):
        sock.close()
    state = {"started": 0}

    def on_startup() -> None:
        state["started"] += 1
        if state["started"] == len(listeners):
            asyncio.get_running_loop().create_task(_wait_listening(listeners, on_ready))

    servers = [
        Server(
            _startup_notifier(app, on_startup),
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            log_level=LogLevels(log_level),
            log_access=False,
            backlog=_BACKLOG,
            websockets=False,
        )
        for host, port in listeners
    ]
    for srv in servers:
        # Without it granian waits for every in-flight request (a 20 s long poll) on Ctrl-C.
        srv.workers_kill_timeout = _GRACE_S  # type: ignore[assignment]
    # The embedded server warns "experimental" on every start (after configuring logging).
    if logging.getLogger("_granian").level < logging.ERROR:
        logging.getLogger("_granian").setLevel(logging.ERROR)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in _STOP_SIGNALS:
            loop.add_signal_handler(sig, lambda: [s.signal_handler_interrupt() for s in servers])
        # A worker that outlives workers_kill_timeout is cancelled and join() raises: we are
        # stopping anyway (its lifespan shutdown is skipped in that case).
        with contextlib.suppress(TimeoutError):
            await asyncio.gather(*(s.serve() for s in servers))

    with asyncio.Runner(loop_factory=_new_loop) as runner:
        runner.run(main())
    if state["started"] < len(listeners):
        raise ServerStartError("application startup failed (see the log above)")


async def _wait_listening(
    listeners: Sequence[tuple[str, int]], on_ready: Callable[[], None]
) -> None:
    """Granian's Rust side binds asynchronously: connect to each listener before on_ready()."""
    for host, port in listeners:
        target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
        for _ in range(500):
            try:
                _, writer = await asyncio.open_connection(target, port)
            except OSError:
                await asyncio.sleep(0.002)
                continue
            writer.close()
            break
    on_ready()
