"""How many services and operations round-trip, per protocol, inputs and outputs.

    python -m tests.protocol.roundtrip_report [--examples N] [--jobs N] [--side input|output]
                                              [--service NAME ...] [--markdown FILE]

Runs the same checks as ``test_roundtrip_inputs`` / ``test_roundtrip_outputs`` over every
service (in ``--jobs`` processes) and prints, per side and protocol, the services and operations
that round-trip, then the failures grouped by cause, each with the reason from the tests'
expected-failures tables when listed there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor

from tests.protocol.roundtrip import (
    SIDES,
    Failure,
    check_service,
    example_budget,
    lookup,
    protocols_of,
    service_protocols,
)


def _run(task: tuple[str, str, str, int]) -> tuple[str, str, str, int, list[Failure]]:
    side, service, protocol, examples = task
    count = 0
    failures = []
    for _, failure in check_service(side, service, protocol, examples):
        count += 1
        if failure is not None:
            failure.example = repr(failure.example)[:400]  # picklable, short
            failures.append(failure)
    return side, service, protocol, count, failures


def _tables() -> dict[str, dict[tuple[str, str, str], str]]:
    from tests.protocol.test_roundtrip_inputs import EXPECTED_INPUT_FAILURES
    from tests.protocol.test_roundtrip_outputs import EXPECTED_OUTPUT_FAILURES

    return {"input": EXPECTED_INPUT_FAILURES, "output": EXPECTED_OUTPUT_FAILURES}


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    args.add_argument("--examples", type=int, default=example_budget())
    args.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args.add_argument("--side", choices=SIDES, action="append")
    args.add_argument("--service", action="append")
    args.add_argument("--markdown", help="also write every failure (with examples) to this file")
    opts = args.parse_args(argv)
    sides = opts.side or list(SIDES)
    pairs = (
        [(s, p) for s in opts.service for p in protocols_of(s)]
        if opts.service
        else service_protocols()
    )
    tasks = [(side, s, p, opts.examples) for side in sides for s, p in pairs]
    started = time.monotonic()
    with ProcessPoolExecutor(opts.jobs) as pool:
        results = list(pool.map(_run, tasks, chunksize=1))
    elapsed = time.monotonic() - started
    tables = _tables()

    # side -> protocol -> [services, services ok, operations, operations ok]
    totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * 4))
    causes: dict[tuple[str, str], list[Failure]] = defaultdict(list)
    for side, service, protocol, count, failures in results:
        row = totals[side][protocol]
        row[0] += 1
        row[1] += not failures
        row[2] += count
        row[3] += count - len(failures)
        for failure in failures:
            reason = lookup(tables[side], service, protocol, failure.operation)
            causes[(side, reason or f"UNEXPECTED {failure.cause}")].append(failure)

    print(f"Round trip, {opts.examples} examples per operation, {elapsed:.0f}s on {opts.jobs} jobs")
    for side in sides:
        print(f"\n{side}s: protocol          services ok/total   operations ok/total")
        grand = [0] * 4
        for protocol, row in sorted(totals[side].items()):
            grand = [a + b for a, b in zip(grand, row, strict=True)]
            print(f"  {protocol:<22} {row[1]:>5}/{row[0]:<5}         {row[3]:>6}/{row[2]:<6}")
        print(f"  {'all':<22} {grand[1]:>5}/{grand[0]:<5}         {grand[3]:>6}/{grand[2]:<6}")
    print("\nfailures by cause:")
    for (side, cause), failures in sorted(causes.items(), key=lambda kv: -len(kv[1])):
        protocols = Counter(f.protocol for f in failures)
        print(f"  [{side}] {len(failures):>4}  {cause}  ({dict(protocols)})")
        for failure in failures[:3]:
            print(f"           {failure.service}.{failure.operation}: {failure.detail[:110]}")
    failed = {(f.side, f.service, f.protocol, f.operation) for *_, fs in results for f in fs}
    ran = {(side, service, protocol) for side, service, protocol, _, _ in results}
    stale = [
        (side, key)
        for side, table in tables.items()
        for key in table
        if key[2] != "*"
        and any((side, key[0], p) in ran for p in protocols_of(key[0]) if key[1] in ("*", p))
        and not any(
            (side, key[0], p, key[2]) in failed for p in protocols_of(key[0]) if key[1] in ("*", p)
        )
    ]
    if stale:
        print("\nexpected failures that now pass (remove them from the tables):")
        for side, key in stale:
            print(f"  [{side}] {key}")
    if opts.markdown:
        with open(opts.markdown, "w") as f:
            for (side, cause), failures in sorted(causes.items()):
                f.write(f"\n## [{side}] {cause} ({len(failures)})\n\n")
                f.write("\n".join(x.markdown() for x in failures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
