"""The ``overcast`` command: start | status | reset | services.

Flags become one ``Settings`` object here; nothing else reads the command line or environment.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from overcast import __version__
from overcast.settings import (
    DEFAULT_ACCOUNT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    Settings,
    StaticKey,
    default_data_dir,
)

LOG_LEVELS = ("debug", "info", "warning", "error")


def _listener(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        return (host or DEFAULT_HOST, int(port))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}") from None


def _static_key(text: str) -> StaticKey:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError("expected ACCESS_KEY:SECRET_KEY[:ACCOUNT_ID]")
    return StaticKey(*parts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="overcast", description="The whole AWS cloud on one machine."
    )
    parser.add_argument("--version", action="version", version=f"overcast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    start = sub.add_parser("start", help="run the cloud in the foreground")
    start.add_argument("--host", default=DEFAULT_HOST)
    start.add_argument("--port", type=int, default=DEFAULT_PORT)
    start.add_argument(
        "--listen",
        type=_listener,
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="an extra listener served by the same cloud (repeatable)",
    )
    start.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"where state is kept (default {default_data_dir()})",
    )
    start.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep everything in memory; nothing is written to disk",
    )
    start.add_argument("--log-level", choices=LOG_LEVELS, default="info")
    start.add_argument("--server", choices=("uvicorn", "granian", "hypercorn"), default="uvicorn")
    start.add_argument(
        "--account", default=DEFAULT_ACCOUNT, help="account that unknown access keys map to"
    )
    start.add_argument(
        "--region", default=DEFAULT_REGION, help="region of requests whose signature names none"
    )
    start.add_argument(
        "--durability",
        choices=("process", "power"),
        default="process",
        help="'power' also survives power loss (fsync every commit; slower)",
    )
    start.add_argument(
        "--credentials",
        type=_static_key,
        action="append",
        default=[],
        metavar="KEY:SECRET[:ACCOUNT]",
        help="an access key whose signatures are verified (repeatable)",
    )

    for name, text in (
        ("status", "show a running server's health"),
        ("reset", "wipe all state of a running server"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--endpoint", default=_default_endpoint())

    sub.add_parser("services", help="list every AWS service and its state in Overcast")
    return parser


def _default_endpoint() -> str:
    return os.environ.get("OVERCAST_ENDPOINT", f"http://{DEFAULT_HOST}:{DEFAULT_PORT}")


def settings_from_args(args: argparse.Namespace) -> Settings:
    data_dir = None if args.ephemeral else (args.data_dir or default_data_dir())
    return Settings(
        host=args.host,
        port=args.port,
        extra_listeners=tuple(args.listen),
        data_dir=data_dir,
        default_account=args.account,
        default_region=args.region,
        log_level=args.log_level,
        server=args.server,
        synchronous="FULL" if args.durability == "power" else "NORMAL",
        static_keys=tuple(args.credentials),
    )


def configure_logging(level: str) -> None:
    from overcast.gateway import access_log

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s.%(msecs)03d %(message)s", datefmt=access_log.TIME_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access lines skip logging's per-record machinery: same text, same stream, same level.
    access_log.write_to(handler)


def cmd_start(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    configure_logging(settings.log_level)
    from overcast.gateway.app import create_app
    from overcast.server import ServerStartError, serve
    from overcast.services.registry import NATIVE
    from overcast.state import StateError

    try:
        app = create_app(settings)
    except StateError as exc:
        print(f"overcast: cannot use the data directory: {exc}", file=sys.stderr)
        return 1

    def banner() -> None:
        where = "in memory (ephemeral)" if settings.ephemeral else str(settings.data_dir)
        lines = [
            f"Overcast {__version__} is running",
            f"  endpoint:  {settings.endpoint}",
            *(f"  also on:   http://{h}:{p}" for h, p in settings.extra_listeners),
            f"  data:      {where}",
            f"  services:  {', '.join(sorted(NATIVE))}",
            "  stop with Ctrl-C",
        ]
        print("\n".join(lines), flush=True)

    listeners = [(settings.host, settings.port), *settings.extra_listeners]
    try:
        serve(app, listeners, server=settings.server, log_level="warning", on_ready=banner)
    except ServerStartError as exc:
        print(f"overcast: cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _call(endpoint: str, method: str, path: str) -> dict:
    import urllib.request  # only the client commands need it: keep `start` lean

    request = urllib.request.Request(endpoint.rstrip("/") + path, method=method, data=None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def cmd_status(args: argparse.Namespace) -> int:
    try:
        health = _call(args.endpoint, "GET", "/_overcast/health")
    except OSError as exc:  # URLError is an OSError
        print(f"overcast: no server at {args.endpoint} ({exc})", file=sys.stderr)
        return 1
    print(f"Overcast {health.get('version')} at {args.endpoint}: {health.get('status')}")
    print(f"  data: {health.get('data_dir') or 'in memory (ephemeral)'}")
    for name, state in health.get("services", {}).items():
        print(f"  {name:<24} {state}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    try:
        _call(args.endpoint, "POST", "/_overcast/reset")
    except OSError as exc:  # URLError is an OSError
        print(f"overcast: no server at {args.endpoint} ({exc})", file=sys.stderr)
        return 1
    print(f"All state of {args.endpoint} was wiped.")
    return 0


def cmd_services(args: argparse.Namespace) -> int:
    from overcast.protocol.models import service_names
    from overcast.services.coverage import coverage

    native = coverage()
    names = service_names()
    for name in names:
        if name in native:
            ops, total = native[name]
            state = f"native ({len(ops)} of {total} operations)"
        else:
            state = "not implemented"
        print(f"{name:<48} {state}")
    print(f"\n{len(native)} native of {len(names)} services in botocore")
    return 0


COMMANDS = {"start": cmd_start, "status": cmd_status, "reset": cmd_reset, "services": cmd_services}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)
