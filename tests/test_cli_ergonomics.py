"""Everyday CLI: start -d / wait / stop / logs, config show, aws, cert, JSON logs, colour, and
LocalStack's variables reaching a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from overcast.cli import aws_environ
from overcast.testing import ServerProcess, free_port

CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "OVERCAST_"))}


def overcast(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "overcast", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**CLEAN, **(env or {})},
        cwd=cwd,
    )


def list_queues(endpoint: str) -> None:
    """One signed request (SQS ListQueues): an access-log line."""
    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    sqs.list_queues()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private temp dir (the runtime folder of ephemeral daemons) and config dir."""
    (tmp_path / "tmp").mkdir()
    return {"TMPDIR": str(tmp_path / "tmp"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_detached_ephemeral_server_wait_logs_and_stop(env: dict[str, str]) -> None:
    port = str(free_port())
    started = overcast("start", "-d", "--ephemeral", "--port", port, env=env)
    assert started.returncode == 0, started.stderr
    assert f"http://127.0.0.1:{port}" in started.stdout and "pid" in started.stdout
    pid_file = Path(env["TMPDIR"]) / f"overcast-{os.getuid()}" / f"overcast-{port}.pid"
    pid = int(pid_file.read_text())
    try:
        waited = overcast("wait", "--endpoint", f"http://127.0.0.1:{port}", env=env)
        assert waited.returncode == 0 and "ready" in waited.stdout
        # a second start on the same port refuses
        again = overcast("start", "-d", "--ephemeral", "--port", port, env=env)
        assert again.returncode == 1 and "already running" in again.stderr

        follower = subprocess.Popen(
            [sys.executable, "-m", "overcast", "logs", "-f", "--port", port],
            stdout=subprocess.PIPE,
            text=True,
            env={**CLEAN, **env},
        )
        list_queues(f"http://127.0.0.1:{port}")
        logs = overcast("logs", "--port", port, env=env)
        assert logs.returncode == 0 and "Overcast" in logs.stdout
    finally:
        stopped = overcast("stop", "--port", port, env=env)
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
    assert not pid_file.exists()
    # `logs -f` ends by itself once the server is gone, with the request it saw
    out, _ = follower.communicate(timeout=20)
    assert follower.returncode == 0
    assert "sqs.ListQueues 200" in out
    assert overcast("stop", "--port", port, env=env).returncode == 1


def test_detached_server_with_a_data_dir_keeps_pid_and_log_there(
    tmp_path: Path, env: dict[str, str]
) -> None:
    data, port = tmp_path / "data", str(free_port())
    started = overcast("start", "-d", "--data-dir", str(data), "--port", port, env=env)
    assert started.returncode == 0, started.stderr
    try:
        assert (data / "overcast.pid").exists() and (data / "overcast.log").exists()
        assert overcast("status", "--endpoint", f"http://127.0.0.1:{port}", env=env).returncode == 0
    finally:
        stopped = overcast("stop", "--data-dir", str(data), "--port", port, env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert not (data / "overcast.pid").exists()
    assert "Overcast" in (data / "overcast.log").read_text()


def test_detached_start_that_fails_shows_the_log(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = overcast("start", "-d", "--ephemeral", "--port", port, env=env)
    assert result.returncode == 1
    assert "in use" in result.stderr and "Traceback" not in result.stderr


def test_wait_gives_up_after_its_timeout() -> None:
    begun = time.monotonic()
    result = overcast("wait", "--endpoint", f"http://127.0.0.1:{free_port()}", "--timeout", "0.5")
    assert result.returncode == 1 and "within 0.5s" in result.stderr
    assert time.monotonic() - begun < 20


def test_config_show_names_each_source(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "overcast.toml").write_text('region = "eu-west-3"\niam_mode = "audit"\n')
    result = overcast(
        "config",
        "show",
        "--port",
        "4999",
        env={**env, "OVERCAST_LOG_LEVEL": "debug", "PERSISTENCE": "0", "SERVICES": "s3"},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.strip()}
    assert rows["port"][1:] == ["4999", "flag", "--port"]
    assert rows["log_level"][1:] == ["debug", "env", "OVERCAST_LOG_LEVEL"]
    assert rows["region"][1:] == ["eu-west-3", "file", str(tmp_path / "overcast.toml")]
    assert rows["ephemeral"][1:] == ["true", "env", "PERSISTENCE"]
    assert rows["server"][1:] == ["uvicorn", "default"]
    assert "SERVICES=s3: ignored" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour

    as_json = overcast("config", "show", "--json", env=env, cwd=tmp_path)
    payload = json.loads(as_json.stdout)
    assert payload["file"] == str(tmp_path / "overcast.toml")
    assert payload["settings"]["iam_mode"] == {
        "value": "audit",
        "source": payload["file"] and f"file {payload['file']}",
    }
    assert payload["settings"]["port"] == {"value": 4566, "source": "default"}


def test_bad_configuration_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "overcast.toml").write_text("port = 'abc'\n")
    result = overcast("config", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert "expected a port number" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "coloured"),
    [({}, False), ({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False)],
)
def test_colour_follows_no_color_and_force_color(extra: dict[str, str], coloured: bool) -> None:
    result = overcast("config", "show", env=extra)
    assert ("\x1b[" in result.stdout) is coloured


def test_json_logs_carry_the_access_fields(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    proc = ServerProcess(log_file=log, extra_args=["--log-format", "json"]).start()
    try:
        list_queues(proc.endpoint)
    finally:
        proc.stop()
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [e for e in entries if e["logger"] == "overcast.access"]
    assert access, log.read_text()
    assert access[0]["service"] == "sqs" and access[0]["operation"] == "ListQueues"
    assert access[0]["status"] == 200 and access[0]["account"] == "000000000000"
    assert {"time", "level", "message", "ms"} <= access[0].keys()
    banner = [e for e in entries if e["message"].startswith("Overcast")]
    assert banner and banner[0]["endpoint"] == proc.endpoint


def test_localstack_variables_reach_the_server(tmp_path: Path) -> None:
    log, extra = tmp_path / "server.log", free_port()
    port = free_port()
    variables = {
        "GATEWAY_LISTEN": f"127.0.0.1:{port},127.0.0.1:{extra}",
        "SERVICES": "s3,sqs",
        "LAMBDA_EXECUTOR": "docker",
        "LOCALSTACK_HOST": f"localhost:{port}",
    }
    proc = ServerProcess(port=port, log_file=log, env=variables).start()
    try:
        list_queues(f"http://127.0.0.1:{extra}")  # the second GATEWAY_LISTEN address answers
        queue = proc.client("sqs").create_queue(QueueName="ls-host")["QueueUrl"]
        assert queue.startswith(f"http://localhost:{port}/")
    finally:
        proc.stop()
    text = log.read_text()
    assert f"LocalStack GATEWAY_LISTEN=127.0.0.1:{port},127.0.0.1:{extra}" in text
    assert "LocalStack SERVICES=s3,sqs: ignored" in text
    assert "LocalStack LAMBDA_EXECUTOR: not used by Overcast, ignored" in text


def test_aws_runs_the_cli_against_the_server(server: ServerProcess) -> None:
    env = {"OVERCAST_ENDPOINT": server.endpoint}
    made = overcast("aws", "sqs", "create-queue", "--queue-name", "via-overcast-aws", env=env)
    assert made.returncode == 0, made.stderr
    assert "via-overcast-aws" in json.loads(made.stdout)["QueueUrl"]
    listed = overcast("aws", "sqs", "list-queues", "--output", "json", env=env)
    assert "via-overcast-aws" in listed.stdout
    # region from the settings: the CLI signs for the configured region
    who = overcast(
        "aws", "sts", "get-caller-identity", env={**env, "AWS_DEFAULT_REGION": "eu-west-1"}
    )
    assert json.loads(who.stdout)["Account"] == "000000000000"


def test_aws_endpoint_from_the_configuration(tmp_path: Path, server: ServerProcess) -> None:
    (tmp_path / "overcast.toml").write_text(f"port = {server.port}\n")
    result = overcast("aws", "sqs", "list-queues", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_aws_environment_keeps_what_the_user_set() -> None:
    assert aws_environ({}, None) == {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    mine = {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-west-2"}
    assert aws_environ(mine, "us-west-2") == mine
    assert "AWS_ACCESS_KEY_ID" not in aws_environ({"AWS_PROFILE": "dev"}, None)


def test_cert_prints_the_ca_and_how_to_trust_it(env: dict[str, str]) -> None:
    result = overcast("cert", "--ephemeral", env=env)
    assert result.returncode == 0, result.stderr
    path = overcast("cert", "--ephemeral", "--path", env=env).stdout.strip()
    assert Path(path).is_file() and "BEGIN CERTIFICATE" in Path(path).read_text()
    for variable in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"):
        assert f"export {variable}={path}" in result.stdout


@pytest.mark.parametrize("how", ["flag", "env"])
def test_init_dirs_reach_the_server(tmp_path: Path, how: str) -> None:
    hooks = tmp_path / "hooks"
    (hooks / "ready.d").mkdir(parents=True)
    marker = tmp_path / "ran"
    (hooks / "ready.d" / "mark.py").write_text(
        "import os, pathlib\n"  # written aside, then renamed: the test never reads half a file
        f"pathlib.Path({str(marker)!r} + '.tmp').write_text(os.environ['AWS_ENDPOINT_URL'])\n"
        f"os.replace({str(marker)!r} + '.tmp', {str(marker)!r})\n"
    )
    log = tmp_path / "server.log"
    if how == "flag":
        proc = ServerProcess(log_file=log, extra_args=["--init-dir", str(hooks)])
    else:
        proc = ServerProcess(log_file=log, env={"OVERCAST_INIT_DIRS": str(hooks)})
    with proc:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), log.read_text()
        assert str(proc.port) in marker.read_text()


def test_cert_names_the_ca_the_server_uses_and_no_tls_turns_https_off(
    env: dict[str, str],
) -> None:
    import ssl
    import urllib.error
    import urllib.request

    with ServerProcess(env=env) as proc:
        ca = overcast("cert", "--ephemeral", "--path", env=env).stdout.strip()
        context = ssl.create_default_context(cafile=ca)
        url = f"https://localhost:{proc.port}/_overcast/health"
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            assert response.status == 200
    with ServerProcess(env=env, extra_args=["--no-tls"]) as proc:
        url = f"https://localhost:{proc.port}/_overcast/health"
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, context=context, timeout=10)
        assert proc.healthy()  # plain HTTP still answers
