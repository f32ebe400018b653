"""Bucket replication configuration: Put/Get/DeleteBucketReplication, its validation, and which
rule (if any) replicates a given key. Copying is ``replication_worker.py``'s.

As on S3: both buckets must have versioning enabled; rules carry an ID (generated when absent),
a Status, and either the legacy Prefix or a Filter (Prefix, Tag, or And) with a Priority and a
DeleteMarkerReplication status. Of several matching rules the highest Priority wins.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3 import store
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedXML,
    ReplicationConfigurationNotFoundError,
)
from overcast.services.s3.object_common import STORAGE_CLASSES
from overcast.services.s3.preconditions import check_expected_owner

CONFIG_KEY = "replication"
MAX_RULES = 1000


def _filter_parts(rule: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A rule's key prefix and required tags, whichever form it was written in."""
    if "Filter" not in rule:
        return str(rule.get("Prefix") or ""), {}
    flt = rule.get("Filter") or {}
    if "And" in flt:
        both = flt["And"] or {}
        tags = {t["Key"]: t["Value"] for t in both.get("Tags") or []}
        return str(both.get("Prefix") or ""), tags
    tag = flt.get("Tag")
    return str(flt.get("Prefix") or ""), ({tag["Key"]: tag["Value"]} if tag else {})


def rule_for(config: dict[str, Any], key: str, tags: dict[str, str]) -> dict[str, Any] | None:
    """The enabled rule that replicates ``key`` (with ``tags``), highest Priority first."""
    best: dict[str, Any] | None = None
    for rule in config.get("Rules") or []:
        if rule.get("Status") != "Enabled":
            continue
        prefix, wanted = _filter_parts(rule)
        if not key.startswith(prefix):
            continue
        if any(tags.get(k) != v for k, v in wanted.items()):
            continue
        if best is None or int(rule.get("Priority") or 0) > int(best.get("Priority") or 0):
            best = rule
    return best


def replicates_delete_markers(rule: dict[str, Any]) -> bool:
    """V1 rules (a bare Prefix) replicate delete markers; V2 rules only when asked to."""
    if "Filter" not in rule:
        return True
    return (rule.get("DeleteMarkerReplication") or {}).get("Status") == "Enabled"


def destination_bucket(rule: dict[str, Any]) -> str:
    return str(rule["Destination"]["Bucket"]).removeprefix("arn:aws:s3:::")


def _new_id() -> str:
    return base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _check_rules(config: dict[str, Any]) -> list[dict[str, Any]]:
    rules = [dict(r) for r in config.get("Rules") or []]
    if not rules:
        raise MalformedXML()
    if len(rules) > MAX_RULES:
        raise InvalidRequest(f"Number of rules must not exceed allowed limit of {MAX_RULES} rules")
    ids: set[str] = set()
    priorities: set[int] = set()
    v2 = any("Filter" in r for r in rules)
    for rule in rules:
        rule["ID"] = rule.get("ID") or _new_id()
        if rule["ID"] in ids:
            raise InvalidRequest("Rule Id must be unique")
        ids.add(rule["ID"])
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise MalformedXML()
        destination = rule.get("Destination") or {}
        arn = str(destination.get("Bucket") or "")
        if not arn.startswith("arn:aws:s3:::") or arn == "arn:aws:s3:::":
            raise InvalidArgument(
                "Invalid bucket ARN", ArgumentName="Destination.Bucket", ArgumentValue=arn
            )
        storage = destination.get("StorageClass")
        if storage is not None and storage not in STORAGE_CLASSES:
            raise MalformedXML()
        if v2:
            if "Filter" not in rule:
                raise InvalidRequest(
                    "Rules that use the legacy Prefix element cannot be mixed with rules that "
                    "use Filter"
                )
            if "DeleteMarkerReplication" not in rule:
                raise InvalidRequest(
                    "DeleteMarkerReplication must be specified for this version of Cross "
                    "Region Replication configuration schema."
                )
            priority = int(rule.get("Priority") or 0)
            if priority in priorities:
                raise InvalidRequest("Found two rules with same priority " + str(priority))
            priorities.add(priority)
            rule["Priority"] = priority
    return rules


class Replication(S3Base):
    def put_bucket_replication(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        config = request.get("ReplicationConfiguration") or {}
        if not config.get("Role"):
            raise MalformedXML()
        rules = _check_rules(config)
        stored = {"Role": config["Role"], "Rules": rules}
        action = "s3:PutReplicationConfiguration"

        def run(conn: Any) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], action)
            check_expected_owner(request, bucket.account_id)
            if bucket.versioning != "Enabled":
                raise InvalidRequest(
                    "Versioning must be 'Enabled' on the bucket to apply a replication "
                    "configuration"
                )
            for rule in rules:
                target = store.get_bucket(conn, destination_bucket(rule))
                if target is None:
                    raise InvalidRequest("Destination bucket must exist.")
                if target.versioning != "Enabled":
                    raise InvalidRequest("Destination bucket must have versioning enabled.")
            bucket.config[CONFIG_KEY] = stored
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_bucket_replication(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetReplicationConfiguration")
        config = bucket.config.get(CONFIG_KEY)
        if not config:
            raise ReplicationConfigurationNotFoundError(BucketName=bucket.name)
        return {"ReplicationConfiguration": config}

    def delete_bucket_replication(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        self._write_config(ctx, request, "s3:PutReplicationConfiguration", CONFIG_KEY)
        return {}
