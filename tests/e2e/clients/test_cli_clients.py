"""The AWS CLI, awslocal and tflocal against a live server, as docs/clients.md shows them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import get_session

from overcast.testing import ServerProcess
from tests.e2e.clients.conftest import documented, on
from tests.e2e.clients.test_python_clients import EXPORTS

AWS_CLI = """\
aws s3 mb s3://my-bucket
echo hello | aws s3 cp - s3://my-bucket/hello.txt
aws s3 cp s3://my-bucket/hello.txt -
aws sns create-topic --name my-topic"""
# AWS CLI v1 swaps in SQS's legacy host name unless --endpoint-url is on the command line.
AWS_CLI_V1_SQS = "aws --endpoint-url http://localhost:4566 sqs create-queue --queue-name my-queue"
AWSLOCAL_ENDPOINT = (
    "AWS_ENDPOINT_URL=http://localhost:4566 awslocal sqs create-queue --queue-name q1"
)
AWSLOCAL_HOST = "LOCALSTACK_HOST=localhost:4566 awslocal s3 mb s3://my-awslocal-bucket"
TFLOCAL = "AWS_ENDPOINT_URL=http://localhost:4566 S3_HOSTNAME=localhost tflocal apply"


def tool(name: str) -> str:
    path = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(path).exists():
        pytest.skip(f"{name} is not installed (pip install '.[test]')")
    return path


def shell(
    script: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=180, cwd=cwd
    )


def test_aws_cli_with_aws_endpoint_url(server: ServerProcess, aws_env: dict) -> None:
    tool("aws")
    env = {k: v for k, v in aws_env.items() if not k.startswith("AWS_")}
    script = on(server, documented(EXPORTS) + "\nset -e\n" + documented(AWS_CLI))
    result = shell(script, env)
    assert result.returncode == 0, result.stderr
    assert "hello" in result.stdout
    assert json.loads(result.stdout[result.stdout.index("{") :])["TopicArn"].endswith(":my-topic")
    result = shell(on(server, documented(EXPORTS) + "\n" + documented(AWS_CLI_V1_SQS)), env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["QueueUrl"].endswith("/my-queue")


def test_awslocal_with_aws_endpoint_url_and_localstack_host(
    server: ServerProcess, aws_env: dict
) -> None:
    tool("awslocal")
    env = {k: v for k, v in aws_env.items() if k != "AWS_ENDPOINT_URL"}
    result = shell(on(server, documented(AWSLOCAL_ENDPOINT)), env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["QueueUrl"].endswith("/q1")
    result = shell(on(server, documented(AWSLOCAL_HOST)), env)
    assert result.returncode == 0, result.stderr
    server.client("s3").head_bucket(Bucket="my-awslocal-bucket")


# ---------------------------------------------------------------------------------------------
# tflocal: its providers would come from a registry, so tflocal writes its provider override
# file in dry-run mode and each endpoint in it is checked against the server (real terraform runs
# in tests/e2e/terraform/test_s3_terraform_apply.py where a provider mirror is installed).

MAIN_TF = """\
provider "aws" {
  region = "us-east-1"
}

resource "aws_s3_bucket" "b" {
  bucket = "tf-bucket"
}
"""
# Terraform endpoint names that are not botocore service names with the dashes removed.
TF_NAMES = {
    "appautoscaling": "application-autoscaling",
    "cloudwatchlogs": "logs",
    "configservice": "config",
    "costexplorer": "ce",
    "deploy": "codedeploy",
    "elasticsearch": "es",
    "prometheusservice": "amp",
    "sfn": "stepfunctions",
}
# Services AWS retired: botocore no longer has their models, so nothing can call them.
RETIRED = {"elastictranscoder", "iotanalytics", "qldb"}
NATIVE_CALLS = {
    "s3": "list_buckets",
    "sqs": "list_queues",
    "sns": "list_topics",
    "dynamodb": "list_tables",
    "ec2": "describe_regions",
    "cloudwatch": "list_dashboards",
    "lambda": "get_account_settings",
    "iam": "list_users",
}


def tflocal_override(server: ServerProcess, aws_env: dict, folder: Path) -> str:
    tool("tflocal")
    (folder / "main.tf").write_text(MAIN_TF)
    fake = folder / "terraform"  # answers `terraform version -json`, all tflocal asks in dry run
    fake.write_text('#!/bin/sh\necho \'{"terraform_version": "1.9.8"}\'\n')
    fake.chmod(0o755)
    env = {k: v for k, v in aws_env.items() if k != "AWS_ENDPOINT_URL"}
    env |= {"DRY_RUN": "1", "TF_CMD": str(fake)}
    result = shell(on(server, documented(TFLOCAL)), env, cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return (folder / "localstack_providers_override.tf").read_text()


def signed_probe(
    url: str, signing_name: str, port: int, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """A SigV4-signed POST for ``signing_name`` to ``url``'s host, sent to the server's port."""
    request = AWSRequest(method="POST", url=url.rstrip("/") + "/", data=b"", headers=headers)
    SigV4Auth(Credentials("test", "test"), signing_name, "us-east-1").add_auth(request)
    host_port = re.sub(r"^https?://", "", url).rstrip("/")
    assert host_port.endswith(f":{port}"), f"{url} is not the server's port"
    raw = urllib.request.Request(
        f"http://127.0.0.1:{port}/", data=b"", method="POST", headers=dict(request.headers)
    )
    try:
        with urllib.request.urlopen(raw, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_tflocal_provider_override_points_every_endpoint_at_the_server(
    server: ServerProcess, aws_env: dict, tmp_path: Path
) -> None:
    text = tflocal_override(server, aws_env, tmp_path)
    assert "s3_use_path_style = true" in text
    assert re.search(r'access_key\s*=\s*"test"', text)
    endpoints = dict(re.findall(r'^\s+(\w+) = "([^"]+)"$', text, flags=re.MULTILINE))
    assert len(endpoints) > 100 and "s3" in endpoints and "sqs" in endpoints

    session = get_session()
    available = {name.replace("-", ""): name for name in session.get_available_services()}
    checked = 0
    for key, url in sorted(endpoints.items()):
        service = TF_NAMES.get(key) or available.get(key)
        if service is None:
            assert key in RETIRED, f"unknown Terraform endpoint name {key}"
            continue
        model = session.get_service_model(service)
        signing = model.metadata.get("signingName") or model.endpoint_prefix
        # S3 Control requests name their account (the header tells them from S3's)
        extra = {"x-amz-account-id": "000000000000"} if service == "s3control" else {}
        status, headers, body = signed_probe(url, signing, server.port, extra)
        assert status < 500, f"{key}: {status} {body[:200]!r}"
        # an answer of Overcast's (EC2 carries its request id in the body, the others in a header)
        answered = {"x-amzn-requestid", "x-amz-request-id"} & {h.lower() for h in headers}
        assert answered or b"<RequestID>" in body, (key, status, body[:200])
        message = re.search(rb"No operation of service ([\w-]+)", body)
        if message:  # routed to a service that has no operation for an empty POST: the right one
            assert message.group(1).decode() in (service, model.endpoint_prefix), (key, body)
        checked += 1
    assert checked == len(endpoints) - len(RETIRED & endpoints.keys())

    # the services Overcast implements answer real calls at the endpoints tflocal wrote
    for key, call in NATIVE_CALLS.items():
        real = boto3.client(
            key,
            endpoint_url=endpoints[key],
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        getattr(real, call)()


# ---------------------------------------------------------------------------------------------
# rclone (Debian's package; .ci/run installs it)

RCLONE = """\
rclone config create overcast s3 provider=Other endpoint=http://localhost:4566 \\
  access_key_id=test secret_access_key=test force_path_style=true
rclone lsd overcast:"""


def test_rclone(server: ServerProcess, aws_env: dict, tmp_path: Path) -> None:
    if shutil.which("rclone") is None:
        pytest.skip("rclone is not installed (apt-get install rclone)")
    server.client("s3").create_bucket(Bucket="listed-by-rclone")
    env = {k: v for k, v in aws_env.items() if not k.startswith("AWS_")}
    env["RCLONE_CONFIG"] = str(tmp_path / "rclone.conf")
    result = shell(on(server, documented(RCLONE)), env)
    assert result.returncode == 0, result.stderr
    assert "listed-by-rclone" in result.stdout
    copy = shell(
        "echo hello from rclone | rclone rcat overcast:listed-by-rclone/hello.txt && "
        "rclone cat overcast:listed-by-rclone/hello.txt",
        env,
    )
    assert copy.returncode == 0, copy.stderr
    assert copy.stdout.strip() == "hello from rclone"
