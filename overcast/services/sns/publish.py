"""Publish and PublishBatch: validation (attributes, structure, subject, size, FIFO rules) and
handing the message to the event bus, in the same transaction, for fan-out (delivery.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import uuid
from typing import Any

from overcast import events
from overcast.gateway.context import RequestContext
from overcast.services.sns import store
from overcast.services.sns.common import base_url, split_arn
from overcast.services.sns.errors import (
    BatchEntryIdsNotDistinctException,
    BatchRequestTooLongException,
    EmptyBatchRequestException,
    InvalidBatchEntryIdException,
    InvalidParameterException,
    InvalidParameterValueException,
    TooManyEntriesInBatchRequestException,
    invalid,
)
from overcast.services.sns.models import Topic
from overcast.services.sns.platform import PHONE, Platform, sms_type

MAX_SIZE = 262144  # bytes of message plus attributes
MAX_ATTRIBUTES = 10
DEDUP_WINDOW = 300.0
_SEQUENCE_BASE = 10_000_000_000_000_000_000
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_TOKEN = re.compile(r"^[!-~]{1,128}$")
_WIRE = {
    "InvalidParameterException": "InvalidParameter",
    "InvalidParameterValueException": "ParameterValueInvalid",
}
_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def _attributes(attrs: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Validated attributes as JSON can hold them, and their size in bytes."""
    if len(attrs) > MAX_ATTRIBUTES:
        raise InvalidParameterValueException(
            f"Number of message attributes [{len(attrs)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    out: dict[str, Any] = {}
    size = 0
    for name, attr in attrs.items():
        if not _ATTR_NAME.match(name) or name.startswith(("AWS.", "Amazon.")) or ".." in name:
            raise InvalidParameterValueException(f"The message attribute name '{name}' is invalid.")
        kind = attr.get("DataType") or ""
        if not kind.startswith(("String", "Number", "Binary")):
            raise InvalidParameterValueException(
                f"The message attribute '{name}' has an invalid message attribute type, the set "
                "of supported type prefixes is Binary, Number, and String."
            )
        if kind.startswith("Binary"):
            value = attr.get("BinaryValue")
            if value is None:
                raise InvalidParameterValueException(
                    f"The message attribute '{name}' with type 'Binary' must use field 'Binary'."
                )
            out[name] = {"DataType": kind, "BinaryValue": base64.b64encode(value).decode()}
            size += len(value)
        else:
            value = attr.get("StringValue")
            if value is None:
                raise InvalidParameterValueException(
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    "value for message attribute type '" + kind.split(".")[0] + "'."
                )
            if kind.startswith("Number"):
                try:
                    float(value)
                except ValueError:
                    raise InvalidParameterValueException(
                        f"Could not cast message attribute '{name}' value to number."
                    ) from None
            if kind.startswith("String.Array"):
                try:
                    if not isinstance(json.loads(value), list):
                        raise ValueError
                except ValueError:
                    raise InvalidParameterValueException(
                        f"The message attribute '{name}' with type 'String.Array' has an invalid "
                        "value."
                    ) from None
            out[name] = {"DataType": kind, "StringValue": value}
            size += len(value.encode())
        size += len(name.encode()) + len(kind.encode())
    return out, size


def _structure(message: str, structure: str | None) -> dict[str, str] | None:
    """Per-protocol messages of a ``MessageStructure=json`` publish (None otherwise)."""
    if structure is None:
        return None
    if structure != "json":
        raise invalid("MessageStructure - JSON message body failed to parse")
    try:
        parsed = json.loads(message)
    except ValueError:
        raise invalid("Message Structure - JSON message body failed to parse") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
        raise invalid("Message Structure - No default entry in JSON message body")
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}


def _check_subject(subject: str | None) -> None:
    if subject is None:
        return
    if (
        not subject
        or len(subject) > 100
        or any(c in subject for c in "\r\n")
        or not (subject[0].isalnum() or subject[0] in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    ):
        raise invalid("Subject")


class Publishing(Platform):
    def _prepare(
        self, ctx: RequestContext, conn: sqlite3.Connection, topic: Topic, entry: dict[str, Any],
        now: float, url: str,
    ) -> dict[str, Any]:  # fmt: skip
        """Validate one message and queue it for fan-out; returns MessageId (+SequenceNumber)."""
        message = entry.get("Message")
        if message is None or message == "":
            raise InvalidParameterException("Invalid parameter: Empty message")
        subject = entry.get("Subject")
        _check_subject(subject)
        attrs, size = _attributes(entry.get("MessageAttributes") or {})
        if len(message.encode()) + size > MAX_SIZE:
            raise invalid("Message too long")
        messages = _structure(message, entry.get("MessageStructure"))
        group = entry.get("MessageGroupId")
        dedup = entry.get("MessageDeduplicationId")
        result: dict[str, Any] = {}
        seq = None
        if topic.fifo:
            if group is None:
                raise invalid("The MessageGroupId parameter is required for FIFO topics")
            if not _TOKEN.match(group):
                raise invalid("MessageGroupId")
            if dedup is None:
                if topic.attrs.get("ContentBasedDeduplication") != "true":
                    raise invalid(
                        "The topic should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                dedup = hashlib.sha256(message.encode()).hexdigest()
            elif not _TOKEN.match(dedup):
                raise invalid("MessageDeduplicationId")
            seen = store.find_duplicate(conn, topic.arn, dedup, now)
            if seen is not None:
                return {"MessageId": seen[0], "SequenceNumber": seen[1]}
        elif dedup is not None:
            raise invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
                "parameter that is not valid for this topic type"
            )
        message_id = str(uuid.uuid4())
        if topic.fifo:
            assert dedup is not None
            seq = f"{_SEQUENCE_BASE + store.next_sequence(conn, topic.arn):020d}"
            store.remember_dedup(conn, topic.arn, dedup, now + DEDUP_WINDOW, message_id, seq)
            result["SequenceNumber"] = seq
        result["MessageId"] = message_id
        self.env.events.publish(
            events.SNS_MESSAGE_PUBLISHED,
            {
                "account_id": topic.account_id, "region": topic.region, "topic_arn": topic.arn,
                "message_id": message_id, "message": message, "subject": subject,
                "message_attributes": attrs, "message_group_id": group,
                "message_deduplication_id": dedup, "type": "Notification",
                "messages": messages, "sequence_number": seq, "timestamp": now, "base_url": url,
                "signature_version": topic.attrs.get("SignatureVersion", "1"),
            },
            conn=conn,
        )  # fmt: skip
        return result

    def publish(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("TopicArn") or request.get("TargetArn")
        if request.get("PhoneNumber") and not arn:
            return self._publish_sms(ctx, request)
        if not arn:
            raise invalid("TopicArn or TargetArn Reason: no value for required parameter")
        resource = (split_arn(arn) or ("", "", ""))[2]
        if request.get("TargetArn") and resource.startswith("endpoint/"):
            return self._publish_push(ctx, request)
        now = self.env.clock.now()
        url = base_url(ctx)

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            topic = self._topic(ctx, conn, arn, "Publish")
            return self._prepare(ctx, conn, topic, request, now, url)

        return self.env.store.write(write)

    def _publish_push(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """Publish to a platform endpoint (TargetArn): validated like any message, captured."""
        message = request.get("Message")
        if not message:
            raise InvalidParameterException("Invalid parameter: Empty message")
        attrs, size = _attributes(request.get("MessageAttributes") or {})
        if len(message.encode()) + size > MAX_SIZE:
            raise invalid("Message too long")
        messages = _structure(message, request.get("MessageStructure"))
        message_id = str(uuid.uuid4())
        self._publish_to_endpoint(ctx, request, message_id, messages, attrs)
        return {"MessageId": message_id}

    def _publish_sms(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        """A direct SMS: captured, as every SMS is (nothing leaves the machine). An opted-out
        number gets nothing, yet the publish succeeds, as on AWS."""
        phone = request["PhoneNumber"]
        if not PHONE.match(phone):
            raise invalid("PhoneNumber Reason: " + phone + " is not valid to publish to")
        message = request.get("Message")
        if not message:
            raise InvalidParameterException("Invalid parameter: Empty message")
        # AWS.SNS.SMS.* attributes (SenderID, SMSType, MaxPrice) are allowed here.
        attrs = {
            name: {k: v for k, v in a.items() if k in ("DataType", "StringValue")}
            for name, a in (request.get("MessageAttributes") or {}).items()
        }
        message_id = str(uuid.uuid4())
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            if store.opted_out(conn, ctx.account_id, ctx.region, phone):
                return
            defaults = store.sms_attributes(conn, ctx.account_id, ctx.region)
            record: dict[str, Any] = {
                "MessageId": message_id, "Message": message, "PhoneNumber": phone,
                "SMSType": sms_type(attrs, defaults),
            }  # fmt: skip
            sender = attrs.get("AWS.SNS.SMS.SenderID", {}).get("StringValue")
            if sender or defaults.get("DefaultSenderID"):
                record["SenderID"] = sender or defaults["DefaultSenderID"]
            if attrs:
                record["MessageAttributes"] = attrs
            store.capture(conn, now, "", "", "sms", phone, record)

        self.env.store.write(write)
        return {"MessageId": message_id}

    def publish_batch(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        entries = request.get("PublishBatchRequestEntries") or []
        if not entries:
            raise EmptyBatchRequestException()
        if len(entries) > 10:
            raise TooManyEntriesInBatchRequestException()
        ids = [e["Id"] for e in entries]
        if len(set(ids)) != len(ids):
            raise BatchEntryIdsNotDistinctException()
        if any(not _ENTRY_ID.match(i) for i in ids):
            raise InvalidBatchEntryIdException()
        total = sum(len((e.get("Message") or "").encode()) + _attributes_size(e) for e in entries)
        if total > MAX_SIZE:
            raise BatchRequestTooLongException(
                "The length of all the batch messages put together is more than the limit."
            )
        now = self.env.clock.now()
        url = base_url(ctx)

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            topic = self._topic(ctx, conn, request["TopicArn"], "Publish")
            if topic.fifo and any(e.get("MessageGroupId") is None for e in entries):
                raise invalid("The MessageGroupId parameter is required for FIFO topics")
            ok, failed = [], []
            for entry in entries:
                try:
                    result = self._prepare(ctx, conn, topic, entry, now, url)
                except (InvalidParameterException, InvalidParameterValueException) as exc:
                    failed.append({"Id": entry["Id"], "Code": _WIRE[exc.error_code],
                                   "Message": exc.error_message, "SenderFault": True})  # fmt: skip
                    continue
                ok.append({"Id": entry["Id"], **result})
            return {"Successful": ok, "Failed": failed}

        return self.env.store.write(write)


def _attributes_size(entry: dict[str, Any]) -> int:
    size = 0
    for name, attr in (entry.get("MessageAttributes") or {}).items():
        value = attr.get("BinaryValue") or (attr.get("StringValue") or "").encode()
        size += len(name.encode()) + len((attr.get("DataType") or "").encode()) + len(value)
    return size
