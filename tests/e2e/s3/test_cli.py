"""The AWS CLI (v1, ``aws``) against Overcast's S3: the high-level ``aws s3`` commands (which
drive ListObjectsV2, multipart uploads and ranged parallel downloads) and ``aws s3api``.

The CLI runs as a subprocess with ``AWS_ENDPOINT_URL`` pointing at the server and no user
configuration files, as a developer's shell would.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from overcast.testing import ServerProcess


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def aws(server: ServerProcess, tmp_path: Path) -> Any:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "aws-config"),  # absent unless a test writes it
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["aws", *args], env=env, capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise AssertionError(
                f"aws {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    return run


def tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_mb_ls_cp_rm_rb(aws: Any, tmp_path: Path) -> None:
    bucket = unique("cli")
    assert f"make_bucket: {bucket}" in aws("s3", "mb", f"s3://{bucket}").stdout
    assert bucket in aws("s3", "ls").stdout
    local = tmp_path / "hello.txt"
    local.write_text("hello from the CLI\n")
    aws("s3", "cp", str(local), f"s3://{bucket}/dir/hello.txt")
    listing = aws("s3", "ls", f"s3://{bucket}/").stdout
    assert "PRE dir/" in listing
    listing = aws("s3", "ls", f"s3://{bucket}/dir/").stdout
    assert "hello.txt" in listing and " 19 " in listing
    back = tmp_path / "back.txt"
    aws("s3", "cp", f"s3://{bucket}/dir/hello.txt", str(back))
    assert back.read_text() == "hello from the CLI\n"
    # To stdout and from stdin.
    assert aws("s3", "cp", f"s3://{bucket}/dir/hello.txt", "-").stdout == "hello from the CLI\n"
    # rb refuses a bucket with objects.
    refused = aws("s3", "rb", f"s3://{bucket}", check=False)
    assert refused.returncode != 0 and "BucketNotEmpty" in refused.stderr
    aws("s3", "rm", f"s3://{bucket}/dir/hello.txt")
    assert aws("s3", "ls", f"s3://{bucket}/").stdout == ""
    assert f"remove_bucket: {bucket}" in aws("s3", "rb", f"s3://{bucket}").stdout
    assert bucket not in aws("s3", "ls").stdout


def test_sync_a_tree_up_and_down(aws: Any, tmp_path: Path) -> None:
    bucket = unique("cli-sync")
    aws("s3", "mb", f"s3://{bucket}")
    source = tmp_path / "source"
    for i in range(24):
        path = source / f"d{i % 3}" / f"sub{i % 2}" / f"file-{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"file {i}\n".encode() * (i + 1))
    (source / "top.bin").write_bytes(os.urandom(70_000))
    (source / "with space & plus+.txt").write_text("odd name")
    aws("s3", "sync", str(source), f"s3://{bucket}/site")
    listed = aws("s3", "ls", "--recursive", f"s3://{bucket}/").stdout.splitlines()
    assert len(listed) == 26
    # A second sync has nothing to do.
    assert aws("s3", "sync", str(source), f"s3://{bucket}/site").stdout.strip() == ""
    down = tmp_path / "down"
    aws("s3", "sync", f"s3://{bucket}/site", str(down))
    assert tree_files(down) == tree_files(source)
    # A changed file is sent again; --delete removes what is gone locally.
    (source / "d0" / "sub0" / "file-0.txt").write_text("changed, and longer than before")
    (source / "top.bin").unlink()
    out = aws("s3", "sync", "--delete", str(source), f"s3://{bucket}/site").stdout
    assert "upload:" in out and "delete:" in out
    aws("s3", "sync", "--delete", f"s3://{bucket}/site", str(down))
    assert tree_files(down) == tree_files(source)
    out = aws("s3", "rm", "--recursive", f"s3://{bucket}/").stdout
    assert out.count("delete:") == 25
    assert aws("s3", "ls", "--recursive", f"s3://{bucket}/").stdout == ""
    aws("s3", "rb", f"s3://{bucket}")


def test_s3api_put_head_get(aws: Any, tmp_path: Path) -> None:
    bucket = unique("cli-api")
    aws("s3api", "create-bucket", "--bucket", bucket)
    body = tmp_path / "body.json"
    content = b'{"a": 1}'
    body.write_bytes(content)
    put = json.loads(
        aws(
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            "data/a.json",
            "--body",
            str(body),
            "--content-type",
            "application/json",
            "--metadata",
            "origin=cli",
        ).stdout
    )
    assert put["ETag"] == f'"{hashlib.md5(content).hexdigest()}"'
    head = json.loads(
        aws("s3api", "head-object", "--bucket", bucket, "--key", "data/a.json").stdout
    )
    assert head["ContentLength"] == 8
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"origin": "cli"}
    assert head["ETag"] == put["ETag"]
    out = tmp_path / "out.json"
    got = json.loads(
        aws("s3api", "get-object", "--bucket", bucket, "--key", "data/a.json", str(out)).stdout
    )
    assert got["ContentLength"] == 8
    assert out.read_bytes() == content
    missing = aws("s3api", "head-object", "--bucket", bucket, "--key", "nope", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr
    listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket).stdout)
    assert [o["Key"] for o in listed["Contents"]] == ["data/a.json"]


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_presign(aws: Any, tmp_path: Path, version: str) -> None:
    """awscli v1 presigns with SigV2 query auth unless configured for s3v4."""
    if version == "s3v4":
        (tmp_path / "aws-config").write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    bucket = unique("cli-presign")
    aws("s3", "mb", f"s3://{bucket}")
    local = tmp_path / "p.txt"
    local.write_bytes(b"presigned content")
    aws("s3", "cp", str(local), f"s3://{bucket}/p.txt")
    url = aws("s3", "presign", f"s3://{bucket}/p.txt", "--expires-in", "300").stdout.strip()
    assert ("X-Amz-Signature=" in url) == (version == "s3v4")
    answer = requests.get(url, timeout=10)
    assert (answer.status_code, answer.content) == (200, b"presigned content")
    # Anybody with the URL may read; without the query it is anonymous, and refused.
    plain = requests.get(url.split("?", 1)[0], timeout=10)
    assert plain.status_code == 403


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_large_file_multipart_up_and_down(aws: Any, tmp_path: Path) -> None:
    """100 MiB: the CLI uploads it in 8 MiB parts, concurrently, and downloads it in ranges."""
    bucket = unique("cli-big")
    aws("s3", "mb", f"s3://{bucket}")
    big = tmp_path / "big.bin"
    with big.open("wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    aws("s3", "cp", str(big), f"s3://{bucket}/big.bin")
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "big.bin").stdout)
    assert head["ContentLength"] == 100 << 20
    assert head["ETag"].endswith('-13"')  # 13 parts of 8 MiB: a multipart ETag
    back = tmp_path / "back.bin"
    aws("s3", "cp", f"s3://{bucket}/big.bin", str(back))
    assert back.stat().st_size == 100 << 20
    assert sha256_of(back) == sha256_of(big)
    aws("s3", "rm", f"s3://{bucket}/big.bin")
    aws("s3", "rb", f"s3://{bucket}")
