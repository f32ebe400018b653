"""Benchmark of the state layer's write paths (not a test).

Reports writes/s for: ``write`` inline on the event-loop thread, ``awrite`` awaited one at a
time (a thread hop per write), ``awrite`` with many writes in flight (group commit), and one
transaction inserting many rows (``executemany``), plus the blob ``put_bytes`` rate. Each write
inserts one small row, like a mutating request's metadata update.

    python bench/state_bench.py [--n 20000] [--synchronous NORMAL|FULL] [--ephemeral]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from overcast.state import Store

SCHEMA = ["CREATE TABLE bench (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)"]


def row(i: int) -> Callable[[sqlite3.Connection], object]:
    return lambda c: c.execute("INSERT INTO bench (k, v) VALUES (?, ?)", (f"key-{i}", "x" * 100))


def report(name: str, n: int, seconds: float) -> None:
    print(f"{name:<34} {n / seconds:>12,.0f} /s   {seconds / n * 1e6:>8.1f} µs each")


def bench_sync(store: Store, n: int) -> None:
    start = time.perf_counter()
    for i in range(n):
        store.write(row(i))
    report("write() inline, 1 row/txn", n, time.perf_counter() - start)


async def bench_async_serial(store: Store, n: int) -> None:
    start = time.perf_counter()
    for i in range(n):
        await store.awrite(row(i))
    report("awrite() serial, 1 row/txn", n, time.perf_counter() - start)


async def bench_async_concurrent(store: Store, n: int, in_flight: int) -> None:
    start = time.perf_counter()
    for base in range(0, n, in_flight):
        await asyncio.gather(*(store.awrite(row(base + i)) for i in range(in_flight)))
    report(f"awrite() x{in_flight} in flight (group)", n, time.perf_counter() - start)


def bench_batched(store: Store, n: int, batch: int) -> None:
    start = time.perf_counter()
    for base in range(0, n, batch):
        rows = [(f"key-{base + i}", "x" * 100) for i in range(batch)]
        store.write(
            lambda c, rows=rows: c.executemany("INSERT INTO bench (k, v) VALUES (?, ?)", rows)
        )
    report(f"write() {batch} rows/txn (rows/s)", n, time.perf_counter() - start)


def bench_reads(store: Store, n: int) -> None:
    start = time.perf_counter()
    for i in range(n):
        store.read(
            lambda c, i=i: c.execute("SELECT v FROM bench WHERE id = ?", (i + 1,)).fetchone()
        )
    report("read() inline, point lookup", n, time.perf_counter() - start)


def bench_blobs(store: Store, n: int) -> None:
    data = b"b" * 4096
    start = time.perf_counter()
    for _ in range(n):
        blob = store.blobs.put_bytes(data)
        store.write(lambda c, blob=blob: store.blobs.link(c, blob))
    report("blob put_bytes 4 KiB + link", n, time.perf_counter() - start)


async def main_async(store: Store, n: int) -> None:
    await bench_async_serial(store, n // 4)
    await bench_async_concurrent(store, n, 64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--synchronous", default="NORMAL")
    parser.add_argument("--ephemeral", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = None if args.ephemeral else Path(tmp)
        store = Store.open(data_dir, synchronous=args.synchronous)
        store.migrate("bench", SCHEMA)
        where = "ephemeral" if args.ephemeral else f"disk, synchronous={store.synchronous}"
        print(f"state layer, {where}, n={args.n}")
        bench_sync(store, args.n)
        asyncio.run(main_async(store, args.n))
        bench_batched(store, args.n * 5, 100)
        bench_reads(store, args.n)
        bench_blobs(store, max(1, args.n // 20))
        store.close()


if __name__ == "__main__":
    main()
