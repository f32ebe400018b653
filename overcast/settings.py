"""All settings of a running Overcast, in one frozen dataclass built once by the CLI.

``overcast.config`` builds it from flags, environment and config file; nothing else reads the
environment: tests build a ``Settings`` directly instead of patching globals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "overcast"


@dataclass(frozen=True)
class StaticKey:
    """An access key configured at start (``--credentials``): its signatures are verified."""

    access_key: str
    secret_key: str
    account_id: str = DEFAULT_ACCOUNT


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # Extra (host, port) listeners served by the same app.
    extra_listeners: tuple[tuple[str, int], ...] = ()
    data_dir: Path | None = field(default_factory=default_data_dir)  # None: ephemeral
    default_account: str = DEFAULT_ACCOUNT
    default_region: str = DEFAULT_REGION
    log_level: str = "info"
    # "text" (readable lines) or "json" (one object per line, the access log too: for CI).
    log_format: str = "text"
    server: str = "uvicorn"
    # "NORMAL" survives process crashes (kill -9); "FULL" also survives power loss.
    synchronous: str = "NORMAL"
    static_keys: tuple[StaticKey, ...] = ()
    # Host name (and optional :port) used in URLs the server hands out (queue URLs, Location,
    # presigned URLs); None: taken from each request's Host header. OVERCAST_HOST or
    # LocalStack's LOCALSTACK_HOST.
    external_host: str | None = None
    # HTTPS on the same port as HTTP (TLS detected per connection), with a local CA.
    tls: bool = True
    # moto compatibility: default account 123456789012 and the x-moto-account-id header.
    moto_compat: bool = False
    # Init-hook folders (each with boot.d, start.d, ready.d, shutdown.d), run in order.
    init_dirs: tuple[Path, ...] = ()
    # Policy enforcement for IAM principals: "enforce", "audit" (log would-be denials) or "off".
    iam_mode: str = "enforce"
    # DynamoDB: probability of answering ProvisionedThroughputExceededException (LocalStack's
    # DYNAMODB_ERROR_PROBABILITY), and whether provisioned capacity is enforced.
    dynamodb_error_probability: float = 0.0
    dynamodb_enforce_throughput: bool = False

    @property
    def ephemeral(self) -> bool:
        return self.data_dir is None

    @property
    def endpoint(self) -> str:
        host = "localhost" if self.host in ("", "0.0.0.0", "::") else self.host
        if ":" in host and not host.startswith("["):  # an IPv6 literal: bracketed in a URL
            host = f"[{host}]"
        return f"http://{host}:{self.port}"
