"""Overcast's uvicorn protocol: small writes of one loop turn go out as one, in order; request
bodies reach the app intact, however the socket cuts them."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from overcast.server_protocol import DIRECT_WRITE, CoalescingTransport


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


async def _turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def test_small_writes_of_one_turn_are_sent_together() -> None:
    asyncio.run(_test_small_writes_of_one_turn_are_sent_together())


async def _test_small_writes_of_one_turn_are_sent_together() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(memoryview(b"body"))
    assert fake.writes == []
    await _turn()
    assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await _turn()
    assert fake.writes[-1] == b"next"


def test_a_large_write_goes_straight_out_after_what_was_gathered() -> None:
    asyncio.run(_test_a_large_write_goes_straight_out_after_what_was_gathered())


async def _test_a_large_write_goes_straight_out_after_what_was_gathered() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    big = b"x" * DIRECT_WRITE
    transport.write(b"head")
    transport.write(big)
    assert fake.writes == [b"head", big]
    await _turn()  # the scheduled flush finds nothing left
    assert fake.writes == [b"head", big]


def test_gathered_writes_are_sent_once_they_add_up() -> None:
    asyncio.run(_test_gathered_writes_are_sent_once_they_add_up())


async def _test_gathered_writes_are_sent_once_they_add_up() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    chunk = b"y" * (DIRECT_WRITE // 4)
    for _ in range(4):
        transport.write(chunk)
    assert fake.writes == [chunk * 4]


def test_close_sends_what_was_gathered_and_abort_drops_it() -> None:
    asyncio.run(_test_close_sends_what_was_gathered_and_abort_drops_it())


async def _test_close_sends_what_was_gathered_and_abort_drops_it() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"last words")
    transport.close()
    assert fake.writes == [b"last words"] and fake.closed
    await _turn()
    assert fake.writes == [b"last words"]

    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    transport.write(b"never sent")
    transport.abort()
    await _turn()
    assert fake.writes == [] and fake.aborted


def test_other_methods_reach_the_real_transport() -> None:
    asyncio.run(_test_other_methods_reach_the_real_transport())


async def _test_other_methods_reach_the_real_transport() -> None:
    fake = FakeTransport()
    transport = CoalescingTransport(fake, asyncio.get_running_loop())  # type: ignore[arg-type]
    assert transport.get_extra_info("peername") == ("127.0.0.1", 1)
    assert not transport.is_closing()


@pytest.mark.parametrize("expect_continue", [False, True])
def test_a_live_server_answers_in_one_segment(server: Any, expect_continue: bool) -> None:
    """Headers and a small body arrive together; 100 Continue still comes before the body."""
    host, port = server.endpoint.split("://")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        body = b'{"QueueName": "x"}' if not expect_continue else b"x" * 10
        head = (
            "PUT /no-such-bucket-coalesce/key HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\nContent-Length: {len(body)}\r\n"
            + ("Expect: 100-continue\r\n" if expect_continue else "")
            + "\r\n"
        )
        sock.sendall(head.encode())
        if expect_continue:
            first = sock.recv(65536)
            if first.startswith(b"HTTP/1.1 100"):
                sock.sendall(body)
                first = first.split(b"\r\n\r\n", 1)[1] or sock.recv(65536)
        else:
            sock.sendall(body)
            first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 ")
        headers, _, rest = first.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in headers.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        assert length > 0 and len(rest) == length  # the body came with the headers


def test_bodies_arrive_whole_however_the_socket_cuts_them(server: Any) -> None:
    """Chunks handed over as they come, accumulated while the app is busy, over the pause
    threshold: the stored object is the bytes sent (ETag = MD5)."""
    import hashlib
    import os

    s3 = server.client("s3")
    s3.create_bucket(Bucket="protocol-bodies")
    host, port = server.endpoint.split("://")[1].rsplit(":", 1)
    body = os.urandom(3 * 1024 * 1024 + 123)
    for piece in (1, 4096, 65536 + 7, 2 * 1024 * 1024):
        key = f"cut-{piece}"
        url = s3.generate_presigned_url(
            "put_object", Params={"Bucket": "protocol-bodies", "Key": key}, ExpiresIn=60
        )
        path = url.split(f"{port}", 1)[1]
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                f"PUT {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            for start in range(0, len(body), piece * 64 if piece == 1 else piece):
                sock.sendall(body[start : start + (piece * 64 if piece == 1 else piece)])
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        got = s3.get_object(Bucket="protocol-bodies", Key=key)
        assert got["ETag"].strip('"') == hashlib.md5(body).hexdigest()
        assert got["Body"].read() == body
