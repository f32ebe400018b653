"""The Service Authorization Reference shipped in ``data/reference.json`` (see its
``regenerate.py``): IAM action names, resource ARN formats and condition keys per service.

Most operations authorize the IAM action of the same name (``sqs:SendMessage``); where the
reference has no action of the operation's name, ``ACTION_OF`` says which action AWS checks, from
the services' documentation ("Required permissions for Amazon S3 API operations": ListObjectsV2
needs ``s3:ListBucket``, HeadObject ``s3:GetObject``...).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_DATA = Path(__file__).with_name("data") / "reference.json"

# botocore service name -> IAM service prefix
PREFIX = {
    "s3control": "s3",
    "dynamodbstreams": "dynamodb",
    "monitoring": "cloudwatch",
}

ACTION_OF: dict[tuple[str, str], str] = {
    # S3: operation -> action (the S3 User Guide's table of required permissions)
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
    ("s3", "ListParts"): "ListMultipartUploadParts",
    ("s3", "ListBuckets"): "ListAllMyBuckets",
    ("s3", "ListDirectoryBuckets"): "ListAllMyDirectoryBuckets",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "SelectObjectContent"): "GetObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "UploadPartCopy"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "CopyObject"): "PutObject",
    ("s3", "RenameObject"): "PutObject",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "DeleteBucketCors"): "PutBucketCORS",
    ("s3", "GetBucketCors"): "GetBucketCORS",
    ("s3", "PutBucketCors"): "PutBucketCORS",
    ("s3", "DeleteBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "GetBucketEncryption"): "GetEncryptionConfiguration",
    ("s3", "PutBucketEncryption"): "PutEncryptionConfiguration",
    ("s3", "DeleteBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "GetBucketLifecycle"): "GetLifecycleConfiguration",
    ("s3", "GetBucketLifecycleConfiguration"): "GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "PutLifecycleConfiguration",
    ("s3", "DeleteBucketReplication"): "PutReplicationConfiguration",
    ("s3", "GetBucketReplication"): "GetReplicationConfiguration",
    ("s3", "PutBucketReplication"): "PutReplicationConfiguration",
    ("s3", "DeleteBucketTagging"): "PutBucketTagging",
    ("s3", "DeleteBucketOwnershipControls"): "PutBucketOwnershipControls",
    ("s3", "DeletePublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "GetBucketPublicAccessBlock",
    ("s3", "PutPublicAccessBlock"): "PutBucketPublicAccessBlock",
    ("s3", "GetBucketAccelerateConfiguration"): "GetAccelerateConfiguration",
    ("s3", "PutBucketAccelerateConfiguration"): "PutAccelerateConfiguration",
    ("s3", "GetBucketNotificationConfiguration"): "GetBucketNotification",
    ("s3", "PutBucketNotificationConfiguration"): "PutBucketNotification",
    ("s3", "GetObjectLockConfiguration"): "GetBucketObjectLockConfiguration",
    ("s3", "PutObjectLockConfiguration"): "PutBucketObjectLockConfiguration",
    ("s3", "GetBucketAnalyticsConfiguration"): "GetAnalyticsConfiguration",
    ("s3", "PutBucketAnalyticsConfiguration"): "PutAnalyticsConfiguration",
    ("s3", "DeleteBucketAnalyticsConfiguration"): "PutAnalyticsConfiguration",
    ("s3", "ListBucketAnalyticsConfigurations"): "GetAnalyticsConfiguration",
    ("s3", "GetBucketMetricsConfiguration"): "GetMetricsConfiguration",
    ("s3", "PutBucketMetricsConfiguration"): "PutMetricsConfiguration",
    ("s3", "DeleteBucketMetricsConfiguration"): "PutMetricsConfiguration",
    ("s3", "ListBucketMetricsConfigurations"): "GetMetricsConfiguration",
    ("s3", "GetBucketInventoryConfiguration"): "GetInventoryConfiguration",
    ("s3", "PutBucketInventoryConfiguration"): "PutInventoryConfiguration",
    ("s3", "DeleteBucketInventoryConfiguration"): "PutInventoryConfiguration",
    ("s3", "ListBucketInventoryConfigurations"): "GetInventoryConfiguration",
    ("s3", "GetBucketIntelligentTieringConfiguration"): "GetIntelligentTieringConfiguration",
    ("s3", "PutBucketIntelligentTieringConfiguration"): "PutIntelligentTieringConfiguration",
    ("s3", "DeleteBucketIntelligentTieringConfiguration"): "PutIntelligentTieringConfiguration",
    ("s3", "ListBucketIntelligentTieringConfigurations"): "GetIntelligentTieringConfiguration",
    ("s3", "GetBucketMetadataConfiguration"): "GetBucketMetadataTableConfiguration",
    ("s3", "CreateBucketMetadataConfiguration"): "CreateBucketMetadataTableConfiguration",
    ("s3", "DeleteBucketMetadataConfiguration"): "DeleteBucketMetadataTableConfiguration",
    ("s3", "WriteGetObjectResponse"): "WriteGetObjectResponse",
    ("s3", "CreateSession"): "CreateSession",
    # S3 Control (account-level Block Public Access)
    ("s3control", "GetPublicAccessBlock"): "GetAccountPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "PutAccountPublicAccessBlock",
    ("s3control", "DeletePublicAccessBlock"): "PutAccountPublicAccessBlock",
    ("s3control", "GetBucket"): "GetBucket",
    ("s3control", "ListRegionalBuckets"): "ListAllMyBuckets",
    # Batch operations authorize their single-entry action
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
    ("sns", "PublishBatch"): "Publish",
    ("dynamodb", "ExecuteStatement"): "PartiQLSelect",
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeWithResponseStream"): "InvokeFunction",
    ("lambda", "GetLayerVersionByArn"): "GetLayerVersion",
    ("kms", "ReEncrypt"): "ReEncryptFrom",
}

# Versioned forms: the same operation with a VersionId checks another action.
VERSIONED = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
}


@cache
def _reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_DATA.read_text())
    return data


def prefix_of(service: str) -> str:
    return PREFIX.get(service, service)


@cache
def _actions_lower(prefix: str) -> dict[str, str]:
    section = _reference().get(prefix)
    if section is None:
        return {}
    return {name.lower(): name for name in section["actions"]}


def action_name(service: str, operation: str) -> str:
    """The IAM action (``s3:ListBucket``) an operation of a botocore service checks."""
    prefix = prefix_of(service)
    mapped = ACTION_OF.get((service, operation))
    if mapped is None:
        mapped = _actions_lower(prefix).get(operation.lower(), operation)
    return f"{prefix}:{mapped}"


def known_action(action: str) -> bool:
    prefix, _, name = action.partition(":")
    return name.lower() in _actions_lower(prefix)


def condition_keys(action: str) -> list[str]:
    prefix, _, name = action.partition(":")
    section = _reference().get(prefix)
    real = _actions_lower(prefix).get(name.lower())
    if section is None or real is None:
        return []
    keys: list[str] = section["actions"][real]["conditions"]
    return keys
