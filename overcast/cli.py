"""The ``overcast`` command.

Server: ``start`` (``-d`` in the background), ``wait``, ``stop``, ``logs``, ``status``, ``reset``.
Tools: ``aws`` (the AWS CLI pointed at the server), ``cert``, ``config show``, ``services``.

Settings come from ``overcast.config`` (flags, then environment, then ``overcast.toml``); nothing
else reads the command line or the environment.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from overcast import __version__
from overcast.config import OPTIONS, Config, ConfigError, display, resolve
from overcast.console import Painter, configure_logging
from overcast.settings import Settings, default_data_dir

log = logging.getLogger("overcast")

_BOOL_OPTIONS = {"ephemeral", "tls", "moto_compat", "dynamodb_enforce_throughput"}
_METAVARS = {
    "listen": "HOST:PORT",
    "data_dir": "DIR",
    "account": "ACCOUNT_ID",
    "credentials": "KEY:SECRET[:ACCOUNT]",
    "external_host": "HOST[:PORT]",
    "init_dirs": "DIR",
    "dynamodb_error_probability": "P",
}
_CHOICES = {
    "log_level": ("debug", "info", "warning", "error"),
    "log_format": ("text", "json"),
    "server": ("uvicorn", "granian", "hypercorn"),
    "durability": ("process", "power"),
    "iam_mode": ("enforce", "audit", "off"),
}


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting (``--port``, ``--no-tls``, ``--init-dir``...), all defaulting to None
    so that ``overcast.config`` knows which were given."""
    group = parser.add_argument_group("settings (also OVERCAST_* variables and overcast.toml)")
    for option in OPTIONS:
        help_text = option.help
        if option.name == "data_dir":
            help_text += f" (default {default_data_dir()})"
        if option.name in _BOOL_OPTIONS:
            group.add_argument(
                option.cli_flag,
                dest=option.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
        elif option.many:
            group.add_argument(
                option.cli_flag,
                dest=option.name,
                action="append",
                default=None,
                metavar=_METAVARS.get(option.name),
                help=help_text,
            )
        else:
            group.add_argument(
                option.cli_flag,
                dest=option.name,
                choices=_CHOICES.get(option.name),
                default=None,
                metavar=_METAVARS.get(option.name),
                help=help_text,
            )
    group.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="read this TOML file instead of ./overcast.toml",
    )
    group.add_argument(
        "--no-config", action="store_true", help="read no config file (flags and environment only)"
    )


def _add_endpoint_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        default=None,
        help="the server's URL (default: OVERCAST_ENDPOINT, else host and port from the settings)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="overcast", description="The whole AWS cloud on one machine."
    )
    parser.add_argument("--version", action="version", version=f"overcast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = sub.add_parser("start", help="run the cloud (in the foreground, or -d)")
    start.add_argument(
        "-d",
        "--detach",
        action="store_true",
        help="run in the background; return once it answers (pid and log in the data directory)",
    )
    start.add_argument(
        "--timeout", type=float, default=60.0, help="with -d: seconds to wait for health"
    )
    _add_config_flags(start)

    wait = sub.add_parser("wait", help="wait until a server answers")
    wait.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    _add_endpoint_flag(wait)

    stop = sub.add_parser("stop", help="stop a server started with `overcast start -d`")
    stop.add_argument("--timeout", type=float, default=15.0, help="seconds before SIGKILL")
    _add_config_flags(stop)

    logs = sub.add_parser("logs", help="show the log of a server started with -d")
    logs.add_argument("-f", "--follow", action="store_true", help="follow until it stops")
    logs.add_argument("-n", "--lines", type=int, default=None, help="only the last N lines")
    _add_config_flags(logs)

    for name, text in (
        ("status", "show a running server's health"),
        ("reset", "wipe all state of a running server"),
    ):
        _add_endpoint_flag(sub.add_parser(name, help=text))

    sub.add_parser(
        "aws",
        help="run the AWS CLI against the server (endpoint, dummy keys, region)",
        add_help=False,
    )

    cert = sub.add_parser("cert", help="the local CA certificate and how to trust it")
    cert.add_argument("--path", action="store_true", help="print only the CA file's path")
    _add_config_flags(cert)

    config = sub.add_parser("config", help="the effective configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")
    show = config_sub.add_parser("show", help="every setting, its value and where it came from")
    show.add_argument("--json", action="store_true", help="as JSON")
    _add_config_flags(show)

    sub.add_parser("services", help="list every AWS service and its state in Overcast")
    return parser


# ---------------------------------------------------------------------------------------------
# Configuration


def load_config(args: argparse.Namespace | None = None) -> Config:
    """The layered configuration for this command (flags only for commands that take them)."""
    flags = {o.name: getattr(args, o.name, None) for o in OPTIONS} if args else {}
    environ: dict[str, str] = dict(os.environ)
    if args is not None and getattr(args, "config", None) is not None:
        environ["OVERCAST_CONFIG"] = str(args.config)
    use_file = not (args is not None and getattr(args, "no_config", False))
    return resolve(flags, environ, Path.cwd(), use_file=use_file)


def _endpoint(args: argparse.Namespace | None) -> str:
    if args is not None and getattr(args, "endpoint", None):
        return str(args.endpoint)
    if os.environ.get("OVERCAST_ENDPOINT"):
        return os.environ["OVERCAST_ENDPOINT"]
    return load_config().settings.endpoint


def _fail(message: str, code: int = 1) -> int:
    print(f"overcast: {message}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------------------------
# start


def cmd_start(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.detach:
        from overcast.daemon import start_detached

        return start_detached(config, args.argv, args.timeout)
    settings = config.settings
    configure_logging(settings.log_level, settings.log_format)
    for note in config.notes:
        logging.getLogger("overcast.config").info(note)
    from overcast.gateway.app import create_app
    from overcast.server import ServerStartError, serve
    from overcast.state import StateError

    try:
        app = create_app(settings)
    except StateError as exc:
        return _fail(f"cannot use the data directory: {exc}")

    listeners = [(settings.host, settings.port), *settings.extra_listeners]
    try:
        serve(
            app,
            listeners,
            server=settings.server,
            log_level="warning",
            on_ready=lambda: _banner(settings),
            settings=settings,
        )
    except ServerStartError as exc:
        return _fail(f"cannot start: {exc}")
    except KeyboardInterrupt:
        pass
    return 0


def _banner(settings: Settings) -> None:
    from overcast.services.registry import NATIVE

    where = "in memory (ephemeral)" if settings.ephemeral else str(settings.data_dir)
    if settings.log_format == "json":
        log.info(
            "Overcast %s is running",
            __version__,
            extra={
                "endpoint": settings.endpoint,
                "listeners": [f"{h}:{p}" for h, p in settings.extra_listeners],
                "data_dir": None if settings.ephemeral else str(settings.data_dir),
                "services": sorted(NATIVE),
            },
        )
        return
    paint = Painter(sys.stdout)
    lines = [
        paint(f"Overcast {__version__} is running", "bold", "green"),
        f"  endpoint:  {paint(settings.endpoint, 'cyan')}",
        *(f"  also on:   http://{h}:{p}" for h, p in settings.extra_listeners),
        f"  data:      {where}",
        f"  services:  {', '.join(sorted(NATIVE))}",
        paint("  stop with Ctrl-C", "dim"),
    ]
    print("\n".join(lines), flush=True)


# ---------------------------------------------------------------------------------------------
# Commands talking to a running server


def _call(endpoint: str, method: str, path: str) -> dict[str, Any]:
    import urllib.request  # only the client commands need it: keep `start` lean

    request = urllib.request.Request(endpoint.rstrip("/") + path, method=method, data=None)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read() or b"{}")
        return result


def cmd_status(args: argparse.Namespace) -> int:
    endpoint = _endpoint(args)
    try:
        health = _call(endpoint, "GET", "/_overcast/health")
    except OSError as exc:  # URLError is an OSError
        return _fail(f"no server at {endpoint} ({exc})")
    paint = Painter(sys.stdout)
    state = str(health.get("status"))
    print(f"Overcast {health.get('version')} at {endpoint}: {paint(state, 'bold', 'green')}")
    print(f"  data: {health.get('data_dir') or 'in memory (ephemeral)'}")
    for name, service_state in health.get("services", {}).items():
        print(f"  {name:<24} {service_state}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    endpoint = _endpoint(args)
    try:
        _call(endpoint, "POST", "/_overcast/reset")
    except OSError as exc:  # URLError is an OSError
        return _fail(f"no server at {endpoint} ({exc})")
    print(f"All state of {endpoint} was wiped.")
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    from overcast.daemon import healthy

    endpoint = _endpoint(args)
    deadline = time.monotonic() + args.timeout
    while not healthy(endpoint):
        if time.monotonic() >= deadline:
            return _fail(f"no server answered at {endpoint} within {args.timeout:g}s")
        time.sleep(0.1)
    print(f"Overcast is ready at {endpoint}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from overcast.daemon import stop

    return stop(load_config(args).settings, args.timeout)


def cmd_logs(args: argparse.Namespace) -> int:
    from overcast.daemon import show_logs

    return show_logs(load_config(args).settings, follow=args.follow, lines=args.lines)


def cmd_aws(argv: list[str]) -> int:
    """Like ``awslocal``: the AWS CLI with --endpoint-url, and dummy keys and region if unset."""
    import shutil
    import subprocess

    if os.environ.get("OVERCAST_ENDPOINT"):
        endpoint, region = os.environ["OVERCAST_ENDPOINT"], None
    else:
        settings = load_config().settings
        endpoint, region = settings.endpoint, settings.default_region
    executable = shutil.which("aws")
    if executable is not None:
        command = [executable]
    else:
        import importlib.util

        if importlib.util.find_spec("awscli") is None:
            return _fail("the AWS CLI is not installed (pip install awscli)")
        command = [sys.executable, "-m", "awscli"]
    if not any(arg == "--endpoint-url" or arg.startswith("--endpoint-url=") for arg in argv):
        command.append(f"--endpoint-url={endpoint}")
    env = aws_environ(os.environ, region)
    try:
        return subprocess.call([*command, *argv], env=env)
    except KeyboardInterrupt:
        return 130


def aws_environ(environ: dict[str, str] | os._Environ[str], region: str | None) -> dict[str, str]:
    """``environ`` plus dummy credentials and a region, unless the user configured their own."""
    env = dict(environ)
    if not env.get("AWS_ACCESS_KEY_ID") and not env.get("AWS_PROFILE"):
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "test", "test"
    if not env.get("AWS_DEFAULT_REGION") and not env.get("AWS_REGION"):
        env["AWS_DEFAULT_REGION"] = region or "us-east-1"
    return env


# ---------------------------------------------------------------------------------------------
# Local tools


def cmd_cert(args: argparse.Namespace) -> int:
    settings = load_config(args).settings
    try:
        from overcast import tls
    except ImportError as exc:
        return _fail(f"TLS support is not available ({exc})")
    try:
        ca = tls.ca_certificate_path(settings)
        if not ca.exists():
            ca = tls.ensure_certificates(settings)[2]
    except OSError as exc:
        return _fail(f"cannot create the CA certificate: {exc}")
    if args.path:
        print(ca)
        return 0
    paint = Painter(sys.stdout)
    host = "localhost" if settings.host in ("0.0.0.0", "::") else settings.host
    print(f"{paint('CA certificate:', 'bold')} {ca}")
    if not settings.tls:
        print(paint("  (TLS is off in these settings: the server answers HTTP only)", "yellow"))
    print(f"\nHTTPS is served on the same port: https://{host}:{settings.port}")
    print("Trust the CA in your shell (SDKs, AWS CLI, requests, Node):\n")
    for variable in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        print(f"  export {variable}={ca}")
    print(f"\nor only for one command: aws --ca-bundle {ca} ...")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.json:
        payload = {
            "file": str(config.file) if config.file else None,
            "settings": {
                name: {"value": display(value), "source": source}
                for name, value, source in config.rows()
            },
            "notes": config.notes,
        }
        print(json.dumps(payload, indent=2))
        return 0
    paint = Painter(sys.stdout)
    rows = [(name, _show(value), source) for name, value, source in config.rows()]
    width = max(len(name) for name, _, _ in rows)
    value_width = min(max(len(value) for _, value, _ in rows), 48)
    for name, value, source in rows:
        colour = "dim" if source.startswith("default") else "cyan"
        shown = f"{paint(name.ljust(width), 'bold')}  {value.ljust(value_width)}"
        print(f"{shown}  {paint(source, colour)}")
    print(f"\nconfig file: {config.file or 'none'}")
    for note in config.notes:
        print(paint(note, "yellow"))
    return 0


def _show(value: Any) -> str:
    shown = display(value)
    if isinstance(shown, list):
        return ", ".join(str(item) for item in shown) or "-"
    if shown is None:
        return "-"
    return str(shown).lower() if isinstance(shown, bool) else str(shown)


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


COMMANDS = {
    "start": cmd_start,
    "wait": cmd_wait,
    "stop": cmd_stop,
    "logs": cmd_logs,
    "status": cmd_status,
    "reset": cmd_reset,
    "cert": cmd_cert,
    "config": cmd_config,
    "services": cmd_services,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "aws":  # everything after `aws` belongs to the AWS CLI
        try:
            return cmd_aws(argv[1:])
        except ConfigError as exc:
            return _fail(str(exc), 2)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except BrokenPipeError:  # `overcast config show | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
