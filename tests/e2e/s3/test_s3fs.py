"""s3fs (fsspec over aiobotocore) against Overcast's S3: the file-system view data tools use
(pandas, dask, xarray...): ls, put/get, open for write and read, glob, rm.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.testing import ServerProcess

s3fs = pytest.importorskip("s3fs")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def fs(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # The region from the environment: with region_name in client_kwargs, s3fs's mkdir sends it
    # as the LocationConstraint, which S3 refuses for us-east-1.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # skip_instance_cache: every test gets its own client (s3fs caches instances by arguments).
    filesystem = s3fs.S3FileSystem(
        key="test",
        secret="test",
        client_kwargs={"endpoint_url": server.endpoint},
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    yield filesystem


@pytest.fixture
def bucket(fs: Any) -> str:
    name = unique("fsspec")
    fs.mkdir(name)
    return name


def test_put_ls_get_rm(fs: Any, bucket: str, tmp_path: Path) -> None:
    local = tmp_path / "local.txt"
    local.write_text("from fsspec")
    fs.put(str(local), f"{bucket}/a/local.txt")
    fs.pipe(f"{bucket}/a/b/c.bin", b"\x00\x01\x02")
    fs.pipe(f"{bucket}/top.txt", b"top")
    assert sorted(fs.ls(bucket, detail=False)) == [f"{bucket}/a", f"{bucket}/top.txt"]
    entries = {e["name"]: e for e in fs.ls(f"{bucket}/a", detail=True)}
    assert entries[f"{bucket}/a/local.txt"]["size"] == 11
    assert entries[f"{bucket}/a/local.txt"]["type"] == "file"
    assert entries[f"{bucket}/a/b"]["type"] == "directory"
    assert fs.exists(f"{bucket}/a/b/c.bin")
    assert not fs.exists(f"{bucket}/a/nope")
    assert fs.isdir(f"{bucket}/a/b")
    assert fs.cat(f"{bucket}/a/b/c.bin") == b"\x00\x01\x02"
    assert fs.info(f"{bucket}/top.txt")["size"] == 3
    back = tmp_path / "back.txt"
    fs.get(f"{bucket}/a/local.txt", str(back))
    assert back.read_text() == "from fsspec"
    assert sorted(fs.find(bucket)) == [
        f"{bucket}/a/b/c.bin",
        f"{bucket}/a/local.txt",
        f"{bucket}/top.txt",
    ]
    fs.rm(f"{bucket}/top.txt")
    assert not fs.exists(f"{bucket}/top.txt")
    fs.rm(f"{bucket}/a", recursive=True)
    assert fs.find(bucket) == []
    fs.rmdir(bucket)
    assert not fs.exists(bucket)


def test_open_write_and_read(fs: Any, bucket: str) -> None:
    path = f"{bucket}/data/lines.txt"
    with fs.open(path, "w") as f:
        for i in range(1000):
            f.write(f"line {i}\n")
    with fs.open(path, "r") as f:
        lines = f.read().splitlines()
    assert lines[0] == "line 0" and lines[-1] == "line 999" and len(lines) == 1000
    # Seeks become ranged GETs.
    with fs.open(path, "rb") as f:
        f.seek(7)
        assert f.read(6) == b"line 1"
    assert fs.cat_file(path, start=0, end=6) == b"line 0"


def test_large_write_goes_multipart(fs: Any, bucket: str) -> None:
    """s3fs switches to a multipart upload once its write buffer (block_size) fills."""
    path = f"{bucket}/big.bin"
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with fs.open(path, "wb", block_size=5 * 2**20) as f:
        for _ in range(12):
            f.write(chunk)
    assert fs.info(path)["size"] == 12 * 2**20
    with fs.open(path, "rb") as f:
        f.seek(11 * 2**20)
        assert f.read() == chunk
    etag = fs.info(path)["ETag"]
    assert etag.strip('"').endswith("-3")  # three parts: 5 + 5 + 2 MiB


def test_glob(fs: Any, bucket: str) -> None:
    for name in ("2024/a.csv", "2024/b.csv", "2024/c.json", "2025/d.csv", "2025/x/e.csv"):
        fs.pipe(f"{bucket}/{name}", b"1,2\n")
    assert sorted(fs.glob(f"{bucket}/2024/*.csv")) == [
        f"{bucket}/2024/a.csv",
        f"{bucket}/2024/b.csv",
    ]
    assert sorted(fs.glob(f"{bucket}/*/*.csv")) == [
        f"{bucket}/2024/a.csv",
        f"{bucket}/2024/b.csv",
        f"{bucket}/2025/d.csv",
    ]
    assert len(fs.glob(f"{bucket}/**/*.csv")) == 4
    assert fs.du(bucket) == 5 * 4
    fs.rm(fs.glob(f"{bucket}/2024/*"))
    assert sorted(fs.find(bucket)) == [f"{bucket}/2025/d.csv", f"{bucket}/2025/x/e.csv"]
