"""The ``overcast`` command: start, status, reset, services, and clear startup errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from overcast.testing import ServerProcess, free_port


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "overcast", *args], capture_output=True, text=True, timeout=timeout
    )


def test_start_prints_a_banner_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    proc = ServerProcess(tmp_path / "data", log_file=log).start()
    assert proc.stop() == 0
    text = log.read_text()
    assert f"endpoint:  http://127.0.0.1:{proc.port}" in text
    assert str(tmp_path / "data") in text
    assert "Traceback" not in text


def test_status_and_reset_talk_to_a_running_server(server: ServerProcess) -> None:
    status = run("status", "--endpoint", server.endpoint)
    assert status.returncode == 0, status.stderr
    assert "running" in status.stdout and "sts" in status.stdout
    reset = run("reset", "--endpoint", server.endpoint)
    assert reset.returncode == 0 and "wiped" in reset.stdout


def test_status_without_a_server_says_so() -> None:
    result = run("status", "--endpoint", f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 1
    assert "no server" in result.stderr and "Traceback" not in result.stderr


def test_services_lists_every_botocore_service() -> None:
    result = run("services")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert any(line.startswith("sts ") and "native" in line for line in lines)
    assert any(line.startswith("kafka ") and "not implemented" in line for line in lines)
    assert len(lines) > 400


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("start", "--ephemeral", "--port", str(port))
    assert result.returncode == 1
    assert "in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run("start", "--data-dir", str(blocker / "data"), "--port", str(free_port()))
    assert result.returncode == 1
    assert "data directory" in result.stderr
    assert "Traceback" not in result.stderr
