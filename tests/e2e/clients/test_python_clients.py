"""Python clients against a live server, each configured exactly as docs/clients.md shows."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from overcast.testing import ServerProcess
from tests.e2e.clients.conftest import documented, on

EXPORTS = (
    "export AWS_ENDPOINT_URL=http://localhost:4566 AWS_ACCESS_KEY_ID=test "
    "AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1"
)
BOTO3 = """python -c "import boto3; print(boto3.client('s3').list_buckets()['Buckets'])\""""

AIOBOTOCORE = """\
import asyncio
import aiobotocore.session

async def main():
    async with aiobotocore.session.get_session().create_client("sqs") as sqs:
        url = (await sqs.create_queue(QueueName="my-async-queue"))["QueueUrl"]
        await sqs.send_message(QueueUrl=url, MessageBody="hello")
        print((await sqs.receive_message(QueueUrl=url))["Messages"][0]["Body"])

asyncio.run(main())
"""

S3FS = """\
import s3fs

fs = s3fs.S3FileSystem(endpoint_url="http://localhost:4566", key="test", secret="test")
fs.mkdir("my-s3fs-bucket")
fs.pipe("my-s3fs-bucket/hello.txt", b"hello from s3fs")
print(fs.cat("my-s3fs-bucket/hello.txt"))
"""

PYARROW = """\
from pyarrow import fs

s3 = fs.S3FileSystem(
    endpoint_override="localhost:4566", scheme="http", region="us-east-1",
    access_key="test", secret_key="test", allow_bucket_creation=True,
)
s3.create_dir("my-arrow-bucket")
with s3.open_output_stream("my-arrow-bucket/hello.txt") as out:
    out.write(b"hello from arrow")
print(s3.open_input_stream("my-arrow-bucket/hello.txt").read())
"""


def shell(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )


def test_boto3_with_only_aws_endpoint_url(server: ServerProcess, aws_env: dict) -> None:
    server.client("s3").create_bucket(Bucket="seen-by-plain-boto3")
    env = {k: v for k, v in aws_env.items() if not k.startswith("AWS_")}
    result = shell(on(server, documented(EXPORTS) + "\n" + documented(BOTO3)), env)
    assert result.returncode == 0, result.stderr
    assert "seen-by-plain-boto3" in result.stdout


def test_aiobotocore(server: ServerProcess, aws_env: dict) -> None:
    result = python(documented(AIOBOTOCORE), aws_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello"


def test_s3fs(server: ServerProcess, aws_env: dict) -> None:
    result = python(on(server, documented(S3FS)), aws_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "b'hello from s3fs'"
    body = server.client("s3").get_object(Bucket="my-s3fs-bucket", Key="hello.txt")["Body"]
    assert body.read() == b"hello from s3fs"


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed")
def test_pyarrow(server: ServerProcess, aws_env: dict) -> None:
    result = python(on(server, documented(PYARROW)), aws_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "b'hello from arrow'"
    body = server.client("s3").get_object(Bucket="my-arrow-bucket", Key="hello.txt")["Body"]
    assert body.read() == b"hello from arrow"


def test_path_style_as_java_go_and_spark_configure_it(server: ServerProcess) -> None:
    """The Java/Go/Spark lines set path-style addressing; botocore's path style is the same wire
    form (http://host:port/bucket/key)."""
    from botocore.config import Config

    s3 = server.client("s3", config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="path-style-bucket")
    s3.put_object(Bucket="path-style-bucket", Key="k", Body=b"v")
    assert s3.get_object(Bucket="path-style-bucket", Key="k")["Body"].read() == b"v"
    documented("forcePathStyle(true)")
    documented("o.UsePathStyle = true")
    documented("fs.s3a.path.style.access=true")
