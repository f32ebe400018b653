"""SQS throughput against a running server: fill a queue to a depth, and receive+delete.

Sends are measured with the generic multi-process harness (one request type, re-signed)::

    python -m bench rate --endpoint URL --op sqs.SendMessage --params '{"QueueUrl": ...}'

Receive+delete is a chain (the delete needs the receive's handles), which that harness cannot
express, so it lives here, also spread over processes so one client's GIL does not bound it::

    python -m bench.sqs fill --queue-url URL --depth 100000
    python -m bench.sqs drain --queue-url URL --processes 2 --threads 8 --duration 8

``drain`` runs ``threads`` botocore clients per process, each looping ReceiveMessage(10) +
DeleteMessageBatch, and prints messages deleted per second in the measured window.
"""

from __future__ import annotations

import argparse
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from bench.signing import make_client


def _endpoint(queue_url: str) -> str:
    parts = urlsplit(queue_url)
    return f"{parts.scheme}://{parts.netloc}"


def fill(queue_url: str, depth: int, threads: int = 8) -> float:
    """Send ``depth`` 100-byte messages in batches of 10; returns the seconds it took."""
    client = make_client("sqs", _endpoint(queue_url), max_pool=threads)
    entries = [{"Id": str(i), "MessageBody": "x" * 100} for i in range(10)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(
            pool.map(
                lambda _: client.send_message_batch(QueueUrl=queue_url, Entries=entries),
                range(depth // 10),
            )
        )
    return time.perf_counter() - started


def _drain_worker(args: tuple[str, int, float, float]) -> tuple[int, int, str]:
    """One process: ``threads`` loops of receive+delete; (messages deleted within the window,
    failed calls, the first failure)."""
    queue_url, threads, start, end = args
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
    queue_url: str, processes: int, threads: int, duration: float, warmup: float
) -> tuple[float, int, str]:
    """(messages received and deleted per second, failed calls, first failure), over
    ``processes`` x ``threads`` clients."""
    start = time.monotonic() + 2.0 + warmup  # 2 s for the processes to build their clients
    end = start + duration
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        results = pool.map(_drain_worker, [(queue_url, threads, start, end)] * processes)
    total = sum(r[0] for r in results)
    failures = sum(r[1] for r in results)
    first = next((r[2] for r in results if r[2]), "")
    return total / duration, failures, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fill", help="send --depth messages to the queue")
    f.add_argument("--queue-url", required=True)
    f.add_argument("--depth", type=int, default=100_000)
    f.add_argument("--threads", type=int, default=8)
    d = sub.add_parser("drain", help="receive+delete rate")
    d.add_argument("--queue-url", required=True)
    d.add_argument("--processes", type=int, default=2)
    d.add_argument("--threads", type=int, default=8)
    d.add_argument("--duration", type=float, default=8.0)
    d.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()
    if args.cmd == "fill":
        seconds = fill(args.queue_url, args.depth, args.threads)
        print(f"filled {args.depth} in {seconds:.1f}s ({args.depth / seconds:,.0f} msg/s)")
    else:
        rate, failures, first = drain(
            args.queue_url, args.processes, args.threads, args.duration, args.warmup
        )
        print(f"receive+delete: {rate:,.0f} msg/s, {failures} failed calls {first}")


if __name__ == "__main__":
    main()
