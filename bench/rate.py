"""Request rate and latency with Python clients that sign every request with botocore.

A single Python process cannot sign (SigV4) and send much faster than a few thousand requests per
second, so the load comes from several processes, each running ``concurrency / processes``
keep-alive connections:

* ``--client signed`` (default): every request is freshly SigV4-signed by botocore and sent on a
  raw asyncio keep-alive connection; latency is the round trip after signing.
* ``--client sdk``: every request is a full botocore client call (serialize, sign, urllib3, parse),
  one thread per connection; the rate a real SDK user would see.

Requests finished in the measurement window (after ``--warmup``) count; a status >= 400 or a
connection error counts as an error.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import threading
import time
from array import array
from dataclasses import dataclass
from typing import Any

from bench.procs import check_listening, cpu_seconds
from bench.report import RateResult, add_server_cpu, percentile
from bench.signing import Resigner, call, make_client, parse_op, sign_request


@dataclass(frozen=True)
class _Job:
    endpoint: str
    op: str
    params: dict[str, Any]
    connections: int
    client: str
    start: float  # time.monotonic() when the measured window opens (shared clock on Linux)
    end: float
    cpus: tuple[int, ...] | None


@dataclass
class _Outcome:
    requests: int
    errors: int
    latencies: bytes  # array('d') of seconds, packed to keep the pickle cheap
    first_error: str


def run_rate(
    endpoint: str,
    op: str,
    params: dict[str, Any] | None = None,
    *,
    concurrency: int = 16,
    duration: float = 10.0,
    warmup: float = 1.0,
    processes: int | None = None,
    client: str = "signed",
    cpus: tuple[int, ...] | None = None,
    label: str = "",
    server_pid: int | None = None,
) -> RateResult:
    """Load ``endpoint`` with ``op`` and return the measured rate and latency percentiles."""
    if client not in ("signed", "sdk"):
        raise ValueError("client must be 'signed' or 'sdk'")
    params = params or {}
    # Fail fast (and clearly) on a bad op, params or endpoint before forking anything.
    sign_request(endpoint, op, params)
    check_listening(endpoint)
    nproc = processes or (len(cpus) if cpus else os.cpu_count() or 1)
    nproc = max(1, min(nproc, concurrency))
    shares = [concurrency // nproc + (1 if i < concurrency % nproc else 0) for i in range(nproc)]
    # Build the signer / botocore client once here: forked workers inherit it instead of each
    # loading the service model (slow on a busy machine, and it would eat into the window).
    key = _prep_key(endpoint, op, params, client)
    _PREPARED[key] = _prepare(endpoint, op, params, client, max(shares))
    ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    cpu: list[float] = []
    # Fork the workers before starting the sampler thread (fork after threads is unsafe).
    with ctx.Pool(nproc) as pool:
        start = time.monotonic() + 0.2 + 0.02 * nproc + warmup
        end = start + duration
        sampler = threading.Thread(target=_sample_cpu, args=(server_pid, start, end, cpu))
        if server_pid:
            sampler.start()
        jobs = [_Job(endpoint, op, params, n, client, start, end, cpus) for n in shares]
        outcomes: list[_Outcome] = pool.map(_run_job, jobs)
    _PREPARED.pop(key, None)
    if server_pid:
        sampler.join()
    lat = array("d")
    for outcome in outcomes:
        lat.frombytes(outcome.latencies)
    ordered = sorted(lat)
    requests = sum(o.requests for o in outcomes)
    errors = sum(o.errors for o in outcomes)
    first_error = next((o.first_error for o in outcomes if o.first_error), "")
    result = RateResult(
        label=label or endpoint,
        tool=f"python-{client}",
        endpoint=endpoint,
        op=op,
        concurrency=concurrency,
        duration_s=duration,
        requests=requests,
        errors=errors,
        rps=requests / duration,
        p50_ms=percentile(ordered, 50) * 1000,
        p90_ms=percentile(ordered, 90) * 1000,
        p99_ms=percentile(ordered, 99) * 1000,
        extra={"processes": nproc, "first_error": first_error[:300]},
    )
    if len(cpu) == 2:
        add_server_cpu(result, cpu[1] - cpu[0])
    return result


def _sample_cpu(pid: int | None, start: float, end: float, out: list[float]) -> None:
    """Sample the server's CPU time when the measured window opens and when it closes."""
    if pid is None:
        return
    time.sleep(max(0.0, start - time.monotonic()))
    out.append(cpu_seconds(pid))
    time.sleep(max(0.0, end - time.monotonic()))
    out.append(cpu_seconds(pid))


_PREPARED: dict[str, Any] = {}


def _prep_key(endpoint: str, op: str, params: dict[str, Any], client: str) -> str:
    return json.dumps([endpoint, op, params, client], sort_keys=True, default=str)


def _prepare(endpoint: str, op: str, params: dict[str, Any], client: str, pool: int) -> Any:
    """A Resigner (``signed``) or a botocore client (``sdk``; no connection opened yet)."""
    if client == "sdk":
        service, _ = parse_op(op)
        return make_client(service, endpoint, max_pool=pool)
    return Resigner(sign_request(endpoint, op, params), op)


def _prepared(job: _Job) -> Any:
    key = _prep_key(job.endpoint, job.op, job.params, job.client)
    found = _PREPARED.get(key)
    return found if found is not None else _prepare(*json.loads(key), job.connections)


def _run_job(job: _Job) -> _Outcome:
    if job.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, job.cpus)
    if job.client == "sdk":
        return _run_sdk(job)
    try:
        import uvloop

        return uvloop.run(_run_signed(job))
    except ImportError:
        return asyncio.run(_run_signed(job))


async def _run_signed(job: _Job) -> _Outcome:
    from bench.httpclient import HttpConnection

    signer: Resigner = _prepared(job)
    lat = array("d")
    counts = [0, 0]
    first_error: list[str] = []

    async def one_connection() -> None:
        conn = HttpConnection.for_url(job.endpoint)
        monotonic = time.monotonic
        while (now := monotonic()) < job.end:
            data = signer.sign().to_wire()
            t0 = time.perf_counter()
            try:
                status, body = await conn.request(data)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                await conn.close()
                if now >= job.start:
                    counts[1] += 1
                    first_error or first_error.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.01)
                continue
            elapsed = time.perf_counter() - t0
            if now >= job.start and monotonic() <= job.end:
                counts[0] += 1
                lat.append(elapsed)
                if status >= 400:
                    counts[1] += 1
                    first_error or first_error.append(f"HTTP {status}: {body[:200]!r}")
        await conn.close()

    await asyncio.gather(*(one_connection() for _ in range(job.connections)))
    return _Outcome(counts[0], counts[1], lat.tobytes(), first_error[0] if first_error else "")


def _run_sdk(job: _Job) -> _Outcome:
    _, operation = parse_op(job.op)
    client = _prepared(job)
    lock = threading.Lock()
    lat = array("d")
    counts = [0, 0]
    first_error: list[str] = []

    def one_connection() -> None:
        while (now := time.monotonic()) < job.end:
            t0 = time.perf_counter()
            error = ""
            try:
                call(client, operation, job.params)
            except Exception as exc:  # botocore ClientError, connection errors, ...
                error = f"{type(exc).__name__}: {exc}"
            elapsed = time.perf_counter() - t0
            if now >= job.start and time.monotonic() <= job.end:
                with lock:
                    counts[0] += 1
                    lat.append(elapsed)
                    if error:
                        counts[1] += 1
                        first_error or first_error.append(error)

    threads = [threading.Thread(target=one_connection) for _ in range(job.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _Outcome(counts[0], counts[1], lat.tobytes(), first_error[0] if first_error else "")
