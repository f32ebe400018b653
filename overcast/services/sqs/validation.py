"""Checks on what is sent: body characters, message attributes, size, delay, batch entries."""

from __future__ import annotations

import re
from typing import Any

from overcast.services.sqs.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
    TooManyEntriesInBatchRequest,
)

# XML 1.0 characters: what SQS accepts in bodies and string attribute values.
_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
MAX_ATTRIBUTES = 10
MAX_BATCH = 10


def check_body(body: str) -> None:
    if body == "":
        raise MissingParameter("The request must contain the parameter MessageBody.")
    bad = _INVALID.search(body)
    if bad:
        raise InvalidMessageContents(
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body, "
            "the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to "
            "#xFFFD | #x10000 to #x10FFFF"
        )


def check_attributes(attrs: dict[str, dict[str, Any]], system: bool = False) -> int:
    """Validate message attributes; return their size as SQS counts it (name, type, value)."""
    if len(attrs) > MAX_ATTRIBUTES and not system:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attrs)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    size = 0
    for name, attr in attrs.items():
        if system:
            if name != "AWSTraceHeader":
                raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        elif (
            not _ATTR_NAME.match(name)
            or name.startswith((".", "AWS.", "Amazon."))
            or name.endswith(".")
            or ".." in name
        ):
            raise InvalidParameterValue(f"Message attribute name '{name}' is invalid.")
        data_type = attr.get("DataType") or ""
        base = data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise InvalidParameterValue(
                f"The message attribute '{name}' has an invalid message attribute type, the set "
                "of supported type prefixes is Binary, Number, and String."
            )
        if base == "Binary":
            value = attr.get("BinaryValue")
            if not value:
                raise InvalidParameterValue(
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    f"value for message attribute type '{base}'."
                )
            size += len(value)
        else:
            value = attr.get("StringValue")
            if value is None or value == "":
                raise InvalidParameterValue(
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    f"value for message attribute type '{base}'."
                )
            if attr.get("BinaryValue") is not None:
                raise InvalidParameterValue(
                    f"The message attribute '{name}' with type '{base}' must use field 'String'."
                )
            if _INVALID.search(value):
                raise InvalidParameterValue(
                    f"The message attribute '{name}' contains invalid characters."
                )
            if base == "Number":
                try:
                    float(value)
                except ValueError:
                    raise InvalidParameterValue(
                        f"Can't cast the value of message (user) attribute '{name}' to a number."
                    ) from None
            size += len(value.encode())
        size += len(name.encode()) + len(data_type.encode())
    return size


def check_size(body: str, attr_size: int, maximum: int) -> None:
    if len(body.encode()) + attr_size > maximum:
        raise InvalidParameterValue(
            f"One or more parameters are invalid. Reason: Message must be shorter than "
            f"{maximum} bytes."
        )


def check_delay(delay: int) -> None:
    if not 0 <= delay <= 900:
        raise InvalidParameterValue(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be "
            ">= 0 and <= 900."
        )


def check_batch(entries: list[dict[str, Any]], action: str) -> None:
    if not entries:
        raise EmptyBatchRequest(
            f"There should be at least one {action}RequestEntry in the request."
        )
    if len(entries) > MAX_BATCH:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH}. You have sent {len(entries)}."
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry["Id"]
        if not _BATCH_ID.match(entry_id):
            raise InvalidBatchEntryId()
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)
