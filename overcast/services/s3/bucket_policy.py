"""Bucket policies: S3's validation on top of the shared engine, and AWS's "public" test.

``parse`` raises ``MalformedPolicy`` with S3's messages: the document must parse
(``overcast.iam.policy``), every action must be an S3 action ("Policy has invalid action"), every
resource must be in this bucket ("Policy has invalid resource"), and each action must apply to
one of the statement's resources ("Action does not apply to any resource(s) in statement").
Parsed policies are cached by text: the same document is evaluated on every request.

``is_public`` follows "The meaning of public" in the S3 user guide: an Allow statement is public
when its principal is everyone (or it uses NotPrincipal) unless a condition pins one of the
fixed-value keys (source IP, VPC, account, ARN, organization...) to literal values.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from overcast.iam.conditions import Condition
from overcast.iam.matching import wildcard_match
from overcast.iam.policy import Policy, PolicyError, Statement
from overcast.protocol.models import service_model
from overcast.services.s3.errors import MalformedPolicy

# IAM actions of S3 that are not operation names of its API (or differ from them).
_EXTRA_ACTIONS = """
ListBucket ListBucketVersions ListBucketMultipartUploads ListMultipartUploadParts ListAllMyBuckets
GetObjectVersion GetObjectVersionAcl PutObjectVersionAcl DeleteObjectVersion
GetObjectVersionTagging PutObjectVersionTagging DeleteObjectVersionTagging GetObjectVersionTorrent
GetObjectVersionAttributes
GetObjectVersionForReplication GetBucketPolicyStatus GetBucketObjectLockConfiguration
PutBucketObjectLockConfiguration GetLifecycleConfiguration PutLifecycleConfiguration
GetReplicationConfiguration PutReplicationConfiguration GetEncryptionConfiguration
PutEncryptionConfiguration GetAccelerateConfiguration PutAccelerateConfiguration
GetAnalyticsConfiguration PutAnalyticsConfiguration GetInventoryConfiguration
PutInventoryConfiguration GetMetricsConfiguration PutMetricsConfiguration
GetIntelligentTieringConfiguration PutIntelligentTieringConfiguration GetBucketPublicAccessBlock
PutBucketPublicAccessBlock GetBucketCORS PutBucketCORS GetBucketNotification
PutBucketNotification GetBucketWebsite PutBucketWebsite DeleteBucketWebsite GetBucketLogging
PutBucketLogging GetBucketRequestPayment PutBucketRequestPayment GetBucketVersioning
PutBucketVersioning GetBucketTagging PutBucketTagging GetBucketLocation GetBucketOwnershipControls
PutBucketOwnershipControls GetObjectRetention PutObjectRetention GetObjectLegalHold
PutObjectLegalHold BypassGovernanceRetention ReplicateObject ReplicateDelete ReplicateTags
ObjectOwnerOverrideToBucketOwner GetAccountPublicAccessBlock PutAccountPublicAccessBlock
GetObjectAttributes RestoreObject GetObjectTorrent CreateBucket DeleteBucket GetBucketAcl
PutBucketAcl GetObjectAcl PutObjectAcl GetBucketPolicy PutBucketPolicy DeleteBucketPolicy
PutObject GetObject DeleteObject AbortMultipartUpload PutObjectTagging GetObjectTagging
DeleteObjectTagging ListAccessPoints GetAccessPoint CreateAccessPoint DeleteAccessPoint
GetAccessPointPolicy PutAccessPointPolicy DeleteAccessPointPolicy CreateJob ListJobs DescribeJob
UpdateJobPriority UpdateJobStatus GetBucketPolicyStatus PutStorageLensConfiguration
GetStorageLensConfiguration ListStorageLensConfigurations PutAccessPointPublicAccessBlock
InitiateReplication GetAccessGrant PutMultiRegionAccessPointPolicy
"""

# Actions on objects (their resources are "arn:aws:s3:::bucket/key"); the rest act on buckets.
_OBJECT_ACTION_WORDS = ("Object", "MultipartUpload", "Replicate", "BypassGovernanceRetention")
_BUCKET_ACTION_EXCEPTIONS = {
    "listbucketmultipartuploads",
    "putbucketobjectlockconfiguration",
    "getbucketobjectlockconfiguration",
    "listbucket",
}

# Condition keys whose literal values make a statement non-public.
_FIXED_KEYS = {
    "aws:sourceip",
    "aws:sourcearn",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalserviceName".lower(),
    "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
    "s3:resourceaccount",
}
_RESTRICTING_OPERATORS = {
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "IpAddress",
}


@lru_cache(maxsize=1)
def s3_actions() -> dict[str, str]:
    """Every S3 IAM action, lower-cased -> canonical spelling."""
    names = set(service_model("s3").operation_names) | set(_EXTRA_ACTIONS.split())
    return {n.lower(): n for n in names}


def is_object_action(action: str) -> bool:
    name = action.split(":", 1)[-1].lower()
    if name in _BUCKET_ACTION_EXCEPTIONS:
        return False
    return any(word.lower() in name for word in _OBJECT_ACTION_WORDS)


def _check_action(action: str) -> None:
    if action == "*":
        return
    service, _, name = action.partition(":")
    if service.lower() != "s3" or not name:
        raise MalformedPolicy("Policy has invalid action")
    if "*" in name or "?" in name:
        if not any(wildcard_match(name, known, ignore_case=True) for known in s3_actions()):
            raise MalformedPolicy("Policy has invalid action")
    elif name.lower() not in s3_actions():
        raise MalformedPolicy("Policy has invalid action")


def _resource_bucket_part(resource: str) -> str | None:
    for prefix in ("arn:aws:s3:::", "arn:aws-cn:s3:::", "arn:aws-us-gov:s3:::"):
        if resource.startswith(prefix):
            return resource[len(prefix) :]
    return None


def _check_resource(resource: str, bucket: str) -> None:
    if resource == "*":
        return
    rest = _resource_bucket_part(resource)
    if rest is None or not rest:
        raise MalformedPolicy("Policy has invalid resource")
    name = rest.split("/", 1)[0]
    # The resource must name this bucket ("my-bucket", "my-*", "*"...).
    if not wildcard_match(name, bucket):
        raise MalformedPolicy("Policy has invalid resource")


def _applies_to(resource: str, on_object: bool) -> bool:
    if resource == "*":
        return True
    rest = _resource_bucket_part(resource) or ""
    if on_object:
        return "/" in rest or "*" in rest
    return "/" not in rest


def _check_statement(statement: Statement, bucket: str) -> None:
    for action in statement.actions + statement.not_actions:
        _check_action(action)
    for resource in statement.resources + statement.not_resources:
        _check_resource(resource, bucket)
    if not statement.resources:
        return
    for action in statement.actions:
        name = action.split(":", 1)[-1]
        if action == "*" or "*" in name or "?" in name:
            continue
        on_object = is_object_action(action)
        if not any(_applies_to(r, on_object) for r in statement.resources):
            raise MalformedPolicy("Action does not apply to any resource(s) in statement")


@lru_cache(maxsize=1024)
def _parse_text(text: str) -> Policy:
    return Policy.parse(text)


def parse(text: str, bucket: str) -> Policy:
    """Parse and validate a bucket policy for ``bucket``; MalformedPolicy when invalid."""
    try:
        policy = _parse_text(text)
    except PolicyError as exc:
        raise MalformedPolicy(str(exc)) from None
    for statement in policy.statements:
        _check_statement(statement, bucket)
    return policy


def cached(text: str) -> Policy | None:
    """A stored (already validated) policy, parsed once."""
    try:
        return _parse_text(text)
    except PolicyError:
        return None


def _restricts(condition: Condition) -> bool:
    """Whether this condition pins a fixed-value key to literal, non-broad values."""
    op = condition.operator
    if op.base not in _RESTRICTING_OPERATORS or op.qualifier == "ForAllValues":
        return False
    if condition.key.lower() not in _FIXED_KEYS:
        return False
    for value in condition.values:
        if "*" in value or "?" in value or "${" in value:
            return False
        if op.base == "IpAddress":
            try:
                network = ipaddress.ip_network(value, strict=False)
            except ValueError:
                return False
            # A very broad range (0.0.0.0/1...) is as good as public.
            if network.prefixlen < (8 if network.version == 4 else 32):
                return False
    return True


def statement_is_public(statement: Statement) -> bool:
    if statement.effect != "Allow":
        return False
    if statement.not_principal is None and (
        statement.principal is None or not statement.principal.public
    ):
        return False
    return not any(_restricts(c) for c in statement.conditions)


def is_public(policy: Policy) -> bool:
    return any(statement_is_public(s) for s in policy.statements)


# Operations whose ``Tagging`` member sets the object's tags (header form or TagSet).
_OBJECT_TAGGING_OPERATIONS = frozenset(
    {"PutObject", "PutObjectTagging", "CopyObject", "CreateMultipartUpload"}
)


def request_tag_context(operation: str | None, params: Mapping[str, Any]) -> dict[str, Any]:
    """``s3:RequestObjectTag/<key>`` and ``s3:RequestObjectTagKeys`` of a request that sets an
    object's tags, for a bucket policy's conditions."""
    tagging = params.get("Tagging")
    if operation not in _OBJECT_TAGGING_OPERATIONS or not tagging:
        return {}
    if isinstance(tagging, Mapping):
        pairs = [(t.get("Key", ""), t.get("Value", "")) for t in tagging.get("TagSet") or []]
    else:
        pairs = parse_qsl(str(tagging), keep_blank_values=True)
    context: dict[str, Any] = {f"s3:RequestObjectTag/{key}": value for key, value in pairs}
    context["s3:RequestObjectTagKeys"] = [key for key, _ in pairs]
    return context
