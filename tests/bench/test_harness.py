"""Smoke tests of the bench harness and the server runner against the tiny hello app.

They check that each piece runs end to end and reports sane shapes; never timing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.procs import free_port, running
from bench.rate import run_rate
from bench.report import percentile, table
from bench.signing import Resigner, parse_op, sign_request
from bench.startup import run_startup
from bench.wrk import lua_script, lua_string, run_wrk
from overcast.server import SERVERS

ROOT = Path(__file__).resolve().parents[2]
HELLO = f"{sys.executable} -m bench.hello_app --server uvicorn --port {{port}}"

LIFESPAN_APP = textwrap.dedent(
    """
    import sys
    from overcast.server import serve, ServerStartError

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    print("startup", flush=True)
                    await send({"type": "lifespan.startup.complete"})
                else:
                    print("shutdown", flush=True)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    try:
        serve(app, [("127.0.0.1", int(sys.argv[2]))], server=sys.argv[1],
              on_ready=lambda: print("ready", flush=True))
    except ServerStartError as exc:
        print(f"error: {exc}", flush=True)
        sys.exit(3)
    print("returned", flush=True)
    """
)


@pytest.fixture(scope="module")
def hello_proc() -> Iterator[tuple[str, int]]:
    with running(HELLO, ready_path="/_overcast/health", timeout=30) as (proc, port):
        yield f"http://127.0.0.1:{port}", proc.pid


@pytest.fixture(scope="module")
def hello(hello_proc: tuple[str, int]) -> str:
    return hello_proc[0]


def _server_installed(name: str) -> bool:
    try:
        __import__(name)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("http_server", SERVERS)
def test_serve_binds_before_ready_and_shuts_down_cleanly(http_server: str) -> None:
    if not _server_installed(http_server):
        pytest.skip(f"{http_server} not installed")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LIFESPAN_APP, http_server, str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "startup"
        assert proc.stdout.readline().strip() == "ready"
        # Ready means bound: a second server on the same port must fail with a one-line message.
        second = subprocess.run(
            [sys.executable, "-c", LIFESPAN_APP, http_server, str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 3
        assert second.stdout.strip() == f"error: port {port} on 127.0.0.1 is already in use"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert out.split() == ["shutdown", "returned"]


def test_sign_request_and_resign() -> None:
    req = sign_request("http://127.0.0.1:1", "sts.GetCallerIdentity")
    assert req.method == "POST"
    assert b"Action=GetCallerIdentity" in req.body
    assert req.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    wire = req.to_wire()
    assert wire.startswith(b"POST / HTTP/1.1\r\n")
    assert wire.endswith(b"\r\n\r\n" + req.body)
    again = Resigner(req, "sts.GetCallerIdentity").sign()
    assert again.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert parse_op("dynamodb.GetItem") == ("dynamodb", "GetItem")
    with pytest.raises(ValueError):
        parse_op("GetItem")
    with pytest.raises(ValueError, match="no operation"):
        sign_request("http://127.0.0.1:1", "sts.NoSuchOperation")
    with pytest.raises(ValueError, match="unknown service"):
        sign_request("http://127.0.0.1:1", "nosuchservice.Op")
    with pytest.raises(ValueError, match="--params"):
        sign_request("http://127.0.0.1:1", "sqs.SendMessage", {"QueueUrl": 5})


def test_rate_fails_clearly_when_nothing_listens() -> None:
    with pytest.raises(ValueError, match="nothing is listening"):
        run_rate(f"http://127.0.0.1:{free_port()}", "sts.GetCallerIdentity", duration=0.1)


def test_lua_script_escapes_everything() -> None:
    assert lua_string('a"b\\c\n') == '"a\\034b\\092c\\010"'
    req = sign_request("http://127.0.0.1:1", "sts.GetCallerIdentity")
    script = lua_script(req)
    assert 'wrk.method = "POST"' in script
    assert "done = function" in script


def test_report_helpers() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 50) == 0.0
    out = table([("a", 1234, 0.5)], ("name", "n", "x"))
    assert "1,234" in out and "0.50" in out


def test_rate_against_hello(hello_proc: tuple[str, int]) -> None:
    url, pid = hello_proc
    result = run_rate(
        url,
        "sts.GetCallerIdentity",
        concurrency=2,
        duration=0.5,
        warmup=0.1,
        processes=1,
        server_pid=pid,
    )
    assert result.extra["server_cpu_s"] >= 0
    assert result.requests > 0
    assert result.errors == 0
    assert 0 < result.p50_ms <= result.p99_ms


def test_rate_sdk_client_against_hello(hello: str) -> None:
    result = run_rate(
        hello,
        "sts.GetCallerIdentity",
        concurrency=1,
        duration=0.3,
        warmup=0.1,
        processes=1,
        client="sdk",
    )
    assert result.requests > 0
    assert result.errors == 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed")
def test_wrk_against_hello(hello: str) -> None:
    result = run_wrk(hello, "sts.GetCallerIdentity", concurrency=2, duration=1, warmup=0)
    assert result.requests > 0
    assert result.errors == 0


def test_startup_against_hello() -> None:
    result = run_startup(HELLO, runs=1, idle=0.1)
    assert result.startup_s > 0
    assert result.rss_mb > 1
    assert len(result.startup_samples) == 1


def test_cli_reports_missing_wrk(hello: str) -> None:
    env = dict(os.environ, PATH="/nonexistent")
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "wrk", "--endpoint", hello, "--duration", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "apt-get install -y wrk" in proc.stderr


def test_profile_summary_of_collapsed_stacks() -> None:
    from bench.profile import summarize

    raw = "main (a.py:1);handle (b.py:2);parse (c.py:3) 3\nmain (a.py:1);handle (b.py:9) 1\n"
    prof = summarize(raw)
    assert prof.samples == 4
    assert prof.self_pct[0] == ("parse (c.py)", 75.0)
    assert ("handle (b.py)", 100.0) in prof.inclusive_pct
