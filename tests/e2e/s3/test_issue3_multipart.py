"""Issue #3 audit, multipart: CompleteMultipartUpload does not copy the parts' bytes again (the
data directory does not grow by the object's size), and a part over 5 GiB is refused on its
Content-Length alone."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from overcast.testing import ServerProcess
from tests.e2e.s3.test_large_objects import announce_oversized

MiB = 1024 * 1024


def stored_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_complete_reuses_the_parts_bytes(disk_server: ServerProcess) -> None:
    assert disk_server.data_dir is not None
    s3 = disk_server.client("s3")
    s3.create_bucket(Bucket="mpu")
    upload = s3.create_multipart_upload(Bucket="mpu", Key="k")["UploadId"]
    data = [os.urandom(8 * MiB) for _ in range(3)]
    parts = []
    for number, body in enumerate(data, 1):
        out = s3.upload_part(Bucket="mpu", Key="k", UploadId=upload, PartNumber=number, Body=body)
        parts.append({"PartNumber": number, "ETag": out["ETag"]})
    before = stored_bytes(disk_server.data_dir)
    assert before >= 24 * MiB
    s3.complete_multipart_upload(
        Bucket="mpu", Key="k", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    # A copy would add 24 MiB; only the metadata database may grow.
    assert stored_bytes(disk_server.data_dir) - before < 2 * MiB
    assert s3.get_object(Bucket="mpu", Key="k")["Body"].read() == b"".join(data)
    # And the object outlives a restart, read from the part blobs.
    disk_server.restart()
    body = disk_server.client("s3").get_object(Bucket="mpu", Key="k", Range="bytes=-3")["Body"]
    assert body.read() == data[-1][-3:]


def test_a_part_over_5_gib_is_entity_too_large(server: ServerProcess) -> None:
    s3 = server.client("s3")
    bucket = f"mpu-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    status, body = announce_oversized(server, f"/{bucket}/k?partNumber=1&uploadId={upload}")
    assert status == 400
    assert b"<Code>EntityTooLarge</Code>" in body
    assert b"<ProposedSize>5368709121</ProposedSize>" in body
    assert b"<MaxSizeAllowed>5368709120</MaxSizeAllowed>" in body
    assert s3.list_parts(Bucket=bucket, Key="k", UploadId=upload).get("Parts", []) == []
