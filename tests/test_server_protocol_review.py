"""Review of Overcast's uvicorn protocol (``server_protocol.py``) on a live server, over plain
HTTP and TLS (the same port: ``_SniffingListener`` hands both over): pipelined requests,
``Connection: close``, HEAD, empty and chunked bodies, ``Expect: 100-continue``, a client gone
mid-upload, and a slow reader of a large object."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from overcast.testing import ServerProcess

MiB = 1 << 20
BUCKET = "protocol-review"


@pytest.fixture(scope="module")
def s3(server: ServerProcess) -> Any:
    client = server.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@contextmanager
def _connect(server: ServerProcess, tls: bool) -> Iterator[socket.socket]:
    host, port = server.endpoint.split("://")[1].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=host)
    try:
        yield sock
    finally:
        sock.close()


def _target(s3: Any, method: str, key: str, **params: Any) -> str:
    """A presigned path+query for ``method`` on ``key`` (the signature covers the host only)."""
    operation = {"GET": "get_object", "HEAD": "head_object", "PUT": "put_object"}[method]
    url = s3.generate_presigned_url(
        operation, Params={"Bucket": BUCKET, "Key": key, **params}, ExpiresIn=300
    )
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _request(
    server: ServerProcess,
    method: str,
    target: str,
    body: bytes = b"",
    extra: str = "",
    length: int | None = None,
) -> bytes:
    """One request's bytes; ``length`` declares a body sent separately."""
    host = server.endpoint.split("://")[1]
    declared = len(body) if length is None else length
    length_line = f"Content-Length: {declared}\r\n" if method == "PUT" else ""
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{length_line}{extra}\r\n"
    return head.encode() + body


def _read_response(reader: BinaryIO, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1."), status_line
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    if method == "HEAD" or status in (100, 204, 304):
        return status, headers, b""
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int(reader.readline().split(b";")[0], 16):
            body += reader.read(size)
            reader.readline()
        reader.readline()
        return status, headers, body
    return status, headers, reader.read(int(headers.get("content-length", "0")))


def _put(s3: Any, key: str, body: bytes) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body)


TLS = pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])


@TLS
def test_pipelined_requests_in_one_segment_are_answered_in_order(
    server: ServerProcess, s3: Any, tls: bool
) -> None:
    _put(s3, "pipe-a", b"A" * 10)
    _put(s3, "pipe-b", b"B" * 70_000)  # over DIRECT_WRITE: written straight through
    requests = (
        _request(server, "GET", _target(s3, "GET", "pipe-a"))
        + _request(server, "PUT", _target(s3, "PUT", f"pipe-c-{tls}"), b"C" * 5000)
        + _request(server, "HEAD", _target(s3, "HEAD", "pipe-b"))
        + _request(server, "GET", _target(s3, "GET", "pipe-b"))
        + _request(server, "GET", _target(s3, "GET", "pipe-a"), extra="Connection: close\r\n")
    )
    with _connect(server, tls) as sock:
        sock.sendall(requests)  # one write: several requests per TCP segment
        reader = sock.makefile("rb")
        assert _read_response(reader)[::2] == (200, b"A" * 10)
        status, headers, _ = _read_response(reader, "PUT")
        assert status == 200 and headers["etag"] == f'"{hashlib.md5(b"C" * 5000).hexdigest()}"'
        status, headers, _ = _read_response(reader, "HEAD")
        assert status == 200 and headers["content-length"] == "70000"
        assert _read_response(reader)[::2] == (200, b"B" * 70_000)
        status, headers, body = _read_response(reader)
        assert (status, body) == (200, b"A" * 10)
        assert headers.get("connection") == "close"
        assert reader.read() == b""  # closed after the last answer, nothing more
    assert s3.get_object(Bucket=BUCKET, Key=f"pipe-c-{tls}")["Body"].read() == b"C" * 5000


@TLS
@pytest.mark.parametrize("size", [0, 1, 4096, 70_000])
def test_connection_close_answers_arrive_whole_before_the_close(
    server: ServerProcess, s3: Any, tls: bool, size: int
) -> None:
    """uvicorn closes the transport right after the last write: what the coalescing transport
    gathered must be sent first."""
    key = f"close-{size}"
    _put(s3, key, b"z" * size)
    for version, extra in (("1.1", "Connection: close\r\n"), ("1.0", "")):
        raw = _request(server, "GET", _target(s3, "GET", key), extra=extra)
        raw = raw.replace(b"HTTP/1.1\r\n", f"HTTP/{version}\r\n".encode(), 1)
        with _connect(server, tls) as sock:
            sock.sendall(raw)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        assert body == b"z" * size, (version, len(body))


@TLS
def test_head_answers_carry_no_body_and_keep_the_connection(
    server: ServerProcess, s3: Any, tls: bool
) -> None:
    _put(s3, "head-me", b"h" * 1234)
    with _connect(server, tls) as sock:
        reader = sock.makefile("rb")
        for _ in range(3):
            sock.sendall(_request(server, "HEAD", _target(s3, "HEAD", "head-me")))
            status, headers, _ = _read_response(reader, "HEAD")
            assert status == 200 and headers["content-length"] == "1234"
            sock.sendall(_request(server, "HEAD", _target(s3, "HEAD", "no-such-key")))
            assert _read_response(reader, "HEAD")[0] == 404
        sock.sendall(_request(server, "GET", _target(s3, "GET", "head-me")))
        assert _read_response(reader)[::2] == (200, b"h" * 1234)  # nothing stray before it


@TLS
def test_empty_bodies_then_more_requests_on_the_connection(
    server: ServerProcess, s3: Any, tls: bool
) -> None:
    with _connect(server, tls) as sock:
        reader = sock.makefile("rb")
        for i in range(3):
            sock.sendall(_request(server, "PUT", _target(s3, "PUT", f"empty-{i}"), b""))
            status, headers, _ = _read_response(reader, "PUT")
            assert status == 200 and headers["etag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
        sock.sendall(_request(server, "GET", _target(s3, "GET", "empty-2")))
        assert _read_response(reader)[::2] == (200, b"")


@TLS
def test_expect_continue_with_a_large_body_stores_it_whole(
    server: ServerProcess, s3: Any, tls: bool
) -> None:
    body = os.urandom(3 * MiB + 5)
    with _connect(server, tls) as sock:
        reader = sock.makefile("rb")
        sock.sendall(
            _request(
                server,
                "PUT",
                _target(s3, "PUT", "continue-big"),
                extra="Expect: 100-continue\r\n",
                length=len(body),
            )
        )
        assert _read_response(reader, "PUT")[0] == 100
        sock.sendall(body)
        status, headers, _ = _read_response(reader, "PUT")
        assert status == 200 and headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
        # and the connection goes on
        sock.sendall(_request(server, "HEAD", _target(s3, "HEAD", "continue-big")))
        assert _read_response(reader, "HEAD")[1]["content-length"] == str(len(body))


@TLS
def test_a_body_ending_exactly_where_the_next_request_starts(
    server: ServerProcess, s3: Any, tls: bool
) -> None:
    """A large body and the next request's head in one send: the parser hands the tail of the
    body and a new request over in the same data_received."""
    body = os.urandom(2 * MiB)
    with _connect(server, tls) as sock:
        reader = sock.makefile("rb")
        sock.sendall(
            _request(server, "PUT", _target(s3, "PUT", f"edge-{tls}"), body)
            + _request(server, "GET", _target(s3, "GET", f"edge-{tls}"))
        )
        status, headers, _ = _read_response(reader, "PUT")
        assert status == 200 and headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
        status, _, got = _read_response(reader)
        assert status == 200 and got == body


def _tmp_files(data_dir: Path) -> list[str]:
    tmp = data_dir / "blobs" / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else []


@TLS
def test_a_client_gone_mid_upload_leaves_no_temp_file(
    disk_server: ServerProcess, tls: bool
) -> None:
    s3 = disk_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    assert disk_server.data_dir is not None
    with _connect(disk_server, tls) as sock:
        sock.sendall(_request(disk_server, "PUT", _target(s3, "PUT", "gone"), length=64 * MiB))
        sock.sendall(os.urandom(6 * MiB))  # past the 1 MiB inline limit: a temp file exists
    deadline = time.monotonic() + 10
    while _tmp_files(disk_server.data_dir) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _tmp_files(disk_server.data_dir) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)  # and nothing stored
    s3.put_object(Bucket=BUCKET, Key="after", Body=b"ok")  # the server goes on


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


@TLS
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_slow_reader_of_a_large_object_does_not_make_the_server_buffer_it(
    disk_server: ServerProcess, tls: bool
) -> None:
    s3 = disk_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    size = 128 * MiB
    s3.put_object(Bucket=BUCKET, Key="big", Body=os.urandom(size))
    assert disk_server.process is not None
    pid = disk_server.process.pid
    before = _rss(pid)
    with _connect(disk_server, tls) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(_request(disk_server, "GET", _target(s3, "GET", "big")))
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        # The client stops reading: the server must stop at its write buffer's high-water mark.
        peak = before
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            peak = max(peak, _rss(pid))
            time.sleep(0.05)
        assert peak - before < 32 * MiB, (before, peak)
        digest = hashlib.md5(first.partition(b"\r\n\r\n")[2])
        received = len(first.partition(b"\r\n\r\n")[2])
        while received < size:
            chunk = sock.recv(1 << 20)
            assert chunk
            digest.update(chunk)
            received += len(chunk)
    head = s3.head_object(Bucket=BUCKET, Key="big")
    assert head["ETag"].strip('"') == digest.hexdigest()


# -- in process: the protocol class over a fake transport ----------------------------------------


class _FakeTransport:
    def __init__(self) -> None:
        self.out = bytearray()
        self.closed = False
        self.reading = True
        self.events: list[str] = []

    def write(self, data: Any) -> None:
        assert not self.closed, "write after close"
        self.out += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.events.append("close")
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1), "sockname": ("127.0.0.1", 2)}.get(name, default)


async def _echo_app(scope: Any, receive: Any, send: Any) -> None:
    """Answers the body's length and MD5 once it has it all; how many pieces it came in."""
    digest, size, pieces = hashlib.md5(), 0, 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        digest.update(message["body"])
        size += len(message["body"])
        pieces += 1
        if not message.get("more_body"):
            break
    answer = f"{size} {digest.hexdigest()}".encode()
    headers = [(b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def _protocol(app: Any) -> tuple[Any, _FakeTransport, Any]:
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from overcast.server_protocol import overcast_protocol

    config = uvicorn.Config(app, lifespan="off", log_config=None, timeout_keep_alive=60)
    state = ServerState()
    protocol = overcast_protocol(HttpToolsProtocol)(
        config=config, server_state=state, app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = _FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport, state


async def _settle(transport: _FakeTransport, answers: int) -> None:
    deadline = asyncio.get_running_loop().time() + 5
    while transport.out.count(b"HTTP/1.1 200") < answers:
        assert asyncio.get_running_loop().time() < deadline, bytes(transport.out)
        await asyncio.sleep(0)
    for _ in range(5):  # the deferred flush and the pipelined task's start
        await asyncio.sleep(0)


def test_many_chunks_of_one_data_received_reach_the_app_whole() -> None:
    """Several ``on_body`` calls in one ``data_received`` (a chunked body): bytes, then a
    bytearray grown in place; then a pipelined request with a Content-Length body."""

    async def run() -> None:
        protocol, transport, _ = _protocol(_echo_app)
        pieces = [bytes([65 + i % 26]) * (i % 7 + 1) for i in range(300)]
        chunked = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
        second = os.urandom(100_000)
        protocol.data_received(
            b"PUT /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked
            + b"PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(second)
            + second[:40_000]
        )
        protocol.data_received(second[40_000:])
        await _settle(transport, 2)
        first = b"".join(pieces)
        assert f"{len(first)} {hashlib.md5(first).hexdigest()}".encode() in transport.out
        assert f"{len(second)} {hashlib.md5(second).hexdigest()}".encode() in transport.out
        assert transport.out.index(b"%d " % len(first)) < transport.out.index(b"%d " % len(second))
        assert transport.reading  # nothing left paused once both were answered

    asyncio.run(run())


def test_a_connection_close_answer_is_written_before_the_close() -> None:
    async def run() -> None:
        protocol, transport, _ = _protocol(_echo_app)
        protocol.data_received(
            b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        )
        while not transport.closed:
            await asyncio.sleep(0)
        head, _, body = bytes(transport.out).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head
        assert body == f"3 {hashlib.md5(b'abc').hexdigest()}".encode()

    asyncio.run(run())


def test_an_answer_given_before_the_body_was_read_resumes_reading() -> None:
    """The app answers (an error) without reading the body it paused reading for: the next
    request on the connection must still be read."""

    async def early(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    async def run() -> None:
        protocol, transport, _ = _protocol(early)
        protocol.data_received(b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        await _settle(transport, 1)
        assert transport.reading
        protocol.data_received(b"67890GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        await _settle(transport, 2)
        assert transport.reading

    asyncio.run(run())


def test_a_client_gone_mid_body_ends_the_apps_receive() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(message["type"])
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                return

    async def run() -> None:
        protocol, _transport, state = _protocol(app)
        protocol.data_received(b"PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n12345")
        for _ in range(5):
            await asyncio.sleep(0)
        protocol.connection_lost(None)
        await asyncio.wait_for(asyncio.gather(*state.tasks), 5)

    asyncio.run(run())
    assert seen[0] == "http.request" and seen[-1] == "http.disconnect"


def test_shutdown_of_an_idle_connection_flushes_then_closes() -> None:
    async def run() -> None:
        protocol, transport, _ = _protocol(_echo_app)
        protocol.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        await _settle(transport, 1)
        protocol.transport.write(b"tail")  # gathered, not yet sent
        protocol.shutdown()
        assert transport.closed and transport.out.endswith(b"tail")

    asyncio.run(run())


@pytest.mark.parametrize("size", [0, 5, 64 * 1024, 8 * MiB + 3])
def test_boto3_aws_chunked_uploads_with_a_trailer_over_https(
    server: ServerProcess, size: int
) -> None:
    """Over HTTPS boto3 sends PutObject as ``Transfer-Encoding: chunked`` +
    ``Content-Encoding: aws-chunked`` with the checksum in a trailer: HTTP chunks (several
    ``on_body`` per read) around aws-chunked frames, through the TLS hand-over."""
    import io
    import warnings

    import boto3
    import urllib3

    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
    s3 = boto3.client(
        "s3",
        endpoint_url=server.endpoint.replace("http://", "https://"),
        verify=False,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    sent: list[dict[str, Any]] = []
    s3.meta.events.register("before-send", lambda request, **_: sent.append(dict(request.headers)))
    s3.create_bucket(Bucket="protocol-review-tls")
    data = os.urandom(size)
    key = f"trailer-{size}"
    answer = s3.put_object(
        Bucket="protocol-review-tls", Key=key, Body=io.BytesIO(data), ChecksumAlgorithm="SHA256"
    )
    assert sent[-1].get("Content-Encoding") == b"aws-chunked"
    assert sent[-1].get("Transfer-Encoding") == b"chunked"
    assert answer["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket="protocol-review-tls", Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == data


@TLS
def test_304_and_206_answers_keep_the_connection_in_step(
    server: ServerProcess, s3: Any, tls: bool
) -> None:
    _put(s3, "cond", b"0123456789")
    etag = s3.head_object(Bucket=BUCKET, Key="cond")["ETag"]
    with _connect(server, tls) as sock:
        reader = sock.makefile("rb")
        target = _target(s3, "GET", "cond")
        sock.sendall(
            _request(server, "GET", target, extra=f"If-None-Match: {etag}\r\n")
            + _request(server, "GET", target, extra="Range: bytes=2-4\r\n")
            + _request(server, "GET", target)
        )
        assert _read_response(reader)[0] == 304
        assert _read_response(reader)[::2] == (206, b"234")
        assert _read_response(reader)[::2] == (200, b"0123456789")
