"""FIFO rules on send: group id required, deduplication within 5 minutes, sequence numbers."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from typing import Any

from overcast.services.sqs import store
from overcast.services.sqs.errors import InvalidParameterValue, MissingParameter
from overcast.services.sqs.models import Queue

DEDUP_WINDOW = 300.0  # seconds a deduplication id is remembered
_TOKEN = re.compile(r"^[!-~]{1,128}$")  # printable ASCII without spaces
# Sequence numbers are large, increasing, 20-digit strings on AWS.
_SEQUENCE_BASE = 18_000_000_000_000_000_000


def check_standard(entry: dict[str, Any]) -> None:
    """Standard queues refuse a deduplication id (message groups are allowed: fair queues)."""
    if entry.get("MessageDeduplicationId") is not None:
        raise InvalidParameterValue(
            "The request include parameter MessageDeduplicationId which is not valid for this "
            "queue type"
        )
    group = entry.get("MessageGroupId")
    if group is not None and not _TOKEN.match(group):
        raise InvalidParameterValue(f"Value {group} for parameter MessageGroupId is invalid.")


def dedup_key(queue: Queue, entry: dict[str, Any]) -> tuple[str, str]:
    """``(group_id, dedup_id)`` of a FIFO send, validated."""
    group = entry.get("MessageGroupId")
    if group is None:
        raise MissingParameter("The request must contain the parameter MessageGroupId.")
    if not _TOKEN.match(group):
        raise InvalidParameterValue(f"Value {group} for parameter MessageGroupId is invalid.")
    if entry.get("DelaySeconds"):
        raise InvalidParameterValue(
            f"Value {entry['DelaySeconds']} for parameter DelaySeconds is invalid. Reason: The "
            "request include parameter that is not valid for this queue type."
        )
    dedup = entry.get("MessageDeduplicationId")
    if dedup is None:
        if queue.attrs.get("ContentBasedDeduplication") != "true":
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        dedup = hashlib.sha256(entry["MessageBody"].encode()).hexdigest()
    elif not _TOKEN.match(dedup):
        raise InvalidParameterValue(
            f"Value {dedup} for parameter MessageDeduplicationId is invalid."
        )
    return group, dedup


def scope_of(queue: Queue, group: str) -> str:
    return group if queue.attrs.get("DeduplicationScope") == "messageGroup" else ""


def duplicate(
    conn: sqlite3.Connection, queue: Queue, group: str, dedup: str, now: float
) -> tuple[str, str | None] | None:
    """The ``(message_id, sequence_number)`` of an accepted send with the same dedup id."""
    return store.find_duplicate(conn, queue.id, scope_of(queue, group), dedup, now)


def accept(
    conn: sqlite3.Connection, queue: Queue, group: str, dedup: str, now: float, message_id: str
) -> str:
    """Reserve the message's sequence number and remember its dedup id for 5 minutes."""
    seq = f"{_SEQUENCE_BASE + store.next_sequence(conn, queue.id, 1):020d}"
    store.remember_dedup(
        conn, queue.id, scope_of(queue, group), dedup, now + DEDUP_WINDOW, message_id, seq
    )
    return seq
