"""S3 data-path benchmarks: small-object rates, large-object throughput, listing, multipart.

``python -m bench.s3`` starts Overcast (durable, on a fresh data dir) and moto server, each pinned
to core 0 with the load on the other core(s), and measures on each, one after the other:

* ``put-1k`` / ``get-1k``: PutObject / GetObject of a 1 KiB object at 16 concurrent keep-alive
  connections, every request freshly SigV4-signed by botocore (``bench.rate``, several client
  processes when there are cores for them), with the server's CPU time (req/CPU-s);
* ``put-256m`` / ``get-256m``: one 256 MiB object, one stream, raw sockets (the client signs the
  headers once, with ``UNSIGNED-PAYLOAD`` as the AWS SDKs do over TLS, and never touches the bytes
  otherwise), so the client is not what is measured;
* ``list``: ListObjectsV2 over a 10,000-key bucket in 1,000-key pages (``start-after`` pages,
  signed once and replayed: the server does all the work), keys per second;
* ``multipart``: a 512 MiB upload in 8 MiB parts, 4 parts in flight, create to complete.

``--endpoint URL`` measures an already running server instead (no CPU sampling, no pinning).
Everything is on loopback and bounded in time (``--duration`` per rate, one pass otherwise).

The large-object tests (``large``, ``multipart``) let the server use every core the bench may
use, the client running beside it, and report the client's CPU time too (``client_cpu_s``, and
``per_machine_cpu``: the value per CPU-second of server and client together), so that using the
second core is accounted for; ``--pin-large`` keeps the server on core 0 for them as well (the
earlier method). The small-object rates always pin the server to core 0 and the load to the rest.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import bench.rate
from bench.procs import client_and_server_cpus, cpu_seconds, each_target, set_affinity
from bench.rate import run_rate
from bench.report import best_of, save_json, table
from bench.signing import ACCESS_KEY, REGION, SECRET_KEY, SignedRequest, sign_request

MiB = 1 << 20
TIMEOUT = 300.0  # seconds any one socket operation may take (moto is slow on big bodies)
LIST_KEYS = 10_000
PAGE = 1_000


@dataclass
class Row:
    """One measurement: ``value`` in ``unit`` (ops/s, MB/s or keys/s)."""

    target: str
    test: str
    value: float
    unit: str
    seconds: float = 0.0
    server_cpu_s: float | None = None
    per_cpu: float | None = None  # value per busy server core (unit per CPU-second)
    client_cpu_s: float | None = None  # large tests: the bench process's own CPU time
    per_machine_cpu: float | None = None  # value per CPU-second of server + client
    server_cpus: str = ""  # the cores the server could use ("0", "0,1"; "" = not pinned)
    errors: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _sign_without_expect(endpoint: str, op: str, params: dict[str, Any] | None = None) -> Any:
    """botocore's request minus ``Expect: 100-continue`` (botocore adds it to PutObject).

    With it, uvicorn answers ``100 Continue`` before the real response, which bench.rate's
    minimal client would take for the response; the body is sent at once anyway.
    """
    signed: SignedRequest = sign_request(endpoint, op, params)
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "expect"}
    return SignedRequest(signed.method, signed.url, headers, signed.body)


@contextmanager
def _no_expect() -> Iterator[None]:
    """Within the block bench.rate signs without ``Expect``; its workers are forked inside, so
    they see the replacement too."""
    original = bench.rate.sign_request
    bench.rate.sign_request = _sign_without_expect  # type: ignore[attr-defined]
    try:
        yield
    finally:
        bench.rate.sign_request = original  # type: ignore[attr-defined]


# --- raw signed HTTP ----------------------------------------------------------------------------


class Signer:
    """SigV4 headers for raw requests, payload unsigned (``UNSIGNED-PAYLOAD``)."""

    def __init__(self, endpoint: str) -> None:
        import botocore.config
        from botocore.auth import S3SigV4Auth
        from botocore.credentials import Credentials

        self.endpoint = endpoint.rstrip("/")
        self.netloc = urlsplit(endpoint).netloc
        self._auth = S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION)
        self._config = botocore.config.Config(s3={"payload_signing_enabled": False})

    def head(
        self,
        method: str,
        path: str,
        query: str = "",
        *,
        length: int = 0,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        """The request line and headers (through the blank line), signed."""
        from botocore.awsrequest import AWSRequest

        target = path + (f"?{query}" if query else "")
        request = AWSRequest(
            method=method, url=self.endpoint + target, data=b"", headers=dict(headers or {})
        )
        request.context["client_config"] = self._config
        self._auth.add_auth(request)
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.netloc}"]
        lines += [f"{k}: {v}" for k, v in request.headers.items() if k.lower() != "host"]
        lines.append(f"Content-Length: {length}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Connection:
    """One keep-alive HTTP/1.1 connection on a blocking socket (the GIL is released in I/O)."""

    def __init__(self, endpoint: str) -> None:
        parts = urlsplit(endpoint)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.sock: socket.socket | None = None
        self._buffer = b""
        self._scratch = bytearray(4 * MiB)

    def exchange(
        self, head: bytes, body: bytes | memoryview = b"", *, keep_body: bool = True
    ) -> tuple[int, dict[str, str], bytes, int]:
        """Send one request; return (status, headers, body or b"", body length)."""
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=TIMEOUT)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if len(body) < 64 * 1024:
            self.sock.sendall(head + bytes(body))
        else:
            self.sock.sendall(head)
            self.sock.sendall(body)
        return self._response(keep_body)

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(256 * 1024)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def _response(self, keep_body: bool) -> tuple[int, dict[str, str], bytes, int]:
        data = self._buffer
        while b"\r\n\r\n" not in data:
            data += self._recv()
        raw_head, _, rest = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._buffer = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunked(rest)
            return status, headers, body if keep_body else b"", len(body)
        length = int(headers.get("content-length", "0"))
        if keep_body:
            while len(rest) < length:
                rest += self._recv()
            self._buffer = rest[length:]
            body = rest[:length]
        else:
            body = b""
            got = min(len(rest), length)
            self._buffer = rest[length:]
            view = memoryview(self._scratch)
            assert self.sock is not None
            while got < length:
                n = self.sock.recv_into(view, min(len(view), length - got))
                if n == 0:
                    raise ConnectionError("server closed the connection")
                got += n
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body, length

    def _chunked(self, data: bytes) -> bytes:
        parts: list[bytes] = []
        while True:
            while b"\r\n" not in data:
                data += self._recv()
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += self._recv()
            if size == 0:
                self._buffer = data[2:]
                return b"".join(parts)
            parts.append(data[:size])
            data = data[size + 2 :]

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buffer = b""


def _check(status: int, body: bytes, what: str) -> None:
    if status >= 300:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:300]!r}")


def _key_path(bucket: str, key: str) -> str:
    return f"/{bucket}/{quote(key, safe='/')}"


# --- the measurements ---------------------------------------------------------------------------


class Bench:
    """The measurements against one endpoint; ``server_pid`` enables CPU sampling."""

    def __init__(
        self,
        name: str,
        endpoint: str,
        *,
        server_pid: int | None,
        client_cpus: tuple[int, ...] | None,
        duration: float,
        processes: int | None,
        repeat: int,
        server_cpus: tuple[int, ...] | None = None,
        large_cpus: tuple[int, ...] | None = None,
    ) -> None:
        self.name = name
        self.server_cpus = server_cpus
        self.large_cpus = large_cpus  # the server's cores for the large tests (None: unchanged)
        self.endpoint = endpoint
        self.server_pid = server_pid
        self.client_cpus = client_cpus
        self.duration = duration
        self.processes = processes
        self.repeat = repeat
        self.signer = Signer(endpoint)
        self.bucket = f"bench-{uuid.uuid4().hex[:10]}"

    def _cpu(self) -> float | None:
        return cpu_seconds(self.server_pid) if self.server_pid else None

    def _timed(self, fn: Callable[[], Any]) -> tuple[float, float | None, Any]:
        elapsed, cpu, _, out = self._timed_both(fn)
        return elapsed, cpu, out

    def _timed_both(self, fn: Callable[[], Any]) -> tuple[float, float | None, float, Any]:
        """``(seconds, server CPU-s, client CPU-s, fn())``; the client is this process."""
        cpu0 = self._cpu()
        own0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - t0
        own = time.process_time() - own0
        cpu1 = self._cpu()
        return elapsed, None if cpu0 is None or cpu1 is None else cpu1 - cpu0, own, out

    @contextmanager
    def _large_cpus(self) -> Iterator[None]:
        """The server on ``large_cpus`` for a large-object test, then back on its own cores."""
        if self.server_pid is None or self.large_cpus is None:
            yield
            return
        set_affinity(self.server_pid, self.large_cpus)
        try:
            yield
        finally:
            if self.server_cpus:
                set_affinity(self.server_pid, self.server_cpus)

    def _cores(self, large: bool) -> str:
        cpus = self.large_cpus if large and self.large_cpus else self.server_cpus
        return ",".join(map(str, cpus)) if cpus and self.server_pid else ""

    def request(
        self,
        conn: Connection,
        method: str,
        path: str,
        query: str = "",
        body: bytes | memoryview = b"",
        *,
        keep_body: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes, int]:
        head = self.signer.head(method, path, query, length=len(body), headers=headers)
        return conn.exchange(head, body, keep_body=keep_body)

    def create_bucket(self, name: str) -> None:
        conn = Connection(self.endpoint)
        status, _, body, _ = self.request(conn, "PUT", f"/{name}")
        conn.close()
        _check(status, body, f"CreateBucket {name}")

    # small objects: the shared rate harness (botocore-signed, several processes)

    def small(self, which: tuple[str, ...] = ("put-1k", "get-1k")) -> list[Row]:
        rows = []
        key = "small-1k"
        conn = Connection(self.endpoint)
        status, _, body, _ = self.request(
            conn, "PUT", _key_path(self.bucket, key), body=b"x" * 1024
        )
        conn.close()
        _check(status, body, "PutObject 1 KiB")
        for test, op, params in (
            ("put-1k", "s3.PutObject", {"Bucket": self.bucket, "Key": key, "Body": b"x" * 1024}),
            ("get-1k", "s3.GetObject", {"Bucket": self.bucket, "Key": key}),
        ):
            if test not in which:
                continue
            with _no_expect():
                result = best_of(
                    self.repeat,
                    lambda op=op, params=params: run_rate(
                        self.endpoint,
                        op,
                        params,
                        concurrency=16,
                        duration=self.duration,
                        warmup=1.0,
                        processes=self.processes,
                        cpus=self.client_cpus,
                        label=self.name,
                        server_pid=self.server_pid,
                    ),
                )
            extra = result.extra
            rows.append(
                Row(
                    self.name,
                    test,
                    result.rps,
                    "ops/s",
                    seconds=result.duration_s,
                    server_cpu_s=extra.get("server_cpu_s"),
                    per_cpu=extra.get("rps_per_cpu"),
                    errors=result.errors,
                    note=extra.get("first_error", ""),
                    extra={
                        "p50_ms": round(result.p50_ms, 2),
                        "p99_ms": round(result.p99_ms, 2),
                        "processes": extra.get("processes"),
                        "rps_runs": extra.get("rps_runs"),
                    },
                )
            )
        return rows

    # one large object, one stream

    def large(self, size: int = 256 * MiB) -> list[Row]:
        with self._large_cpus():
            return self._large(size)

    def _large(self, size: int) -> list[Row]:
        payload = memoryview(os.urandom(MiB) * (size // MiB))
        key = "large-256m"
        path = _key_path(self.bucket, key)
        put_best: tuple[float, float | None, float] | None = None
        get_best: tuple[float, float | None, float] | None = None
        for _ in range(max(1, self.repeat)):
            conn = Connection(self.endpoint)

            def put(conn: Connection = conn) -> tuple[int, bytes]:
                status, _, body, _ = self.request(conn, "PUT", path, body=payload)
                return status, body

            elapsed, cpu, own, (status, body) = self._timed_both(put)
            _check(status, body, "PutObject 256 MiB")
            if put_best is None or elapsed < put_best[0]:
                put_best = (elapsed, cpu, own)

            def get(conn: Connection = conn) -> tuple[int, int]:
                status, _, _, length = self.request(conn, "GET", path, keep_body=False)
                return status, length

            elapsed, cpu, own, (status, length) = self._timed_both(get)
            _check(status, b"", "GetObject 256 MiB")
            if length != size:
                raise RuntimeError(f"GetObject 256 MiB returned {length} bytes")
            if get_best is None or elapsed < get_best[0]:
                get_best = (elapsed, cpu, own)
            conn.close()
        assert put_best is not None and get_best is not None
        return [
            self._throughput("put-256m", size, *put_best),
            self._throughput("get-256m", size, *get_best),
        ]

    def _throughput(
        self, test: str, size: int, elapsed: float, cpu: float | None, own: float | None = None
    ) -> Row:
        return Row(
            self.name,
            test,
            size / elapsed / 1e6,
            "MB/s",
            seconds=round(elapsed, 3),
            server_cpu_s=None if cpu is None else round(cpu, 3),
            per_cpu=None if not cpu else round(size / cpu / 1e6, 1),
            client_cpu_s=None if own is None else round(own, 3),
            per_machine_cpu=None if not cpu or own is None else round(size / (cpu + own) / 1e6, 1),
            server_cpus=self._cores(large=True),
        )

    # listing a 10,000-key bucket

    def listing(self, count: int = LIST_KEYS, page_size: int = PAGE) -> list[Row]:
        bucket = f"{self.bucket}-list"
        self.create_bucket(bucket)
        keys = [f"dir{i % 10}/key-{i:05d}" for i in range(count)]
        keys.sort()
        t0 = time.perf_counter()
        self._populate(bucket, keys)
        populate_s = time.perf_counter() - t0
        # 10 pages, each from the key before it; signed once, replayed (valid 15 minutes).
        heads = []
        for page in range(count // page_size):
            query = f"list-type=2&max-keys={page_size}"
            if page:
                query += f"&start-after={quote(keys[page * page_size - 1], safe='')}"
            heads.append(self.signer.head("GET", f"/{bucket}", query))
        conn = Connection(self.endpoint)

        def one_pass() -> int:
            listed = 0
            for head in heads:
                status, _, body, _ = conn.exchange(head)
                _check(status, body, "ListObjectsV2")
                listed += body.count(b"<Key>")
            return listed

        if one_pass() != count:  # warm-up, and a check that every page is full
            raise RuntimeError("ListObjectsV2 did not return every key")

        def passes() -> int:
            listed = 0
            deadline = time.perf_counter() + self.duration
            while True:
                listed += one_pass()
                if time.perf_counter() >= deadline:
                    return listed

        elapsed, cpu, listed = self._timed(passes)
        conn.close()
        return [
            Row(
                self.name,
                "list",
                listed / elapsed,
                "keys/s",
                seconds=round(elapsed, 3),
                server_cpu_s=None if cpu is None else round(cpu, 3),
                per_cpu=None if not cpu else round(listed / cpu, 1),
                extra={"populate_s": round(populate_s, 2), "passes": listed // count},
            )
        ]

    def _populate(self, bucket: str, keys: list[str], workers: int = 8) -> None:
        def put_some(chunk: list[str]) -> None:
            conn = Connection(self.endpoint)
            for key in chunk:
                status, _, body, _ = self.request(conn, "PUT", _key_path(bucket, key))
                _check(status, body, "PutObject (populate)")
            conn.close()

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(put_some, [keys[i::workers] for i in range(workers)]))

    # multipart upload

    def multipart(self, size: int = 512 * MiB, part: int = 8 * MiB, inflight: int = 4) -> list[Row]:
        payload = memoryview(os.urandom(MiB) * (part // MiB))
        count = size // part
        best: tuple[float, float | None, float] | None = None
        for _ in range(max(1, self.repeat)):
            with self._large_cpus():
                elapsed, cpu, own, _ = self._timed_both(
                    lambda: self._one_multipart(payload, count, inflight)
                )
            if best is None or elapsed < best[0]:
                best = (elapsed, cpu, own)
        assert best is not None
        return [self._throughput("multipart-512m", size, *best)]

    def _one_multipart(self, payload: memoryview, count: int, inflight: int) -> None:
        path = _key_path(self.bucket, "multipart-512m")
        conn = Connection(self.endpoint)
        status, _, body, _ = self.request(conn, "POST", path, "uploads")
        _check(status, body, "CreateMultipartUpload")
        match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
        if match is None:
            raise RuntimeError(f"no UploadId in {body[:300]!r}")
        upload_id = match.group(1).decode()
        etags: dict[int, str] = {}
        lock = threading.Lock()
        local = threading.local()

        def upload(number: int) -> None:
            if not hasattr(local, "conn"):
                local.conn = Connection(self.endpoint)
            query = f"partNumber={number}&uploadId={quote(upload_id, safe='')}"
            status, headers, body, _ = self.request(local.conn, "PUT", path, query, payload)
            _check(status, body, f"UploadPart {number}")
            with lock:
                etags[number] = headers["etag"]

        with ThreadPoolExecutor(inflight) as pool:
            list(pool.map(upload, range(1, count + 1)))
        parts = "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etags[n]}</ETag></Part>"
            for n in range(1, count + 1)
        )
        document = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        query = f"uploadId={quote(upload_id, safe='')}"
        status, _, body, _ = self.request(conn, "POST", path, query, document)
        _check(status, body, "CompleteMultipartUpload")
        if b"<Error>" in body:  # S3 may answer 200 with an error body
            raise RuntimeError(f"CompleteMultipartUpload: {body[:300]!r}")
        conn.close()

    def run(self, tests: list[str]) -> tuple[list[Row], dict[str, str]]:
        self.create_bucket(self.bucket)
        rows: list[Row] = []
        failures: dict[str, str] = {}
        steps: dict[str, Callable[[], list[Row]]] = {
            "small": self.small,
            "put-1k": lambda: self.small(("put-1k",)),
            "get-1k": lambda: self.small(("get-1k",)),
            "large": self.large,
            "list": self.listing,
            "multipart": self.multipart,
        }
        for test in tests:
            try:
                rows += steps[test]()
            except Exception as exc:  # one failing measurement must not lose the others
                failures[f"{self.name}/{test}"] = f"{type(exc).__name__}: {exc}"[:500]
        return rows, failures


# --- targets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    cmd: str  # with {port} (and {data} for a data dir)
    ready_path: str


def default_targets() -> list[Target]:
    """Overcast (durable, default settings) and moto server when installed."""
    py = sys.executable
    targets = [
        Target(
            "overcast",
            f"{py} -m overcast start --data-dir {{data}} --host 127.0.0.1 --port {{port}}",
            "/_overcast/health",
        )
    ]
    moto = shutil.which("moto_server")
    if moto:
        targets.append(Target("moto", f"{moto} -H 127.0.0.1 -p {{port}}", "/moto-api/"))
    return targets


def run_targets(
    targets: list[Target],
    tests: list[str],
    *,
    duration: float,
    processes: int | None,
    repeat: int,
    pin_large: bool = False,
) -> tuple[list[Row], dict[str, str]]:
    server_cpus, client_cpus = client_and_server_cpus()
    large_cpus = None
    if server_cpus and client_cpus and not pin_large:
        large_cpus = tuple(sorted({*server_cpus, *client_cpus}))

    def measure(target: Target, endpoint: str, pid: int) -> tuple[list[Row], dict[str, str]]:
        bench = Bench(
            target.name,
            endpoint,
            server_pid=pid,
            client_cpus=client_cpus,
            duration=duration,
            processes=processes,
            repeat=repeat,
            server_cpus=server_cpus,
            large_cpus=large_cpus,
        )
        return bench.run(tests)

    return each_target(targets, measure, cpus=server_cpus, prefix="overcast-bench-s3-")


def rows_table(rows: list[Row]) -> str:
    return table(
        [
            (
                r.target,
                r.test,
                r.value,
                r.unit,
                r.per_cpu if r.per_cpu is not None else "-",
                r.client_cpu_s if r.client_cpu_s is not None else "-",
                r.per_machine_cpu if r.per_machine_cpu is not None else "-",
                r.server_cpus or "-",
                r.seconds,
                r.errors,
            )
            for r in rows
        ],
        (
            "target",
            "test",
            "value",
            "unit",
            "per server CPU-s",
            "client CPU-s",
            "per machine CPU-s",
            "server cores",
            "seconds",
            "errors",
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.s3", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=None, help="measure this running server only")
    parser.add_argument("--only", default=None, help="comma-separated targets (overcast,moto)")
    parser.add_argument(
        "--tests",
        default="small,large,list,multipart",
        help="small (= put-1k,get-1k), large, list, multipart",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per rate test")
    parser.add_argument("--processes", type=int, default=None, help="client processes (rates)")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the best is reported")
    parser.add_argument(
        "--overcast-cmd", default=None, help="Overcast's command ({port}, {data}: a temp dir)"
    )
    parser.add_argument(
        "--pin-large",
        action="store_true",
        help="keep the server on core 0 for the large tests too (default: all the bench's cores)",
    )
    parser.add_argument("--json", action="store_true", help="write JSON to bench/results/")
    parser.add_argument("--json-path", default=None)
    args = parser.parse_args(argv)
    tests = args.tests.split(",")
    if args.endpoint:
        bench = Bench(
            "endpoint",
            args.endpoint,
            server_pid=None,
            client_cpus=None,
            duration=args.duration,
            processes=args.processes,
            repeat=args.repeat,
        )
        rows, failures = bench.run(tests)
    else:
        targets = default_targets()
        if args.overcast_cmd:
            targets[0] = Target("overcast", args.overcast_cmd, targets[0].ready_path)
        if args.only:
            targets = [t for t in targets if t.name in args.only.split(",")]
        rows, failures = run_targets(
            targets,
            tests,
            duration=args.duration,
            processes=args.processes,
            repeat=args.repeat,
            pin_large=args.pin_large,
        )
    print(rows_table(rows))
    for name, error in failures.items():
        print(f"{name}: FAILED: {error}")
    if args.json or args.json_path:
        path = save_json(
            "s3", {"results": [asdict(r) for r in rows], "failures": failures}, args.json_path
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
