"""The HTTP request and response as the protocol layer sees them, independent of ASGI.

``HttpRequest`` holds the raw path and query exactly as sent (percent-encoded), the headers, and the
body: either fully read (``body``) or, for operations with a streaming input payload (S3
PutObject, UploadPart...), a ``BodyStream`` the provider reads itself so large uploads never sit in
memory. ``HttpResponse`` carries bytes or an async iterator of chunks for streaming outputs.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeVar, overload, runtime_checkable
from urllib.parse import parse_qsl, unquote

_T = TypeVar("_T")


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued HTTP headers; ``h[name]`` is the first value."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] | None = None) -> None:
        if items is None:
            items = ()
        elif isinstance(items, Mapping):
            items = items.items()
        self._items: list[tuple[str, str]] = [(k.lower(), v) for k, v in items]

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> Headers:
        h = cls.__new__(cls)
        h._items = [(k.lower().decode("latin-1"), v.decode("latin-1")) for k, v in raw]
        return h

    def __getitem__(self, name: str) -> str:
        name = name.lower()
        for k, v in self._items:
            if k == name:
                return v
        raise KeyError(name)

    # Mapping.get goes through __getitem__ and a KeyError on a miss: several lookups per request.
    @overload
    def get(self, name: str, default: None = None) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    @overload
    def get(self, name: str, default: _T) -> str | _T: ...
    def get(self, name: str, default: object = None) -> object:
        name = name.lower()
        for k, v in self._items:
            if k == name:
                return v
        return default

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        name = name.lower()
        for k, _ in self._items:  # noqa: SIM110 - a loop: no generator object per lookup
            if k == name:
                return True
        return False

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for k, _ in self._items:
            if k not in seen:
                seen.add(k)
                yield k

    def __len__(self) -> int:
        return len({k for k, _ in self._items})

    def getall(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def raw_items(self) -> list[tuple[str, str]]:
        """Every (lower-cased name, value) pair in order, repeats included."""
        return list(self._items)

    def set(self, name: str, value: str) -> None:
        name = name.lower()
        self._remove(name)
        self._items.append((name, value))

    def add(self, name: str, value: str) -> None:
        self._items.append((name.lower(), value))

    def remove(self, name: str) -> None:
        self._remove(name.lower())

    def _remove(self, name: str) -> None:
        # Serializers ``set`` dozens of headers that are not there yet: look before rebuilding.
        for k, _ in self._items:
            if k == name:
                self._items = [(k, v) for k, v in self._items if k != name]
                return

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@runtime_checkable
class BodyStream(Protocol):
    """A request body read incrementally (ASGI ``receive`` under the hood)."""

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all remaining when -1); b"" at the end."""
        ...

    def __aiter__(self) -> AsyncIterator[bytes]: ...


class BufferedBody:
    """A ``BodyStream`` over bytes already in memory (tests, small bodies)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else min(len(self._data), self._pos + size)
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while chunk := await self.read(1 << 20):
            yield chunk


@dataclass
class HttpRequest:
    method: str
    path: str  # raw path as sent, percent-encoded, without the query string
    query: str = ""  # raw query string, without "?"
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    stream: BodyStream | None = None  # set instead of ``body`` for streaming input payloads
    scheme: str = "http"
    client_ip: str = "127.0.0.1"
    # The gateway's operation matches for this request (see gateway.app._find_operation).
    operation_matches: dict[tuple[str, str, str], Any] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def host(self) -> str:
        """The Host header (with port), or '' when absent."""
        return self.headers.get("host", "")

    @cached_property
    def query_items(self) -> list[tuple[str, str]]:
        """Decoded query parameters in order; a key without '=' has value ''."""
        return parse_qsl(self.query, keep_blank_values=True)

    @cached_property
    def query_params(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in self.query_items:
            out.setdefault(k, []).append(v)
        return out

    @cached_property
    def decoded_path(self) -> str:
        return unquote(self.path)


@dataclass
class HttpResponse:
    status: int = 200
    headers: Headers = field(default_factory=Headers)
    # bytes, or an async iterable of chunks for streaming payloads (S3 GetObject...).
    body: bytes | AsyncIterable[bytes] = b""
