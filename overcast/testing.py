"""Run a real Overcast server in a subprocess, for tests and scripts.

``ServerProcess`` starts ``python -m overcast start`` on a free port, waits until
``/_overcast/health`` answers, and can stop it gracefully, kill it (SIGKILL) and start it again on
the same data directory: the primitives behind the test suite's shared fixtures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        log_file: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.extra_args = list(extra_args)
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "overcast", "start", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir)] if self.data_dir else ["--ephemeral"]
        return cmd + self.extra_args

    def start(self, timeout: float = 30.0) -> ServerProcess:
        if self.log_file is not None:
            self._log = open(self.log_file, "ab")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
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
        try:
            with urllib.request.urlopen(self.endpoint + "/_overcast/health", timeout=1) as r:
                return r.status == 200
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
