"""A streaming multipart/form-data reader for browser POST uploads.

The form fields before the file are small and read whole (S3 caps them at 20 KB); the file part
is handed out as an async stream so that its bytes go to the blob store as they arrive. Fields
after the file are ignored, as S3 ignores them.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message

from overcast.protocol.http import BodyStream
from overcast.services.s3.errors import (
    IncorrectNumberOfFilesInPostRequest,
    MalformedPOSTRequest,
    MaxPostPreDataLengthExceededError,
)

MAX_PRE_DATA = 20 * 1024
_CHUNK = 64 * 1024


@dataclass
class FilePart:
    filename: str
    content_type: str | None
    stream: AsyncIterator[bytes]


@dataclass
class Form:
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name as sent, value)
    file: FilePart | None = None

    def get(self, name: str) -> str | None:
        """A field by case-insensitive name (S3's form field names ignore case)."""
        name = name.lower()
        for key, value in self.fields:
            if key.lower() == name:
                return value
        return None


def boundary_of(content_type: str) -> str:
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise MalformedPOSTRequest()
    return boundary


class _Buffer:
    def __init__(self, body: BodyStream) -> None:
        self._body = body
        self._data = bytearray()
        self._eof = False

    async def fill(self) -> bool:
        if self._eof:
            return False
        chunk = await self._body.read(_CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._data += chunk
        return True

    async def read_until(self, delimiter: bytes, limit: int) -> bytes:
        """The bytes before ``delimiter`` (consumed too); MalformedPOSTRequest at the end."""
        while True:
            index = self._data.find(delimiter)
            if index >= 0:
                out = bytes(self._data[:index])
                del self._data[: index + len(delimiter)]
                return out
            if len(self._data) > limit:
                raise MaxPostPreDataLengthExceededError()
            if not await self.fill():
                raise MalformedPOSTRequest()

    async def stream_until(self, delimiter: bytes) -> AsyncIterator[bytes]:
        """Yield the bytes before ``delimiter`` as they come, keeping back a possible prefix."""
        keep = len(delimiter) - 1
        while True:
            index = self._data.find(delimiter)
            if index >= 0:
                if index:
                    yield bytes(self._data[:index])
                del self._data[: index + len(delimiter)]
                return
            if len(self._data) > keep:
                cut = len(self._data) - keep
                yield bytes(self._data[:cut])
                del self._data[:cut]
            if not await self.fill():
                raise MalformedPOSTRequest()

    async def drain(self) -> None:
        self._data.clear()
        while await self.fill():
            self._data.clear()


_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _disposition(value: str) -> dict[str, str]:
    params = {}
    for match in _DISPOSITION_PARAM.finditer(value):
        raw = match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"'):
            raw = raw[1:-1].replace('\\"', '"')
        params[match.group(1).lower()] = raw
    return params


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


async def read_form(body: BodyStream, boundary: str) -> tuple[Form, _Buffer]:
    """Read the fields up to the file part; the file's stream is ``form.file.stream``."""
    buffer = _Buffer(body)
    dash = b"--" + boundary.encode("latin-1")
    separator = b"\r\n" + dash
    await buffer.read_until(dash, MAX_PRE_DATA)
    form = Form()
    used = 0
    while True:
        tail = await buffer.read_until(b"\r\n", MAX_PRE_DATA)
        if tail.startswith(b"--"):
            break  # the closing boundary
        headers = _headers(await buffer.read_until(b"\r\n\r\n", MAX_PRE_DATA))
        params = _disposition(headers.get("content-disposition", ""))
        name = params.get("name")
        if name is None:
            raise MalformedPOSTRequest()
        if name.lower() == "file":
            stream = buffer.stream_until(separator)
            form.file = FilePart(params.get("filename", ""), headers.get("content-type"), stream)
            return form, buffer
        value = await buffer.read_until(separator, MAX_PRE_DATA)
        used += len(value)
        if used > MAX_PRE_DATA:
            raise MaxPostPreDataLengthExceededError()
        form.fields.append((name, value.decode("utf-8", "replace")))
    raise IncorrectNumberOfFilesInPostRequest()


class StreamBody:
    """A ``BodyStream`` over the file part's chunks (what ``body.receive`` takes)."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def read(self, size: int = -1) -> bytes:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk
