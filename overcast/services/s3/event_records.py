"""The documents S3 sends about object events: notification records (SQS, SNS, Lambda), the
``s3:TestEvent`` message, and the EventBridge event. Pure functions of an event payload.

Payloads are those of the ``s3.object.created`` / ``s3.object.removed`` bus topics (see
``overcast/events.py``), built by ``events_out.object_event``.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any
from urllib.parse import quote_plus

from overcast.services.s3.common import canonical_user_id

SNS_SUBJECT = "Amazon S3 Notification"


def iso(ts: float) -> str:
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def host_id(request_id: str) -> str:
    """A stable x-amz-id-2 for a request id (S3's is an opaque base64 token)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, request_id).hex


def record(p: dict[str, Any], configuration_id: str) -> dict[str, Any]:
    """One element of ``Records``, in AWS's event message structure (version 2.1)."""
    obj: dict[str, Any] = {"key": quote_plus(p["key"], safe="/")}
    if p["event_name"].startswith("ObjectCreated"):
        obj["size"] = p["size"]
        obj["eTag"] = p["etag"].strip('"')
    if p.get("version_id"):
        obj["versionId"] = p["version_id"]
    obj["sequencer"] = p["sequencer"]
    out: dict[str, Any] = {
        "eventVersion": _version(p["event_name"]),
        "eventSource": "aws:s3",
        "awsRegion": p["region"],
        "eventTime": iso(p["time"]),
        "eventName": p["event_name"],
        "userIdentity": {"principalId": p["principal_id"]},
        "requestParameters": {"sourceIPAddress": p["source_ip"]},
        "responseElements": {
            "x-amz-request-id": p["request_id"],
            "x-amz-id-2": host_id(p["request_id"]),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": p["bucket"],
                "ownerIdentity": {"principalId": canonical_user_id(p["account_id"])},
                "arn": f"arn:aws:s3:::{p['bucket']}",
            },
            "object": obj,
        },
    }
    out.update(p.get("extra") or {})
    return out


# Record versions: 2.2 for replication events, 2.3 for lifecycle, Intelligent-Tiering, ACL,
# tagging and restore-expiry events, 2.1 for the rest (as AWS documents the structure).
_V23 = ("LifecycleExpiration", "LifecycleTransition", "IntelligentTiering", "ObjectAcl",
        "ObjectTagging", "ObjectRestore:Delete")  # fmt: skip


def _version(event_name: str) -> str:
    if event_name.startswith("Replication:"):
        return "2.2"
    if event_name.startswith(_V23):
        return "2.3"
    return "2.1"


def test_event(bucket: str, request_id: str, now: float) -> dict[str, Any]:
    """What S3 sends to each SQS/SNS destination when a configuration is put."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": iso(now),
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": host_id(request_id),
    }


_DETAIL_TYPES = {
    "ObjectCreated": "Object Created",
    "ObjectRemoved": "Object Deleted",
    "ObjectTagging:Put": "Object Tags Added",
    "ObjectTagging:Delete": "Object Tags Deleted",
    "ObjectAcl:Put": "Object ACL Updated",
    "ObjectRestore:Post": "Object Restore Initiated",
    "ObjectRestore:Completed": "Object Restore Completed",
    "ObjectRestore:Delete": "Object Restore Expired",
    "LifecycleExpiration": "Object Deleted",
    "LifecycleTransition": "Object Storage Class Changed",
    "IntelligentTiering": "Object Access Tier Changed",
}
_REASONS = {
    "ObjectCreated:Put": "PutObject",
    "ObjectCreated:Post": "POST Object",
    "ObjectCreated:Copy": "CopyObject",
    "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "ObjectRemoved:Delete": "DeleteObject",
    "ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
    "ObjectTagging:Put": "PutObjectTagging",
    "ObjectTagging:Delete": "DeleteObjectTagging",
    "ObjectAcl:Put": "PutObjectAcl",
}


def eventbridge_event(p: dict[str, Any]) -> dict[str, Any]:
    """The event S3 puts on the account's default EventBridge bus."""
    family = p["event_name"].split(":", 1)[0]
    obj: dict[str, Any] = {"key": p["key"]}
    if family == "ObjectCreated":
        obj["size"] = p["size"]
        obj["etag"] = p["etag"].strip('"')
    if p.get("version_id"):
        obj["version-id"] = p["version_id"]
    obj["sequencer"] = p["sequencer"]
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": p["bucket"]},
        "object": obj,
        "request-id": p["request_id"],
        "requester": p["requester"],
        "source-ip-address": p["source_ip"],
        "reason": _REASONS.get(p["event_name"], p["event_name"]),
    }
    if family in ("ObjectRemoved", "LifecycleExpiration"):
        detail["deletion-type"] = (
            "Delete Marker Created"
            if p["event_name"].endswith("DeleteMarkerCreated")
            else "Permanently Deleted"
        )
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{p['request_id']}/{p['sequencer']}")),
        "detail-type": _DETAIL_TYPES.get(p["event_name"], _DETAIL_TYPES.get(family, family)),
        "source": "aws.s3",
        "account": p["account_id"],
        "time": iso(p["time"]).split(".")[0] + "Z",
        "region": p["region"],
        "resources": [f"arn:aws:s3:::{p['bucket']}"],
        "detail": detail,
    }
