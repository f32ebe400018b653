"""Raw server rate: sign one request with botocore and replay it with wrk.

A SigV4 signature stays valid for 15 minutes, so one signed request can be replayed for a whole
run; wrk (C, keep-alive) then measures the server, not a Python client. A generated Lua script
sets the method, headers and body, and its ``done`` hook prints a JSON summary we parse.

wrk is a system package: ``apt-get update && apt-get install -y wrk`` (Debian/Ubuntu) or
``brew install wrk`` (macOS).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench.procs import check_listening, cpu_seconds
from bench.report import RateResult, add_server_cpu
from bench.signing import SignedRequest, sign_request

INSTALL_HINT = (
    "wrk is not installed: apt-get update && apt-get install -y wrk  (macOS: brew install wrk)"
)

_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d," ..
    "\\"err_connect\\":%d,\\"err_read\\":%d,\\"err_write\\":%d,\\"err_status\\":%d," ..
    "\\"err_timeout\\":%d,\\"p50_us\\":%d,\\"p90_us\\":%d,\\"p99_us\\":%d,\\"max_us\\":%d}\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


_SIGNATURE_LIFETIME_S = 14 * 60  # SigV4 allows 15 minutes of clock skew; keep a margin


class WrkMissingError(RuntimeError):
    """wrk is not on PATH; the message says how to install it."""


def find_wrk() -> str:
    """Path to the wrk binary, or raise WrkMissingError with install instructions."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissingError(INSTALL_HINT)
    return path


def lua_string(value: str | bytes) -> str:
    """A Lua string literal for arbitrary bytes (decimal escapes for anything unusual)."""
    data = value.encode() if isinstance(value, str) else value
    out = []
    for byte in data:
        ch = chr(byte)
        if 32 <= byte < 127 and ch not in '"\\':
            out.append(ch)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_script(request: SignedRequest) -> str:
    """The wrk script replaying ``request`` (wrk sends its own Host and Content-Length)."""
    lines = [
        f"wrk.method = {lua_string(request.method)}",
        f"wrk.path = {lua_string(request.target)}",
    ]
    lines.append(f"wrk.body = {lua_string(request.body)}")
    for name, value in request.headers.items():
        if name.lower() in ("content-length", "connection", "transfer-encoding"):
            continue
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    return "\n".join(lines) + "\n" + _DONE_HOOK


def run_wrk(
    endpoint: str,
    op: str,
    params: dict[str, Any] | None = None,
    *,
    concurrency: int = 16,
    duration: float = 10.0,
    threads: int = 1,
    cpus: tuple[int, ...] | None = None,
    label: str = "",
    warmup: float = 1.0,
    server_pid: int | None = None,
) -> RateResult:
    """Replay one signed ``op`` request against ``endpoint`` with wrk and parse the summary."""
    wrk = find_wrk()
    if warmup + duration > _SIGNATURE_LIFETIME_S:
        raise ValueError("a replayed SigV4 signature is valid 15 minutes: keep runs shorter")
    request = sign_request(endpoint, op, params or {})
    check_listening(endpoint)
    with tempfile.TemporaryDirectory(prefix="overcast-wrk-") as tmp:
        script = Path(tmp) / "replay.lua"
        script.write_text(lua_script(request))
        base = [wrk, "-t", str(threads), "-c", str(max(concurrency, threads))]
        base += ["-s", str(script), "--timeout", "5s"]
        prefix = _pin(cpus)
        if warmup > 0:
            _run([*prefix, *base, "-d", f"{max(1, round(warmup))}s", endpoint])
        cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
        summary = _run([*prefix, *base, "-d", f"{max(1, round(duration))}s", endpoint])
        cpu1 = cpu_seconds(server_pid) if server_pid else 0.0
    secs = summary["duration_us"] / 1e6
    errors = sum(v for k, v in summary.items() if k.startswith("err_"))
    result = RateResult(
        label=label or endpoint,
        tool="wrk",
        endpoint=endpoint,
        op=op,
        concurrency=concurrency,
        duration_s=secs,
        requests=summary["requests"],
        errors=errors,
        rps=summary["requests"] / secs if secs else 0.0,
        p50_ms=summary["p50_us"] / 1000,
        p90_ms=summary["p90_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        extra={"threads": threads, "max_ms": summary["max_us"] / 1000, "wrk": summary},
    )
    if server_pid:
        add_server_cpu(result, cpu1 - cpu0)
    return result


def _pin(cpus: tuple[int, ...] | None) -> list[str]:
    if cpus and shutil.which("taskset"):
        return ["taskset", "-c", ",".join(map(str, cpus))]
    return []


def _run(cmd: list[str]) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("WRKJSON "):
            return json.loads(line[len("WRKJSON ") :])
    raise RuntimeError(
        f"wrk failed (exit {proc.returncode}): {(proc.stderr or proc.stdout)[-500:]}"
    )
