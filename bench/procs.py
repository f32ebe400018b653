"""Start and stop server processes for the bench: free ports, CPU pinning, readiness polling."""

from __future__ import annotations

import http.client
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_and_server_cpus() -> tuple[tuple[int, ...] | None, tuple[int, ...] | None]:
    """(server cpus, load generator cpus): core 0 for the server, the rest for the load."""
    if not hasattr(os, "sched_getaffinity") or shutil.which("taskset") is None:
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return (cpus[0],), tuple(cpus[1:])


def pinned(cmd: Sequence[str], cpus: tuple[int, ...] | None) -> list[str]:
    """Prefix ``cmd`` with ``taskset -c`` when pinning is possible."""
    if cpus and shutil.which("taskset"):
        return ["taskset", "-c", ",".join(map(str, cpus)), *cmd]
    return list(cmd)


def check_listening(endpoint: str) -> None:
    """Raise ValueError unless something accepts TCP connections at ``endpoint``."""
    parts = urlsplit(endpoint)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"--endpoint must be an http:// URL, got {endpoint!r}")
    try:
        socket.create_connection((parts.hostname, parts.port or 80), timeout=2).close()
    except OSError as exc:
        raise ValueError(f"nothing is listening at {endpoint} ({exc.strerror or exc})") from None


def http_status(host: str, port: int, path: str, timeout: float = 0.5) -> int | None:
    """Status of ``GET path`` or None when nothing answers yet."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def wait_ready(
    proc: subprocess.Popen[bytes],
    port: int,
    path: str,
    *,
    timeout: float = 30.0,
    every: float = 0.002,
) -> float:
    """Poll ``GET path`` until it answers 200; return seconds waited. Raises if the process dies."""
    start = time.perf_counter()
    deadline = start + timeout
    while time.perf_counter() < deadline:
        if http_status("127.0.0.1", port, path) == 200:
            return time.perf_counter() - start
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before it was ready")
        time.sleep(every)
    raise TimeoutError(f"no 200 from http://127.0.0.1:{port}{path} within {timeout:.0f}s")


def spawn(
    cmd: str | Sequence[str], port: int, cpus: tuple[int, ...] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` (``{port}`` substituted) from the repo root, output discarded."""
    argv = (
        shlex.split(cmd.format(port=port))
        if isinstance(cmd, str)
        else [c.format(port=port) for c in cmd]
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        pinned(argv, cpus),
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> float:
    """SIGTERM ``proc`` (then SIGKILL its group after ``timeout``); return seconds to exit."""
    if proc.poll() is not None:
        return 0.0
    start = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return time.perf_counter() - start


@contextmanager
def running(
    cmd: str | Sequence[str],
    *,
    ready_path: str,
    cpus: tuple[int, ...] | None = None,
    port: int | None = None,
    timeout: float = 60.0,
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Run a server for the duration of the block; yields ``(process, port)`` once ready."""
    port = port or free_port()
    proc = spawn(cmd, port, cpus)
    try:
        wait_ready(proc, port, ready_path, timeout=timeout, every=0.02)
        yield proc, port
    finally:
        stop(proc)


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` plus all its descendants, in KiB (0 if it is gone)."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(children.get(child, []))
    return out


def set_affinity(pid: int, cpus: tuple[int, ...]) -> None:
    """Let every thread of ``pid`` and its descendants run on ``cpus`` (threads started later
    inherit it from the thread that starts them)."""
    for p in [pid, *_descendants(pid)]:
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                os.sched_setaffinity(int(task), cpus)
            except OSError:  # the thread ended meanwhile
                continue


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants so far, in seconds."""
    ticks = 0
    for p in [pid, *_descendants(pid)]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


class ServerTarget(Protocol):
    """A server a suite measures: its command (``{port}``, ``{data}``) and readiness path."""

    @property
    def name(self) -> str: ...
    @property
    def cmd(self) -> str: ...
    @property
    def ready_path(self) -> str: ...


T = TypeVar("T", bound=ServerTarget)
R = TypeVar("R")


def each_target(
    targets: Sequence[T],
    measure: Callable[[T, str, int], tuple[list[R], dict[str, str]]],
    *,
    cpus: tuple[int, ...] | None,
    prefix: str = "overcast-bench-",
) -> tuple[list[R], dict[str, str]]:
    """Start each target on a fresh data directory (pinned to ``cpus``) and call
    ``measure(target, endpoint, server_pid)``; its rows and failures are gathered, and a target
    that fails to start or to run is reported as a failure instead of ending the suite."""
    rows: list[R] = []
    failures: dict[str, str] = {}
    for target in targets:
        data = tempfile.mkdtemp(prefix=prefix)
        try:
            cmd = target.cmd.replace("{data}", data)
            with running(cmd, ready_path=target.ready_path, cpus=cpus) as (proc, port):
                got, failed = measure(target, f"http://127.0.0.1:{port}", proc.pid)
            rows += got
            failures.update(failed)
        except Exception as exc:
            failures[target.name] = f"{type(exc).__name__}: {exc}"[:500]
        finally:
            shutil.rmtree(data, ignore_errors=True)
    return rows, failures
