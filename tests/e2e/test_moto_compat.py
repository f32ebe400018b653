"""moto compatibility: /moto-api/reset and reset-auth, --moto-compat (default account
123456789012, the x-moto-account-id header) and extra listeners sharing one cloud."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from overcast.settings import Settings
from overcast.testing import ServerProcess, free_port
from overcast.tls import ca_certificate_path


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, int]]:
    root = tmp_path_factory.mktemp("moto")
    extra = free_port()
    proc = ServerProcess(
        extra_args=["--moto-compat", "--listen", f"127.0.0.1:{extra}"],
        log_file=root / "overcast.log",
    ).start()
    yield proc, extra
    proc.stop()


def _client(endpoint: str, service: str, account: str | None = None) -> Any:
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    if account:

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.*.*", add_header)
    return client


def _post(endpoint: str, path: str, data: bytes = b"", method: str = "POST") -> tuple[int, Any]:
    request = urllib.request.Request(endpoint + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_default_account_is_motos(moto: tuple[ServerProcess, int]) -> None:
    proc, _ = moto
    identity = _client(proc.endpoint, "sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"
    url = _client(proc.endpoint, "sqs").create_queue(QueueName="moto-default")["QueueUrl"]
    assert url.endswith("/123456789012/moto-default")


def test_account_header_chooses_the_account(moto: tuple[ServerProcess, int]) -> None:
    proc, _ = moto
    other = _client(proc.endpoint, "sts", account="111122223333").get_caller_identity()
    assert other["Account"] == "111122223333"
    sqs_a = _client(proc.endpoint, "sqs", account="111122223333")
    sqs_b = _client(proc.endpoint, "sqs", account="444455556666")
    url = sqs_a.create_queue(QueueName="per-account")["QueueUrl"]
    assert "/111122223333/per-account" in url
    assert sqs_b.list_queues(QueueNamePrefix="per-account").get("QueueUrls", []) == []
    assert sqs_a.list_queues(QueueNamePrefix="per-account")["QueueUrls"] == [url]
    s3_a = _client(proc.endpoint, "s3", account="111122223333")
    s3_a.create_bucket(Bucket="moto-account-bucket")
    owner = s3_a.list_buckets()["Buckets"]
    assert "moto-account-bucket" in [b["Name"] for b in owner]
    # A header that is not an account id is ignored: moto's default account.
    bad = _client(proc.endpoint, "sts", account="not-an-account").get_caller_identity()
    assert bad["Account"] == "123456789012"


def test_extra_listener_serves_the_same_cloud(moto: tuple[ServerProcess, int]) -> None:
    proc, extra = moto
    other = f"http://127.0.0.1:{extra}"
    _client(proc.endpoint, "s3").create_bucket(Bucket="shared-bucket")
    _client(other, "s3").put_object(Bucket="shared-bucket", Key="k", Body=b"from 5000")
    body = _client(proc.endpoint, "s3").get_object(Bucket="shared-bucket", Key="k")["Body"]
    assert body.read() == b"from 5000"
    with urllib.request.urlopen(other + "/_localstack/health", timeout=5) as response:
        assert response.headers["x-localstack"] == "true"
    # The extra listener detects TLS too (an ephemeral server's CA is in the per-user folder).
    context = ssl.create_default_context(cafile=str(ca_certificate_path(Settings(data_dir=None))))
    secure = f"https://127.0.0.1:{extra}/_localstack/health"
    with urllib.request.urlopen(secure, timeout=5, context=context) as response:
        assert json.loads(response.read())["services"]["s3"] == "running"


def test_reset_and_reset_auth(moto: tuple[ServerProcess, int]) -> None:
    proc, extra = moto
    sqs = _client(proc.endpoint, "sqs")
    sqs.create_queue(QueueName="wiped-by-reset")
    assert _post(f"http://127.0.0.1:{extra}", "/moto-api/reset") == (200, {"status": "ok"})
    assert sqs.list_queues(QueueNamePrefix="wiped-by-reset").get("QueueUrls", []) == []
    assert _post(proc.endpoint, "/moto-api/reset", method="GET") == (
        400,
        {"Error": "Need to POST to reset Moto"},
    )
    assert _post(proc.endpoint, "/moto-api/reset-auth", b"4") == (
        200,
        {"status": "ok", "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": "inf"},
    )
    assert _post(proc.endpoint, "/moto-api/reset-auth", b"inf") == (
        200,
        {"status": "ok", "PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": "4.0"},
    )
    assert _post(proc.endpoint, "/moto-api/reset-auth", b"lots")[0] == 400
    seed = urllib.request.Request(proc.endpoint + "/moto-api/seed?a=42", data=b"", method="POST")
    with urllib.request.urlopen(seed, timeout=10) as response:
        assert (response.status, response.read()) == (200, b"")


def test_without_moto_compat_the_header_is_ignored(server: ServerProcess) -> None:
    sts = _client(server.endpoint, "sts", account="111122223333")
    assert sts.get_caller_identity()["Account"] == "000000000000"


def test_verified_keys_keep_their_account(tmp_path: Path) -> None:
    args = ["--moto-compat", "--credentials", "AKIDVERIFIED:secret:210987654321"]
    with ServerProcess(extra_args=args, log_file=tmp_path / "overcast.log") as proc:
        sts = boto3.client(
            "sts",
            endpoint_url=proc.endpoint,
            region_name="us-east-1",
            aws_access_key_id="AKIDVERIFIED",
            aws_secret_access_key="secret",
        )

        def add_header(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = "111122223333"

        sts.meta.events.register("before-sign.*.*", add_header)
        assert sts.get_caller_identity()["Account"] == "210987654321"
