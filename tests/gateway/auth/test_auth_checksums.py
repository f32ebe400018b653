"""S3 checksums: catalogue check values, incremental use, and agreement with botocore."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum

from overcast.gateway.auth import checksums
from overcast.gateway.auth.checksums import (
    SUPPORTED_ALGORITHMS,
    UnsupportedChecksumAlgorithm,
    algorithm_of_header,
    b64checksum,
    checksum_header,
    new_checksum,
)

# The CRC catalogue's "check" values: the CRC of b"123456789".
CHECK = {"CRC32": 0xCBF43926, "CRC32C": 0xE3069283, "CRC64NVME": 0xAE8B14860A799888}


@pytest.mark.parametrize(("algorithm", "value"), CHECK.items())
def test_crc_check_values(algorithm: str, value: int) -> None:
    checksum = new_checksum(algorithm.lower())
    checksum.update(b"1234")
    checksum.update(memoryview(b"56789"))
    assert int.from_bytes(checksum.digest(), "big") == value
    width = 8 if algorithm == "CRC64NVME" else 4
    assert checksum.b64digest() == base64.b64encode(value.to_bytes(width, "big")).decode()


@pytest.mark.parametrize(
    ("poly", "width", "name"), [(0x82F63B78, 32, "CRC32C"), (0x9A6C9329AC4BC9B5, 64, "CRC64NVME")]
)
def test_pure_python_fallback_matches(poly: int, width: int, name: str) -> None:
    engine = checksums._PurePythonCrc(poly, width)
    assert engine.calc(b"123456789") == CHECK[name]
    data = os.urandom(3000)
    fast = new_checksum(name)
    fast.update(data)
    assert engine.calc(data[1000:], engine.calc(data[:1000])) == int.from_bytes(
        fast.digest(), "big"
    )
    zlib_like = checksums._PurePythonCrc(0xEDB88320, 32)
    assert zlib_like.calc(data) == zlib.crc32(data)


@pytest.mark.parametrize(
    ("algorithm", "botocore_cls"),
    [("crc32", Crc32Checksum), ("sha1", Sha1Checksum), ("sha256", Sha256Checksum)],
)
def test_agrees_with_botocore(algorithm: str, botocore_cls: type) -> None:
    data = os.urandom(100_000)
    theirs = botocore_cls()
    theirs.update(data)
    assert b64checksum(algorithm, data) == theirs.b64digest()


def test_hash_algorithms() -> None:
    data = b"hello world"
    for name in ("sha1", "sha256", "sha512", "md5"):
        expected = base64.b64encode(hashlib.new(name, data).digest()).decode()
        assert b64checksum(name.upper(), data) == expected
    assert {"CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"} <= SUPPORTED_ALGORITHMS


def test_headers_and_unknown_algorithms() -> None:
    assert checksum_header("CRC64NVME") == "x-amz-checksum-crc64nvme"
    assert algorithm_of_header("X-Amz-Checksum-CRC32C") == "CRC32C"
    assert algorithm_of_header("x-amz-checksum-type") is None
    assert algorithm_of_header("content-md5") is None
    with pytest.raises(UnsupportedChecksumAlgorithm):
        new_checksum("crc16")
