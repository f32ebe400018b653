"""Init hooks: LocalStack's ``boot.d``, ``start.d``, ``ready.d`` and ``shutdown.d`` scripts.

Each folder of ``settings.init_dirs`` may hold the four stage folders. A stage's scripts are the
``.sh`` (run with bash) and ``.py`` (run with this interpreter) files under its folders,
subfolders included: the init dirs in the order given, and within each the scripts sorted by
path relative to its stage folder. They run one after the other, each with the environment
pointing at this server (``AWS_ENDPOINT_URL``, dummy credentials, the default region).
A failing script (non-zero exit, or one that cannot start) is ``ERROR``, logged as LocalStack
logs it (``Error while running script Script(path=..., stage=READY, state=ERROR): Script ...
returned a non-zero exit code 3``), and the next one runs; the stage still completes.

When each stage runs (``gateway.compat`` drives it):

* ``BOOT``: before the application starts (the server does not answer yet);
* ``START``: once the application started, before requests are served: scripts must not wait
  for the server;
* ``READY``: once the server answers on its port (however long that takes); then the stdout
  line ``Ready.`` (once, also when there are no hooks or some failed: tools wait for it);
* ``SHUTDOWN``: at stop, after the last request, before the state is closed: the server no
  longer answers.

Script states (``UNKNOWN``, ``RUNNING``, ``SUCCESSFUL``, ``ERROR``) and whether each stage
completed are what ``/_localstack/init`` shows.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from overcast.settings import Settings

log = logging.getLogger("overcast.init")

STAGES = ("BOOT", "START", "READY", "SHUTDOWN")
EXTENSIONS = (".sh", ".py")
SHUTDOWN_TIMEOUT_S = 30.0  # a shutdown script may not hold the stop forever


@dataclass
class Script:
    stage: str
    path: Path
    state: str = "UNKNOWN"

    @property
    def name(self) -> str:
        return self.path.name

    def describe(self) -> dict[str, str]:
        return {"stage": self.stage, "name": self.name, "state": self.state}

    def __str__(self) -> str:  # as LocalStack's error lines name a script
        return f"Script(path='{self.path}', stage={self.stage}, state={self.state})"


class InitHooks:
    """The scripts of every stage, their states, and the runner."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.scripts: dict[str, list[Script]] = {
            stage: [Script(stage, path) for path in discover(settings.init_dirs, stage)]
            for stage in STAGES
        }
        self.completed: dict[str, bool] = dict.fromkeys(STAGES, False)
        # Set when the server shuts down: a READY stage still waiting for it gives up.
        self.stopping = threading.Event()
        # One lock per stage: a stage runs once; a slow ready.d never holds up shutdown.d.
        self._locks = {stage: threading.Lock() for stage in STAGES}
        found = {s: [str(x.path) for x in scripts] for s, scripts in self.scripts.items()}
        if any(found.values()):
            log.info("init scripts discovered: %s", found)

    def run_stage(self, stage: str, timeout: float | None = None) -> None:
        """Run ``stage``'s scripts in order (blocking: call it from a thread)."""
        with self._locks[stage]:
            if self.completed[stage]:
                return
            for script in self.scripts[stage]:
                self._run(script, timeout)
            self.completed[stage] = True

    def describe(self) -> dict[str, Any]:
        return {
            "completed": dict(self.completed),
            "scripts": [s.describe() for stage in STAGES for s in self.scripts[stage]],
        }

    def describe_stage(self, stage: str) -> dict[str, Any]:
        return {
            "completed": self.completed[stage],
            "scripts": [s.describe() for s in self.scripts[stage]],
        }

    def _run(self, script: Script, timeout: float | None) -> None:
        script.state = "RUNNING"
        log.info("running %s script %s", script.stage, script.path)
        command = (
            ["bash", str(script.path)]
            if script.path.suffix == ".sh"
            else [sys.executable, str(script.path)]
        )
        try:
            result = subprocess.run(
                command,
                env=script_environment(self.settings),
                cwd=script.path.parent,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            script.state = "ERROR"
            log.error("Error while running script %s: %s", script, exc)
            return
        if result.returncode != 0:
            script.state = "ERROR"
            log.error(
                "Error while running script %s: Script %s returned a non-zero exit code %s",
                script,
                script.path,
                result.returncode,
            )
        else:
            script.state = "SUCCESSFUL"


def discover(init_dirs: tuple[Path, ...], stage: str) -> list[Path]:
    """The scripts of ``stage`` under every init dir, in run order."""
    found: list[Path] = []
    for base in init_dirs:
        folder = Path(base) / f"{stage.lower()}.d"
        if not folder.is_dir():
            continue
        scripts = [p for p in folder.rglob("*") if p.suffix in EXTENSIONS and p.is_file()]
        found += sorted(scripts, key=lambda p: p.relative_to(folder).as_posix())
    return found


def script_environment(settings: Settings) -> dict[str, str]:
    """This process's environment, pointed at the server (as ``awslocal`` would be)."""
    from overcast.gateway.urls import local_endpoint  # (routing: not needed without scripts)

    env = dict(os.environ)
    env.update(
        {
            "AWS_ENDPOINT_URL": local_endpoint(settings.host, settings.port),
            "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID", "test"),
            "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY", "test"),
            "AWS_DEFAULT_REGION": settings.default_region,
            "AWS_REGION": settings.default_region,
        }
    )
    return env
