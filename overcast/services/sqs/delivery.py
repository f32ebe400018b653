"""How other services put a message into a queue named by ARN (SNS fan-out, S3 and EventBridge
targets later), through SQS's own validation and insert path, so a delivered message is exactly
what SendMessage would have stored (FIFO deduplication and sequence numbers included)."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from overcast.services.sqs.errors import QueueDoesNotExist

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.sqs.provider import SqsProvider


def deliver(
    env: ServiceEnv, queue_arn: str, body: str, message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None, dedup_id: str | None = None, sender_id: str | None = None,
) -> str:  # fmt: skip
    """Send ``body`` to the queue ``queue_arn``; returns the message id (for a FIFO duplicate,
    the original's). Raises the SQS error SendMessage would (QueueDoesNotExist, ...)."""
    provider: SqsProvider = env.registry.provider("sqs")  # type: ignore[assignment]
    entry: dict[str, Any] = {"MessageBody": body}
    if message_attributes:
        entry["MessageAttributes"] = message_attributes
    if group_id is not None:
        entry["MessageGroupId"] = group_id
    if dedup_id is not None:
        entry["MessageDeduplicationId"] = dedup_id
    parts = queue_arn.split(":")
    # The sender as _build reads it from a request context: no identity, so the account.
    sender = SimpleNamespace(identity=None, account_id=sender_id or (parts[4:5] and parts[4]))
    now = env.clock.now()

    def write(conn: sqlite3.Connection) -> str:
        queue = provider._queue_by_arn(conn, queue_arn)
        if queue is None:
            raise QueueDoesNotExist()
        if not queue.fifo:
            entry.pop("MessageDeduplicationId", None)
            entry.pop("MessageGroupId", None)  # a standard queue ignores the topic's group
        message, result = provider._build(sender, conn, queue, entry, now)  # type: ignore[arg-type]
        if message is not None:
            provider._insert(conn, queue, [message])
        return result["MessageId"]

    return env.store.write(write)
