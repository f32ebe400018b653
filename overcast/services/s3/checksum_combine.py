"""Whole-object checksums of multipart uploads, from the parts' checksums alone.

S3 offers two kinds (``x-amz-checksum-type``):

- ``COMPOSITE``: the checksum of the concatenated binary part checksums, suffixed ``-<parts>``
  (the same construction as the multipart ETag, which is the MD5 of the part MD5s).
- ``FULL_OBJECT``: the checksum of the object's bytes, as if uploaded in one piece. Only CRCs
  allow it, because a CRC is linear: ``crc(A + B)`` follows from ``crc(A)``, ``crc(B)`` and
  ``len(B)`` (zlib's ``crc32_combine``). So CompleteMultipartUpload never re-reads the parts.

The combination multiplies ``crc(A)`` by ``x^(8 * len(B))`` modulo the CRC polynomial (in the
reflected bit order these CRCs use) and adds ``crc(B)``; the initial value and final XOR of these
CRCs (all ones) cancel out. Powers ``x^(2^k)`` are tabulated once per algorithm, and the factor
for a part length is cached, since parts usually share one size.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache, lru_cache

from overcast.gateway.auth.checksums import new_checksum

# Reflected polynomials and widths of the CRCs S3 can combine into a full-object checksum.
_CRCS: dict[str, tuple[int, int]] = {
    "CRC32": (0xEDB88320, 32),
    "CRC32C": (0x82F63B78, 32),
    "CRC64NVME": (0x9A6C9329AC4BC9B5, 64),
}

FULL_OBJECT_ALGORITHMS = frozenset(_CRCS)


class _Crc:
    """GF(2) polynomial arithmetic modulo one CRC's polynomial, in reflected bit order."""

    def __init__(self, poly: int, width: int) -> None:
        self.poly = poly
        self.width = width
        self.top = 1 << (width - 1)  # x^0 in reflected order
        # x^(2^k) mod poly for k = 0..127: enough for any length in bits below 2^128.
        powers = [self.top >> 1]  # x^1
        for _ in range(127):
            powers.append(self.multiply(powers[-1], powers[-1]))
        self.powers = powers
        self.shift_factor = lru_cache(maxsize=64)(self._shift_factor)

    def multiply(self, a: int, b: int) -> int:
        """``a * b mod poly``."""
        if a == 0:
            return 0
        poly = self.poly
        mask = self.top
        product = 0
        while True:
            if a & mask:
                product ^= b
                if a & (mask - 1) == 0:
                    return product
            mask >>= 1
            b = (b >> 1) ^ poly if b & 1 else b >> 1

    def _shift_factor(self, length: int) -> int:
        """``x^(8 * length) mod poly``: what appending ``length`` bytes multiplies a CRC by."""
        factor = self.top
        n, k = length, 3  # 8 * length = length * 2^3
        while n:
            if n & 1:
                factor = self.multiply(self.powers[k], factor)
            n >>= 1
            k += 1
        return factor

    def combine(self, crc1: int, crc2: int, len2: int) -> int:
        """The CRC of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)``."""
        return self.multiply(self.shift_factor(len2), crc1) ^ crc2


@cache
def _crc(algorithm: str) -> _Crc:
    poly, width = _CRCS[algorithm]
    return _Crc(poly, width)


def combine_crcs(algorithm: str, parts: list[tuple[str, int]]) -> str:
    """The base64 full-object CRC of parts given as ``(base64 crc, size)``, in order."""
    crc = _crc(algorithm)
    total = 0
    for b64, size in parts:
        total = crc.combine(total, int.from_bytes(base64.b64decode(b64), "big"), size)
    return base64.b64encode(total.to_bytes(crc.width // 8, "big")).decode("ascii")


def composite(algorithm: str, part_checksums: list[str]) -> str:
    """The COMPOSITE checksum: checksum of the concatenated binary part checksums + ``-N``."""
    checksum = new_checksum(algorithm)
    for b64 in part_checksums:
        checksum.update(base64.b64decode(b64))
    return f"{checksum.b64digest()}-{len(part_checksums)}"


def multipart_etag(part_etags: list[str]) -> str:
    """S3's multipart ETag, quoted: MD5 of the concatenated binary part MD5s + ``-N``."""
    md5 = hashlib.md5(usedforsecurity=False)
    for etag in part_etags:
        md5.update(bytes.fromhex(etag.strip('"')))
    return f'"{md5.hexdigest()}-{len(part_etags)}"'
