"""aws-sdk-js v3 (from npm) against a live server: a Node script using S3 and SQS."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from overcast.testing import ServerProcess
from tests.e2e.clients.conftest import documented

SCRIPT = Path(__file__).with_name("sdk_v3.cjs")
PACKAGES = ("@aws-sdk/client-s3@3", "@aws-sdk/client-sqs@3")
JS_CONFIG = 'new S3Client({ endpoint: "http://localhost:4566", region: "us-east-1",'


def node_cache() -> Path:
    """Where .ci/run (or this test, the first time) installs the SDK: outside the work tree."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "overcast-tests" / "node"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed")
    cache = node_cache()
    modules = cache / "node_modules"
    if not all((modules / "@aws-sdk" / name).is_dir() for name in ("client-s3", "client-sqs")):
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache), *PACKAGES],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return modules


def test_sdk_v3_s3_and_sqs(server: ServerProcess, aws_env: dict, node_modules: Path) -> None:
    documented(JS_CONFIG)
    documented("forcePathStyle: true")
    env = {**aws_env, "NODE_PATH": str(node_modules), "AWS_REGION": "us-east-1"}
    result = subprocess.run(
        ["node", str(SCRIPT), server.endpoint, "node-sdk-v3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["body"] == "hello from node"
    assert out["queueUrl"].endswith("/000000000000/node-sdk-v3")
    assert out["messages"] == ["ping from node"]
    stored = server.client("s3").get_object(Bucket="node-sdk-v3", Key="hello.txt")
    assert stored["Body"].read() == b"hello from node"
