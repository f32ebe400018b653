"""The ``Ready.`` line (``gateway.compat``): printed once the server really answers and the
``ready.d`` scripts ran, never after a deadline while it does not answer; a server stopped
before it answered never prints it; a failing ready script is logged as LocalStack logs it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from overcast.gateway import compat
from overcast.init_hooks import InitHooks
from overcast.settings import Settings
from tests.waiting import wait_until


class Probe:
    """A stand-in for the health check: unanswered until ``answer`` is set; counts its calls."""

    def __init__(self) -> None:
        self.answer = threading.Event()
        self.urls: list[str] = []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return self.answer.is_set()


def _hooks(tmp_path: Path, script: str = "touch ran\n") -> InitHooks:
    (tmp_path / "ready.d").mkdir()
    (tmp_path / "ready.d" / "10-script.sh").write_text(script)
    return InitHooks(Settings(host="0.0.0.0", port=45_997, init_dirs=(tmp_path,), data_dir=None))


def test_ready_waits_for_the_server_to_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks, probe = _hooks(tmp_path), Probe()
    waiter = threading.Thread(target=compat._after_ready, args=(hooks, hooks.settings, probe))
    waiter.start()
    try:
        wait_until(lambda: len(probe.urls) >= 5, what="the health check was polled")
        # Not answered yet: no ready.d script ran, no Ready. line.
        assert not (tmp_path / "ready.d" / "ran").exists()
        assert hooks.scripts["READY"][0].state == "UNKNOWN"
        assert "Ready." not in capsys.readouterr().out
    finally:
        probe.answer.set()
        waiter.join(timeout=30)
    assert (tmp_path / "ready.d" / "ran").exists()
    assert capsys.readouterr().out.splitlines() == ["Ready."]
    assert probe.urls[0] == "http://127.0.0.1:45997/_localstack/health"


def test_a_server_stopped_before_it_answered_is_never_ready(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks, probe = _hooks(tmp_path), Probe()
    waiter = threading.Thread(target=compat._after_ready, args=(hooks, hooks.settings, probe))
    waiter.start()
    wait_until(lambda: probe.urls, what="the health check was polled")
    hooks.stopping.set()
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert not (tmp_path / "ready.d" / "ran").exists()
    assert "Ready." not in capsys.readouterr().out


def test_a_failing_ready_script_is_logged_and_ready_still_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    hooks, probe = _hooks(tmp_path, "exit 3\n"), Probe()
    probe.answer.set()
    with caplog.at_level(logging.ERROR, logger="overcast.init"):
        compat._after_ready(hooks, hooks.settings, probe)
    script = tmp_path / "ready.d" / "10-script.sh"
    assert caplog.messages == [
        f"Error while running script Script(path='{script}', stage=READY, state=ERROR): "
        f"Script {script} returned a non-zero exit code 3"
    ]
    assert hooks.scripts["READY"][0].state == "ERROR" and hooks.completed["READY"]
    assert capsys.readouterr().out.splitlines() == ["Ready."]


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:4566/_localstack/health"),
        ("::", "http://[::1]:4566/_localstack/health"),
        ("::1", "http://[::1]:4566/_localstack/health"),
        ("127.0.0.2", "http://127.0.0.2:4566/_localstack/health"),
    ],
)
def test_the_health_check_reaches_the_listener(tmp_path: Path, host: str, url: str) -> None:
    probe = Probe()
    probe.answer.set()
    hooks = InitHooks(Settings(host=host, port=4566, data_dir=None))
    compat._after_ready(hooks, hooks.settings, probe)
    assert probe.urls == [url]
