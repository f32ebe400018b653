"""HTTP and HTTPS on the same port: the local CA, the server certificate's names, per-connection
detection, and ``--no-tls``."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.settings import Settings
from overcast.testing import ServerProcess
from overcast.tls import ca_certificate_path, ensure_certificates


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("tls")
    proc = ServerProcess(root / "data", log_file=root / "overcast.log").start()
    yield proc
    proc.stop()


def _ca(proc: ServerProcess) -> Path:
    assert proc.data_dir is not None
    return ca_certificate_path(Settings(data_dir=proc.data_dir))


def _https_client(proc: ServerProcess, service: str, host: str = "localhost", **kw: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"https://{host}:{proc.port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        verify=str(_ca(proc)),
        **kw,
    )


def test_boto3_over_https_with_the_generated_ca(tls_server: ServerProcess) -> None:
    ca = _ca(tls_server)
    assert ca.exists()
    assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----")
    sqs = _https_client(tls_server, "sqs")
    url = sqs.create_queue(QueueName="over-tls")["QueueUrl"]
    # The request came over TLS: the URL handed back is https on the same host and port.
    assert url == f"https://localhost:{tls_server.port}/000000000000/over-tls"
    sqs.send_message(QueueUrl=url, MessageBody="secret")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "secret"
    sts = _https_client(tls_server, "sts", host="127.0.0.1")
    assert sts.get_caller_identity()["Account"] == "000000000000"


def test_plain_http_still_works_on_the_same_port(tls_server: ServerProcess) -> None:
    sqs = tls_server.client("sqs")
    url = sqs.create_queue(QueueName="over-http")["QueueUrl"]
    assert url.startswith(f"http://127.0.0.1:{tls_server.port}/")
    s3 = _https_client(tls_server, "s3")
    s3.create_bucket(Bucket="tls-bucket")
    s3.put_object(Bucket="tls-bucket", Key="k", Body=b"x" * 100_000)
    body = tls_server.client("s3").get_object(Bucket="tls-bucket", Key="k")["Body"].read()
    assert body == b"x" * 100_000


def test_the_certificate_names_every_routed_host_shape(tls_server: ServerProcess) -> None:
    s3 = _https_client(tls_server, "s3")
    s3.create_bucket(Bucket="named-bucket")
    s3.put_object(Bucket="named-bucket", Key="hello.txt", Body=b"hi")
    context = ssl.create_default_context(cafile=str(_ca(tls_server)))
    for name, path in [
        ("named-bucket.s3.localhost.localstack.cloud", "/hello.txt"),
        ("localhost.localstack.cloud", "/named-bucket/hello.txt"),
        ("s3.localhost.localstack.cloud", "/named-bucket/hello.txt"),
        ("named-bucket.s3.us-east-1.amazonaws.com", "/hello.txt"),
        ("named-bucket.s3.amazonaws.com", "/hello.txt"),
        ("s3.eu-west-1.amazonaws.com", "/named-bucket/hello.txt"),
    ]:
        # Verified against ``name`` (SNI and hostname check) though the socket goes to 127.0.0.1.
        conn = _connection_to(tls_server.port, name, context)
        conn.request("GET", path, headers={"Host": f"{name}:{tls_server.port}"})
        response = conn.getresponse()
        # Anonymous read of a private object: S3 answers AccessDenied, over a verified channel.
        assert response.status == 403, name
        assert response.getheader("x-localstack") == "true"
        conn.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        _connection_to(tls_server.port, "example.com", context).request("GET", "/")


def test_https_and_http_connections_interleave(tls_server: ServerProcess) -> None:
    context = ssl.create_default_context(cafile=str(_ca(tls_server)))
    failures: list[str] = []

    def worker(i: int) -> None:
        try:
            for _ in range(5):
                if i % 2:
                    conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                        "localhost", tls_server.port, context=context, timeout=10
                    )
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", tls_server.port, timeout=10)
                conn.request("GET", "/_localstack/health")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{i}: {response.status}")
                conn.close()
        except Exception as exc:  # reported below
            failures.append(f"{i}: {exc!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_silent_and_broken_connections_do_not_block_others(tls_server: ServerProcess) -> None:
    silent = socket.create_connection(("127.0.0.1", tls_server.port))
    broken = socket.create_connection(("127.0.0.1", tls_server.port))
    broken.sendall(b"\x16\x03\x01\x00\x05garbage")  # a TLS record header, then nonsense
    try:
        sqs = _https_client(tls_server, "sqs", config=Config(retries={"max_attempts": 1}))
        assert sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
        # The failed handshake ends in the server closing the connection (maybe after an alert).
        broken.settimeout(5)
        received = b""
        while chunk := broken.recv(100):
            received += chunk
        assert len(received) < 100
        assert tls_server.healthy()
    finally:
        silent.close()
        broken.close()


def test_no_tls_serves_plain_http_only(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data", extra_args=["--no-tls"]) as proc:
        assert proc.client("sts").get_caller_identity()["Account"] == "000000000000"
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            conn = http.client.HTTPSConnection("127.0.0.1", proc.port, context=context, timeout=5)
            conn.request("GET", "/_localstack/health")
            conn.getresponse()
        # Nothing was generated for a server that does not speak TLS.
        assert not list((tmp_path / "data").glob("tls/server-*.pem"))


def test_certificates_are_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    cert, key, ca = ensure_certificates(settings)
    first = (cert.read_bytes(), ca.read_bytes())
    assert key.stat().st_mode & 0o777 == 0o600
    assert ensure_certificates(settings) == (cert, key, ca)
    assert (cert.read_bytes(), ca.read_bytes()) == first
    # A new external host name re-issues the server certificate from the same CA.
    renamed = Settings(data_dir=tmp_path, external_host="overcast.test:4566")
    cert2, key2, ca2 = ensure_certificates(renamed)
    assert ca2.read_bytes() == first[1]
    assert cert2.read_bytes() != first[0]
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert2, key2)  # the key matches the new certificate
    assert cert2 != cert and cert.exists()  # the first one stays, for servers using it


def test_ephemeral_servers_keep_their_ca_in_a_per_user_temp_folder() -> None:
    path = ca_certificate_path(Settings(data_dir=None))
    assert path.name == "ca.pem"
    assert path.parent.name == "tls"
    assert path.parent.parent.name.startswith("overcast-")


def _connection_to(port: int, name: str, context: ssl.SSLContext) -> http.client.HTTPSConnection:
    """An HTTPS connection to 127.0.0.1:port that verifies the certificate for ``name``."""
    conn = http.client.HTTPSConnection(name, port, context=context, timeout=10)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sock = context.wrap_socket(raw, server_hostname=name)
    return conn


@pytest.mark.parametrize("name", ["hypercorn", "granian"])
def test_other_servers_serve_http_and_say_tls_needs_uvicorn(tmp_path: Path, name: str) -> None:
    log = tmp_path / "overcast.log"
    with ServerProcess(extra_args=["--server", name], log_file=log) as proc:
        assert proc.client("sts").get_caller_identity()["Account"] == "000000000000"
        assert proc.client("sqs").list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "HTTPS on the same port needs --server uvicorn" in log.read_text()


NODE_SCRIPT = """
const https = require("https");
const urls = process.argv.slice(2);
let left = urls.length;
for (const url of urls) {
  https.get(url, (res) => {
    let body = "";
    res.on("data", (c) => (body += c));
    res.on("end", () => {
      console.log(res.statusCode, res.headers["x-localstack"], JSON.parse(body).edition);
      if (--left === 0) process.exit(0);
    });
  }).on("error", (e) => { console.error(e.code || e.message); process.exit(1); });
}
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_trusts_the_ca_through_node_extra_ca_certs(
    tls_server: ServerProcess, tmp_path: Path
) -> None:
    script = tmp_path / "get.js"
    script.write_text(NODE_SCRIPT)
    urls = [f"https://{h}:{tls_server.port}/_localstack/health" for h in ("localhost", "127.0.0.1")]
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(_ca(tls_server))}
    done = subprocess.run(
        ["node", str(script), *urls], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["200 true community"] * 2
    # Without the CA, Node refuses the certificate: the trust really comes from the variable.
    env.pop("NODE_EXTRA_CA_CERTS")
    refused = subprocess.run(
        ["node", str(script), urls[0]], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli_with_aws_ca_bundle(tls_server: ServerProcess) -> None:
    env = {
        **os.environ,
        "AWS_CA_BUNDLE": str(_ca(tls_server)),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    command = [
        "aws",
        "--endpoint-url",
        f"https://localhost:{tls_server.port}",
        "sqs",
        "create-queue",
        "--queue-name",
        "from-cli",
        "--output",
        "json",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["QueueUrl"].startswith(f"https://localhost:{tls_server.port}/")
