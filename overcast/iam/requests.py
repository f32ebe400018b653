"""From one API request to what IAM evaluates: the (action, resource ARN, condition keys) checks.

``checks(...)`` derives them from the operation and its parsed input: the action from the
Service Authorization Reference (``reference.py``), the resource ARNs per service (an SQS
``QueueUrl`` becomes the queue's ARN, a DynamoDB ``IndexName`` the index's ARN...), and the
request's condition keys that cost nothing to read (``s3:prefix``, ``s3:x-amz-acl``,
``aws:RequestTag/*``, ``aws:TagKeys``, ``sns:Protocol``...). Operations that act on several
resources (S3 CopyObject's source, DynamoDB batches and transactions) give one check each; all
must be allowed. Services without a per-resource derivation check ``"*"``, as IAM does for
actions that have no resource type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlencode, urlparse

from overcast.iam.matching import ContextValue
from overcast.iam.reference import VERSIONED, action_name

# Operations that need no permission: AWS answers them for any caller (the AssumeRoleWith*
# calls are not even signed: the token or assertion and the trust policy decide).
UNCHECKED = frozenset(
    {
        ("sts", "GetCallerIdentity"),
        ("sts", "GetSessionToken"),
        ("sts", "AssumeRoleWithWebIdentity"),
        ("sts", "AssumeRoleWithSAML"),
    }
)


_NO_KEYS: Mapping[str, ContextValue] = MappingProxyType({})


class Check(NamedTuple):
    """One (action, resource) pair to authorize, with the request's own condition keys.
    (Tuples: one is built for every request of an IAM principal.)"""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = _NO_KEYS


class Target(NamedTuple):
    """What a request is about, beyond its input: who asks, where."""

    account: str
    region: str
    partition: str = "aws"
    caller_arn: str = ""
    # IAM resource ARNs carry the entity's path: ("user", "alice") -> its ARN, when known.
    iam_arn: Callable[[str, str], str | None] | None = None


Deriver = Callable[[str, str, dict[str, Any], Target], list[Check]]


def checks(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    """Every check the request needs (empty for operations that need no permission)."""
    if (service, operation) in UNCHECKED:
        return []
    derive = _DERIVERS.get(service, _default)
    found = derive(service, operation, params, target)
    tags = _request_tags(operation, params)
    extra: dict[str, ContextValue] | None = None
    if tags is not None:
        extra = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
        extra["aws:TagKeys"] = list(tags)
    elif operation.startswith("Untag") and isinstance(params.get("TagKeys"), list):
        extra = {"aws:TagKeys": [str(k) for k in params["TagKeys"]]}  # the keys to remove
    if extra is not None:
        found = [Check(c.action, c.resource, {**extra, **c.context}) for c in found]
    return found


def _default(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    return [Check(action_name(service, operation), "*")]


def _request_tags(operation: str, params: dict[str, Any]) -> dict[str, str] | None:
    """The tags a create or tag operation sets: ``Tags`` as a list or map (IAM, SNS, DynamoDB,
    SQS TagQueue), SQS CreateQueue's ``tags``, S3 PutBucketTagging's ``Tagging.TagSet`` and
    CreateBucket's ``CreateBucketConfiguration.Tags`` (an object's tags are
    ``s3:RequestObjectTag/*`` instead)."""
    tags = params.get("Tags", params.get("tags"))
    if operation == "PutBucketTagging":
        tags = (params.get("Tagging") or {}).get("TagSet")
    elif operation == "CreateBucket":
        tags = (params.get("CreateBucketConfiguration") or {}).get("Tags")
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    if isinstance(tags, list) and all(isinstance(t, dict) and "Key" in t for t in tags):
        return {str(t["Key"]): str(t.get("Value", "")) for t in tags}
    return None


# --- S3 --------------------------------------------------------------------------------------

_S3_HEADER_KEYS = {
    "ACL": "s3:x-amz-acl",
    "ServerSideEncryption": "s3:x-amz-server-side-encryption",
    "SSEKMSKeyId": "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "StorageClass": "s3:x-amz-storage-class",
    "MetadataDirective": "s3:x-amz-metadata-directive",
    "CopySource": "s3:x-amz-copy-source",
    "GrantRead": "s3:x-amz-grant-read",
    "GrantWrite": "s3:x-amz-grant-write",
    "GrantReadACP": "s3:x-amz-grant-read-acp",
    "GrantWriteACP": "s3:x-amz-grant-write-acp",
    "GrantFullControl": "s3:x-amz-grant-full-control",
    "ObjectLockMode": "s3:object-lock-mode",
    "Prefix": "s3:prefix",
    "Delimiter": "s3:delimiter",
    "MaxKeys": "s3:max-keys",
}


def _s3(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    if params.get("VersionId") and operation in VERSIONED:
        action = f"s3:{VERSIONED[operation]}"
    bucket = params.get("Bucket")
    base = f"arn:{target.partition}:s3:::"
    if not bucket:
        return [Check(action, "*")]
    context: dict[str, ContextValue] = {}
    for name in _S3_HEADER_KEYS.keys() & params.keys():
        value = params[name]
        if value is not None:
            context[_S3_HEADER_KEYS[name]] = str(value)
    if params.get("VersionId"):
        context["s3:VersionId"] = str(params["VersionId"])
    tagging = params.get("Tagging")
    if isinstance(tagging, dict) and operation == "PutObjectTagging":
        tag_set = tagging.get("TagSet") or []
        tagging = urlencode([(t.get("Key", ""), t.get("Value", "")) for t in tag_set])
    if isinstance(tagging, str) and tagging:
        pairs = parse_qsl(tagging, keep_blank_values=True)
        for k, v in pairs:
            context[f"s3:RequestObjectTag/{k}"] = v
        context["s3:RequestObjectTagKeys"] = [k for k, _ in pairs]
    if operation == "DeleteObjects":
        objects = (params.get("Delete") or {}).get("Objects") or []
        keys = [o.get("Key", "") for o in objects if isinstance(o, dict)] or [""]
        return [Check(action, f"{base}{bucket}/{k}", context) for k in keys]
    key = params.get("Key")
    resource = f"{base}{bucket}" if key is None else f"{base}{bucket}/{key}"
    found = [Check(action, resource, context)]
    source = params.get("CopySource")
    if operation in ("CopyObject", "UploadPartCopy") and isinstance(source, str):
        path, _, query = unquote(source).lstrip("/").partition("?")
        get = "s3:GetObjectVersion" if "versionId=" in query else "s3:GetObject"
        found.append(Check(get, f"{base}{path}"))
    return found


def _s3control(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    return [Check(action_name(service, operation), "*")]


# --- SQS, SNS --------------------------------------------------------------------------------


def queue_arn(url: str, target: Target) -> str | None:
    """The ARN of the queue a QueueUrl names (``http://host/<account>/<name>``)."""
    path = urlparse(url).path if "://" in url else url
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2:
        return None
    account, name = parts[-2], parts[-1]
    return f"arn:{target.partition}:sqs:{target.region}:{account}:{name}"


def _sqs(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    url = params.get("QueueUrl")
    if isinstance(url, str):
        return [Check(action, queue_arn(url, target) or "*")]
    name = params.get("QueueName")
    if isinstance(name, str):
        account = params.get("QueueOwnerAWSAccountId") or target.account
        return [Check(action, f"arn:{target.partition}:sqs:{target.region}:{account}:{name}")]
    return [Check(action, "*")]


def _sns(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    context: dict[str, ContextValue] = {}
    if operation == "Subscribe":
        context["sns:Protocol"] = str(params.get("Protocol", ""))
        if params.get("Endpoint") is not None:
            context["sns:Endpoint"] = str(params["Endpoint"])
    arn = params.get("TopicArn") or params.get("ResourceArn") or params.get("TargetArn")
    sub = params.get("SubscriptionArn")
    if not arn and isinstance(sub, str) and sub.count(":") == 6:
        arn = sub.rsplit(":", 1)[0]  # a subscription's permissions are its topic's
    if not arn and operation == "CreateTopic" and isinstance(params.get("Name"), str):
        arn = f"arn:{target.partition}:sns:{target.region}:{target.account}:{params['Name']}"
    if not arn:
        arn = params.get("PlatformApplicationArn") or params.get("EndpointArn") or "*"
    return [Check(action, str(arn), context)]


# --- DynamoDB ----------------------------------------------------------------------------------

_TRANSACT_ACTIONS = {
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "Get": "dynamodb:GetItem",
}
_PARTIQL = re.compile(r"^\s*(select|insert|update|delete)\b.*?(?:from|into|update)?\s*\"([^\"]+)\"",
                      re.IGNORECASE | re.DOTALL)  # fmt: skip


def batch_entries(operation: str, params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``(table, key or item)`` of each item of a BatchGetItem or BatchWriteItem, in order (a
    table without items counts once, with None): AWS authorizes a batch item by item."""
    entries: list[tuple[str, Any]] = []
    for table, body in (params.get("RequestItems") or {}).items():
        if operation == "BatchGetItem":
            items = list((body or {}).get("Keys") or []) if isinstance(body, Mapping) else []
        else:
            items = [
                (w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key")
                for w in (body if isinstance(body, list) else [])
                if isinstance(w, Mapping)
            ]
        entries.extend((table, item) for item in items or [None])
    return entries


def partiql_target(statement: str) -> tuple[str, str] | None:
    """``(verb, table)`` of a PartiQL statement (``("Select", "t")``), or None."""
    match = _PARTIQL.match(statement)
    if match is None:
        return None
    return match.group(1).capitalize(), match.group(2).split(".")[0]


def _table_arn(name: str, target: Target) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:{target.partition}:dynamodb:{target.region}:{target.account}:table/{name}"


def _dynamodb(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    if operation in ("BatchGetItem", "BatchWriteItem"):
        entries = batch_entries(operation, params)
        return [Check(action, _table_arn(t, target)) for t, _ in entries] or [Check(action, "*")]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                table = body.get("TableName", "") if isinstance(body, dict) else ""
                act = _TRANSACT_ACTIONS.get(kind, action)
                found.append(Check(act, _table_arn(table, target)))
        return found or [Check(action, "*")]
    if operation in ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
        statements = [params] if operation == "ExecuteStatement" else (
            params.get("Statements") or params.get("TransactStatements") or [])  # fmt: skip
        found = []
        for statement in statements:
            parsed = partiql_target(str(statement.get("Statement", "")))
            if parsed:
                found.append(Check(f"dynamodb:PartiQL{parsed[0]}", _table_arn(parsed[1], target)))
        return found or [Check(action, "*")]
    stream = params.get("StreamArn")
    if isinstance(stream, str):
        return [Check(action, stream)]
    for name in ("ResourceArn", "BackupArn", "TableArn"):
        if isinstance(params.get(name), str):
            return [Check(action, params[name])]
    table = params.get("TableName")
    if isinstance(table, str):
        resource = _table_arn(table, target)
        if isinstance(params.get("IndexName"), str):
            resource = f"{resource}/index/{params['IndexName']}"
        context: dict[str, ContextValue] = {}
        attributes = params.get("AttributesToGet")
        if isinstance(attributes, list):
            context["dynamodb:Attributes"] = [str(a) for a in attributes]
        if params.get("Select"):
            context["dynamodb:Select"] = str(params["Select"])
        if params.get("ReturnValues"):
            context["dynamodb:ReturnValues"] = str(params["ReturnValues"])
        return [Check(action, resource, context)]
    if isinstance(params.get("GlobalTableName"), str):
        name = params["GlobalTableName"]
        return [
            Check(action, f"arn:{target.partition}:dynamodb::{target.account}:global-table/{name}")
        ]
    return [Check(action, "*")]


# --- IAM, STS ----------------------------------------------------------------------------------

_IAM_NAMES = (
    ("UserName", "user"),
    ("RoleName", "role"),
    ("GroupName", "group"),
    ("InstanceProfileName", "instance-profile"),
    ("ServerCertificateName", "server-certificate"),
    ("VirtualMFADeviceName", "mfa"),
)
_IAM_ARNS = ("PolicyArn", "OpenIDConnectProviderArn", "SAMLProviderArn", "SerialNumber")


def _iam(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    base = f"arn:{target.partition}:iam::{target.account}:"
    for param, kind in _IAM_NAMES:
        name = params.get(param)
        if isinstance(name, str):
            known = target.iam_arn(kind, name) if target.iam_arn else None
            path = params.get("Path") if operation.startswith("Create") else None
            if known is None:
                known = f"{base}{kind}{path or '/'}{name}"
            return [Check(action, known)]
    for param in _IAM_ARNS:
        if isinstance(params.get(param), str) and params[param].startswith("arn:"):
            return [Check(action, params[param])]
    if operation == "CreatePolicy" and isinstance(params.get("PolicyName"), str):
        return [Check(action, f"{base}policy{params.get('Path') or '/'}{params['PolicyName']}")]
    if (
        operation.endswith(("AccessKey", "AccessKeys", "SigningCertificate", "SSHPublicKey"))
        or operation in ("ChangePassword", "ListMFADevices", "ListUserTags", "GetUser")
    ) and target.caller_arn.split(":", 5)[-1].startswith("user/"):
        return [Check(action, target.caller_arn)]  # the caller's own user
    return [Check(action, "*")]


def _sts(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    if isinstance(params.get("RoleArn"), str):
        context: dict[str, ContextValue] = {}
        if params.get("ExternalId") is not None:
            context["sts:ExternalId"] = str(params["ExternalId"])
        if params.get("RoleSessionName"):
            context["sts:RoleSessionName"] = str(params["RoleSessionName"])
        if params.get("SourceIdentity"):
            context["sts:SourceIdentity"] = str(params["SourceIdentity"])
        return [Check(action, params["RoleArn"], context)]
    if operation == "GetFederationToken" and isinstance(params.get("Name"), str):
        name = params["Name"]
        return [
            Check(action, f"arn:{target.partition}:sts::{target.account}:federated-user/{name}")
        ]
    return [Check(action, "*")]


# --- smaller services ------------------------------------------------------------------------


def _lambda(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    name = params.get("FunctionName")
    if isinstance(name, str):
        if name.startswith("arn:"):
            return [Check(action, name)]
        arn = f"arn:{target.partition}:lambda:{target.region}:{target.account}:function:{name}"
        return [Check(action, arn)]
    return [Check(action, "*")]


def _cloudwatch(
    service: str, operation: str, params: dict[str, Any], target: Target
) -> list[Check]:
    action = action_name(service, operation)
    names = params.get("DashboardNames") or (
        [params["DashboardName"]] if params.get("DashboardName") else []
    )
    if names:
        base = f"arn:{target.partition}:cloudwatch::{target.account}:dashboard/"
        return [Check(action, base + str(n)) for n in names]
    alarms = params.get("AlarmNames") or ([params["AlarmName"]] if params.get("AlarmName") else [])
    if alarms:
        base = f"arn:{target.partition}:cloudwatch:{target.region}:{target.account}:alarm:"
        return [Check(action, base + str(n)) for n in alarms]
    return [Check(action, "*")]


def _kms(service: str, operation: str, params: dict[str, Any], target: Target) -> list[Check]:
    action = action_name(service, operation)
    key = params.get("KeyId")
    if isinstance(key, str):
        if key.startswith("arn:"):
            return [Check(action, key)]
        kind = "alias/" if key.startswith("alias/") else "key/"
        resource = key if kind == "alias/" else kind + key
        return [
            Check(action, f"arn:{target.partition}:kms:{target.region}:{target.account}:{resource}")
        ]
    return [Check(action, "*")]


_DERIVERS: dict[str, Deriver] = {
    "s3": _s3,
    "s3control": _s3control,
    "sqs": _sqs,
    "sns": _sns,
    "dynamodb": _dynamodb,
    "dynamodbstreams": _dynamodb,
    "iam": _iam,
    "sts": _sts,
    "lambda": _lambda,
    "cloudwatch": _cloudwatch,
    "kms": _kms,
}
