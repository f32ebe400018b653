"""A body stream that checks the payload's SHA-256 once it has been read to its end.

Used when the signed payload hash cannot be checked up front because the body is still a stream:
the ``x-amz-content-sha256`` value of an S3 upload, or the signature itself of a non-S3 request
that sent no such header. The check runs before the final ``b""``, so a consumer never mistakes
a tampered body for a complete one.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

from overcast.protocol.http import BodyStream

_READ_SIZE = 1 << 20


class HashingBody:
    """Passes ``source`` through, calling ``on_end(sha256_hex)`` when it is exhausted."""

    def __init__(self, source: BodyStream, on_end: Callable[[str], None]) -> None:
        self._source = source
        self._on_end: Callable[[str], None] | None = on_end
        self._hash = hashlib.sha256()

    @property
    def trailers(self) -> dict[str, str]:
        return getattr(self._source, "trailers", {})

    async def read(self, size: int = -1) -> bytes:
        data = await self._source.read(size)
        if data:
            self._hash.update(data)
            if size < 0:
                self._end()  # a read-all returns everything at once
        elif size != 0:
            self._end()
        return data

    def _end(self) -> None:
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            on_end(self._hash.hexdigest())

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(_READ_SIZE):
            yield chunk
