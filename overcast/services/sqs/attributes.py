"""Queue attributes: which exist, their defaults, AWS's ranges, and their validation.

Settable attributes are kept as the strings AWS returns; read-only ones (counters, timestamps,
the ARN) are computed when asked for. Validation raises ``InvalidAttributeName`` for an unknown
or misplaced attribute and ``InvalidAttributeValue`` with AWS's wording for a bad value.
"""

from __future__ import annotations

import json
from typing import Any

from overcast.services.sqs.errors import InvalidAttributeName, InvalidAttributeValue

# name -> (min, max, default) for the integer attributes.
RANGES: dict[str, tuple[int, int, int]] = {
    "DelaySeconds": (0, 900, 0),
    "MaximumMessageSize": (1024, 1048576, 262144),
    "MessageRetentionPeriod": (60, 1209600, 345600),
    "ReceiveMessageWaitTimeSeconds": (0, 20, 0),
    "VisibilityTimeout": (0, 43200, 30),
    "KmsDataKeyReusePeriodSeconds": (60, 86400, 300),
}
BOOLEAN = {"SqsManagedSseEnabled", "ContentBasedDeduplication", "FifoQueue"}
FREE_TEXT = {"KmsMasterKeyId"}
JSON_DOCS = {"Policy", "RedrivePolicy", "RedriveAllowPolicy"}
FIFO_ONLY = {"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"}
ENUMS = {
    "DeduplicationScope": ("messageGroup", "queue"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
SETTABLE = set(RANGES) | BOOLEAN | FREE_TEXT | JSON_DOCS | set(ENUMS)
READ_ONLY = {
    "All",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
}
ALL_NAMES = SETTABLE | READ_ONLY


def defaults(fifo: bool) -> dict[str, str]:
    """The attributes a new queue has before the request's own are applied."""
    attrs = {name: str(default) for name, (_, _, default) in RANGES.items()}
    del attrs["KmsDataKeyReusePeriodSeconds"]  # only shown once a KMS key is set
    attrs["SqsManagedSseEnabled"] = "true"
    if fifo:
        attrs.update(
            FifoQueue="true",
            ContentBasedDeduplication="false",
            DeduplicationScope="queue",
            FifoThroughputLimit="perQueue",
        )
    return attrs


def _bad_value(name: str, reason: str | None = None) -> InvalidAttributeValue:
    text = f"Invalid value for the parameter {name}."
    if reason:
        text += f" Reason: {reason}"
    return InvalidAttributeValue(text)


def validate(
    attrs: dict[str, str], *, fifo: bool, creating: bool, current: dict[str, str] | None = None
) -> dict[str, str]:
    """Check ``attrs`` (request values) and return them normalised (booleans lower-case)."""
    out: dict[str, str] = {}
    for name, raw in attrs.items():
        value = str(raw)
        if name not in SETTABLE:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name in FIFO_ONLY and not fifo:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name == "FifoQueue":
            # Whether the queue is FIFO is settled by the caller (name and this attribute).
            if not creating:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
            if value.lower() not in ("true", "false"):
                raise _bad_value(name)
            if fifo:
                out[name] = "true"
        elif name in RANGES:
            low, high, _ = RANGES[name]
            try:
                number = int(value)
            except ValueError:
                raise _bad_value(name) from None
            if not low <= number <= high:
                raise _bad_value(name)
            out[name] = str(number)
        elif name in BOOLEAN:
            if value.lower() not in ("true", "false"):
                raise _bad_value(name)
            out[name] = value.lower()
        elif name in ENUMS:
            if value not in ENUMS[name]:
                raise _bad_value(name)
            out[name] = value
        elif name in JSON_DOCS:
            out[name] = value
            if value == "":
                continue  # an empty document removes the attribute
            _check_json_doc(name, value)
        else:
            out[name] = value
    merged = {**(current or {}), **out}
    if (
        merged.get("FifoThroughputLimit") == "perMessageGroupId"
        and merged.get("DeduplicationScope") == "queue"
        and ("FifoThroughputLimit" in out or "DeduplicationScope" in out)
    ):
        raise _bad_value(
            "FifoThroughputLimit",
            "The perMessageGroupId value is allowed only when the value for "
            "DeduplicationScope is messageGroup",
        )
    return out


def _check_json_doc(name: str, value: str) -> None:
    try:
        doc = json.loads(value)
    except ValueError:
        raise _bad_value(name, "failed to parse JSON.") from None
    if not isinstance(doc, dict):
        raise _bad_value(name, "failed to parse JSON.")
    if name == "RedrivePolicy":
        parse_redrive_policy(value)
    elif name == "RedriveAllowPolicy":
        permission = doc.get("redrivePermission")
        if permission not in ("allowAll", "denyAll", "byQueue"):
            raise _bad_value(name, "Invalid value for redrivePermission.")
        sources = doc.get("sourceQueueArns")
        if permission == "byQueue":
            if not isinstance(sources, list) or not 1 <= len(sources) <= 10:
                raise _bad_value(
                    name, "sourceQueueArns must contain between 1 and 10 queue ARNs for byQueue."
                )
        elif sources:
            raise _bad_value(
                name, "Only byQueue redrivePermission can be used with sourceQueueArns."
            )


def parse_redrive_policy(value: str) -> tuple[str, int]:
    """``(deadLetterTargetArn, maxReceiveCount)`` of a RedrivePolicy document."""
    try:
        doc: Any = json.loads(value)
    except ValueError:
        raise _bad_value("RedrivePolicy", "failed to parse JSON.") from None
    if not isinstance(doc, dict):
        raise _bad_value("RedrivePolicy", "failed to parse JSON.")
    target = doc.get("deadLetterTargetArn")
    count = doc.get("maxReceiveCount")
    if not target:
        raise _bad_value("RedrivePolicy", "Redrive policy does not contain deadLetterTargetArn")
    if count is None:
        raise _bad_value("RedrivePolicy", "Redrive policy does not contain maxReceiveCount")
    try:
        number = int(count)
    except (TypeError, ValueError):
        raise _bad_value("RedrivePolicy", "Invalid value for maxReceiveCount") from None
    if not 1 <= number <= 1000:
        raise _bad_value(
            "RedrivePolicy",
            f"Value {count} for parameter maxReceiveCount is invalid. Reason: must be between "
            "1 and 1000.",
        )
    return str(target), number
