"""Run a real Overcast server in a subprocess, for tests and scripts.

``ServerProcess`` starts ``python -m overcast start`` on a free port, waits until
``/_overcast/health`` answers, and can stop it gracefully, kill it (SIGKILL) and start it again on
the same data directory: the primitives behind the test suite's shared fixtures. It runs
isolated by default: the ``OVERCAST_*`` and LocalStack variables of the calling environment and
any ``overcast.toml`` in the working directory do not reach it (``env`` adds variables on purpose).

``running()`` (exported as ``overcast.running``) wraps one for plain Python: a context manager
and decorator that also points the AWS SDKs at it through ``AWS_ENDPOINT_URL`` and dummy keys.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from overcast.config import isolated_environ


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        log_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        isolated: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log_file = log_file
        self.env = dict(env or {})
        self.isolated = isolated
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "overcast", "start", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--ephemeral"]
        if self.isolated:
            cmd.append("--no-config")
        return cmd + self.extra_args

    def environ(self) -> dict[str, str]:
        base = isolated_environ(os.environ) if self.isolated else dict(os.environ)
        return {**base, "PYTHONUNBUFFERED": "1", **self.env}

    def start(self, timeout: float = 30.0) -> ServerProcess:
        if self.log_file is not None:
            self._log = open(self.log_file, "ab")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            env=self.environ(),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"overcast exited with {self.process.returncode}")
            if self.healthy():
                return self
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"overcast did not become healthy within {timeout}s")

    def healthy(self) -> bool:
        return self.healthy_at(self.endpoint)

    @staticmethod
    def healthy_at(endpoint: str) -> bool:
        try:
            with urllib.request.urlopen(endpoint + "/_overcast/health", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait: a clean shutdown."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        code = self.process.returncode
        self._close()
        return code

    def kill(self) -> None:
        """SIGKILL: a crash, no chance to flush anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close()

    def restart(self) -> ServerProcess:
        self.stop()
        return self.start()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        self.process = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, service: str, region: str = "us-east-1", **kwargs: Any) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=kwargs.pop("aws_access_key_id", "test"),
            aws_secret_access_key=kwargs.pop("aws_secret_access_key", "test"),
            **kwargs,
        )


AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)
# Removed while a Cloud points the SDKs at Overcast: they would pick real credentials instead.
AWS_HIDDEN = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_REGION")


def aws_variables(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """What points the AWS SDKs and CLI at ``endpoint``: its URL, dummy keys and a region."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region,
    }


class Cloud(contextlib.ContextDecorator):
    """A running Overcast for a block of code: a new ephemeral server on a free port, or the one at
    ``endpoint``. Inside the block the AWS SDKs talk to it (``set_env``)::

        with overcast.running() as cloud:
            cloud.client("s3").create_bucket(Bucket="b")
            boto3.client("sqs").create_queue(QueueName="q")  # also Overcast, via AWS_ENDPOINT_URL

        @overcast.running()
        def test_upload(): ...
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        region: str = "us-east-1",
        set_env: bool = True,
        data_dir: Path | None = None,
        extra_args: Sequence[str] = (),
        log_file: Path | None = None,
    ) -> None:
        self.region = region
        self.set_env = set_env
        self._url = endpoint.rstrip("/") if endpoint else None
        self._server_args: dict[str, Any] = {
            "data_dir": data_dir,
            "extra_args": extra_args,
            "log_file": log_file,
        }
        self.process: ServerProcess | None = None
        self._saved: dict[str, str | None] = {}

    @property
    def endpoint(self) -> str:
        if self._url is not None:
            return self._url
        if self.process is None:
            raise RuntimeError("the cloud is not running: use it in a `with` block")
        return self.process.endpoint

    def __enter__(self) -> Cloud:
        if self._url is None:
            self.process = ServerProcess(**self._server_args).start()
        elif not ServerProcess.healthy_at(self._url):
            raise RuntimeError(f"no Overcast server answers at {self._url}")
        if self.set_env:
            wanted: dict[str, str | None] = {**aws_variables(self.endpoint, self.region)}
            wanted.update(dict.fromkeys(AWS_HIDDEN))
            self._saved = {name: os.environ.get(name) for name in wanted}
            _set_environ(wanted)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved:
            _set_environ(self._saved)
            self._saved = {}
        if self.process is not None:
            self.process.stop()
            self.process = None

    def client(self, service: str, region: str | None = None, **kwargs: Any) -> Any:
        import boto3

        kwargs.setdefault("aws_access_key_id", "test")
        kwargs.setdefault("aws_secret_access_key", "test")
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region or self.region, **kwargs
        )

    def resource(self, service: str, region: str | None = None, **kwargs: Any) -> Any:
        import boto3

        kwargs.setdefault("aws_access_key_id", "test")
        kwargs.setdefault("aws_secret_access_key", "test")
        return boto3.resource(
            service, endpoint_url=self.endpoint, region_name=region or self.region, **kwargs
        )

    def reset(self) -> None:
        """Wipe all state (every service, account and region)."""
        request = urllib.request.Request(self.endpoint + "/_overcast/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass


def _set_environ(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def running(endpoint: str | None = None, **kwargs: Any) -> Cloud:
    """``with overcast.running() as cloud:`` or ``@overcast.running()``: see :class:`Cloud`."""
    return Cloud(endpoint, **kwargs)
