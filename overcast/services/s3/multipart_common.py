"""S3 multipart uploads: what the operations on parts share.

The limits S3 documents, the checks of a part number and of a part's checksum algorithm, and
``MultipartBase``: looking up an upload in progress and committing a part to it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.services.s3 import sse_at_rest, store
from overcast.services.s3.checksum_headers import MEMBERS
from overcast.services.s3.errors import InvalidArgument, InvalidRequest, NoSuchKey, NoSuchUpload
from overcast.services.s3.models import ObjectVersion, Part, Upload
from overcast.services.s3.object_common import ObjectBase
from overcast.services.s3.sse_at_rest import DataKey

MIN_PART_SIZE = 5 * 1024**2  # every part but the last
MAX_PART_SIZE = 5 * 1024**3
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024**4
DEFAULT_ALGORITHM = "CRC64NVME"  # the full-object checksum of uploads that name none


def checksum_mismatch(expected: str | None, actual: str | None) -> InvalidRequest:
    return InvalidRequest(
        "Checksum Type mismatch occurred, expected checksum Type: "
        f"{(expected or 'null').lower()}, actual checksum Type: {(actual or 'null').lower()}"
    )


def check_part_number(value: Any) -> int:
    number = value if isinstance(value, int) else -1
    if not 1 <= number <= MAX_PARTS:
        raise InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive",
            ArgumentName="partNumber",
            ArgumentValue=str(value),
        )
    return number


def part_checksums(upload: Upload, checksums: dict[str, str]) -> dict[str, str]:
    """The ``Checksum*`` members a part shows: its upload's algorithm only."""
    algorithm = upload.meta.get("checksum_algorithm")
    if algorithm and algorithm in checksums:
        return {MEMBERS[algorithm]: checksums[algorithm]}
    return {}


class MultipartBase(ObjectBase):
    """The upload lookup and part commit that UploadPart and UploadPartCopy share."""

    def _upload(self, conn: sqlite3.Connection, bucket: str, key: str, upload_id: str) -> Upload:
        """The upload in progress, or NoSuchUpload (also when it is another key's)."""
        upload = store.get_upload(conn, upload_id)
        if upload is None or upload.bucket != bucket or upload.key != key:
            raise NoSuchUpload(UploadId=upload_id)
        return upload

    def _store_part(
        self,
        name: str,
        key: str,
        part: Part,
        *,
        written: bool,
        shared_from: ObjectVersion | None = None,
        sealed: tuple[str, DataKey] | None = None,
    ) -> None:
        """Commit a part, unless its upload went away meanwhile (then NoSuchUpload).

        ``written`` says the part's blob is a new one, to delete if the commit fails.
        ``shared_from`` is the object whose blob the part reuses: it must still exist when the
        part takes its reference, or the blob may already be gone.
        ``sealed`` is the (account, data key) the part's bytes are encrypted with at rest.
        """

        def commit(conn: sqlite3.Connection) -> None:
            self._upload(conn, name, key, part.upload_id)
            if shared_from is not None:
                current = store.get_version(
                    conn, shared_from.bucket, shared_from.key, shared_from.version_id
                )
                if current is None or current.segments != shared_from.segments:
                    raise NoSuchKey(Key=shared_from.key)
            store.put_part(conn, self._store, part)
            if sealed is not None and part.size:  # the at-rest key, with the blob it opens
                sse_at_rest.save_key(conn, part.blob_id, *sealed)

        try:
            self._store.write(commit)
        except BaseException:
            if written:
                self._store.blobs.delete(part.blob_id)
            raise
