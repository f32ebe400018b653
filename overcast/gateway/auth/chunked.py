"""Decoding ``aws-chunked`` request bodies (S3 streaming uploads), incrementally.

The wire format, after the request headers::

    <hex size>[;chunk-signature=<sig>]\\r\\n<data>\\r\\n     (repeated)
    0[;chunk-signature=<sig>]\\r\\n                          (final, empty chunk)
    x-amz-checksum-crc32:<b64>\\r\\n                         (optional trailers)
    x-amz-trailer-signature:<sig>\\r\\n                      (signed trailers only)
    \\r\\n

``ChunkDecoder`` is a sans-IO state machine: ``feed`` it raw bytes and it returns the decoded
bytes, verifying each chunk's signature (a chain from the seed signature of the request) when it
has a signing context, the declared trailing checksum against the decoded bytes, and the decoded
length. ``AwsChunkedBody`` runs it over a ``BodyStream`` with bounded memory (a few MiB whatever
the object size), and ``decode_chunked`` over a body already in memory.

Data is handed on before the end of its chunk is reached, so a bad signature is reported at the
chunk's end: a consumer always sees the error before end of stream, never a clean EOF.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator

from overcast.errors import SignatureDoesNotMatch
from overcast.gateway.auth.checksums import (
    Checksum,
    UnsupportedChecksumAlgorithm,
    algorithm_of_header,
    new_checksum,
)
from overcast.gateway.auth.errors import (
    S3_SIGNATURE_MESSAGE,
    BadDigest,
    IncompleteBody,
    InvalidRequest,
)
from overcast.gateway.auth.signing import EMPTY_SHA256, hmac_hex, signatures_equal
from overcast.gateway.auth.sigv4 import ChunkSigningContext
from overcast.protocol.http import BodyStream

TRAILER_SIGNATURE = "x-amz-trailer-signature"
_MAX_LINE = 4096  # a chunk header or trailer line longer than this is garbage, not a slow peer
_READ_SIZE = 1 << 20

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkSigner:
    """Checks the chain of chunk signatures and the trailer signature of a signed upload."""

    def __init__(self, context: ChunkSigningContext, access_key: str) -> None:
        self._context = context
        self._previous = context.seed_signature
        self._access_key = access_key

    def _check(self, string_to_sign: str, provided: str | None) -> None:
        expected = hmac_hex(self._context.key, string_to_sign)
        if provided is None or not signatures_equal(expected, provided):
            raise SignatureDoesNotMatch(
                S3_SIGNATURE_MESSAGE,
                AWSAccessKeyId=self._access_key,
                StringToSign=string_to_sign,
                SignatureProvided=provided or "",
            )
        self._previous = expected

    def chunk(self, data_sha256: str, provided: str | None) -> None:
        ctx = self._context
        self._check(
            f"AWS4-HMAC-SHA256-PAYLOAD\n{ctx.amz_date}\n{ctx.scope}\n{self._previous}\n"
            f"{EMPTY_SHA256}\n{data_sha256}",
            provided,
        )

    def trailer(self, canonical_trailers: bytes, provided: str | None) -> None:
        ctx = self._context
        digest = hashlib.sha256(canonical_trailers).hexdigest()
        self._check(
            f"AWS4-HMAC-SHA256-TRAILER\n{ctx.amz_date}\n{ctx.scope}\n{self._previous}\n{digest}",
            provided,
        )


def _chunk_signature(extensions: str) -> str | None:
    for extension in extensions.split(";"):
        name, _, value = extension.partition("=")
        if name.strip() == "chunk-signature":
            return value.strip()
    return None


class ChunkDecoder:
    """The aws-chunked state machine: ``feed`` raw bytes in, get decoded bytes out."""

    def __init__(
        self,
        *,
        signer: ChunkSigner | None = None,
        decoded_length: int | None = None,
        declared_trailers: list[str] | None = None,
        signed_trailer: bool = False,
    ) -> None:
        self._signer = signer
        self._signed_trailer = signed_trailer and signer is not None
        self._expected_length = decoded_length
        self._declared = [name.strip().lower() for name in declared_trailers or () if name.strip()]
        self._checksums: dict[str, Checksum] = {}
        for name in self._declared:
            algorithm = algorithm_of_header(name)
            if algorithm is None:
                continue
            try:
                self._checksums[name] = new_checksum(algorithm)
            except UnsupportedChecksumAlgorithm:
                raise InvalidRequest(
                    f"Value for x-amz-trailer header is invalid: {algorithm} is not supported."
                ) from None
        self._buf = bytearray()
        self._state = _HEADER
        self._remaining = 0
        self._chunk_signature: str | None = None
        self._chunk_hash: hashlib._Hash | None = None
        self._decoded = 0
        self._trailer_lines: list[tuple[str, str]] = []
        self.trailers: dict[str, str] = {}

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def decoded_length(self) -> int:
        return self._decoded

    def feed(self, data: bytes) -> bytes:
        """Decode as much of ``data`` (plus what was left over) as possible."""
        self._buf += data
        out: list[bytes] = []
        pos = 0
        buf = self._buf
        while True:
            state = self._state
            if state == _DATA:
                available = len(buf) - pos
                if not available:
                    break
                take = min(available, self._remaining)
                piece = bytes(buf[pos : pos + take])
                pos += take
                self._remaining -= take
                self._data(piece)
                out.append(piece)
                if not self._remaining:
                    self._state = _DATA_END
            elif state == _DATA_END:
                if len(buf) - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise IncompleteBody("The chunk is longer than its declared size.")
                pos += 2
                self._end_chunk()
                self._state = _HEADER
            elif state in (_HEADER, _TRAILER):
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    if len(buf) - pos > _MAX_LINE:
                        raise IncompleteBody("Malformed aws-chunked framing.")
                    break
                line = bytes(buf[pos:end]).decode("latin-1")
                pos = end + 2
                if state == _HEADER:
                    self._header(line)
                else:
                    self._trailer(line)
            else:  # _DONE: only blank lines may follow
                if bytes(buf[pos:]).strip(b"\r\n"):
                    raise IncompleteBody("Unexpected data after the final chunk.")
                pos = len(buf)
                break
        del buf[:pos]
        return b"".join(out)

    def close(self) -> None:
        """The source has ended: raise unless the framing was complete."""
        if self._state != _DONE:
            raise IncompleteBody()

    def _data(self, piece: bytes) -> None:
        self._decoded += len(piece)
        if self._chunk_hash is not None:
            self._chunk_hash.update(piece)
        for checksum in self._checksums.values():
            checksum.update(piece)

    def _header(self, line: str) -> None:
        size_text, _, extensions = line.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise IncompleteBody(f"Malformed chunk header: {line[:80]!r}") from None
        if size < 0:
            raise IncompleteBody(f"Malformed chunk header: {line[:80]!r}")
        if self._expected_length is not None and self._decoded + size > self._expected_length:
            raise IncompleteBody("The chunks are longer than x-amz-decoded-content-length.")
        self._chunk_signature = _chunk_signature(extensions)
        if size == 0:
            if self._signer is not None:
                self._signer.chunk(EMPTY_SHA256, self._chunk_signature)
            self._state = _TRAILER
            return
        self._chunk_hash = hashlib.sha256() if self._signer is not None else None
        self._remaining = size
        self._state = _DATA

    def _end_chunk(self) -> None:
        if self._signer is not None and self._chunk_hash is not None:
            self._signer.chunk(self._chunk_hash.hexdigest(), self._chunk_signature)
        self._chunk_hash = None

    def _trailer(self, line: str) -> None:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise IncompleteBody(f"Malformed trailing header: {line[:80]!r}")
            self._trailer_lines.append((name.strip().lower(), value.strip()))
            return
        self._finish()

    def _finish(self) -> None:
        self._state = _DONE
        signature: str | None = None
        for name, value in self._trailer_lines:
            if name == TRAILER_SIGNATURE:
                signature = value
            else:
                self.trailers[name] = value
        if self._signer is not None and self._signed_trailer:
            canonical = "".join(
                f"{name}:{value}\n"
                for name, value in self._trailer_lines
                if name != TRAILER_SIGNATURE
            )
            self._signer.trailer(canonical.encode(), signature)
        if self._expected_length is not None and self._decoded != self._expected_length:
            raise IncompleteBody(
                "You did not provide the number of bytes specified by the "
                "x-amz-decoded-content-length header."
            )
        for name, checksum in self._checksums.items():
            self._check_trailer_checksum(name, checksum)

    def _check_trailer_checksum(self, name: str, checksum: Checksum) -> None:
        provided = self.trailers.get(name)
        if provided is None:
            raise InvalidRequest(
                f"The {name} trailing header declared in x-amz-trailer is missing."
            )
        try:
            raw = base64.b64decode(provided, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != len(checksum.digest()):
            raise InvalidRequest(f"Value for {name} trailing header is invalid.")
        if provided != checksum.b64digest():
            raise BadDigest(
                f"The {checksum.algorithm} you specified did not match the calculated checksum."
            )


class AwsChunkedBody:
    """A ``BodyStream`` of the decoded bytes of an aws-chunked ``source`` stream."""

    def __init__(self, source: BodyStream, decoder: ChunkDecoder) -> None:
        self._source = source
        self._decoder = decoder
        self._out = bytearray()
        self._eof = False

    @property
    def trailers(self) -> dict[str, str]:
        """The trailing headers (checksums), complete once the stream has been read to its end."""
        return self._decoder.trailers

    async def _fill(self, wanted: int) -> None:
        while not self._eof and (wanted < 0 or len(self._out) < wanted):
            data = await self._source.read(_READ_SIZE)
            if not data:
                self._decoder.close()
                self._eof = True
                break
            self._out += self._decoder.feed(data)

    async def read(self, size: int = -1) -> bytes:
        await self._fill(size if size >= 0 else -1)
        if size < 0 or size >= len(self._out):
            chunk = bytes(self._out)
            self._out.clear()
        else:
            chunk = bytes(self._out[:size])
            del self._out[:size]
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(_READ_SIZE):
            yield chunk


def decode_chunked(body: bytes, decoder: ChunkDecoder) -> bytes:
    """Decode a whole aws-chunked body already in memory."""
    decoded = decoder.feed(body)
    decoder.close()
    return decoded
