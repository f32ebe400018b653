"""Smoke test of the S3 bench (``bench/s3.py``) against the session server, at toy sizes.

It checks that every measurement runs end to end and reports sane shapes; never timing.
"""

from __future__ import annotations

import socket

from bench.s3 import Bench, Connection, MiB, Signer, rows_table
from overcast.testing import ServerProcess


def test_every_measurement_runs(server: ServerProcess) -> None:
    bench = Bench(
        "overcast",
        server.endpoint,
        server_pid=None,
        client_cpus=None,
        duration=0.3,
        processes=1,
        repeat=1,
    )
    bench.create_bucket(bench.bucket)
    rows = bench.small()
    rows += bench.large(size=3 * MiB)
    rows += bench.listing(count=60, page_size=20)
    rows += bench.multipart(size=10 * MiB, part=5 * MiB, inflight=2)
    assert [r.test for r in rows] == [
        "put-1k",
        "get-1k",
        "put-256m",
        "get-256m",
        "list",
        "multipart-512m",
    ]
    assert all(r.value > 0 and r.errors == 0 for r in rows), rows_table(rows)
    assert rows[4].extra["passes"] >= 1
    # The multipart object is complete: 10 MiB, a two-part ETag.
    head = Signer(server.endpoint).head("HEAD", f"/{bench.bucket}/multipart-512m")
    status, headers = _head(Connection(server.endpoint), head)
    assert status == 200
    assert headers["content-length"] == str(10 * MiB)
    assert headers["etag"].endswith('-2"')


def _head(conn: Connection, head: bytes) -> tuple[int, dict[str, str]]:
    """A HEAD has no body whatever its Content-Length: read the status line and headers only
    (``Connection.exchange`` would wait for the body)."""
    sock = socket.create_connection(conn.address, timeout=10)
    try:
        sock.sendall(head)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
    finally:
        sock.close()
    lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers
