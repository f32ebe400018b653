"""kill -9 durability: every write acknowledged before SIGKILL is found after reopening."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from overcast.state import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from overcast.state import Store

    mode, data_dir = sys.argv[1], sys.argv[2]
    store = Store.open(data_dir)
    store.migrate("crash", ["CREATE TABLE acked (n INTEGER PRIMARY KEY, blob_id TEXT)"])

    def body(n):
        # Every third body is over INLINE_BYTES (a file); the rest live in the registry row.
        return (b"%d;" % n) * (1 + n % 5000 + (8000 if n % 3 == 0 else 0))

    def row(n, blob_id=None):
        return lambda c: c.execute("INSERT INTO acked (n, blob_id) VALUES (?, ?)", (n, blob_id))

    async def run_async():
        n = 0
        while True:
            batch = [store.awrite(row(n + i)) for i in range(8)]
            await asyncio.gather(*batch)
            for i in range(8):
                print(n + i, flush=True)
            n += 8

    if mode == "async":
        asyncio.run(run_async())
    n = 0
    while True:
        if mode == "sync":
            store.write(row(n))
        else:
            blob = store.blobs.put_bytes(body(n))
            def commit(c, n=n, blob=blob):
                store.blobs.link(c, blob)
                row(n, blob.id)(c)
            store.write(commit)
        print(n, flush=True)  # acknowledged: the write returned
        n += 1
    """
)


def run_and_kill(mode: str, data_dir: Path, acks: int) -> list[int]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, mode, str(data_dir)],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    seen: list[int] = []
    for line in proc.stdout:
        seen.append(int(line))
        if len(seen) >= acks:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    # Anything printed before the kill was acknowledged too.
    seen += [int(line) for line in proc.stdout.read().split()]
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "the writer did not run until killed"
    return seen


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_acknowledged_rows_survive_sigkill(tmp_path: Path, mode: str) -> None:
    acked = run_and_kill(mode, tmp_path, acks=2000)
    with Store.open(tmp_path) as store:
        stored = store.read(lambda c: {r[0] for r in c.execute("SELECT n FROM acked")})
    assert set(acked) <= stored


def test_acknowledged_blobs_survive_sigkill(tmp_path: Path) -> None:
    acked = run_and_kill("blob", tmp_path, acks=200)
    with Store.open(tmp_path) as store:
        rows = store.read(lambda c: dict(c.execute("SELECT n, blob_id FROM acked").fetchall()))
        assert set(acked) <= set(rows)
        for n, blob_id in rows.items():  # every committed row has its whole blob
            with store.blobs.open(blob_id) as f:
                assert f.read() == (b"%d;" % n) * (1 + n % 5000 + (8000 if n % 3 == 0 else 0))
        registered = store.read(
            lambda c: c.execute(
                "SELECT COUNT(*) FROM _overcast_blobs WHERE data IS NULL"
            ).fetchone()[0]
        )
        files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
        assert len(files) == registered  # file-backed blobs: no orphans left
        assert 0 < registered < len(rows)  # both kinds were written
