"""Overcast vs moto (vs the bare hello app) in one run, same op, same machine, same pinning.

Every target is started fresh, pinned to core 0; the load (wrk and the Python clients) runs on the
other core(s). moto's server needs ``pip install "moto[server]"`` (``moto_server -p PORT``).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from typing import Any

from bench.procs import client_and_server_cpus, running
from bench.rate import run_rate
from bench.report import RateResult, best_of
from bench.wrk import find_wrk, run_wrk


@dataclass(frozen=True)
class Target:
    """A server to start: command template (``{port}``) and a GET path that answers 200 when up."""

    name: str
    cmd: str
    ready_path: str


def default_targets(server: str = "uvicorn") -> list[Target]:
    """Overcast, moto server and the hello app (the ceiling) — whichever are installed."""
    py = sys.executable
    targets = [
        Target(
            "overcast",
            f"{py} -m overcast start --ephemeral --host 127.0.0.1 --port {{port}}",
            "/_overcast/health",
        ),
        Target(
            f"hello-{server}",
            f"{py} -m bench.hello_app --server {server} --port {{port}}",
            "/_overcast/health",
        ),
    ]
    moto = shutil.which("moto_server")
    if moto:
        targets.append(Target("moto", f"{moto} -H 127.0.0.1 -p {{port}}", "/moto-api/"))
    return targets


@dataclass
class CompareResult:
    """Rows per target and tool, and targets that failed to run."""

    rows: list[RateResult] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def run_compare(
    targets: list[Target],
    op: str,
    params: dict[str, Any] | None = None,
    *,
    concurrency: int = 16,
    duration: float = 10.0,
    tools: tuple[str, ...] = ("wrk", "python"),
    repeat: int = 1,
) -> CompareResult:
    """Run each tool against each target; a target that fails is reported, not fatal."""
    if "wrk" in tools:
        find_wrk()  # fail before starting anything, with the install hint
    server_cpus, client_cpus = client_and_server_cpus()
    result = CompareResult()
    for target in targets:
        try:
            with running(target.cmd, ready_path=target.ready_path, cpus=server_cpus) as (
                proc,
                port,
            ):
                url = f"http://127.0.0.1:{port}"
                kwargs: dict[str, Any] = {
                    "server_pid": proc.pid,
                    "concurrency": concurrency,
                    "duration": duration,
                    "cpus": client_cpus,
                    "label": target.name,
                }
                if "wrk" in tools:
                    result.rows.append(
                        best_of(repeat, lambda: run_wrk(url, op, params, **kwargs))  # noqa: B023
                    )
                if "python" in tools:
                    result.rows.append(
                        best_of(repeat, lambda: run_rate(url, op, params, **kwargs))  # noqa: B023
                    )
        except Exception as exc:  # one broken target must not lose the others' numbers
            result.failures[target.name] = f"{type(exc).__name__}: {exc}"
    return result
