"""Flexible checksums on the wire: which ones a request carries or asks for, checking them, and
the ``Checksum*`` output members.

A request names its algorithm through ``x-amz-sdk-checksum-algorithm`` (``ChecksumAlgorithm``),
a ``x-amz-checksum-<alg>`` header with the value, or a trailer declared in ``x-amz-trailer`` whose
value follows an aws-chunked body (the chunk decoder verifies it against the bytes it decoded).
Without any, S3 still stores a CRC64NVME of the object, as it has done since 2025.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overcast.gateway.auth.checksums import algorithm_of_header, new_checksum
from overcast.services.s3.errors import BadDigest, InvalidRequest

DEFAULT_ALGORITHM = "CRC64NVME"

# Output/input member names by algorithm.
MEMBERS: dict[str, str] = {
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "CRC64NVME": "ChecksumCRC64NVME",
    "SHA1": "ChecksumSHA1",
    "SHA256": "ChecksumSHA256",
    "SHA512": "ChecksumSHA512",
    "MD5": "ChecksumMD5",
    "XXHASH64": "ChecksumXXHASH64",
    "XXHASH3": "ChecksumXXHASH3",
    "XXHASH128": "ChecksumXXHASH128",
}


@dataclass
class ChecksumPlan:
    """What to compute while receiving a body, and what to check it against afterwards."""

    algorithm: str | None = None  # the request's one algorithm, if it names one
    provided: str | None = None  # its value from a header (None: absent or in a trailer)
    trailer: str | None = None  # the trailer header carrying it, if any
    compute: list[str] = field(default_factory=list)

    def finish(self, computed: Mapping[str, str], body: Any) -> dict[str, str]:
        """The checksums to store ({alg: b64}); raises BadDigest on a mismatch."""
        out = dict(computed)
        if self.algorithm is None:
            return out
        if self.trailer is not None and self.algorithm not in out:
            value = (getattr(body, "trailers", None) or {}).get(self.trailer)
            if value is None:
                raise InvalidRequest(
                    f"The {self.trailer} trailing header declared in x-amz-trailer is missing."
                )
            _check_value(self.trailer, self.algorithm, value)
            out[self.algorithm] = value  # the chunk decoder verified it against the bytes
        elif self.provided is not None and out.get(self.algorithm) != self.provided:
            raise BadDigest(
                f"The {self.algorithm} you specified did not match the calculated checksum."
            )
        return out


def _supported(algorithm: str, header: str) -> str:
    name = algorithm.upper()
    try:
        new_checksum(name)
    except ValueError:
        raise InvalidRequest(f"Value for {header} header is invalid.") from None
    return name


def _check_value(header: str, algorithm: str, value: str) -> None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != len(new_checksum(algorithm).digest()):
        raise InvalidRequest(f"Value for {header} header is invalid.")


def plan_checksums(request: Mapping[str, Any], headers: Any, *, trailers_ok: bool) -> ChecksumPlan:
    """Read a PutObject/UploadPart request's checksum headers into a plan.

    ``headers`` is the request's ``Headers``; ``trailers_ok`` says whether the body is a
    decoded aws-chunked stream whose trailer checksums the decoder verifies.
    """
    provided: dict[str, str] = {}
    for algorithm, member in MEMBERS.items():
        value = request.get(member)
        if value is not None:
            provided[algorithm] = value
    trailer_algs: dict[str, str] = {}
    for item in headers.getall("x-amz-trailer") if headers is not None else ():
        for name in item.split(","):
            name = name.strip().lower()
            algorithm = algorithm_of_header(name)
            if algorithm is not None:
                trailer_algs[algorithm] = name
    if len(provided) + len(trailer_algs) > 1:
        raise InvalidRequest(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    sdk = request.get("ChecksumAlgorithm")
    sdk_alg = _supported(sdk, "x-amz-sdk-checksum-algorithm") if sdk else None
    plan = ChecksumPlan()
    if provided:
        algorithm, value = next(iter(provided.items()))
        header = "x-amz-checksum-" + algorithm.lower()
        algorithm = _supported(algorithm, header)
        _check_value(header, algorithm, value)
        plan.algorithm, plan.provided = algorithm, value
        plan.compute = [algorithm]
    elif trailer_algs:
        algorithm, name = next(iter(trailer_algs.items()))
        plan.algorithm = _supported(algorithm, "x-amz-trailer")
        plan.trailer = name
        # The decoder computes trailer checksums; compute it here only for a plain body.
        plan.compute = [] if trailers_ok else [plan.algorithm]
    elif sdk_alg is not None:
        raise InvalidRequest(
            "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
            "x-amz-trailer headers were found."
        )
    if sdk_alg is not None and plan.algorithm is not None and sdk_alg != plan.algorithm:
        raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")
    if plan.algorithm is None:
        plan.compute = [DEFAULT_ALGORITHM]
    return plan


def checksum_members(checksums: Mapping[str, str] | None) -> dict[str, str]:
    """``{"ChecksumCRC32": ...}`` output members for stored ``{"CRC32": ...}`` checksums."""
    if not checksums:
        return {}
    return {MEMBERS[alg]: value for alg, value in checksums.items() if alg in MEMBERS}
