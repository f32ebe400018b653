"""DynamoDB throughput: PutItem, GetItem and Query, Overcast and moto server in one run.

``python -m bench dynamodb`` starts Overcast (durable, on a fresh data dir) and moto server, each
pinned to core 0 with the load on the other core(s), and measures on each:

* ``put``: PutItem of a ~100-byte item at 8 keep-alive connections, every request freshly
  signed (``bench.rate``), requests per second and per server CPU-second;
* ``get``: GetItem of an existing item, likewise;
* ``query``: Query of one partition of ``--partition`` items (pages of ``--page`` items),
  items per second (requests x page size);
* ``memory`` (not in the default set): fills a table to ``--items`` items with BatchWriteItem
  from several processes, then scans it whole, and reports the server's peak RSS (the storage
  streams pages: memory stays bounded however large the table).

The issue's targets on a 2-core machine: PutItem >= 3,000/s and GetItem >= 4,000/s at 8
clients, Query >= 50,000 items/s. ``--endpoint URL`` measures an already running server.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from bench.procs import client_and_server_cpus, each_target, rss_kib
from bench.rate import run_rate
from bench.report import best_of, save_json, table
from bench.s3 import Target, default_targets
from bench.signing import make_client

CONCURRENCY = 8
ITEM = {"pk": {"S": "bench"}, "sk": {"N": "1"}, "data": {"S": "x" * 80}, "n": {"N": "42"}}


@dataclass
class Row:
    target: str
    test: str
    value: float
    unit: str
    per_cpu: float | None = None
    p50_ms: float | None = None
    errors: int = 0


def create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})


def _write_range(endpoint: str, name: str, pk: str, start: int, stop: int) -> None:
    client = make_client("dynamodb", endpoint)
    for first in range(start, stop, 25):
        batch = [
            {"PutRequest": {"Item": {**ITEM, "pk": {"S": pk}, "sk": {"N": str(n)}}}}
            for n in range(first, min(first + 25, stop))
        ]
        pending: dict[str, Any] = {name: batch}
        while pending:
            pending = client.batch_write_item(RequestItems=pending)["UnprocessedItems"]


def fill(endpoint: str, name: str, pk: str, count: int, processes: int = 4) -> float:
    """Write ``count`` items into partition ``pk`` (BatchWriteItem from several processes);
    returns the seconds it took."""
    started = time.perf_counter()
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    step = -(-count // processes)
    with ctx.Pool(processes) as pool:
        pool.starmap(
            _write_range,
            [
                (endpoint, name, pk, i * step, min(count, (i + 1) * step))
                for i in range(processes)
                if i * step < count
            ],
        )
    return time.perf_counter() - started


class Bench:
    def __init__(
        self,
        target: str,
        endpoint: str,
        *,
        server_pid: int | None,
        client_cpus: tuple[int, ...] | None,
        duration: float,
        repeat: int,
        partition: int,
        page: int,
        items: int,
    ) -> None:
        self.target = target
        self.endpoint = endpoint
        self.server_pid = server_pid
        self.client_cpus = client_cpus
        self.duration = duration
        self.repeat = repeat
        self.partition = partition
        self.page = page
        self.items = items
        self.client = make_client("dynamodb", endpoint)
        self.table = f"bench-{uuid.uuid4().hex[:8]}"

    def run(self, tests: list[str]) -> tuple[list[Row], dict[str, str]]:
        rows: list[Row] = []
        failures: dict[str, str] = {}
        create_table(self.client, self.table)
        self.client.put_item(TableName=self.table, Item=ITEM)
        for test in tests:
            try:
                rows.append(getattr(self, f"bench_{test}")())
            except Exception as exc:
                failures[f"{self.target}/{test}"] = f"{type(exc).__name__}: {exc}"[:500]
        return rows, failures

    def _rate(self, op: str, params: dict[str, Any], test: str, per_request: int = 1) -> Row:
        def measure() -> Any:
            return run_rate(
                self.endpoint,
                op,
                params,
                concurrency=CONCURRENCY,
                duration=self.duration,
                cpus=self.client_cpus,
                server_pid=self.server_pid,
                label=f"{self.target} {test}",
            )

        result = best_of(self.repeat, measure)
        if not result.requests:
            raise RuntimeError(
                f"no request completed within {self.duration:g}s"
                + (f" ({result.extra['first_error']})" if result.extra.get("first_error") else "")
            )
        per_cpu = result.extra.get("rps_per_cpu")
        return Row(
            self.target,
            test,
            round(result.rps * per_request, 1),
            "items/s" if per_request > 1 else "ops/s",
            round(per_cpu * per_request, 1) if per_cpu else None,
            round(result.p50_ms, 2),
            result.errors,
        )

    def bench_put(self) -> Row:
        return self._rate("dynamodb.PutItem", {"TableName": self.table, "Item": ITEM}, "put")

    def bench_get(self) -> Row:
        key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
        return self._rate("dynamodb.GetItem", {"TableName": self.table, "Key": key}, "get")

    def bench_query(self) -> Row:
        fill(self.endpoint, self.table, "partition", self.partition)
        params = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "partition"}},
            "Limit": self.page,
        }
        got = self.client.query(**params)
        if got["Count"] != min(self.page, self.partition):
            raise RuntimeError(f"query returned {got['Count']} items, not {self.page}")
        return self._rate("dynamodb.Query", params, "query", per_request=got["Count"])

    def bench_memory(self) -> Row:
        """Peak server RSS while filling ``items`` items and scanning them all."""
        peak = [rss_kib(self.server_pid) if self.server_pid else 0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2) and self.server_pid:
                peak[0] = max(peak[0], rss_kib(self.server_pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            seconds = fill(self.endpoint, self.table, "m", self.items)
            print(f"{self.target}: filled {self.items} items in {seconds:.0f}s", file=sys.stderr)
            scanned = 0
            params: dict[str, Any] = {"TableName": self.table}
            while True:
                page = self.client.scan(**params)
                scanned += page["Count"]
                if "LastEvaluatedKey" not in page:
                    break
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        finally:
            stop.set()
            sampler.join()
        if scanned < self.items:
            raise RuntimeError(f"scan saw {scanned} of {self.items} items")
        return Row(self.target, f"memory-{self.items}", round(peak[0] / 1024, 1), "MiB peak RSS")


def run_targets(
    targets: list[Target], tests: list[str], **options: Any
) -> tuple[list[Row], dict[str, str]]:
    server_cpus, client_cpus = client_and_server_cpus()

    def measure(target: Target, endpoint: str, pid: int) -> tuple[list[Row], dict[str, str]]:
        bench = Bench(target.name, endpoint, server_pid=pid, client_cpus=client_cpus, **options)
        return bench.run(tests)

    return each_target(targets, measure, cpus=server_cpus, prefix="overcast-bench-dynamodb-")


def rows_table(rows: list[Row]) -> str:
    return table(
        [
            (
                r.target,
                r.test,
                r.value,
                r.unit,
                r.per_cpu if r.per_cpu is not None else "-",
                r.p50_ms if r.p50_ms is not None else "-",
                r.errors,
            )
            for r in rows
        ],
        ("target", "test", "value", "unit", "per server CPU-s", "p50 ms", "errors"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench dynamodb", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--endpoint", default=None, help="measure this running server only")
    parser.add_argument("--only", default=None, help="comma-separated targets (overcast,moto)")
    parser.add_argument("--tests", default="put,get,query", help="put,get,query,memory")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per rate test")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is reported")
    parser.add_argument(
        "--partition", type=int, default=2000, help="items in the queried partition"
    )
    parser.add_argument("--page", type=int, default=1000, help="Query Limit (items per page)")
    parser.add_argument("--items", type=int, default=1_000_000, help="items for the memory test")
    parser.add_argument(
        "--overcast-cmd", default=None, help="Overcast's command ({port}, {data}: a temp dir)"
    )
    parser.add_argument("--json", action="store_true", help="write JSON to bench/results/")
    parser.add_argument("--json-path", default=None)
    args = parser.parse_args(argv)
    tests = args.tests.split(",")
    options = {
        "duration": args.duration,
        "repeat": args.repeat,
        "partition": args.partition,
        "page": args.page,
        "items": args.items,
    }
    if args.endpoint:
        bench = Bench("endpoint", args.endpoint, server_pid=None, client_cpus=None, **options)
        rows, failures = bench.run(tests)
    else:
        targets = default_targets()
        if args.overcast_cmd:
            targets[0] = Target("overcast", args.overcast_cmd, targets[0].ready_path)
        if args.only:
            targets = [t for t in targets if t.name in args.only.split(",")]
        rows, failures = run_targets(targets, tests, **options)
    print(rows_table(rows))
    for name, error in failures.items():
        print(f"{name}: FAILED: {error}")
    if args.json or args.json_path:
        payload = {"results": [asdict(r) for r in rows], "failures": failures}
        print(f"wrote {save_json('dynamodb', payload, args.json_path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
