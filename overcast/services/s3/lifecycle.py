"""Lifecycle configuration: Put/Get/DeleteBucketLifecycleConfiguration, S3's validation, and
which rule applies to which object (used by ``lifecycle_worker.py`` and the ``x-amz-expiration``
header).

The configuration is stored as sent (after validation) in ``Bucket.config["lifecycle"]`` as
``{"Rules": [...], "TransitionDefaultMinimumObjectSize": ...}``. Ages follow S3's documented
rounding: an action is due at the first midnight UTC after ``creation + Days`` (for noncurrent
versions, after the moment the version became noncurrent + ``NoncurrentDays``).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.protocol.timestamps import RFC822, format_timestamp, to_datetime
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import (
    InvalidArgument,
    InvalidRequest,
    InvalidTag,
    MalformedXML,
    NoSuchLifecycleConfiguration,
)
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.storage_class import DAY, next_midnight
from overcast.services.s3.tagging import validate_tags

CONFIG_KEY = "lifecycle"
MAX_RULES = 1000
MIN_SIZE_DEFAULT = "all_storage_classes_128K"
MIN_SIZES = (MIN_SIZE_DEFAULT, "varies_by_storage_class")
SMALL_OBJECT = 128 * 1024  # not transitioned under all_storage_classes_128K
TRANSITION_CLASSES = (
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)
# Transitions only go down this ladder (an object never moves back to a warmer class).
RANK = {
    "STANDARD": 0,
    "REDUCED_REDUNDANCY": 0,
    **{c: i + 1 for i, c in enumerate(TRANSITION_CLASSES)},
}
_IA_MIN_DAYS = {"STANDARD_IA": 30, "ONEZONE_IA": 30}


# --- validation ----------------------------------------------------------------------------


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedXML() from None


def _check_filter(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule's filter in one normalised shape: {"Prefix", "Tags", "Gt", "Lt"}."""
    has_filter, has_prefix = "Filter" in rule, "Prefix" in rule
    if has_filter == has_prefix:
        raise MalformedXML()
    if has_prefix:
        return {"Prefix": rule["Prefix"] or "", "Tags": {}, "Gt": None, "Lt": None}
    spec = rule["Filter"] or {}
    if len(spec) > 1:
        raise MalformedXML()
    source = spec.get("And", spec)
    if "And" in spec and not source:
        raise MalformedXML()
    pairs: list[tuple[str, str]] = []
    if "Tag" in source:
        pairs.append((source["Tag"].get("Key", ""), source["Tag"].get("Value", "")))
    for tag in source.get("Tags") or []:
        pairs.append((tag.get("Key", ""), tag.get("Value", "")))
    tags = validate_tags(pairs, limit=50, too_many=InvalidTag) if pairs else {}
    gt, lt = source.get("ObjectSizeGreaterThan"), source.get("ObjectSizeLessThan")
    if gt is not None and lt is not None and _int(gt) >= _int(lt):
        raise InvalidArgument(
            "ObjectSizeGreaterThan must be less than ObjectSizeLessThan",
            ArgumentName="ObjectSizeGreaterThan",
        )
    for value in (gt, lt):
        if value is not None and _int(value) < 0:
            raise InvalidArgument("Object size must be a non-negative number")
    return {
        "Prefix": source.get("Prefix") or "",
        "Tags": tags,
        "Gt": None if gt is None else _int(gt),
        "Lt": None if lt is None else _int(lt),
    }


def _check_date(value: Any) -> float:
    epoch = to_datetime(value).timestamp()
    if epoch % DAY:
        raise InvalidArgument("'Date' must be at midnight GMT", ArgumentName="Date")
    return epoch


def _check_rule(rule: dict[str, Any]) -> None:
    if rule.get("Status") not in ("Enabled", "Disabled"):
        raise MalformedXML()
    if len(rule.get("ID") or "") > 255:
        raise InvalidArgument("ID length should not exceed allowed limit of 255")
    flt = _check_filter(rule)
    tagged = bool(flt["Tags"])
    expiration = rule.get("Expiration")
    transitions = rule.get("Transitions") or []
    nc_expiration = rule.get("NoncurrentVersionExpiration")
    nc_transitions = rule.get("NoncurrentVersionTransitions") or []
    abort = rule.get("AbortIncompleteMultipartUpload")
    if not (expiration or transitions or nc_expiration or nc_transitions or abort):
        raise InvalidRequest("At least one action needs to be specified in a rule")
    expiry_days = None
    if expiration is not None:
        given = [k for k in ("Days", "Date", "ExpiredObjectDeleteMarker") if k in expiration]
        if len(given) != 1:
            if "ExpiredObjectDeleteMarker" in given:
                raise InvalidRequest(
                    "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a "
                    "Lifecycle Expiration Policy."
                )
            raise MalformedXML()
        if "Days" in expiration:
            expiry_days = _int(expiration["Days"])
            if expiry_days <= 0:
                raise InvalidArgument("'Days' for Expiration action must be a positive integer")
        elif "Date" in expiration:
            _check_date(expiration["Date"])
        elif tagged:
            raise InvalidRequest(
                "Tag-based filters cannot be specified with ExpiredObjectDeleteMarker."
            )
    seen: set[str] = set()
    for transition in transitions:
        storage_class = transition.get("StorageClass")
        if storage_class not in TRANSITION_CLASSES:
            raise MalformedXML()
        if storage_class in seen:
            raise InvalidRequest(
                f"'StorageClass' must be different for 'Transition' actions in same 'Rule' "
                f"with prefix '{flt['Prefix']}'"
            )
        seen.add(storage_class)
        if ("Days" in transition) == ("Date" in transition):
            raise MalformedXML()
        if "Date" in transition:
            _check_date(transition["Date"])
            continue
        days = _int(transition["Days"])
        if days < 0:
            raise InvalidArgument("'Days' in Transition action must be nonnegative")
        minimum = _IA_MIN_DAYS.get(storage_class, 0)
        if days < minimum:
            raise InvalidArgument(
                f"'Days' in Transition action must be greater than or equal to {minimum} for "
                f"storageClass '{storage_class}'"
            )
        if expiry_days is not None and expiry_days <= days:
            raise InvalidArgument(
                f"'Days' in the Expiration action for prefix '{flt['Prefix']}' must be greater "
                f"than 'Days' in the Transition action"
            )
    if nc_expiration is not None:
        if _int(nc_expiration.get("NoncurrentDays")) <= 0:
            raise InvalidArgument(
                "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"
            )
        _check_newer(nc_expiration)
    for transition in nc_transitions:
        if transition.get("StorageClass") not in TRANSITION_CLASSES:
            raise MalformedXML()
        days = _int(transition.get("NoncurrentDays"))
        minimum = _IA_MIN_DAYS.get(transition["StorageClass"], 0)
        if days < minimum:
            raise InvalidArgument(
                f"'NoncurrentDays' in NoncurrentVersionTransition action must be greater than "
                f"or equal to {minimum} for storageClass '{transition['StorageClass']}'"
            )
        _check_newer(transition)
    if abort is not None:
        if tagged:
            raise InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        if _int(abort.get("DaysAfterInitiation")) <= 0:
            raise InvalidArgument(
                "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a "
                "positive integer"
            )


def _check_newer(action: dict[str, Any]) -> None:
    newer = action.get("NewerNoncurrentVersions")
    if newer is not None and not 1 <= _int(newer) <= 100:
        raise InvalidArgument("NewerNoncurrentVersions must be between 1 and 100")


def check_configuration(config: dict[str, Any]) -> list[dict[str, Any]]:
    rules = config.get("Rules") or []
    if not rules:
        raise MalformedXML()
    if len(rules) > MAX_RULES:
        raise InvalidRequest(f"Number of rules must not exceed {MAX_RULES}")
    ids = [r["ID"] for r in rules if r.get("ID")]
    if len(ids) != len(set(ids)):
        raise InvalidArgument("Rule ID must be unique. Found same ID for more than one rule")
    for rule in rules:
        _check_rule(rule)
    return rules


# --- matching --------------------------------------------------------------------------------


def matches(rule: dict[str, Any], obj: ObjectVersion) -> bool:
    """Whether ``rule``'s filter selects ``obj`` (any version; delete markers by prefix only)."""
    flt = _check_filter(rule)
    if not obj.key.startswith(flt["Prefix"]):
        return False
    tags = obj.meta.get("tags") or {}
    if any(tags.get(k) != v for k, v in flt["Tags"].items()):
        return False
    if flt["Gt"] is not None and not obj.size > flt["Gt"]:
        return False
    return not (flt["Lt"] is not None and not obj.size < flt["Lt"])


def enabled_rules(bucket: Bucket) -> list[dict[str, Any]]:
    config = bucket.config.get(CONFIG_KEY) or {}
    return [r for r in config.get("Rules") or [] if r.get("Status") == "Enabled"]


def due_at(start: float, days: int) -> float:
    return next_midnight(start + days * DAY)


def expiration_due(rule: dict[str, Any], obj: ObjectVersion) -> float | None:
    """When ``rule``'s Expiration (Days or Date) applies to current version ``obj``."""
    expiration = rule.get("Expiration") or {}
    if "Days" in expiration:
        return due_at(obj.last_modified, int(expiration["Days"]))
    if "Date" in expiration:
        return to_datetime(expiration["Date"]).timestamp()
    return None


def expiration_member(bucket: Bucket, obj: ObjectVersion) -> dict[str, Any]:
    """``x-amz-expiration`` for a current version: the earliest matching Expiration rule."""
    best: tuple[float, str] | None = None
    for rule in enabled_rules(bucket):
        if not matches(rule, obj):
            continue
        due = expiration_due(rule, obj)
        if due is not None and (best is None or due < best[0]):
            best = (due, rule.get("ID") or "")
    if best is None:
        return {}
    date = format_timestamp(best[0], RFC822)
    return {"Expiration": f'expiry-date="{date}", rule-id="{best[1]}"'}


def stored_rules(rules: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rules as GetBucketLifecycleConfiguration returns them: dates as epoch seconds."""
    out = []
    for rule in rules:
        rule = dict(rule)
        if not rule.get("ID"):  # S3 names a rule given without an ID
            rule["ID"] = base64.b64encode(str(uuid.uuid4()).encode()).decode().rstrip("=")
        for name in ("Expiration",):
            if rule.get(name) and "Date" in rule[name]:
                rule[name] = {**rule[name], "Date": to_datetime(rule[name]["Date"]).timestamp()}
        if rule.get("Transitions"):
            rule["Transitions"] = [
                {**t, "Date": to_datetime(t["Date"]).timestamp()} if "Date" in t else dict(t)
                for t in rule["Transitions"]
            ]
        out.append(rule)
    return out


class Lifecycle(S3Base):
    def put_bucket_lifecycle_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        rules = check_configuration(request.get("LifecycleConfiguration") or {})
        min_size = request.get("TransitionDefaultMinimumObjectSize") or MIN_SIZE_DEFAULT
        if min_size not in MIN_SIZES:
            raise InvalidRequest("Invalid TransitionDefaultMinimumObjectSize")
        config = {"Rules": stored_rules(rules), "TransitionDefaultMinimumObjectSize": min_size}
        self._write_config(ctx, request, "s3:PutLifecycleConfiguration", CONFIG_KEY, config)
        self._lifecycle_changed()
        return {"TransitionDefaultMinimumObjectSize": min_size}

    def get_bucket_lifecycle_configuration(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetLifecycleConfiguration")
        config = bucket.config.get(CONFIG_KEY)
        if not config:
            raise NoSuchLifecycleConfiguration(BucketName=bucket.name)
        return {
            "Rules": config["Rules"],
            "TransitionDefaultMinimumObjectSize": config["TransitionDefaultMinimumObjectSize"],
        }

    def delete_bucket_lifecycle(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        self._write_config(ctx, request, "s3:PutLifecycleConfiguration", CONFIG_KEY)
        return {}

    def _lifecycle_changed(self) -> None:
        """Arm the worker (``lifecycle_worker.py`` overrides)."""
