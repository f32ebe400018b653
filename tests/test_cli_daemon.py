"""``overcast stop`` / ``start -d`` / ``logs`` when processes and pid files race or are not ours:
a server gone between the check and the signal, stale pid files, another user's process, and
files that cannot be written, each answered as a one-line message, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast import daemon
from overcast.settings import Settings

# A process that says when it runs (its command line is then its own), then sleeps.
_SLEEP = "import signal, time\n{}\nprint('ready', flush=True)\ntime.sleep(120)"


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process whose command line names overcast (what read_pid checks)."""
    child = subprocess.Popen(
        [sys.executable, "-c", _SLEEP.format(""), "overcast-test-sleeper"], stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"  # exec'd
    yield child
    child.kill()
    child.wait()


def _settings(tmp_path: Path) -> Settings:
    return Settings(port=45_999, data_dir=tmp_path / "data")


def _pid_file(settings: Settings, pid: int | str) -> Path:
    pid_file, _ = daemon.daemon_files(settings)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{pid}\n")
    return pid_file


def test_a_server_gone_between_the_check_and_the_signal_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    pid = _dead_pid()
    pid_file = _pid_file(settings, pid)
    # read_pid saw it alive; by the time of the SIGTERM it has exited.
    monkeypatch.setattr(daemon, "read_pid", lambda _: pid)
    assert daemon.stop(settings, timeout=1) == 0
    assert f"Overcast (pid {pid}) stopped" in capsys.readouterr().out
    assert not pid_file.exists()


def test_a_stale_pid_file_is_removed_and_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    pid_file = _pid_file(settings, _dead_pid())
    assert daemon.stop(settings, timeout=1) == 1
    err = capsys.readouterr().err
    assert "not running" in err and "stale pid file" in err and str(pid_file) in err
    assert "Traceback" not in err
    assert not pid_file.exists()


@pytest.mark.parametrize("content", ["0", "-1", "-4242", "not a pid", ""])
def test_pid_files_naming_no_single_process_are_ignored(tmp_path: Path, content: str) -> None:
    # os.kill(0, ...) signals our own process group and os.kill(-1, ...) every process we may.
    pid_file = tmp_path / "overcast.pid"
    pid_file.write_text(content)
    assert daemon.read_pid(pid_file) is None


def test_another_users_server_is_a_clear_error(
    sleeper: subprocess.Popen[bytes],  # first: killed after os.kill is restored
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _settings(tmp_path)
    pid_file = _pid_file(settings, sleeper.pid)
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if sig != 0:
            raise PermissionError(1, "Operation not permitted")
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    assert daemon.stop(settings, timeout=1) == 1
    err = capsys.readouterr().err
    assert f"not allowed to stop pid {sleeper.pid}" in err and "another user" in err
    assert pid_file.exists()  # still that user's server's file
    assert sleeper.poll() is None


def test_a_server_ignoring_sigterm_is_killed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    child = subprocess.Popen(
        [sys.executable, "-c", _SLEEP.format(ignore), "overcast-test-stubborn"],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        pid_file = _pid_file(settings, child.pid)
        assert daemon.stop(settings, timeout=0.3) == 0
        assert "killed (it did not stop within 0.3s)" in capsys.readouterr().out
        assert child.wait(timeout=10) == -signal.SIGKILL
        assert not pid_file.exists()
    finally:
        child.kill()
        child.wait()


def test_start_detached_with_an_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    command = ["start", "-d", "--port", "45998", "--data-dir", str(blocker / "data")]
    result = subprocess.run(
        [sys.executable, "-m", "overcast", *command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr


def test_logs_of_an_unreadable_log_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    _, log_file = daemon.daemon_files(settings)
    log_file.mkdir(parents=True)  # a directory where the log should be: open() fails
    assert daemon.show_logs(settings, follow=False, lines=None) == 1
    err = capsys.readouterr().err
    assert f"cannot read {log_file}" in err
