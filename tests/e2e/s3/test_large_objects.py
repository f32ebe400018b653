"""Large bodies stream: the server's memory stays bounded, and S3's size limits hold.

The RSS test moves 2 GiB each way through a dedicated on-disk server and reads the server's
resident memory from /proc while it does; it is marked slow.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from overcast.testing import ServerProcess

GiB = 1024**3
MiB = 1024**2


class PatternFile(io.RawIOBase):
    """A readable file of ``size`` bytes generated on the fly (nothing held in memory)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pos = 0
        self.block = hashlib.sha256(b"overcast").digest() * (MiB // 32)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.size - self.pos, MiB)
        if n <= 0:
            return 0
        start = self.pos % MiB
        chunk = (self.block[start:] + self.block[:start])[:n]
        buffer[:n] = chunk
        self.pos += n
        return n


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def announce_oversized(server: ServerProcess, path: str) -> tuple[int, bytes]:
    """PUT ``path`` announcing 5 GiB + 1 byte and sending nothing: S3 refuses on the header
    alone. The signature does not matter, the size check comes first."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("PUT", path)
    conn.putheader("Content-Length", str(5 * GiB + 1))
    conn.putheader(
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0000",
    )
    conn.putheader("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def test_put_over_5_gib_is_entity_too_large(server: ServerProcess, client: Any) -> None:
    bucket = f"big-{uuid.uuid4().hex[:12]}"
    client("s3").create_bucket(Bucket=bucket)
    status, body = announce_oversized(server, f"/{bucket}/too-big")
    assert status == 400
    assert b"<Code>EntityTooLarge</Code>" in body
    assert b"<MaxSizeAllowed>5368709120</MaxSizeAllowed>" in body


def assert_round_trip_keeps_memory_bounded(tmp_path: Path, size: int) -> None:
    """PUT then GET ``size`` bytes through a dedicated on-disk server: the bytes come back
    intact and the server's RSS grows by less than 100 MiB."""
    with ServerProcess(tmp_path / "data", log_file=tmp_path / "log") as srv:
        s3 = srv.client("s3")
        s3.create_bucket(Bucket="big")
        assert srv.process is not None
        pid = srv.process.pid
        baseline = rss_mib(pid)
        with PeakRss(pid) as peak:
            s3.put_object(Bucket="big", Key="blob", Body=PatternFile(size), ContentLength=size)
            body = s3.get_object(Bucket="big", Key="blob")["Body"]
            received = 0
            digest = hashlib.md5()
            for chunk in body.iter_chunks(8 * MiB):
                received += len(chunk)
                digest.update(chunk)
        assert received == size
        expected = hashlib.md5()
        source = PatternFile(size)
        while chunk := source.read(8 * MiB):
            expected.update(chunk)
        assert digest.hexdigest() == expected.hexdigest()
        growth = peak.peak - baseline
        assert growth < 100, f"server RSS grew by {growth:.0f} MiB moving {size} bytes each way"


@pytest.mark.slow
def test_two_gib_each_way_keeps_server_memory_bounded(tmp_path: Path) -> None:
    assert_round_trip_keeps_memory_bounded(tmp_path, 2 * GiB)
