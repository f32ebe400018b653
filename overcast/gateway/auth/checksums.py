"""Incremental payload checksums as S3 encodes them (``x-amz-checksum-*``).

Every algorithm answers ``b64digest()``: base64 of the big-endian digest, the form S3 puts in
``x-amz-checksum-crc32`` and friends. CRC32 uses zlib; CRC32C and CRC64NVME use the ``anycrc``
C extension when installed (gigabytes per second) and otherwise a table-driven pure-Python CRC;
the xxHash family needs the optional ``xxhash`` package. S3 reuses this module to compute and check
object checksums::

    checksum = new_checksum("CRC32C")
    checksum.update(b"hello")
    checksum.b64digest()  # base64 of the 4-byte big-endian CRC
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any, Protocol

try:  # Optional fast CRCs; without them the table-driven fallback below is used.
    import anycrc as _anycrc
except ImportError:  # pragma: no cover - depends on the environment
    _anycrc = None

try:
    import xxhash as _xxhash
except ImportError:  # pragma: no cover - depends on the environment
    _xxhash = None

Buffer = bytes | bytearray | memoryview


class Checksum(Protocol):
    """An incremental checksum: feed it with ``update``, read it with ``b64digest``."""

    algorithm: str

    def update(self, data: Buffer) -> None: ...

    def digest(self) -> bytes: ...

    def b64digest(self) -> str: ...


class UnsupportedChecksumAlgorithm(ValueError):
    """The algorithm is not one S3 knows, or its optional implementation is not installed."""


class _Base:
    algorithm: str = ""

    def digest(self) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _Crc32(_Base):
    algorithm = "CRC32"

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: Buffer) -> None:
        self._crc = zlib.crc32(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


def _reflected_table(poly: int) -> list[int]:
    """The 256-entry lookup table of a reflected (LSB-first) CRC with polynomial ``poly``."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


class _PurePythonCrc:
    """A reflected CRC with all-ones init and xor-out, one table lookup per byte (slow)."""

    def __init__(self, poly: int, width: int) -> None:
        self._table = _reflected_table(poly)
        self._mask = (1 << width) - 1

    def calc(self, data: Buffer, crc: int = 0) -> int:
        table = self._table
        reg = crc ^ self._mask
        for byte in bytes(data):
            reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
        return reg ^ self._mask


def _crc_engine(anycrc_name: str, poly: int, width: int) -> Callable[[Buffer, int], int]:
    """``calc(data, previous_crc) -> crc`` for a CRC, fast when ``anycrc`` is installed."""
    if _anycrc is not None:
        model: Any = _anycrc.Model(anycrc_name)
        return lambda data, crc: int(model.calc(data, crc))
    engine = _PurePythonCrc(poly, width)
    return engine.calc


_CRC32C = _crc_engine("CRC32C", 0x82F63B78, 32)
_CRC64NVME = _crc_engine("CRC64-NVME", 0x9A6C9329AC4BC9B5, 64)


class _Crc32C(_Base):
    algorithm = "CRC32C"

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: Buffer) -> None:
        if data:
            self._crc = _CRC32C(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(4, "big")


class _Crc64Nvme(_Base):
    algorithm = "CRC64NVME"

    def __init__(self) -> None:
        self._crc = 0

    def update(self, data: Buffer) -> None:
        if data:
            self._crc = _CRC64NVME(data, self._crc)

    def digest(self) -> bytes:
        return self._crc.to_bytes(8, "big")


class _Hashed(_Base):
    """Any hashlib-style object (hashlib, xxhash): their digests are already big-endian."""

    def __init__(self, algorithm: str, factory: Callable[[], Any]) -> None:
        self.algorithm = algorithm
        self._hash = factory()

    def update(self, data: Buffer) -> None:
        self._hash.update(data)

    def digest(self) -> bytes:
        return bytes(self._hash.digest())


def _hashlib_factory(name: str) -> Callable[[], Any]:
    return lambda: hashlib.new(name, usedforsecurity=False)


_FACTORIES: dict[str, Callable[[], Checksum]] = {
    "CRC32": _Crc32,
    "CRC32C": _Crc32C,
    "CRC64NVME": _Crc64Nvme,
    "SHA1": lambda: _Hashed("SHA1", _hashlib_factory("sha1")),
    "SHA256": lambda: _Hashed("SHA256", _hashlib_factory("sha256")),
    "SHA512": lambda: _Hashed("SHA512", _hashlib_factory("sha512")),
    "MD5": lambda: _Hashed("MD5", _hashlib_factory("md5")),
}
if _xxhash is not None:
    _FACTORIES["XXHASH64"] = lambda: _Hashed("XXHASH64", _xxhash.xxh64)
    _FACTORIES["XXHASH3"] = lambda: _Hashed("XXHASH3", _xxhash.xxh3_64)
    _FACTORIES["XXHASH128"] = lambda: _Hashed("XXHASH128", _xxhash.xxh3_128)

# Every algorithm S3's ChecksumAlgorithm enum names; SUPPORTED_ALGORITHMS is what is usable here.
S3_ALGORITHMS: frozenset[str] = frozenset(
    {"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5"}
    | {"XXHASH64", "XXHASH3", "XXHASH128"}
)
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(_FACTORIES)

HEADER_PREFIX = "x-amz-checksum-"


def new_checksum(algorithm: str) -> Checksum:
    """A fresh incremental checksum for ``algorithm`` (any case: "crc32", "CRC64NVME"...)."""
    factory = _FACTORIES.get(algorithm.upper())
    if factory is None:
        raise UnsupportedChecksumAlgorithm(algorithm)
    return factory()


def b64checksum(algorithm: str, data: Buffer) -> str:
    """The base64 checksum of ``data`` in one call."""
    checksum = new_checksum(algorithm)
    checksum.update(data)
    return checksum.b64digest()


def checksum_header(algorithm: str) -> str:
    """The header carrying an algorithm's value: "crc32c" -> "x-amz-checksum-crc32c"."""
    return HEADER_PREFIX + algorithm.lower()


def algorithm_of_header(name: str) -> str | None:
    """The algorithm a ``x-amz-checksum-<algo>`` header carries (upper case), else None."""
    name = name.lower()
    if not name.startswith(HEADER_PREFIX):
        return None
    algorithm = name[len(HEADER_PREFIX) :].upper()
    return algorithm if algorithm in S3_ALGORITHMS else None
