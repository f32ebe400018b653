"""S3 multipart uploads: the object CompleteMultipartUpload makes.

Checks the part list the request names against the stored parts (order, ETags, checksums,
minimum part size), then builds the object: its multipart ETag, its full-object or composite
checksum, and its part table.
"""

from __future__ import annotations

from typing import Any

from overcast.services.s3.checksum_combine import combine_crcs, composite, multipart_etag
from overcast.services.s3.checksum_headers import MEMBERS
from overcast.services.s3.errors import (
    BadDigest,
    EntityTooLarge,
    EntityTooSmall,
    InvalidPart,
    InvalidPartOrder,
    InvalidRequest,
    MalformedXML,
)
from overcast.services.s3.models import NULL_VERSION, ObjectVersion, Part, Upload
from overcast.services.s3.multipart_common import (
    DEFAULT_ALGORITHM,
    MAX_OBJECT_SIZE,
    MIN_PART_SIZE,
    checksum_mismatch,
)

# Upload meta keys that describe the upload, not the object it becomes.
_UPLOAD_ONLY_META = ("storage_class", "checksum_algorithm", "checksum_type", "initiator")


def choose_parts(
    upload: Upload, listed: list[dict[str, Any]], stored: dict[int, Part]
) -> list[Part]:
    """The stored parts the Complete request names, checked as S3 checks them."""
    algorithm = upload.meta.get("checksum_algorithm")
    composite_mode = upload.meta.get("checksum_type") == "COMPOSITE"
    chosen: list[Part] = []
    previous = 0
    for item in listed:
        number = item.get("PartNumber")
        if not isinstance(number, int):
            raise MalformedXML()
        if number <= previous:
            raise InvalidPartOrder(UploadId=upload.upload_id)
        previous = number
        part = stored.get(number)
        etag = (item.get("ETag") or "").strip().strip('"')
        if part is None or part.etag.strip('"') != etag:
            raise InvalidPart(UploadId=upload.upload_id, PartNumber=number, ETag=etag)
        for name, member in MEMBERS.items():
            given = item.get(member)
            if given is None:
                continue
            if name != algorithm and algorithm is not None:
                raise checksum_mismatch(algorithm, name)
            if part.checksums.get(name) != given:
                raise InvalidPart(UploadId=upload.upload_id, PartNumber=number, ETag=etag)
        if algorithm and composite_mode and item.get(MEMBERS[algorithm]) is None:
            raise InvalidRequest(
                f"The upload was created using a {algorithm.lower()} checksum. The complete "
                "request must include the checksum for each part. It was missing for part "
                f"{number} in the request."
            )
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise EntityTooSmall(
                ProposedSize=part.size,
                MinSizeAllowed=MIN_PART_SIZE,
                PartNumber=part.part_number,
                ETag=part.etag.strip('"'),
            )
    size = sum(p.size for p in chosen)
    if size > MAX_OBJECT_SIZE:
        raise EntityTooLarge(ProposedSize=size, MaxSizeAllowed=MAX_OBJECT_SIZE)
    return chosen


def assemble(
    upload: Upload, parts: list[Part], request: dict[str, Any], now: float
) -> ObjectVersion:
    """The object the chosen parts make, with its ETag, checksums and part table."""
    size = sum(p.size for p in parts)
    expected_size = request.get("MpuObjectSize")
    if expected_size is not None and expected_size != size:
        raise InvalidRequest(
            f"The provided 'x-amz-mp-object-size' header value {expected_size} does not match "
            f"what was computed: {size}"
        )
    algorithm = upload.meta.get("checksum_algorithm")
    kind = upload.meta.get("checksum_type")
    asked_kind = request.get("ChecksumType")
    if asked_kind is not None and asked_kind.upper() != (kind or "FULL_OBJECT"):
        raise InvalidRequest(
            f"The upload was created using the {kind or 'FULL_OBJECT'} checksum mode. The "
            "complete request must use the same checksum mode."
        )
    meta = {k: v for k, v in upload.meta.items() if k not in _UPLOAD_ONLY_META}
    checksums: dict[str, str] = {}
    if algorithm is None and all(DEFAULT_ALGORITHM in p.checksums for p in parts):
        # No algorithm named: a full-object CRC64NVME (every part has one).
        algorithm, kind = DEFAULT_ALGORITHM, "FULL_OBJECT"
    if algorithm is not None:
        values = [p.checksums.get(algorithm) for p in parts]
        if all(v is not None for v in values):
            if kind == "FULL_OBJECT":
                value = combine_crcs(
                    algorithm, [(v, p.size) for v, p in zip(values, parts, strict=True)]
                )
            else:
                value = composite(algorithm, [v for v in values if v is not None])
            checksums[algorithm] = value
    for name, member in MEMBERS.items():
        given = request.get(member)
        if given is None:
            continue
        if name not in checksums:
            raise InvalidRequest(
                f"The upload was created using {'a ' + algorithm.lower() if algorithm else 'no'} "
                f"checksum. The complete request may not include a {name.lower()} checksum."
            )
        # The composite value may be sent with or without its "-N" suffix.
        if given != checksums[name] and given != checksums[name].rsplit("-", 1)[0]:
            raise BadDigest(f"The {name} you specified did not match the calculated checksum.")
    if checksums:
        meta["checksums"] = checksums
        meta["checksum_type"] = kind
    shown = upload.meta.get("checksum_algorithm")
    meta["parts"] = [
        {
            "size": p.size,
            "etag": p.etag,
            "checksums": {shown: p.checksums[shown]} if shown and shown in p.checksums else {},
        }
        for p in parts
    ]
    return ObjectVersion(
        bucket=upload.bucket,
        key=upload.key,
        version_id=NULL_VERSION,  # put_version assigns the real one
        last_modified=now,
        size=size,
        etag=multipart_etag([p.etag for p in parts]),
        storage_class=upload.meta.get("storage_class") or "STANDARD",
        segments=[(p.blob_id, p.size) for p in parts],
        meta=meta,
    )
