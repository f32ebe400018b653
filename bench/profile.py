"""Where a server spends its time under load: py-spy samples it while wrk replays a signed request.

``python -m bench profile --op sts.GetCallerIdentity`` starts Overcast (or ``--cmd``) pinned to
core 0, loads it with wrk from the other core, records with ``py-spy record --format raw`` and
prints the functions with the most samples, by self time and inclusive time.
Needs py-spy (``pip install py-spy``) and wrk.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import client_and_server_cpus, running
from bench.report import RateResult
from bench.wrk import find_wrk, run_wrk

_LINE_NO = re.compile(r":\d+\)$")


@dataclass
class Profile:
    """Sample shares (0-100) by function: self and inclusive."""

    samples: int
    self_pct: list[tuple[str, float]] = field(default_factory=list)
    inclusive_pct: list[tuple[str, float]] = field(default_factory=list)
    rate: RateResult | None = None


def summarize(raw: str, top: int = 25, match: str = "") -> Profile:
    """Aggregate py-spy's raw (collapsed stack) output into self and inclusive shares."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_LINE_NO.sub(")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    if not total:
        return Profile(0)
    inclusive = [(f, 100 * n / total) for f, n in incl.most_common() if match in f][:top]
    return Profile(
        samples=total,
        self_pct=[(f, 100 * n / total) for f, n in own.most_common(top)],
        inclusive_pct=inclusive,
    )


def run_profile(
    cmd: str,
    op: str,
    params: dict[str, Any] | None = None,
    *,
    duration: float = 10.0,
    concurrency: int = 16,
    top: int = 25,
    match: str = "",
) -> Profile:
    """Start ``cmd``, load it with wrk for ``duration`` seconds and profile it with py-spy."""
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        raise ValueError("py-spy is not installed: pip install py-spy")
    find_wrk()
    server_cpus, client_cpus = client_and_server_cpus()
    with (
        running(cmd, ready_path="/_overcast/health", cpus=server_cpus) as (proc, port),
        tempfile.TemporaryDirectory(prefix="overcast-prof-") as tmp,
    ):
        out = Path(tmp) / "profile.raw"
        record = [pyspy, "record", "-p", str(proc.pid), "-r", "250", "--format", "raw"]
        record += ["-d", str(max(1, round(duration))), "-o", str(out)]
        spy = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result: list[RateResult] = []
        load = threading.Thread(
            target=lambda: result.append(
                run_wrk(
                    f"http://127.0.0.1:{port}",
                    op,
                    params,
                    concurrency=concurrency,
                    duration=duration,
                    cpus=client_cpus,
                    warmup=0,
                )
            )
        )
        load.start()
        load.join()
        spy.wait(timeout=duration + 30)
        profile = summarize(out.read_text() if out.exists() else "", top, match)
    profile.rate = result[0] if result else None
    return profile


def profile_text(profile: Profile) -> str:
    """Two ranked lists, self then inclusive."""
    lines = [f"samples: {profile.samples}"]
    if profile.rate:
        lines.append(f"load: {profile.rate.rps:,.0f} req/s (wrk, while sampling)")
    lines.append("-- self time")
    lines += [f"{pct:5.1f}%  {name}" for name, pct in profile.self_pct]
    lines.append("-- inclusive time")
    lines += [f"{pct:5.1f}%  {name}" for name, pct in profile.inclusive_pct]
    return "\n".join(lines)


def default_cmd() -> str:
    """Overcast in memory with default settings (as the compare benchmark runs it)."""
    return f"{sys.executable} -m overcast start --ephemeral --host 127.0.0.1 --port {{port}}"
