"""Full-object CRCs combined from part CRCs equal the CRC of the whole, for any split."""

from __future__ import annotations

import base64
import hashlib
import itertools
import random

import pytest

from overcast.gateway.auth.checksums import b64checksum
from overcast.services.s3.checksum_combine import combine_crcs, composite, multipart_etag


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME"])
def test_combined_crc_is_the_crc_of_the_whole(algorithm: str) -> None:
    rng = random.Random(algorithm)
    data = rng.randbytes(200_000)
    for _ in range(20):
        cuts = sorted({0, len(data), *(rng.randrange(len(data)) for _ in range(rng.randrange(6)))})
        cuts.insert(1, 0)  # an empty part too
        parts = [(b64checksum(algorithm, data[a:b]), b - a) for a, b in itertools.pairwise(cuts)]
        assert combine_crcs(algorithm, parts) == b64checksum(algorithm, data)
    assert combine_crcs(algorithm, []) == b64checksum(algorithm, b"")


def test_composite_and_etag() -> None:
    parts = [b"one", b"two", b"three"]
    sums = [b64checksum("SHA256", p) for p in parts]
    raw = b"".join(base64.b64decode(s) for s in sums)
    assert composite("SHA256", sums) == f"{b64checksum('SHA256', raw)}-3"
    etags = [f'"{hashlib.md5(p).hexdigest()}"' for p in parts]
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert multipart_etag(etags) == f'"{digest}-3"'
