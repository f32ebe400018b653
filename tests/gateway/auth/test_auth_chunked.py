"""aws-chunked uploads: SigV4 streaming (signed chunks, signed trailers) encoded by a small test
encoder that follows AWS's documented format, and unsigned trailers encoded by botocore itself."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum, Sha1Checksum, Sha256Checksum

from overcast.errors import SignatureDoesNotMatch
from overcast.gateway.auth.checksums import b64checksum, new_checksum
from overcast.gateway.auth.errors import BadDigest, IncompleteBody, InvalidRequest
from overcast.protocol.http import HttpRequest

from .helpers import PieceStream, authenticator, aws_request, creds, read_all, s3_url, to_http

EMPTY = hashlib.sha256(b"").hexdigest()
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


class StreamingSigner(S3SigV4Auth):
    """botocore's S3 signer, signing the streaming payload literal instead of a body hash."""

    def __init__(self, content_sha: str, **creds_kw: str) -> None:
        super().__init__(creds(**creds_kw), "s3", "us-east-1")
        self.content_sha = content_sha

    def payload(self, request: AWSRequest) -> str:
        return self.content_sha


def _sign(signer: StreamingSigner, request: AWSRequest, string_to_sign: str) -> str:
    return str(signer.signature(string_to_sign, request))


def encode_signed(
    signer: StreamingSigner,
    request: AWSRequest,
    data: bytes,
    chunk_size: int,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """AWS's SigV4 streaming framing: each chunk signed over the previous signature."""
    timestamp = request.context["timestamp"]
    scope = signer.credential_scope(request)
    previous = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    out = bytearray()
    for piece in pieces:
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                timestamp,
                scope,
                previous,
                EMPTY,
                hashlib.sha256(piece).hexdigest(),
            ]
        )
        previous = _sign(signer, request, sts)
        out += f"{len(piece):x};chunk-signature={previous}\r\n".encode() + piece
        if piece or trailers is None:
            out += b"\r\n"
    if trailers is not None:
        canonical = "".join(f"{name}:{value}\n" for name, value in trailers.items())
        sts = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                timestamp,
                scope,
                previous,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        for name, value in trailers.items():
            out += f"{name}:{value}\r\n".encode()
        out += f"x-amz-trailer-signature:{_sign(signer, request, sts)}\r\n\r\n".encode()
    return bytes(out)


def streaming_request(
    content_sha: str,
    data: bytes,
    *,
    chunk_size: int = 8192,
    trailers: dict[str, str] | None = None,
    encoding: str = "aws-chunked",
    **creds_kw: str,
) -> HttpRequest:
    headers = {
        "Content-Encoding": encoding,
        "x-amz-decoded-content-length": str(len(data)),
    }
    if trailers:
        headers["x-amz-trailer"] = ",".join(trailers)
    signer = StreamingSigner(content_sha, **creds_kw)
    request = aws_request("PUT", s3_url("bucket", "big object.bin"), headers=headers)
    signer.add_auth(request)
    if content_sha == UNSIGNED_TRAILER:
        algorithm = next(iter(trailers or {"x-amz-checksum-crc32": ""}))
        body = botocore_unsigned(data, algorithm, chunk_size)
    else:
        body = encode_signed(signer, request, data, chunk_size, trailers)
    http = to_http(request)
    http.headers.set("content-length", str(len(body)))
    http.body = body
    return http


def as_stream(request: HttpRequest, piece: int = 7) -> HttpRequest:
    request.stream, request.body = PieceStream(request.body, piece), b""
    return request


def botocore_unsigned(data: bytes, header: str, chunk_size: int = 8192) -> bytes:
    algorithm = header.removeprefix("x-amz-checksum-")
    classes: dict[str, Any] = {"crc32": Crc32Checksum, "sha1": Sha1Checksum}
    classes["sha256"] = Sha256Checksum
    checksum_cls = classes.get(algorithm) or (lambda: new_checksum(algorithm))
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data), checksum_cls=checksum_cls, checksum_name=header, chunk_size=chunk_size
    )
    return bytes(wrapper.read())


DATA = os.urandom(70_000)


@pytest.mark.parametrize(("chunk_size", "piece"), [(8192, 7), (65536, 4096), (100_000, 1 << 20)])
def test_signed_streaming_upload(chunk_size: int, piece: int) -> None:
    request = as_stream(streaming_request(SIGNED, DATA, chunk_size=chunk_size), piece)
    identity = authenticator().authenticate(request, "rest-xml")
    assert identity.verified
    assert request.headers["content-length"] == str(len(DATA))
    assert "content-encoding" not in request.headers
    assert read_all(request.stream, size=1000) == DATA


def test_signed_streaming_body_already_read() -> None:
    request = streaming_request(SIGNED, DATA, encoding="gzip, aws-chunked")
    authenticator().authenticate(request, "rest-xml")
    assert request.body == DATA
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["content-length"] == str(len(DATA))


def test_read_all_at_once_and_async_iteration() -> None:
    request = as_stream(streaming_request(SIGNED, DATA), piece=1000)
    authenticator().authenticate(request, "rest-xml")
    assert request.stream is not None
    assert asyncio.run(request.stream.read()) == DATA

    async def collect(stream: Any) -> bytes:
        return b"".join([chunk async for chunk in stream])

    request = as_stream(streaming_request(SIGNED, DATA), piece=1000)
    authenticator().authenticate(request, "rest-xml")
    assert asyncio.run(collect(request.stream)) == DATA


def _flip(body: bytes, index: int) -> bytes:
    return body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]


def test_tampered_chunk_data_fails_before_end_of_stream() -> None:
    request = streaming_request(SIGNED, DATA)
    request.body = _flip(request.body, 20_000)
    as_stream(request, 4096)
    authenticator().authenticate(request, "rest-xml")
    with pytest.raises(SignatureDoesNotMatch):
        read_all(request.stream, 4096)
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(streaming_request(SIGNED, DATA, secret="wrong"), "rest-xml")


def test_tampered_chunk_signature_fails() -> None:
    request = streaming_request(SIGNED, DATA)
    index = request.body.index(b"chunk-signature=") + len(b"chunk-signature=")
    request.body = request.body[:index] + b"0" * 64 + request.body[index + 64 :]
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "rest-xml")


def test_unknown_key_stream_is_decoded_without_verification() -> None:
    request = streaming_request(SIGNED, DATA, key="test", secret="test")
    index = request.body.index(b"chunk-signature=") + len(b"chunk-signature=")
    request.body = request.body[:index] + b"0" * 64 + request.body[index + 64 :]
    identity = authenticator().authenticate(as_stream(request), "rest-xml")
    assert not identity.verified
    assert read_all(request.stream, 999) == DATA


@pytest.mark.parametrize("algorithm", ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"])
def test_signed_trailer_checksum(algorithm: str) -> None:
    header = f"x-amz-checksum-{algorithm}"
    trailers = {header: b64checksum(algorithm, DATA)}
    request = as_stream(streaming_request(SIGNED_TRAILER, DATA, trailers=trailers), 333)
    assert authenticator().authenticate(request, "rest-xml").verified
    assert read_all(request.stream, 500) == DATA
    assert request.stream.trailers == trailers  # type: ignore[union-attr]


def test_signed_trailer_tampered_value() -> None:
    trailers = {"x-amz-checksum-crc32": b64checksum("crc32", DATA)}
    request = streaming_request(SIGNED_TRAILER, DATA, trailers=trailers)
    request.body = request.body.replace(trailers["x-amz-checksum-crc32"].encode(), b"AAAAAA==")
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "rest-xml")


def test_signed_trailer_wrong_checksum_is_bad_digest() -> None:
    trailers = {"x-amz-checksum-crc32": b64checksum("crc32", b"other data")}
    request = streaming_request(SIGNED_TRAILER, DATA, trailers=trailers)
    with pytest.raises(BadDigest, match="CRC32 you specified did not match"):
        authenticator().authenticate(request, "rest-xml")


ALGORITHMS = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256", "sha512", "md5"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("key", ["test", "known"])
def test_unsigned_trailer_from_botocore(algorithm: str, key: str) -> None:
    header = f"x-amz-checksum-{algorithm}"
    creds_kw = {"key": "test", "secret": "test"} if key == "test" else {}
    request = streaming_request(UNSIGNED_TRAILER, DATA, trailers={header: ""}, **creds_kw)
    as_stream(request, 1000)
    authenticator().authenticate(request, "rest-xml")
    assert read_all(request.stream, 4096) == DATA
    assert request.stream.trailers == {header: b64checksum(algorithm, DATA)}  # type: ignore[union-attr]


def test_unsigned_trailer_bad_checksum() -> None:
    request = streaming_request(UNSIGNED_TRAILER, DATA, trailers={"x-amz-checksum-sha256": ""})
    good = b64checksum("sha256", DATA).encode()
    request.body = request.body.replace(good, b64checksum("sha256", b"x").encode())
    with pytest.raises(BadDigest):
        authenticator().authenticate(request, "rest-xml")
    request = streaming_request(UNSIGNED_TRAILER, DATA, trailers={"x-amz-checksum-sha256": ""})
    request.body = request.body.replace(good, b"not base64!")
    with pytest.raises(InvalidRequest):
        authenticator().authenticate(request, "rest-xml")


def test_trailers_of_a_read_body_become_headers() -> None:
    request = streaming_request(UNSIGNED_TRAILER, DATA, trailers={"x-amz-checksum-crc32c": ""})
    authenticator().authenticate(request, "rest-xml")
    assert request.body == DATA
    assert request.headers["x-amz-checksum-crc32c"] == b64checksum("crc32c", DATA)


def test_truncated_and_overlong_bodies() -> None:
    request = streaming_request(SIGNED, DATA)
    request.body = request.body[:-10]
    with pytest.raises(IncompleteBody):
        authenticator().authenticate(request, "rest-xml")
    request = as_stream(streaming_request(SIGNED, DATA, key="test"))
    request.headers.set("x-amz-decoded-content-length", str(len(DATA) - 1))
    authenticator().authenticate(request, "rest-xml")
    with pytest.raises(IncompleteBody):
        read_all(request.stream)
    request = streaming_request(SIGNED, DATA, key="test")
    request.headers.set("x-amz-decoded-content-length", str(len(DATA) + 1))
    with pytest.raises(IncompleteBody):
        authenticator().authenticate(request, "rest-xml")
    request = streaming_request(SIGNED, DATA, key="test")
    request.body += b"garbage"
    with pytest.raises(IncompleteBody):
        authenticator().authenticate(request, "rest-xml")


class LazyChunkedSource:
    """Produces a botocore-encoded aws-chunked body on demand, never holding it whole."""

    def __init__(self, size: int) -> None:
        self._wrapper = AwsChunkedWrapper(
            _Zeros(size),
            checksum_cls=Crc32Checksum,
            checksum_name="x-amz-checksum-crc32",
            chunk_size=1 << 20,
        )

    async def read(self, size: int = -1) -> bytes:
        return bytes(self._wrapper.read(size if size > 0 else 1 << 20))

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(1 << 20):
            yield chunk


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self._left = size

    def read(self, size: int = -1) -> bytes:
        take = self._left if size < 0 else min(size, self._left)
        self._left -= take
        return bytes(take)


def test_large_unsigned_stream_in_bounded_memory() -> None:
    size = 64 << 20
    request = HttpRequest(
        "PUT",
        "/bucket/big",
        headers=to_http(aws_request("PUT", s3_url("bucket", "big"))).headers,
        stream=LazyChunkedSource(size),
    )
    request.headers.set("x-amz-content-sha256", UNSIGNED_TRAILER)
    request.headers.set("x-amz-decoded-content-length", str(size))
    request.headers.set("x-amz-trailer", "x-amz-checksum-crc32")
    authenticator().authenticate(request, "rest-xml")

    async def drain() -> tuple[int, int]:
        total, largest = 0, 0
        assert request.stream is not None
        async for chunk in request.stream:
            total += len(chunk)
            largest = max(largest, len(chunk))
        return total, largest

    total, largest = asyncio.run(drain())
    assert total == size and largest <= 1 << 20
    assert request.stream.trailers["x-amz-checksum-crc32"] == b64checksum("crc32", bytes(size))  # type: ignore[union-attr]
