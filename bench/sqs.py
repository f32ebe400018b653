"""SQS throughput: SendMessage, SendMessageBatch and receive+delete, at depth 0 and at depth.

``python -m bench sqs`` (the suite) starts Overcast (durable, on a fresh data dir) and moto
server, each pinned to core 0 with the load on the other core(s), and measures on each:

* ``send``: SendMessage at 16 keep-alive connections, every request freshly signed
  (``bench.rate``), messages per second and per server CPU-second;
* ``batch``: SendMessageBatch of 10 (messages per second = requests x 10);
* ``drain``: ReceiveMessage(10) + DeleteMessageBatch loops in 16 botocore clients (a chain: the
  delete needs the receive's handles), messages deleted per second.

First on a new queue ("depth 0"; drain takes what the sends left), then again after ``fill``
has grown the queue to ``--depth`` messages (Overcast only by default: moto keeps messages in a
list scanned per call, ``--moto-depth`` to try). ``--endpoint URL`` measures a running server.

The pieces run alone too::

    python -m bench sqs fill --queue-url URL --depth 1000000
    python -m bench sqs drain --queue-url URL --processes 2 --threads 8 --duration 8
    python -m bench rate --endpoint URL --op sqs.SendMessage --params '{"QueueUrl": ...}'

``fill`` replays one signed SendMessageBatch (10 x 100 bytes) on 16 connections, so building a
million messages takes about a minute instead of the SDK's ten.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.procs import client_and_server_cpus, cpu_seconds, each_target
from bench.rate import run_rate
from bench.report import best_of, save_json, table
from bench.signing import make_client, sign_request

BATCH = [{"Id": str(i), "MessageBody": "x" * 100} for i in range(10)]


def _endpoint(queue_url: str) -> str:
    parts = urlsplit(queue_url)
    return f"{parts.scheme}://{parts.netloc}"


# --- fill ---------------------------------------------------------------------------------------


def fill(queue_url: str, depth: int, connections: int = 16) -> float:
    """Send ``depth`` 100-byte messages in batches of 10; returns the seconds it took.

    One signed SendMessageBatch is replayed (a signature stays valid 15 minutes; a standard
    queue keeps every copy), re-signed every 10,000 requests, over keep-alive connections.
    """
    endpoint = _endpoint(queue_url)
    started = time.perf_counter()
    remaining = [depth // 10]

    async def run() -> None:
        from bench.httpclient import HttpConnection

        signed = [sign_request(endpoint, "sqs.SendMessageBatch", _batch(queue_url)).to_wire()]
        sent = [0]

        async def one() -> None:
            conn = HttpConnection.for_url(endpoint)
            while remaining[0] > 0:
                remaining[0] -= 1
                status, body = await conn.request(signed[0])
                if status != 200:
                    raise RuntimeError(f"SendMessageBatch: HTTP {status}: {body[:300]!r}")
                sent[0] += 1
                if sent[0] % 10_000 == 0:
                    signed[0] = sign_request(
                        endpoint, "sqs.SendMessageBatch", _batch(queue_url)
                    ).to_wire()
            await conn.close()

        await asyncio.gather(*(one() for _ in range(connections)))

    asyncio.run(run())
    return time.perf_counter() - started


def _batch(queue_url: str) -> dict[str, Any]:
    return {"QueueUrl": queue_url, "Entries": BATCH}


# --- drain --------------------------------------------------------------------------------------


_DrainJob = tuple[str, int, float, float, tuple[int, ...] | None]


def _drain_worker(args: _DrainJob) -> tuple[int, int, str]:
    """One process: ``threads`` loops of receive+delete; (messages deleted within the window,
    failed calls, the first failure)."""
    queue_url, threads, start, end, cpus = args
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)
    client = make_client("sqs", _endpoint(queue_url), max_pool=threads)
    counts = [0] * threads
    errors = [0] * threads
    first: list[str] = []

    def loop(slot: int) -> None:
        while (now := time.monotonic()) < end:
            try:
                got = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not got:
                    continue  # drained (or all in flight): keep asking until the window closes
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
                ]
                client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            except Exception as exc:  # a failed call is counted, as the rate harness does
                errors[slot] += 1
                first.append(repr(exc)[:200])
                continue
            if now >= start:  # warm-up pairs are not counted
                counts[slot] += len(got)

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts), sum(errors), first[0] if first else ""


def drain(
    queue_url: str,
    processes: int,
    threads: int,
    duration: float,
    warmup: float,
    *,
    cpus: tuple[int, ...] | None = None,
    server_pid: int | None = None,
) -> tuple[float, int, str, float | None]:
    """(messages received and deleted per second, failed calls, first failure, server CPU-s
    in the window), over ``processes`` x ``threads`` clients."""
    start = time.monotonic() + 2.0 + warmup  # 2 s for the processes to build their clients
    end = start + duration
    cpu: list[float] = []

    def sample() -> None:
        if server_pid is None:
            return
        time.sleep(max(0.0, start - time.monotonic()))
        cpu.append(cpu_seconds(server_pid))
        time.sleep(max(0.0, end - time.monotonic()))
        cpu.append(cpu_seconds(server_pid))

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        sampler = threading.Thread(target=sample)
        sampler.start()
        results = pool.map(_drain_worker, [(queue_url, threads, start, end, cpus)] * processes)
        sampler.join()
    total = sum(r[0] for r in results)
    failures = sum(r[1] for r in results)
    first = next((r[2] for r in results if r[2]), "")
    return total / duration, failures, first, (cpu[1] - cpu[0]) if len(cpu) == 2 else None


# --- the suite ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One measurement in messages per second."""

    target: str
    test: str
    depth: int  # messages in the queue when the test started
    value: float
    per_cpu: float | None = None  # messages per server CPU-second
    p99_ms: float | None = None
    errors: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Suite:
    """The measurements against one server; ``server_pid`` enables CPU sampling."""

    def __init__(
        self,
        name: str,
        endpoint: str,
        *,
        server_pid: int | None,
        client_cpus: tuple[int, ...] | None,
        duration: float,
        repeat: int,
    ) -> None:
        self.name = name
        self.endpoint = endpoint
        self.server_pid = server_pid
        self.client_cpus = client_cpus
        self.duration = duration
        self.repeat = repeat
        self.client = make_client("sqs", endpoint)
        self.queue_url = self.client.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")[
            "QueueUrl"
        ]

    def depth(self) -> int:
        attrs = self.client.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"])

    def run(self, tests: list[str], depths: list[int]) -> tuple[list[Row], dict[str, str]]:
        rows: list[Row] = []
        failures: dict[str, str] = {}
        for target_depth in depths:
            try:
                now = self.depth()
                if target_depth > now:
                    seconds = fill(self.queue_url, target_depth - now)
                    print(f"{self.name}: filled to {target_depth:,} in {seconds:.0f}s", flush=True)
            except Exception as exc:
                failures[f"{self.name}/fill-{target_depth}"] = f"{type(exc).__name__}: {exc}"[:500]
                break
            for test in tests:
                try:
                    rows.append(self._measure(test))
                except Exception as exc:  # one failing measurement must not lose the others
                    failures[f"{self.name}/{test}@{target_depth}"] = f"{type(exc).__name__}: {exc}"[
                        :500
                    ]
        return rows, failures

    def _measure(self, test: str) -> Row:
        depth = self.depth()
        if test == "drain":
            rate, errors, first, cpu = drain(
                self.queue_url, 2, 8, self.duration, 1.0, cpus=self.client_cpus,
                server_pid=self.server_pid,
            )  # fmt: skip
            per_cpu = rate * self.duration / cpu if cpu else None
            return Row(self.name, "receive+delete", depth, rate, per_cpu, errors=errors, note=first)
        op, params, per_request = {
            "send": ("sqs.SendMessage", {"QueueUrl": self.queue_url, "MessageBody": "x" * 100}, 1),
            "batch": ("sqs.SendMessageBatch", _batch(self.queue_url), 10),
        }[test]
        result = best_of(
            self.repeat,
            lambda: run_rate(
                self.endpoint,
                op,
                params,
                concurrency=16,
                duration=self.duration,
                warmup=1.0,
                cpus=self.client_cpus,
                label=self.name,
                server_pid=self.server_pid,
            ),
        )
        per_cpu = result.extra.get("rps_per_cpu")
        return Row(
            self.name,
            op.split(".")[1] + ("(10)" if per_request > 1 else ""),
            depth,
            result.rps * per_request,
            None if per_cpu is None else per_cpu * per_request,
            p99_ms=round(result.p99_ms, 1),
            errors=result.errors,
            note=result.extra.get("first_error", ""),
        )


@dataclass(frozen=True)
class Target:
    name: str
    cmd: str  # with {port} (and {data} for a data dir)
    ready_path: str
    depths: tuple[int, ...]


def default_targets(depth: int, moto_depth: int) -> list[Target]:
    """Overcast (durable, default settings) and moto server when installed."""
    py = sys.executable
    targets = [
        Target(
            "overcast",
            f"{py} -m overcast start --data-dir {{data}} --host 127.0.0.1 --port {{port}}",
            "/_overcast/health",
            (0, depth) if depth else (0,),
        )
    ]
    moto = shutil.which("moto_server")
    if moto:
        depths = (0, moto_depth) if moto_depth else (0,)
        targets.append(Target("moto", f"{moto} -H 127.0.0.1 -p {{port}}", "/moto-api/", depths))
    return targets


def run_targets(
    targets: list[Target], tests: list[str], *, duration: float, repeat: int
) -> tuple[list[Row], dict[str, str]]:
    server_cpus, client_cpus = client_and_server_cpus()

    def measure(target: Target, endpoint: str, pid: int) -> tuple[list[Row], dict[str, str]]:
        suite = Suite(
            target.name,
            endpoint,
            server_pid=pid,
            client_cpus=client_cpus,
            duration=duration,
            repeat=repeat,
        )
        return suite.run(tests, list(target.depths))

    return each_target(targets, measure, cpus=server_cpus, prefix="overcast-bench-sqs-")


def rows_table(rows: list[Row]) -> str:
    return table(
        [
            (
                r.target,
                r.test,
                r.depth,
                r.value,
                r.per_cpu if r.per_cpu is not None else "-",
                r.p99_ms if r.p99_ms is not None else "-",
                r.errors,
            )
            for r in rows
        ],
        ("target", "test", "depth", "msg/s", "per server CPU-s", "p99 ms", "errors"),
    )


def _suite(argv: list[str]) -> int:
    description = __doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m bench sqs", description=description)
    parser.add_argument("--endpoint", default=None, help="measure this running server only")
    parser.add_argument("--only", default=None, help="comma-separated targets (overcast,moto)")
    parser.add_argument("--tests", default="send,batch,drain", help="send, batch, drain")
    parser.add_argument("--depth", type=int, default=1_000_000, help="second round's depth")
    parser.add_argument("--moto-depth", type=int, default=0, help="moto's second round (0: none)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per test")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is reported")
    parser.add_argument("--json", action="store_true", help="write JSON to bench/results/")
    parser.add_argument("--json-path", default=None)
    args = parser.parse_args(argv)
    tests = args.tests.split(",")
    if args.endpoint:
        suite = Suite(
            "endpoint",
            args.endpoint,
            server_pid=None,
            client_cpus=None,
            duration=args.duration,
            repeat=args.repeat,
        )
        rows, failures = suite.run(tests, [0, args.depth] if args.depth else [0])
    else:
        targets = default_targets(args.depth, args.moto_depth)
        if args.only:
            targets = [t for t in targets if t.name in args.only.split(",")]
        rows, failures = run_targets(targets, tests, duration=args.duration, repeat=args.repeat)
    print(rows_table(rows))
    for name, error in failures.items():
        print(f"{name}: FAILED: {error}")
    if args.json or args.json_path:
        path = save_json(
            "sqs", {"results": [asdict(r) for r in rows], "failures": failures}, args.json_path
        )
        print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] not in (["fill"], ["drain"]):
        return _suite(argv)
    parser = argparse.ArgumentParser(prog="python -m bench sqs")
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill", help="send --depth messages to the queue")
    f.add_argument("--queue-url", required=True)
    f.add_argument("--depth", type=int, default=100_000)
    f.add_argument("--connections", type=int, default=16)
    d = sub.add_parser("drain", help="receive+delete rate")
    d.add_argument("--queue-url", required=True)
    d.add_argument("--processes", type=int, default=2)
    d.add_argument("--threads", type=int, default=8)
    d.add_argument("--duration", type=float, default=8.0)
    d.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.cmd == "fill":
        seconds = fill(args.queue_url, args.depth, args.connections)
        print(f"filled {args.depth} in {seconds:.1f}s ({args.depth / seconds:,.0f} msg/s)")
    else:
        rate, failures, first, _ = drain(
            args.queue_url, args.processes, args.threads, args.duration, args.warmup
        )
        print(f"receive+delete: {rate:,.0f} msg/s, {failures} failed calls {first}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
