"""Object Lock: the bucket's configuration and default retention, per-version retention
(GOVERNANCE, COMPLIANCE) and legal hold, and the checks that keep locked versions.

A version's lock lives in its meta: ``retention`` (``{"Mode": ..., "RetainUntilDate": epoch}``)
and ``legal_hold`` ("ON"/"OFF"). Object Lock needs versioning, so a PUT never overwrites a
version: it adds one. What is refused is deleting a locked version (by version id) before its
retention ends or while a legal hold is on; a GOVERNANCE retention yields to a caller sending
``x-amz-bypass-governance-retention: true``. Deleting without a version id only adds a delete
marker, which S3 allows.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.protocol.timestamps import to_datetime
from overcast.services.s3 import store
from overcast.services.s3.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidBucketState,
    InvalidRequest,
    MalformedXML,
    NoSuchObjectLockConfiguration,
    ObjectLockConfigurationNotFoundError,
)
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.object_common import ObjectBase
from overcast.services.s3.preconditions import check_expected_owner

CONFIG_KEY = "object_lock"  # Bucket.config: {"Rule": {"DefaultRetention": {...}}} or {}
MODES = ("GOVERNANCE", "COMPLIANCE")
BYPASS_HEADER = "x-amz-bypass-governance-retention"
DAY = 86400.0
_LOCKED = "Access Denied because object protected by object lock."


def _missing_lock() -> InvalidRequest:
    return InvalidRequest("Bucket is missing Object Lock Configuration")


def _bypass(ctx: RequestContext) -> bool:
    return ctx.request.headers.get(BYPASS_HEADER, "").lower() == "true"


def _epoch(value: Any) -> float:
    return to_datetime(value).timestamp()


def retention_of_put(
    bucket: Bucket, request: dict[str, Any], now: float
) -> tuple[dict[str, Any] | None, str | None]:
    """The retention and legal hold a new version gets: the request's headers, else the bucket's
    default retention. Raises S3's errors for headers a bucket without Object Lock refuses."""
    mode = request.get("ObjectLockMode")
    until = request.get("ObjectLockRetainUntilDate")
    hold = request.get("ObjectLockLegalHoldStatus")
    if (mode or until is not None or hold) and not bucket.object_lock:
        raise _missing_lock()
    if (mode is None) != (until is None):
        raise InvalidArgument(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
        )
    if hold is not None and hold not in ("ON", "OFF"):
        raise InvalidArgument("Legal Hold must be either of 'ON' or 'OFF'")
    if mode is not None:
        if mode not in MODES:
            raise InvalidArgument("Unknown wormMode directive.")
        epoch = _epoch(until)
        if epoch <= now:
            raise InvalidArgument("The retain until date must be in the future!")
        return {"Mode": mode, "RetainUntilDate": epoch}, hold
    default = ((bucket.config.get(CONFIG_KEY) or {}).get("Rule") or {}).get("DefaultRetention")
    if bucket.object_lock and default:
        days = default.get("Days") or int(default.get("Years") or 0) * 365
        return {"Mode": default["Mode"], "RetainUntilDate": now + days * DAY}, hold
    return None, hold


def apply_to_put(bucket: Bucket, obj: ObjectVersion, request: dict[str, Any], now: float) -> None:
    """Give a new version its lock (called in the write transaction: the bucket is current)."""
    if not bucket.object_lock and not (
        request.get("ObjectLockMode")
        or request.get("ObjectLockRetainUntilDate") is not None
        or request.get("ObjectLockLegalHoldStatus")
    ):
        return
    retention, hold = retention_of_put(bucket, request, now)
    if retention is not None:
        obj.meta["retention"] = retention
    if hold is not None:
        obj.meta["legal_hold"] = hold


def lock_members(obj: ObjectVersion) -> dict[str, Any]:
    """The Object Lock headers of a GET/HEAD."""
    out: dict[str, Any] = {}
    retention = obj.meta.get("retention")
    if retention:
        out["ObjectLockMode"] = retention["Mode"]
        out["ObjectLockRetainUntilDate"] = retention["RetainUntilDate"]
    if obj.meta.get("legal_hold"):
        out["ObjectLockLegalHoldStatus"] = obj.meta["legal_hold"]
    return out


def locked(obj: ObjectVersion, now: float, *, bypass: bool) -> bool:
    """Whether deleting this version must be refused."""
    if obj.meta.get("legal_hold") == "ON":
        return True
    retention = obj.meta.get("retention")
    if not retention or retention["RetainUntilDate"] <= now:
        return False
    return not (retention["Mode"] == "GOVERNANCE" and bypass)


def check_delete(ctx: RequestContext, obj: ObjectVersion | None, now: float) -> None:
    """Refuse deleting a locked version (by version id) as S3 does (403)."""
    if obj is not None and not obj.delete_marker and locked(obj, now, bypass=_bypass(ctx)):
        raise AccessDenied(_LOCKED)


def _check_rule(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("ObjectLockEnabled") != "Enabled":
        raise MalformedXML()
    rule = config.get("Rule")
    if rule is None:
        return {}
    default = rule.get("DefaultRetention") or {}
    mode, days, years = default.get("Mode"), default.get("Days"), default.get("Years")
    if mode not in MODES or (days is None) == (years is None):
        raise MalformedXML()
    period = int(days) if days is not None else int(years or 0)
    if period <= 0:
        raise InvalidArgument("Default retention period must be a positive integer value.")
    if (days is not None and period > 36500) or (years is not None and period > 100):
        raise InvalidArgument("Default retention period is too large.")
    stored: dict[str, Any] = {"Mode": mode}
    stored["Days" if days is not None else "Years"] = period
    return {"Rule": {"DefaultRetention": stored}}


class ObjectLock(ObjectBase):
    def put_object_lock_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        config = _check_rule(request.get("ObjectLockConfiguration") or {})

        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(
                ctx, conn, request["Bucket"], "s3:PutBucketObjectLockConfiguration"
            )
            check_expected_owner(request, bucket.account_id)
            if not bucket.object_lock:
                # Object Lock can be turned on for an existing bucket once versioning is on.
                if bucket.versioning != "Enabled":
                    raise InvalidBucketState(
                        "Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                        "configuration"
                    )
                bucket.object_lock = True
            bucket.config[CONFIG_KEY] = config
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_object_lock_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetBucketObjectLockConfiguration")
        if not bucket.object_lock:
            raise ObjectLockConfigurationNotFoundError(BucketName=bucket.name)
        out: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
        out.update(bucket.config.get(CONFIG_KEY) or {})
        return {"ObjectLockConfiguration": out}

    def _locked_version(
        self, ctx: RequestContext, conn: sqlite3.Connection, request: dict[str, Any], action: str
    ) -> ObjectVersion:
        bucket = self._access(ctx, conn, request["Bucket"], action, key=request["Key"])
        check_expected_owner(request, bucket.account_id)
        if not bucket.object_lock:
            raise _missing_lock()
        return self._find(ctx, conn, bucket, request["Key"], request.get("VersionId"))

    def put_object_retention(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        wanted = request.get("Retention") or {}
        mode, until = wanted.get("Mode"), wanted.get("RetainUntilDate")
        if mode is not None and mode not in MODES:
            raise MalformedXML()
        if (mode is None) != (until is None):
            raise MalformedXML()
        bypass = bool(request.get("BypassGovernanceRetention")) or _bypass(ctx)

        def run(conn: sqlite3.Connection) -> None:
            obj = self._locked_version(ctx, conn, request, "s3:PutObjectRetention")
            now = self._now()
            new = None if mode is None else {"Mode": mode, "RetainUntilDate": _epoch(until)}
            if new is not None and new["RetainUntilDate"] <= now:
                raise InvalidArgument("The retain until date must be in the future!")
            old = obj.meta.get("retention")
            if old and old["RetainUntilDate"] > now:
                # COMPLIANCE can only be extended; shortening GOVERNANCE or changing its mode
                # (even to COMPLIANCE, as S3 answers: ceph/ceph#42505) takes the bypass.
                weaker = (
                    new is None
                    or new["RetainUntilDate"] < old["RetainUntilDate"]
                    or new["Mode"] != old["Mode"]
                )
                if weaker and (old["Mode"] == "COMPLIANCE" or not bypass):
                    raise AccessDenied(_LOCKED)
            if new is None:
                obj.meta.pop("retention", None)
            else:
                obj.meta["retention"] = new
            store.update_object_meta(conn, obj)

        self._store.write(run)
        return {}

    def get_object_retention(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        obj = self._store.read(
            lambda conn: self._locked_version(ctx, conn, request, "s3:GetObjectRetention")
        )
        retention = obj.meta.get("retention")
        if not retention:
            raise NoSuchObjectLockConfiguration()
        return {"Retention": dict(retention)}

    def put_object_legal_hold(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        status = (request.get("LegalHold") or {}).get("Status")
        if status not in ("ON", "OFF"):
            raise MalformedXML()

        def run(conn: sqlite3.Connection) -> None:
            obj = self._locked_version(ctx, conn, request, "s3:PutObjectLegalHold")
            obj.meta["legal_hold"] = status
            store.update_object_meta(conn, obj)

        self._store.write(run)
        return {}

    def get_object_legal_hold(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        obj = self._store.read(
            lambda conn: self._locked_version(ctx, conn, request, "s3:GetObjectLegalHold")
        )
        if not obj.meta.get("legal_hold"):
            raise NoSuchObjectLockConfiguration()
        return {"LegalHold": {"Status": obj.meta["legal_hold"]}}
