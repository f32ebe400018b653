"""Object bytes are encrypted on disk and read back in clear: single PUTs (small and large),
multipart parts, ranges and partNumber reads, copies, and after a restart."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

from overcast.testing import ServerProcess

MARKER = b"OVERCAST-PLAINTEXT-MARKER:"
MIB = 1024 * 1024


def _body(size: int) -> bytes:
    return (MARKER * (size // len(MARKER) + 1))[:size]


def _on_disk(root: Path, needle: bytes) -> list[Path]:
    """Files under the data directory that contain ``needle`` (blobs, database, WAL)."""
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_bytes_are_encrypted_on_disk(disk_server: ServerProcess) -> None:
    s3 = disk_server.client("s3")
    name = f"rest-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    small, large = _body(1024), _body(3 * MIB + 123)
    put = s3.put_object(Bucket=name, Key="small", Body=small)
    assert put["ETag"] == f'"{hashlib.md5(small).hexdigest()}"'  # the plaintext's MD5
    s3.put_object(Bucket=name, Key="large", Body=large)
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")
    part_one, part_two = _body(5 * MIB), _body(MIB + 7)
    etags = [
        s3.upload_part(Bucket=name, Key="mp", UploadId=upload["UploadId"], PartNumber=n, Body=data)[
            "ETag"
        ]
        for n, data in ((1, part_one), (2, part_two))
    ]
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )
    # UploadPartCopy of a range writes a new (encrypted) blob.
    copy_upload = s3.create_multipart_upload(Bucket=name, Key="mp-copy")
    copied_part = s3.upload_part_copy(
        Bucket=name,
        Key="mp-copy",
        UploadId=copy_upload["UploadId"],
        PartNumber=1,
        CopySource={"Bucket": name, "Key": "large"},
        CopySourceRange="bytes=10-100009",
    )
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp-copy",
        UploadId=copy_upload["UploadId"],
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": copied_part["CopyPartResult"]["ETag"]}]
        },
    )
    assert disk_server.data_dir is not None
    assert _on_disk(disk_server.data_dir, MARKER) == []

    def check(client: Any) -> None:
        assert client.get_object(Bucket=name, Key="small")["Body"].read() == small
        assert client.get_object(Bucket=name, Key="large")["Body"].read() == large
        ranged = client.get_object(Bucket=name, Key="large", Range="bytes=1000-1999")
        assert ranged["Body"].read() == large[1000:2000]
        tail = client.get_object(Bucket=name, Key="large", Range="bytes=-77")
        assert tail["Body"].read() == large[-77:]
        whole = part_one + part_two
        assert client.get_object(Bucket=name, Key="mp")["Body"].read() == whole
        across = client.get_object(
            Bucket=name, Key="mp", Range=f"bytes={5 * MIB - 10}-{5 * MIB + 9}"
        )
        assert across["Body"].read() == whole[5 * MIB - 10 : 5 * MIB + 10]
        second = client.get_object(Bucket=name, Key="mp", PartNumber=2)
        assert second["Body"].read() == part_two
        ranged_copy = client.get_object(Bucket=name, Key="mp-copy")["Body"].read()
        assert ranged_copy == large[10:100010]

    check(s3)
    # Copies share the encrypted blobs (a multipart source is read to compute the new ETag).
    s3.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "large"})
    copied = s3.copy_object(Bucket=name, Key="copy-mp", CopySource={"Bucket": name, "Key": "mp"})
    whole = part_one + part_two
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(whole).hexdigest()}"'
    assert s3.get_object(Bucket=name, Key="copy")["Body"].read() == large
    assert s3.get_object(Bucket=name, Key="copy-mp")["Body"].read() == whole
    disk_server.restart()
    check(disk_server.client("s3"))
