"""Startup time and idle memory of a server command.

For each run: spawn ``--cmd`` (``{port}`` replaced by a free port), poll ``GET /_overcast/health``
every 2 ms and record the wall time from spawn to the first 200; one second later read the idle
RSS (VmRSS of the process and its children from /proc); then SIGTERM it and time the exit. The
report gives the median of N runs (and min/max), plus the CPU time the process had used when it
became ready: on a busy machine wall time inflates, CPU time much less.
Targets: <= 0.25 s and <= 40 MB.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

from bench.procs import cpu_seconds, free_port, rss_kib, spawn, stop, wait_ready

TARGET_STARTUP_S = 0.25
TARGET_RSS_MB = 40.0


@dataclass
class StartupResult:
    """Medians over ``runs`` (seconds and MB), with every sample kept."""

    cmd: str
    runs: int
    startup_s: float
    rss_mb: float
    shutdown_s: float
    startup_cpu_s: float = 0.0  # CPU time used until ready: what startup costs on an idle machine
    startup_samples: list[float] = field(default_factory=list)
    startup_cpu_samples: list[float] = field(default_factory=list)
    rss_samples: list[float] = field(default_factory=list)
    shutdown_samples: list[float] = field(default_factory=list)


def measure_once(
    cmd: str,
    *,
    path: str = "/_overcast/health",
    idle: float = 1.0,
    cpus: tuple[int, ...] | None = None,
) -> tuple[float, float, float, float]:
    """One run: (seconds to first 200, idle RSS in MB, seconds to exit after SIGTERM, CPU seconds
    used until ready)."""
    port = free_port()
    start = time.perf_counter()
    proc = spawn(cmd, port, cpus)
    try:
        wait_ready(proc, port, path, timeout=30.0, every=0.002)
        startup = time.perf_counter() - start
        cpu = cpu_seconds(proc.pid)
        time.sleep(idle)
        rss = rss_kib(proc.pid) / 1024
    finally:
        shutdown = stop(proc)
    return startup, rss, shutdown, cpu


def run_startup(
    cmd: str,
    *,
    runs: int = 5,
    path: str = "/_overcast/health",
    idle: float = 1.0,
    cpus: tuple[int, ...] | None = None,
) -> StartupResult:
    """Measure ``runs`` times (after one untimed warm-up run that fills the OS page cache)."""
    measure_once(cmd, path=path, idle=0.0, cpus=cpus)
    samples = [measure_once(cmd, path=path, idle=idle, cpus=cpus) for _ in range(runs)]
    startups, rsss, shutdowns, cpus_used = (list(col) for col in zip(*samples, strict=True))
    return StartupResult(
        cmd=cmd,
        runs=runs,
        startup_s=statistics.median(startups),
        rss_mb=statistics.median(rsss),
        shutdown_s=statistics.median(shutdowns),
        startup_cpu_s=statistics.median(cpus_used),
        startup_samples=startups,
        startup_cpu_samples=cpus_used,
        rss_samples=rsss,
        shutdown_samples=shutdowns,
    )


def startup_table(results: list[StartupResult]) -> str:
    """Median/min/max startup and RSS against the targets."""
    from bench.report import table

    rows = []
    for r in results:
        rows.append(
            (
                r.cmd,
                r.runs,
                f"{r.startup_s:.3f}",
                f"{min(r.startup_samples):.3f}-{max(r.startup_samples):.3f}",
                "yes" if r.startup_s <= TARGET_STARTUP_S else "NO",
                f"{r.startup_cpu_s:.3f}",
                f"{r.rss_mb:.1f}",
                "yes" if r.rss_mb <= TARGET_RSS_MB else "NO",
                f"{r.shutdown_s:.3f}",
            )
        )
    headers = ("command", "runs", "startup s", "min-max s", "<=0.25s", "CPU s", "idle RSS MB")
    headers += ("<=40MB",)
    return table(rows, (*headers, "stop s"))
