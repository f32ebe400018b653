"""Issue #3 audit, size limits: CopyObject refuses a source over 5 GiB (an object built from
shared part copies, so nothing large is written), and a full 5 GiB single PUT and GET keep the
server's memory bounded (slow)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.s3.test_large_objects import GiB, MiB, assert_round_trip_keeps_memory_bounded

COPY_LIMIT = (
    "The specified copy source is larger than the maximum allowable size for a copy source: "
    "5368709120"
)


def test_copy_source_over_5_gib_is_refused(client: Any) -> None:
    s3 = client("s3")
    bucket = f"big-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=os.urandom(64 * MiB))  # boto3 sends a CRC32
    # Whole-object part copies with the source's algorithm share its bytes: 81 x 64 MiB.
    upload = s3.create_multipart_upload(
        Bucket=bucket, Key="big", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT"
    )["UploadId"]
    parts = []
    for number in range(1, 82):
        out = s3.upload_part_copy(
            Bucket=bucket,
            Key="big",
            UploadId=upload,
            PartNumber=number,
            CopySource={"Bucket": bucket, "Key": "src"},
        )
        parts.append({"PartNumber": number, "ETag": out["CopyPartResult"]["ETag"]})
    s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    assert s3.head_object(Bucket=bucket, Key="big")["ContentLength"] == 81 * 64 * MiB > 5 * GiB

    with pytest.raises(ClientError) as info:
        s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "big"})
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidRequest", COPY_LIMIT)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    # UploadPartCopy takes it by ranges only.
    target = s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
    source = {"Bucket": bucket, "Key": "big"}
    with pytest.raises(ClientError) as info:
        s3.upload_part_copy(
            Bucket=bucket, Key="copy", UploadId=target, PartNumber=1, CopySource=source
        )
    assert info.value.response["Error"]["Code"] == "InvalidRequest"
    last = 81 * 64 * MiB - 1
    s3.upload_part_copy(
        Bucket=bucket,
        Key="copy",
        UploadId=target,
        PartNumber=1,
        CopySource=source,
        CopySourceRange=f"bytes={last - 5 * MiB + 1}-{last}",
    )


@pytest.mark.slow
def test_five_gib_put_and_get_keep_server_memory_bounded(tmp_path: Path) -> None:
    assert_round_trip_keeps_memory_bounded(tmp_path, 5 * GiB)  # the largest single PUT S3 takes
