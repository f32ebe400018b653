"""Terraform compatibility, checked through the API calls its AWS provider makes.

This replays what `aws_s3_bucket` and its companion resources do on create, refresh and destroy
(hashicorp/terraform-provider-aws, internal/service/s3), fast and without Terraform installed;
`test_s3_terraform_apply.py` runs the real binary where it is. Each read of a sub-resource must
answer either a value or the "not configured" error code the provider tolerates, and
`force_destroy` must empty a versioned bucket.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

# Reads made by the provider's resourceBucketRead, with the error codes it treats as "not set".
REFRESH_READS: list[tuple[str, set[str]]] = [
    ("get_bucket_policy", {"NoSuchBucketPolicy"}),
    ("get_bucket_acl", set()),
    ("get_bucket_cors", {"NoSuchCORSConfiguration"}),
    ("get_bucket_website", {"NoSuchWebsiteConfiguration"}),
    ("get_bucket_versioning", set()),
    ("get_bucket_accelerate_configuration", set()),
    ("get_bucket_request_payment", set()),
    ("get_bucket_logging", set()),
    ("get_bucket_lifecycle_configuration", {"NoSuchLifecycleConfiguration"}),
    ("get_bucket_replication", {"ReplicationConfigurationNotFoundError"}),
    ("get_bucket_encryption", {"ServerSideEncryptionConfigurationNotFoundError"}),
    ("get_object_lock_configuration", {"ObjectLockConfigurationNotFoundError"}),
    ("get_bucket_tagging", {"NoSuchTagSet"}),
]


def refresh(s3: Any, bucket: str) -> dict[str, Any]:
    s3.head_bucket(Bucket=bucket)
    state: dict[str, Any] = {}
    for call, tolerated in REFRESH_READS:
        try:
            state[call] = getattr(s3, call)(Bucket=bucket)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            assert code in tolerated, f"{call} answered {code}, which Terraform treats as fatal"
            state[call] = None
    state["location"] = s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]
    return state


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_aws_s3_bucket_lifecycle(client: Any, region: str) -> None:
    s3 = client("s3", region=region)
    bucket = f"tf-{uuid.uuid4().hex[:16]}"
    create: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})

    state = refresh(s3, bucket)
    assert state["location"] == (None if region == "us-east-1" else region)
    assert state["get_bucket_tagging"]["TagSet"] == [{"Key": "env", "Value": "test"}]
    assert state["get_bucket_versioning"].get("Status") is None
    rule = state["get_bucket_encryption"]["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    # Companion resources: aws_s3_bucket_versioning, _public_access_block, _policy,
    # _server_side_encryption... then a refresh sees them.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.delete_public_access_block(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    state = refresh(s3, bucket)
    assert state["get_bucket_versioning"]["Status"] == "Enabled"
    assert json.loads(state["get_bucket_policy"]["Policy"]) == policy

    # force_destroy: list every version and delete marker, delete them in batches, then the bucket.
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
        s3.delete_object(Bucket=bucket, Key=f"k{i}")
    with pytest.raises(ClientError) as info:
        s3.delete_bucket(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "BucketNotEmpty"
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if objects:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as info:
        s3.head_bucket(Bucket=bucket)
    assert info.value.response["Error"]["Code"] == "404"
