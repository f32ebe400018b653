"""Layered configuration: command-line flags, then the environment, then a file, then defaults.

Every setting has one name (``port``, ``data_dir``, ``iam_mode``...) used three ways: the flag
``--port``, the variable ``OVERCAST_PORT`` and the key ``port`` in ``overcast.toml`` (or in
``[tool.overcast]`` of ``pyproject.toml``), both read from the working directory. LocalStack's
variables (``GATEWAY_LISTEN``, ``PERSISTENCE``, ``DEBUG``...) map onto the same settings below the
``OVERCAST_*`` ones, each with a note the server logs at start. :func:`resolve` returns the
``Settings`` and, for ``overcast config show``, where each value came from.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overcast.settings import (
    DEFAULT_ACCOUNT,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    Settings,
    StaticKey,
    default_data_dir,
)

MOTO_ACCOUNT = "123456789012"  # moto's default account
LOCALSTACK_INIT_DIR = Path("/etc/localstack/init")
CONFIG_FILE = "overcast.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
SERVERS = ("uvicorn", "granian", "hypercorn")
IAM_MODES = ("enforce", "audit", "off")
DURABILITIES = ("process", "power")

# OVERCAST_* variables that are not settings (read by the client commands and the pytest plugin).
CLIENT_VARIABLES = frozenset({"OVERCAST_ENDPOINT", "OVERCAST_URL", "OVERCAST_CONFIG"})


class ConfigError(Exception):
    """A value that cannot be used; ``str(exc)`` names where it came from."""


# ---------------------------------------------------------------------------------------------
# Parsing text (flags, environment) and TOML values


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a non-empty value")
    return value.strip()


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise ValueError(f"expected a port number, got {value!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range 1-65535")
    return port


def _listener(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``[::1]:PORT``; a bare host listens on 4566."""
    value = value.strip()
    if value.startswith("["):  # [ipv6]:port
        host, _, rest = value[1:].partition("]")
        return host, _port(rest.lstrip(":")) if rest else DEFAULT_PORT
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, DEFAULT_PORT
    return host or DEFAULT_HOST, _port(port)


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _account(value: str) -> str:
    if len(value) != 12 or not value.isdigit():
        raise ValueError(f"an account id is 12 digits, got {value!r}")
    return value


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}")
    return number


def _static_key(value: str) -> StaticKey:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError("expected ACCESS_KEY:SECRET_KEY[:ACCOUNT_ID]")
    if len(parts) == 3:
        _account(parts[2])
    return StaticKey(*parts)


def _path(value: str) -> Path:
    return Path(_text(value)).expanduser()


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        text = value.strip().lower()
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return text

    return parse


@dataclass(frozen=True)
class Option:
    """One setting: its name, how text becomes its value, and its help line."""

    name: str
    parse: Callable[[str], Any]
    help: str
    many: bool = False  # a list: repeatable flag, comma-separated variable, TOML array
    flag: str = ""  # the command-line flag when it is not --<name-with-dashes>
    variable: str = ""  # the environment variable when it is not OVERCAST_<NAME>

    @property
    def env(self) -> str:
        return self.variable or "OVERCAST_" + self.name.upper()

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def coerce(self, value: Any) -> Any:
        """A value from any layer (text, or a TOML scalar or array) in its final type."""
        if self.many:
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise ValueError(f"expected a list, got {value!r}")
            return tuple(self._one(item) for item in items if str(item).strip())
        return self._one(value)

    def _one(self, value: Any) -> Any:
        if isinstance(value, bool):
            if self.parse is not _bool:
                raise ValueError(f"expected {self.name} as text, got {value!r}")
            return value
        if isinstance(value, int | float) and self.parse in (_port, _probability):
            return self.parse(str(value))
        if not isinstance(value, str):
            raise ValueError(f"unexpected value {value!r}")
        return self.parse(value)


OPTIONS: tuple[Option, ...] = (
    # OVERCAST_HOST is the host name in URLs (as LOCALSTACK_HOST is), so the bind address
    # has its own variable.
    Option("host", _text, "address to listen on", variable="OVERCAST_LISTEN_HOST"),
    Option("port", _port, "port to listen on"),
    Option(
        "listen",
        _listener,
        "an extra HOST:PORT listener served by the same cloud (repeatable)",
        many=True,
    ),
    Option("data_dir", _path, "where state is kept"),
    Option("ephemeral", _bool, "keep everything in memory; nothing is written to disk"),
    Option("account", _account, "account that unknown access keys map to"),
    Option("region", _text, "region of requests whose signature names none"),
    Option("log_level", _choice(*LOG_LEVELS), "debug, info (one line per request), warning, error"),
    Option("log_format", _choice(*LOG_FORMATS), "text, or json: one JSON object per line (CI)"),
    Option("server", _choice(*SERVERS), "the ASGI server"),
    Option(
        "durability",
        _choice(*DURABILITIES),
        "'power' also survives power loss (fsync every commit; slower)",
    ),
    Option(
        "credentials",
        _static_key,
        "an access key whose signatures are verified: KEY:SECRET[:ACCOUNT] (repeatable)",
        many=True,
    ),
    Option(
        "external_host",
        _text,
        "HOST[:PORT] used in URLs the server hands out (queue URLs, Location)",
        variable="OVERCAST_HOST",
    ),
    Option("tls", _bool, "also answer HTTPS on the same port (local CA: see `overcast cert`)"),
    Option("moto_compat", _bool, "moto's default account 123456789012 and its account header"),
    Option(
        "init_dirs",
        _path,
        "an init-hook folder (boot.d, start.d, ready.d, shutdown.d; repeatable)",
        many=True,
        flag="--init-dir",
    ),
    Option("iam_mode", _choice(*IAM_MODES), "IAM policy enforcement: enforce, audit or off"),
    Option(
        "dynamodb_error_probability",
        _probability,
        "DynamoDB: share of requests answered ProvisionedThroughputExceededException",
    ),
    Option("dynamodb_enforce_throughput", _bool, "DynamoDB: enforce tables' provisioned capacity"),
)
BY_NAME = {option.name: option for option in OPTIONS}


def config_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "overcast"


def runtime_dir() -> Path:
    """Per-user folder for files of ephemeral servers (pid and log of ``start -d``, TLS)."""
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"overcast-{uid}"


def default_init_dirs(environ: Mapping[str, str]) -> tuple[Path, ...]:
    """LocalStack's folder when it exists (its mounted scripts run unchanged), then ours."""
    dirs = [LOCALSTACK_INIT_DIR] if LOCALSTACK_INIT_DIR.is_dir() else []
    return (*dirs, config_dir(environ) / "init")


def _defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    return {
        "host": DEFAULT_HOST,
        "port": DEFAULT_PORT,
        "listen": (),
        "data_dir": default_data_dir(environ),
        "ephemeral": False,
        "account": DEFAULT_ACCOUNT,
        "region": DEFAULT_REGION,
        "log_level": "info",
        "log_format": "text",
        "server": "uvicorn",
        "durability": "process",
        "credentials": (),
        "external_host": None,
        "tls": True,
        "moto_compat": False,
        "init_dirs": default_init_dirs(environ),
        "iam_mode": "enforce",
        "dynamodb_error_probability": 0.0,
        "dynamodb_enforce_throughput": False,
    }


# ---------------------------------------------------------------------------------------------
# The config file


def find_config_file(cwd: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    """``(path, table)``: OVERCAST_CONFIG, else ./overcast.toml, else ./pyproject.toml's table."""
    explicit = environ.get("OVERCAST_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if path.name == "pyproject.toml":
            return path, "tool.overcast"
        return path, ""
    if (cwd / CONFIG_FILE).is_file():
        return cwd / CONFIG_FILE, ""
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        return pyproject, "tool.overcast"
    return None


def read_config_file(path: Path, table: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: Any = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    for part in filter(None, table.split(".")):
        data = data.get(part, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [{table}] is not a table")
    return {key.replace("-", "_"): value for key, value in data.items()}


# ---------------------------------------------------------------------------------------------
# LocalStack's variables


def _ls_get(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """``(variable, value)`` for NAME or its LOCALSTACK_NAME alias, when set and not empty."""
    for variable in (name, f"LOCALSTACK_{name}"):
        value = environ.get(variable, "").strip()
        if value:
            return variable, value
    return None


LS_LOG_LEVELS = {
    "trace": "debug",
    "trace-internal": "debug",
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
}

# LocalStack variables read by _localstack (with their LOCALSTACK_ aliases).
LOCALSTACK_MAPPED = (
    "GATEWAY_LISTEN",
    "EDGE_PORT",
    "PERSISTENCE",
    "SERVICES",
    "DEBUG",
    "LS_LOG",
    "LOCALSTACK_HOST",
    "AWS_DEFAULT_REGION",
    "DYNAMODB_ERROR_PROBABILITY",
    "ENFORCE_IAM",
    "IAM_SOFT_MODE",
)

# Other LocalStack variables users commonly set: accepted and ignored, with a note. (Every other
# LOCALSTACK_* variable is treated the same way.)
LOCALSTACK_IGNORED = frozenset(
    {
        "ACTIVATE_PRO",
        "ALLOW_NONSTANDARD_REGIONS",
        "DATA_DIR",
        "DISABLE_CORS_CHECKS",
        "DISABLE_CUSTOM_CORS_S3",
        "DNS_ADDRESS",
        "DOCKER_FLAGS",
        "DYNAMODB_IN_MEMORY",
        "DYNAMODB_READ_ERROR_PROBABILITY",
        "DYNAMODB_SHARE_DB",
        "DYNAMODB_WRITE_ERROR_PROBABILITY",
        "EAGER_SERVICE_LOADING",
        "EDGE_BIND_HOST",
        "EXTRA_CORS_ALLOWED_ORIGINS",
        "HOSTNAME_EXTERNAL",
        "KINESIS_ERROR_PROBABILITY",
        "KINESIS_PROVIDER",
        "LAMBDA_DOCKER_NETWORK",
        "LAMBDA_EXECUTOR",
        "LAMBDA_RUNTIME_EXECUTOR",
        "LEGACY_DIRECTORIES",
        "LS_LOG_FORMAT",
        "MAIN_CONTAINER_NAME",
        "PERSIST_ALL",
        "S3_SKIP_SIGNATURE_VALIDATION",
        "SKIP_SSL_CERT_DOWNLOAD",
        "SNAPSHOT_FLUSH_INTERVAL",
        "SNAPSHOT_LOAD_STRATEGY",
        "SNAPSHOT_SAVE_STRATEGY",
        "SQS_ENDPOINT_STRATEGY",
        "STRICT_SERVICE_LOADING",
        "USE_SSL",
    }
)


def _localstack(environ: Mapping[str, str]) -> tuple[dict[str, tuple[Any, str]], list[str]]:
    """Settings from LocalStack's variables: ``{name: (text, variable)}`` and one note each."""
    found: dict[str, tuple[Any, str]] = {}
    notes: list[str] = []

    def use(name: str, value: Any, variable: str, note: str) -> None:
        found[name] = (value, variable)
        notes.append(f"LocalStack {note}")

    if hit := _ls_get(environ, "GATEWAY_LISTEN"):
        variable, value = hit
        listeners = [_listener(item) for item in value.split(",") if item.strip()]
        if listeners:
            (host, port), extra = listeners[0], listeners[1:]
            every = ", ".join(f"{h}:{p}" for h, p in listeners)
            use("host", host, variable, f"{variable}={value}: listening on {every}")
            found["port"] = (str(port), variable)
            if extra:
                found["listen"] = (tuple(extra), variable)
    elif hit := _ls_get(environ, "EDGE_PORT"):
        variable, value = hit
        use("port", value, variable, f"{variable}={value}: port {value} (deprecated by LocalStack)")
    if hit := _ls_get(environ, "PERSISTENCE"):
        variable, value = hit
        persist = _bool(value)
        text = "state kept in the data directory" if persist else "ephemeral: state in memory"
        use("ephemeral", str(not persist).lower(), variable, f"{variable}={value}: {text}")
    if hit := _ls_get(environ, "SERVICES"):
        variable, value = hit
        notes.append(
            f"LocalStack {variable}={value}: ignored; every service answers and each loads "
            "on first use"
        )
    if hit := _ls_get(environ, "LS_LOG"):
        variable, value = hit
        level = LS_LOG_LEVELS.get(value.lower())
        if level is None:
            notes.append(f"LocalStack {variable}={value}: unknown level, ignored")
        else:
            use("log_level", level, variable, f"{variable}={value}: log level {level}")
    elif (hit := _ls_get(environ, "DEBUG")) and _bool_or_false(hit[1]):
        use("log_level", "debug", hit[0], f"{hit[0]}={hit[1]}: log level debug")
    if value := environ.get("LOCALSTACK_HOST", "").strip():
        use(
            "external_host", value, "LOCALSTACK_HOST", f"LOCALSTACK_HOST={value}: URLs name {value}"
        )
    if value := environ.get("AWS_DEFAULT_REGION", "").strip():
        use("region", value, "AWS_DEFAULT_REGION", f"AWS_DEFAULT_REGION={value}: region {value}")
    if hit := _ls_get(environ, "DYNAMODB_ERROR_PROBABILITY"):
        variable, value = hit
        use("dynamodb_error_probability", value, variable, f"{variable}={value}")
    if hit := _ls_get(environ, "IAM_SOFT_MODE"):
        if _bool_or_false(hit[1]):
            use("iam_mode", "audit", hit[0], f"{hit[0]}={hit[1]}: IAM mode audit")
    elif hit := _ls_get(environ, "ENFORCE_IAM"):
        mode = "enforce" if _bool_or_false(hit[1]) else "off"
        use("iam_mode", mode, hit[0], f"{hit[0]}={hit[1]}: IAM mode {mode}")

    mapped = set(LOCALSTACK_MAPPED) | {f"LOCALSTACK_{name}" for name in LOCALSTACK_MAPPED}
    for variable in sorted(environ):
        if variable in mapped:
            continue
        bare = variable.removeprefix("LOCALSTACK_")
        if variable.startswith("LOCALSTACK_") or bare in LOCALSTACK_IGNORED:
            notes.append(f"LocalStack {variable}: not used by Overcast, ignored")
    return found, notes


def _bool_or_false(value: str) -> bool:
    try:
        return _bool(value)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Resolution


@dataclass(frozen=True)
class Config:
    """The effective settings, each value's source, and notes to log at start."""

    settings: Settings
    values: dict[str, Any]
    sources: dict[str, str]
    log_format: str = "text"
    notes: list[str] = field(default_factory=list)
    file: Path | None = None

    def rows(self) -> list[tuple[str, Any, str]]:
        """``(name, value, source)`` for every setting, in OPTIONS order."""
        return [(o.name, self.values[o.name], self.sources[o.name]) for o in OPTIONS]


def resolve(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    *,
    use_file: bool = True,
) -> Config:
    """Flags (already named by setting; text or typed values) over environment over file."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    values = _defaults(environ)
    sources = dict.fromkeys(values, "default")
    notes: list[str] = []

    def apply(name: str, raw: Any, source: str) -> None:
        option = BY_NAME[name]
        try:
            values[name] = raw if isinstance(raw, tuple) and option.many else option.coerce(raw)
        except ValueError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        sources[name] = source

    file_path: Path | None = None
    found = find_config_file(cwd, environ) if use_file else None
    if found is not None:
        file_path, table = found
        data = read_config_file(file_path, table)
        for key, raw in data.items():
            if key not in BY_NAME:
                where = f"[{table}] of {file_path}" if table else str(file_path)
                raise ConfigError(f"{where}: unknown setting {key!r}")
            if key in ("data_dir", "init_dirs"):  # relative to the file, not to the caller
                raw = _relative_to(file_path.parent, raw)
            apply(key, raw, f"file {file_path}")

    ls_values, ls_notes = _localstack(environ)
    notes += ls_notes
    for name, (raw, variable) in ls_values.items():
        apply(name, raw, f"env {variable}")

    for option in OPTIONS:
        if (raw := environ.get(option.env)) is not None and raw.strip():
            apply(option.name, raw, f"env {option.env}")
    for variable in sorted(environ):
        if (
            variable.startswith("OVERCAST_")
            and variable not in CLIENT_VARIABLES
            and variable.removeprefix("OVERCAST_").lower() not in BY_NAME
        ):
            notes.append(f"{variable}: not an Overcast setting, ignored")

    for name, raw in (flags or {}).items():
        if raw is None or (BY_NAME[name].many and not raw):
            continue
        if BY_NAME[name].many and isinstance(raw, list):
            raw = tuple(value for item in raw for value in BY_NAME[name].coerce(item))
        flag = BY_NAME[name].cli_flag
        if raw is False:  # --no-tls, --no-ephemeral
            flag = "--no-" + flag.removeprefix("--")
        apply(name, raw, f"flag {flag}")

    if values["moto_compat"] and sources["account"] == "default":
        values["account"], sources["account"] = MOTO_ACCOUNT, "default (moto_compat)"
    return Config(
        settings=_settings(values),
        values=values,
        sources=sources,
        log_format=values["log_format"],
        notes=notes,
        file=file_path,
    )


def _relative_to(folder: Path, raw: Any) -> Any:
    """A path (or list of paths) from a config file, relative ones taken from its folder."""
    if isinstance(raw, list):
        return [_relative_to(folder, item) for item in raw]
    if isinstance(raw, str) and raw.strip() and not Path(raw).expanduser().is_absolute():
        return str(folder / raw)
    return raw


def _settings(values: Mapping[str, Any]) -> Settings:
    return Settings(
        host=values["host"],
        port=values["port"],
        extra_listeners=tuple(values["listen"]),
        data_dir=None if values["ephemeral"] else values["data_dir"],
        default_account=values["account"],
        default_region=values["region"],
        log_level=values["log_level"],
        log_format=values["log_format"],
        server=values["server"],
        synchronous="FULL" if values["durability"] == "power" else "NORMAL",
        static_keys=tuple(values["credentials"]),
        external_host=values["external_host"],
        tls=values["tls"],
        moto_compat=values["moto_compat"],
        init_dirs=tuple(values["init_dirs"]),
        iam_mode=values["iam_mode"],
        dynamodb_error_probability=values["dynamodb_error_probability"],
        dynamodb_enforce_throughput=values["dynamodb_enforce_throughput"],
    )


def display(value: Any) -> Any:
    """A value as JSON can carry it (paths and tuples of listeners, keys with secrets hidden)."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, StaticKey):
        return f"{value.access_key}:***:{value.account_id}"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
        return f"{value[0]}:{value[1]}"
    if isinstance(value, tuple):
        return [display(item) for item in value]
    return value


def isolated_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without variables that configure a server (for test servers)."""
    names = {o.env for o in OPTIONS} | {"OVERCAST_CONFIG"}
    names |= set(LOCALSTACK_MAPPED) | {f"LOCALSTACK_{name}" for name in LOCALSTACK_MAPPED}
    return {k: v for k, v in environ.items() if k not in names}
