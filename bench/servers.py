"""Choose the ASGI server by measurement: the bare hello app under each candidate.

Each server runs ``bench/hello_app.py`` through ``overcast.server.serve`` (the exact runner
Overcast uses) pinned to core 0 with ``taskset -c 0``; wrk, pinned to the other core(s), replays a
signed STS GetCallerIdentity POST over keep-alive connections. ``granian-cli`` is granian's own
multi-process launcher (1 worker), for reference against the embedded mode serve() uses.
Startup time and idle RSS of each are taken too. Needs wrk (see bench/wrk.py for installing it).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass

from bench.procs import client_and_server_cpus, running
from bench.report import RateResult, best_of
from bench.startup import StartupResult, run_startup
from bench.wrk import find_wrk, run_wrk

HEALTH = "/_overcast/health"


def server_commands() -> dict[str, str]:
    """Candidate name -> command template (``{port}`` is substituted)."""
    py = sys.executable
    cmds = {
        name: f"{py} -m bench.hello_app --server {name} --port {{port}}"
        for name in ("uvicorn", "granian", "hypercorn")
    }
    granian = shutil.which("granian")
    if granian:
        cmds["granian-cli"] = (
            f"{granian} --interface asgi --workers 1 --loop uvloop --no-ws --log-level warning "
            "--host 127.0.0.1 --port {port} bench.hello_app:app"
        )
    return cmds


@dataclass
class ServerRow:
    """One candidate's numbers."""

    name: str
    rate: RateResult
    startup: StartupResult | None


def run_servers(
    names: list[str] | None = None,
    *,
    concurrency: int = 16,
    duration: float = 10.0,
    startup_runs: int = 3,
    repeat: int = 1,
) -> list[ServerRow]:
    """Measure every candidate (or ``names``) and return one row each."""
    find_wrk()  # fail before starting anything, with the install hint
    server_cpus, client_cpus = client_and_server_cpus()
    rows = []
    for name, cmd in server_commands().items():
        if names and name not in names:
            continue
        with running(cmd, ready_path=HEALTH, cpus=server_cpus) as (proc, port):
            url = f"http://127.0.0.1:{port}"
            rate = best_of(
                repeat,
                lambda: run_wrk(
                    url,  # noqa: B023
                    "sts.GetCallerIdentity",
                    concurrency=concurrency,
                    duration=duration,
                    cpus=client_cpus,
                    label=name,  # noqa: B023
                    server_pid=proc.pid,
                ),
            )
        startup = run_startup(cmd, runs=startup_runs, cpus=server_cpus) if startup_runs else None
        rows.append(ServerRow(name, rate, startup))
    return rows


def servers_table(rows: list[ServerRow]) -> str:
    """req/s, latency percentiles, startup and RSS per server."""
    from bench.report import table

    out = []
    for row in rows:
        r, s = row.rate, row.startup
        out.append(
            (
                row.name,
                r.concurrency,
                r.rps,
                r.p50_ms,
                r.p90_ms,
                r.p99_ms,
                r.errors,
                r.extra.get("rps_per_cpu", "-"),
                f"{s.startup_s:.3f}" if s else "-",
                f"{s.rss_mb:.1f}" if s else "-",
            )
        )
    headers = ("server", "conn", "req/s", "p50 ms", "p90 ms", "p99 ms", "errors", "req/CPU-s")
    headers += ("startup s",)
    return table(out, (*headers, "idle RSS MB"))
