"""SQS throughput: SendMessage single and batched, receive+delete, at growing queue depth.

``python -m bench.sqs [--depth 0 100000] [--seconds 3]`` starts an ephemeral Overcast server and
prints messages per second for each phase; the rate should not fall with depth.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from overcast.testing import ServerProcess


def _rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def fill(sqs: Any, url: str, depth: int) -> None:
    entries = [{"Id": str(i), "MessageBody": "x" * 100} for i in range(10)]
    for _ in range(depth // 10):
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def run(sqs: Any, depth: int, seconds: float) -> dict[str, float]:
    url = sqs.create_queue(QueueName=f"bench-{depth}")["QueueUrl"]
    fill(sqs, url, depth)
    out: dict[str, float] = {}
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        sqs.send_message(QueueUrl=url, MessageBody="hello world")
        n += 1
    out["send"] = _rate(n, started)
    entries = [{"Id": str(i), "MessageBody": "hello world"} for i in range(10)]
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
        n += 10
    out["send_batch"] = _rate(n, started)
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )
        n += len(got)
    out["receive_delete_batch"] = _rate(n, started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, nargs="*", default=[0, 100_000])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with ServerProcess() as server:
        sqs = server.client("sqs")
        print(f"{'depth':>8} {'send/s':>10} {'batch send/s':>13} {'recv+del/s':>11}")
        for depth in args.depth:
            r = run(sqs, depth, args.seconds)
            print(f"{depth:>8} {r['send']:>10.0f} {r['send_batch']:>13.0f} "
                  f"{r['receive_delete_batch']:>11.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
