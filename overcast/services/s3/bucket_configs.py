"""Bucket configurations S3 stores and reports but that change nothing else here: inventory,
analytics, metrics and S3 Intelligent-Tiering (each a set of configurations by Id, listed 100
per page), and Transfer Acceleration (one status).

Stored in ``Bucket.config`` under "inventory", "analytics", "metrics", "intelligent_tiering"
(``{id: configuration}``) and "accelerate" (``{"Status": ...}``).
"""

from __future__ import annotations

import re
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3 import store
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    MalformedXML,
    NoSuchConfiguration,
    TooManyConfigurations,
)
from overcast.services.s3.preconditions import check_expected_owner

PAGE = 100
MAX_CONFIGURATIONS = 1000
_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")

# Intelligent-Tiering archive tiers: minimum and maximum days without access.
_TIER_DAYS = {"ARCHIVE_ACCESS": (90, 730), "DEEP_ARCHIVE_ACCESS": (180, 730)}
_INVENTORY_FIELDS = frozenset(
    {
        "Size", "LastModifiedDate", "StorageClass", "ETag", "IsMultipartUploaded",
        "ReplicationStatus", "EncryptionStatus", "ObjectLockRetainUntilDate",
        "ObjectLockMode", "ObjectLockLegalHoldStatus", "IntelligentTieringAccessTier",
        "BucketKeyStatus", "ChecksumAlgorithm", "ObjectAccessControlList", "ObjectOwner",
    }
)  # fmt: skip


def _check_id(config_id: str | None) -> str:
    if not config_id or not _ID.match(config_id):
        raise InvalidArgument(
            "The specified configuration id is not valid",
            ArgumentName="id",
            ArgumentValue=config_id or "",
        )
    return config_id


def _check_inventory(config: dict[str, Any]) -> None:
    destination = (config.get("Destination") or {}).get("S3BucketDestination") or {}
    if destination.get("Format") not in ("CSV", "ORC", "Parquet"):
        raise MalformedXML()
    if not str(destination.get("Bucket", "")).startswith("arn:aws:s3:::"):
        raise InvalidArgument(
            "Invalid destination bucket ARN",
            ArgumentName="Destination.Bucket",
            ArgumentValue=str(destination.get("Bucket", "")),
        )
    if (config.get("Schedule") or {}).get("Frequency") not in ("Daily", "Weekly"):
        raise MalformedXML()
    if config.get("IncludedObjectVersions") not in ("All", "Current"):
        raise MalformedXML()
    for name in config.get("OptionalFields") or []:
        if name not in _INVENTORY_FIELDS:
            raise MalformedXML()


def _check_analytics(config: dict[str, Any]) -> None:
    export = (config.get("StorageClassAnalysis") or {}).get("DataExport")
    if export is not None:
        if export.get("OutputSchemaVersion") != "V_1":
            raise MalformedXML()
        destination = (export.get("Destination") or {}).get("S3BucketDestination") or {}
        if destination.get("Format") != "CSV":
            raise MalformedXML()


def _check_tiering(config: dict[str, Any]) -> None:
    if config.get("Status") not in ("Enabled", "Disabled"):
        raise MalformedXML()
    tierings = config.get("Tierings") or []
    if not tierings:
        raise MalformedXML()
    seen: set[str] = set()
    for tier in tierings:
        access = tier.get("AccessTier")
        if access not in _TIER_DAYS or access in seen:
            raise MalformedXML()
        seen.add(access)
        low, high = _TIER_DAYS[access]
        days = int(tier.get("Days", 0))
        if not low <= days <= high:
            raise InvalidArgument(
                f"Days for {access} must be between {low} and {high}",
                ArgumentName="Days",
                ArgumentValue=str(days),
            )


# kind -> (config key, request member, list member, check)
_KINDS: dict[str, tuple[str, str, str, Any]] = {
    "inventory": (
        "inventory", "InventoryConfiguration", "InventoryConfigurationList", _check_inventory,
    ),
    "analytics": (
        "analytics", "AnalyticsConfiguration", "AnalyticsConfigurationList", _check_analytics,
    ),
    "metrics": ("metrics", "MetricsConfiguration", "MetricsConfigurationList", None),
    "tiering": (
        "intelligent_tiering", "IntelligentTieringConfiguration",
        "IntelligentTieringConfigurationList", _check_tiering,
    ),
}  # fmt: skip


class BucketConfigs(S3Base):
    # --- the four "configurations by Id" sub-resources ------------------------------------

    def _put_by_id(
        self, ctx: RequestContext, request: dict[str, Any], kind: str, action: str
    ) -> dict[str, Any]:
        key, member, _, check = _KINDS[kind]
        config_id = _check_id(request.get("Id"))
        config = dict(request.get(member) or {})
        if config.get("Id", config_id) != config_id:
            raise InvalidArgument(
                "Configuration ID in the query does not match the ID in the body",
                ArgumentName="id",
                ArgumentValue=config_id,
            )
        config["Id"] = config_id
        if check is not None:
            check(config)

        def run(conn: Any) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], action)
            check_expected_owner(request, bucket.account_id)
            stored = dict(bucket.config.get(key) or {})
            if config_id not in stored and len(stored) >= MAX_CONFIGURATIONS:
                raise TooManyConfigurations()
            stored[config_id] = config
            bucket.config[key] = stored
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def _get_by_id(
        self, ctx: RequestContext, request: dict[str, Any], kind: str, action: str
    ) -> dict[str, Any]:
        key, member, _, _ = _KINDS[kind]
        bucket = self._config_bucket(ctx, request, action)
        config = (bucket.config.get(key) or {}).get(request.get("Id"))
        if config is None:
            raise NoSuchConfiguration()
        return {member: config}

    def _delete_by_id(
        self, ctx: RequestContext, request: dict[str, Any], kind: str, action: str
    ) -> dict[str, Any]:
        key = _KINDS[kind][0]

        def run(conn: Any) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], action)
            check_expected_owner(request, bucket.account_id)
            stored = dict(bucket.config.get(key) or {})
            if stored.pop(request.get("Id"), None) is None:
                raise NoSuchConfiguration()
            if stored:
                bucket.config[key] = stored
            else:
                bucket.config.pop(key, None)
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def _list_by_id(
        self, ctx: RequestContext, request: dict[str, Any], kind: str, action: str
    ) -> dict[str, Any]:
        key, _, list_member, _ = _KINDS[kind]
        bucket = self._config_bucket(ctx, request, action)
        stored = bucket.config.get(key) or {}
        token = request.get("ContinuationToken")
        ids = sorted(i for i in stored if token is None or i > token)
        page = ids[:PAGE]
        out: dict[str, Any] = {"IsTruncated": len(ids) > len(page)}
        if token is not None:
            out["ContinuationToken"] = token
        if page:
            out[list_member] = [stored[i] for i in page]
        if out["IsTruncated"]:
            out["NextContinuationToken"] = page[-1]
        return out

    def put_bucket_inventory_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_by_id(ctx, request, "inventory", "s3:PutInventoryConfiguration")

    def get_bucket_inventory_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._get_by_id(ctx, request, "inventory", "s3:GetInventoryConfiguration")

    def delete_bucket_inventory_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._delete_by_id(ctx, request, "inventory", "s3:PutInventoryConfiguration")

    def list_bucket_inventory_configurations(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_by_id(ctx, request, "inventory", "s3:GetInventoryConfiguration")

    def put_bucket_analytics_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_by_id(ctx, request, "analytics", "s3:PutAnalyticsConfiguration")

    def get_bucket_analytics_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._get_by_id(ctx, request, "analytics", "s3:GetAnalyticsConfiguration")

    def delete_bucket_analytics_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._delete_by_id(ctx, request, "analytics", "s3:PutAnalyticsConfiguration")

    def list_bucket_analytics_configurations(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_by_id(ctx, request, "analytics", "s3:GetAnalyticsConfiguration")

    def put_bucket_metrics_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_by_id(ctx, request, "metrics", "s3:PutMetricsConfiguration")

    def get_bucket_metrics_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._get_by_id(ctx, request, "metrics", "s3:GetMetricsConfiguration")

    def delete_bucket_metrics_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._delete_by_id(ctx, request, "metrics", "s3:PutMetricsConfiguration")

    def list_bucket_metrics_configurations(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_by_id(ctx, request, "metrics", "s3:GetMetricsConfiguration")

    def put_bucket_intelligent_tiering_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._put_by_id(ctx, request, "tiering", "s3:PutIntelligentTieringConfiguration")

    def get_bucket_intelligent_tiering_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._get_by_id(ctx, request, "tiering", "s3:GetIntelligentTieringConfiguration")

    def delete_bucket_intelligent_tiering_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._delete_by_id(ctx, request, "tiering", "s3:PutIntelligentTieringConfiguration")

    def list_bucket_intelligent_tiering_configurations(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_by_id(ctx, request, "tiering", "s3:GetIntelligentTieringConfiguration")

    # --- Transfer Acceleration ------------------------------------------------------------

    def put_bucket_accelerate_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        status = (request.get("AccelerateConfiguration") or {}).get("Status")
        if status not in ("Enabled", "Suspended"):
            raise MalformedXML()
        if "." in request["Bucket"]:
            raise InvalidRequest(
                "S3 Transfer Acceleration is not supported for buckets with periods (.) in "
                "their names"
            )
        action = "s3:PutAccelerateConfiguration"
        self._write_config(ctx, request, action, "accelerate", {"Status": status})
        return {}

    def get_bucket_accelerate_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetAccelerateConfiguration")
        return dict(bucket.config.get("accelerate") or {})
