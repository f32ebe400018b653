"""Init hooks: boot.d, start.d, ready.d and shutdown.d scripts, their order, environment, states,
failures that are not fatal, the ``Ready.`` line and ``/_localstack/init``."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.init_hooks import discover
from overcast.testing import ServerProcess
from tests.waiting import wait_until

READY_SCRIPT = """
import os, boto3
assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
sqs = boto3.client("sqs")  # endpoint, keys and region all from the environment
sqs.create_queue(QueueName="from-ready-hook")
with open(os.environ["HOOK_LOG"], "a") as f:
    f.write("ready:30-create.py\\n")
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture(scope="module")
def hooked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    root = tmp_path_factory.mktemp("hooks")
    first, second = root / "localstack-init", root / "overcast-init"
    hook_log = root / "hooks.log"
    append = 'echo "{stage}:{name}" >> "$HOOK_LOG"\n'
    _write(first / "boot.d" / "10-boot.sh", append.format(stage="boot", name="10-boot.sh"))
    _write(
        first / "start.d" / "10-start.py",
        'import os\nopen(os.environ["HOOK_LOG"], "a").write("start:10-start.py\\n")\n',
    )
    _write(
        first / "ready.d" / "20-fails.sh",
        append.format(stage="ready", name="20-fails.sh") + "exit 3\n",
    )
    _write(first / "ready.d" / "30-create.py", READY_SCRIPT)
    _write(first / "ready.d" / "10-first.sh", append.format(stage="ready", name="10-first.sh"))
    _write(first / "ready.d" / "notes.txt", "not a script\n")
    _write(first / "ready.d" / "sub" / "40-nested.sh", append.format(stage="ready", name="40"))
    _write(second / "ready.d" / "00-second-dir.sh", append.format(stage="ready", name="second"))
    _write(first / "shutdown.d" / "10-bye.sh", append.format(stage="shutdown", name="10-bye.sh"))
    _write(first / "ready.d" / "50-raises.py", "raise SystemExit('broken on purpose')\n")
    import os

    os.environ["HOOK_LOG"] = str(hook_log)  # inherited by the server, then by its scripts
    try:
        proc = ServerProcess(
            extra_args=["--init-dir", str(first), "--init-dir", str(second)],
            log_file=root / "overcast.log",
        ).start()
    finally:
        del os.environ["HOOK_LOG"]
    _wait_ready(proc)
    yield proc, root
    proc.stop()


def _get(proc: ServerProcess, path: str) -> Any:
    with urllib.request.urlopen(proc.endpoint + path, timeout=5) as response:
        return json.loads(response.read())


def _wait_ready(proc: ServerProcess, timeout: float = 30.0) -> None:
    wait_until(
        lambda: _get(proc, "/_localstack/init/ready")["completed"],
        timeout,
        what="ready.d completed",
    )


def test_scripts_ran_in_order_across_stages_and_dirs(hooked: tuple[ServerProcess, Path]) -> None:
    _, root = hooked
    lines = (root / "hooks.log").read_text().splitlines()
    assert lines == [
        "boot:10-boot.sh",
        "start:10-start.py",
        "ready:10-first.sh",
        "ready:20-fails.sh",  # fails, and the next scripts still run
        "ready:30-create.py",
        "ready:40",  # sub/40-nested.sh (50-raises.py before it writes nothing)
        "ready:second",  # the second init dir after the first
    ]


def test_ready_script_reached_the_server(hooked: tuple[ServerProcess, Path]) -> None:
    proc, _ = hooked
    urls = proc.client("sqs").list_queues(QueueNamePrefix="from-ready-hook")["QueueUrls"]
    assert urls == [f"{proc.endpoint}/000000000000/from-ready-hook"]


def test_init_endpoint_reports_states(hooked: tuple[ServerProcess, Path]) -> None:
    proc, _ = hooked
    report = _get(proc, "/_localstack/init")
    assert report["completed"] == {"BOOT": True, "START": True, "READY": True, "SHUTDOWN": False}
    states = {(s["stage"], s["name"]): s["state"] for s in report["scripts"]}
    assert states == {
        ("BOOT", "10-boot.sh"): "SUCCESSFUL",
        ("START", "10-start.py"): "SUCCESSFUL",
        ("READY", "10-first.sh"): "SUCCESSFUL",
        ("READY", "20-fails.sh"): "ERROR",
        ("READY", "30-create.py"): "SUCCESSFUL",
        ("READY", "40-nested.sh"): "SUCCESSFUL",
        ("READY", "50-raises.py"): "ERROR",
        ("READY", "00-second-dir.sh"): "SUCCESSFUL",
        ("SHUTDOWN", "10-bye.sh"): "UNKNOWN",
    }
    ready = _get(proc, "/_localstack/init/ready")
    assert ready["completed"] is True
    assert [s["name"] for s in ready["scripts"]] == [
        "10-first.sh",
        "20-fails.sh",
        "30-create.py",
        "50-raises.py",
        "40-nested.sh",
        "00-second-dir.sh",  # by path: "sub/40-nested.sh" after "50-raises.py"
    ]
    assert _get(proc, "/_localstack/init/shutdown") == {
        "completed": False,
        "scripts": [{"stage": "SHUTDOWN", "name": "10-bye.sh", "state": "UNKNOWN"}],
    }


def test_ready_line_printed_once_after_ready_hooks(hooked: tuple[ServerProcess, Path]) -> None:
    _, root = hooked
    log_file = root / "overcast.log"
    # READY completes, then the line is printed: wait for it.
    wait_until(lambda: "Ready." in log_file.read_text().splitlines(), what="Ready. printed")
    log = log_file.read_text().splitlines()
    assert log.count("Ready.") == 1
    # The failing scripts were logged as LocalStack logs them, and did not stop the server.
    script = root / "localstack-init" / "ready.d" / "20-fails.sh"
    expected = (
        f"Error while running script Script(path='{script}', stage=READY, state=ERROR): "
        f"Script {script} returned a non-zero exit code 3"
    )
    assert any(line.endswith(expected) for line in log)
    assert any("50-raises.py returned a non-zero exit code 1" in line for line in log)
    # Ready. comes after every ready.d script, the failing ones included.
    assert log.index("Ready.") > max(i for i, line in enumerate(log) if "50-raises.py" in line)


def test_shutdown_scripts_run_at_stop(tmp_path: Path) -> None:
    marker = tmp_path / "stopped"
    _write(tmp_path / "init" / "shutdown.d" / "bye.sh", f'echo bye > "{marker}"\n')
    proc = ServerProcess(
        extra_args=["--init-dir", str(tmp_path / "init")], log_file=tmp_path / "overcast.log"
    ).start()
    assert not marker.exists()
    assert proc.stop() == 0
    assert marker.read_text() == "bye\n"


def test_ready_line_without_any_hook(server: ServerProcess) -> None:
    log_file = server.log_file
    assert log_file is not None
    wait_until(lambda: "Ready." in log_file.read_text().splitlines(), what="Ready. printed")
    assert log_file.read_text().splitlines().count("Ready.") == 1
    report = _get(server, "/_localstack/init")
    assert report["completed"]["READY"] is True


def test_discover_sorts_by_relative_path(tmp_path: Path) -> None:
    for name in ("b.sh", "a.py", "c.txt", "z/0.sh", "A.sh"):
        _write(tmp_path / "ready.d" / name, "")
    found = discover((tmp_path, tmp_path / "missing"), "READY")
    assert [p.relative_to(tmp_path / "ready.d").as_posix() for p in found] == [
        "A.sh",
        "a.py",
        "b.sh",
        "z/0.sh",
    ]
