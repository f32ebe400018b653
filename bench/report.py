"""Result records, percentiles, plain-text tables and JSON files under bench/results/."""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class RateResult:
    """One load-test run: throughput and latency (milliseconds)."""

    label: str
    tool: str  # "python" (botocore-signed clients) or "wrk" (replayed signed request)
    endpoint: str
    op: str
    concurrency: int
    duration_s: float
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


def best_of(runs: int, measure: Callable[[], RateResult]) -> RateResult:
    """Run ``measure`` ``runs`` times and keep the fastest run (the least disturbed by noise on a
    shared machine); every run's req/s is kept in ``extra["rps_runs"]``."""
    results = [measure() for _ in range(max(1, runs))]
    best = max(results, key=lambda r: r.rps)
    best.extra["rps_runs"] = [round(r.rps, 1) for r in results]
    return best


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(pct / 100 * len(sorted_values))
    return sorted_values[max(0, min(len(sorted_values), rank) - 1)]


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    """Render rows as a fixed-width text table (also valid-looking Markdown)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    return "\n".join([line, sep, *body])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def add_server_cpu(result: RateResult, cpu_s: float) -> None:
    """Record the server's CPU time for the measured window, and the rate per busy core
    (requests / CPU-seconds): far less sensitive to other load on the machine than req/s."""
    result.extra["server_cpu_s"] = round(cpu_s, 3)
    if cpu_s > 0 and result.requests:
        result.extra["rps_per_cpu"] = round(result.requests / cpu_s, 1)
        result.extra["cpu_us_per_req"] = round(cpu_s / result.requests * 1e6, 1)


def rate_table(results: Sequence[RateResult]) -> str:
    """The standard table for rate results (req/CPU-s when the server's CPU was sampled)."""
    rows = [
        (
            r.label,
            r.tool,
            r.op,
            r.concurrency,
            r.requests,
            r.errors,
            r.rps,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.extra.get("rps_per_cpu", "-"),
        )
        for r in results
    ]
    headers = ("target", "tool", "op", "conc", "requests", "errors", "req/s", "p50 ms", "p90 ms")
    return table(rows, (*headers, "p99 ms", "req/CPU-s"))


def machine_info() -> dict[str, Any]:
    """What the numbers were taken on."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "loadavg": os.getloadavg(),
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save_json(kind: str, payload: dict[str, Any], path: str | None = None) -> Path:
    """Write ``payload`` (plus machine info) to ``path`` or bench/results/<kind>-<time>.json."""
    target = Path(path) if path else RESULTS_DIR / f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = {"kind": kind, "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": machine_info()}
    doc.update(payload)
    target.write_text(json.dumps(doc, indent=2, default=_jsonable) + "\n")
    return target


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")
