"""What S3 answers for bucket sub-resources nobody has configured.

Terraform's aws_s3_bucket reads all of these after every create and refresh. Until the
Put operations of these sub-resources exist (S3 part 2), every bucket is in S3's default state:
SSE-S3 encryption, owner pays, no acceleration, logging, lifecycle, replication or object lock
rule.
"""

from __future__ import annotations

from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import (
    NoSuchLifecycleConfiguration,
    ObjectLockConfigurationNotFoundError,
    ReplicationConfigurationNotFoundError,
)
from overcast.services.s3.models import Bucket
from overcast.services.s3.preconditions import check_expected_owner


class BucketDefaults(S3Base):
    def _configured(self, ctx: RequestContext, request: dict[str, Any], action: str) -> Bucket:
        name = request["Bucket"]
        bucket = self._store.read(lambda conn: self._access(ctx, conn, name, action))
        check_expected_owner(request, bucket.account_id)
        return bucket

    def get_bucket_accelerate_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        self._configured(ctx, request, "s3:GetAccelerateConfiguration")
        return {}

    def get_bucket_request_payment(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        self._configured(ctx, request, "s3:GetBucketRequestPayment")
        return {"Payer": "BucketOwner"}

    def get_bucket_logging(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._configured(ctx, request, "s3:GetBucketLogging")
        return {}

    def get_bucket_lifecycle_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._configured(ctx, request, "s3:GetLifecycleConfiguration")
        raise NoSuchLifecycleConfiguration(BucketName=bucket.name)

    def get_bucket_replication(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._configured(ctx, request, "s3:GetReplicationConfiguration")
        raise ReplicationConfigurationNotFoundError(BucketName=bucket.name)

    def get_bucket_encryption(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._configured(ctx, request, "s3:GetEncryptionConfiguration")
        # Since January 2023 every bucket encrypts new objects with SSE-S3 by default.
        rule: dict[str, Any] = {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BucketKeyEnabled": False,
        }
        return {"ServerSideEncryptionConfiguration": {"Rules": [rule]}}

    def get_object_lock_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._configured(ctx, request, "s3:GetBucketObjectLockConfiguration")
        if not bucket.object_lock:
            raise ObjectLockConfigurationNotFoundError(BucketName=bucket.name)
        return {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled"}}
