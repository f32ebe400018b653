"""``overcast start -d`` and the commands that manage such a server: stop, logs.

A detached server is the same ``overcast start`` command (the same flags, environment and working
directory, so the same configuration) run in a new session with its output sent to a log file.
Its pid file and log live in the data directory (``overcast.pid``, ``overcast.log``), or for an
ephemeral server in the per-user runtime folder, named by port (``overcast-4566.pid``).

The server may exit at any moment between our checks and our signals, and pid files outlive
crashed servers: a process already gone when signalled counts as stopped, a stale pid file is
removed and reported, and a process we may not signal (another user's) or a file we may not
write is a one-line error, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from overcast.config import Config, runtime_dir
from overcast.settings import Settings


def daemon_files(settings: Settings) -> tuple[Path, Path]:
    """``(pid file, log file)`` of a detached server with these settings."""
    if settings.data_dir is None:
        folder = runtime_dir()
        return folder / f"overcast-{settings.port}.pid", folder / f"overcast-{settings.port}.log"
    return settings.data_dir / "overcast.pid", settings.data_dir / "overcast.log"


def _candidates(settings: Settings) -> list[tuple[Path, Path]]:
    """Where to look for a detached server: these settings' place, then the ephemeral one of the
    same port (``overcast stop --port 5000`` finds ``start -d --ephemeral --port 5000``)."""
    places = [daemon_files(settings)]
    if settings.data_dir is not None:
        places.append(daemon_files(Settings(port=settings.port, data_dir=None)))
    return places


def healthy(endpoint: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(endpoint.rstrip("/") + "/_overcast/health", timeout=timeout):
            return True
    except OSError:
        return False


def read_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` when that process is alive and is Overcast, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid <= 0:  # 0 and negatives name process groups (-1: every process) for os.kill
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, another user's
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():  # guard against a recycled pid
        try:
            if b"overcast" not in cmdline.read_bytes():
                return None
        except OSError:
            return None
    return pid


def start_detached(config: Config, argv: Sequence[str], timeout: float) -> int:
    settings = config.settings
    pid_file, log_file = daemon_files(settings)
    if (pid := read_pid(pid_file)) is not None:
        print(f"overcast: already running (pid {pid}; {pid_file})", file=sys.stderr)
        return 1
    if healthy(settings.endpoint):
        print(f"overcast: a server already answers at {settings.endpoint}", file=sys.stderr)
        return 1
    child_argv = [arg for arg in argv if arg not in ("-d", "--detach")]
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        offset = log_file.stat().st_size if log_file.exists() else 0
        log = log_file.open("ab")
    except OSError as exc:
        return _cannot(exc, log_file)
    with log:
        process = subprocess.Popen(
            [sys.executable, "-m", "overcast", *child_argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this shell; Ctrl-C here does not reach it
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        pid_file.write_text(f"{process.pid}\n")
    except OSError as exc:  # without its pid file, `stop` could not find it: do not leave it
        process.kill()
        process.wait()
        return _cannot(exc, pid_file)
    deadline = time.monotonic() + timeout
    while not healthy(settings.endpoint):
        code = process.poll()
        if code is not None or time.monotonic() >= deadline:
            if code is None:
                process.kill()
                process.wait()
            pid_file.unlink(missing_ok=True)
            why = f"exited with {code}" if code is not None else f"not healthy after {timeout:g}s"
            print(f"overcast: the server {why}; its log ({log_file}):", file=sys.stderr)
            with log_file.open("rb") as fh:
                fh.seek(offset)
                sys.stderr.write(fh.read().decode(errors="replace"))
            return 1
        time.sleep(0.05)
    print(f"Overcast is running in the background at {settings.endpoint} (pid {process.pid})")
    print(f"  log: {log_file}   stop with: overcast stop")
    process.returncode = 0  # the child is detached on purpose: no "still running" warning
    return 0


def stop(settings: Settings, timeout: float) -> int:
    stale: list[Path] = []
    for pid_file, _ in _candidates(settings):
        if not pid_file.exists():
            continue
        pid = read_pid(pid_file)
        if pid is None:  # stale: the server is already gone (crashed, killed, rebooted)
            _remove(pid_file)
            stale.append(pid_file)
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:  # it exited since read_pid looked: stopped all the same
            pass
        except PermissionError:
            print(
                f"overcast: not allowed to stop pid {pid} ({pid_file}): it belongs to another user",
                file=sys.stderr,
            )
            return 1
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        how = "stopped"
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):  # it may exit right now
                os.kill(pid, signal.SIGKILL)
            how = f"killed (it did not stop within {timeout:g}s)"
        _remove(pid_file)
        print(f"Overcast (pid {pid}) {how}")
        return 0
    if stale:
        files = ", ".join(str(p) for p in stale)
        print(f"overcast: not running (removed the stale pid file {files})", file=sys.stderr)
        return 1
    places = ", ".join(str(p) for p, _ in _candidates(settings))
    print(f"overcast: no server started with `start -d` found ({places})", file=sys.stderr)
    return 1


def _remove(pid_file: Path) -> None:
    """Remove a pid file; one we may not remove only earns a warning (read_pid checks the
    process anyway, so a leftover file is harmless)."""
    try:
        pid_file.unlink(missing_ok=True)
    except OSError as exc:
        print(f"overcast: could not remove {pid_file}: {exc.strerror or exc}", file=sys.stderr)


def _cannot(exc: OSError, path: Path) -> int:
    print(f"overcast: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
    return 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child of ours that exited is a zombie until reaped: not alive.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(") ", 1)[1][:1] != "Z"
    return True


def show_logs(settings: Settings, *, follow: bool, lines: int | None) -> int:
    found = [(p, log) for p, log in _candidates(settings) if log.exists()]
    if not found:
        places = ", ".join(str(log) for _, log in _candidates(settings))
        print(f"overcast: no log of a detached server ({places})", file=sys.stderr)
        return 1
    pid_file, log_file = found[0]
    try:
        fh = log_file.open("rb")
    except OSError as exc:
        print(f"overcast: cannot read {log_file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    with fh:
        text = fh.read()
        if lines is not None:
            text = b"".join(text.splitlines(keepends=True)[-lines:]) if lines > 0 else b""
        out = sys.stdout.buffer
        out.write(text)
        out.flush()
        if not follow:
            return 0
        try:
            while True:
                chunk = fh.read()
                if chunk:
                    out.write(chunk)
                    out.flush()
                elif read_pid(pid_file) is None:  # the server stopped: nothing more will come
                    return 0
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            return 0
