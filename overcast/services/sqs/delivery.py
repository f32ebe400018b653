"""How other services put a message into a queue named by ARN (SNS fan-out, S3 and EventBridge
targets later), through SQS's own validation and insert path, so a delivered message is exactly
what SendMessage would have stored (FIFO deduplication and sequence numbers included).

Access: as on AWS, a delivery from a source (an SNS topic...) in the queue's own account needs no
policy; from another account the queue's Policy must allow ``sqs:SendMessage`` to the service
principal (``sns.amazonaws.com``), which policies scope with ``aws:SourceArn`` (the topic ARN)
or ``aws:SourceAccount``. ``delivery_allowed`` / ``may_deliver`` answer that; ``deliver`` checks
it itself when given ``source_arn``."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from overcast.iam import Decision, Policy, PolicyError, Principal, RequestInfo
from overcast.services.sqs.errors import AccessDenied, QueueDoesNotExist
from overcast.services.sqs.models import Queue

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.sqs.provider import SqsProvider


SNS = "sns.amazonaws.com"


def delivery_allowed(queue: Queue, source_arn: str, service: str = SNS) -> bool:
    """Whether ``service`` may send to ``queue`` on behalf of the resource ``source_arn``."""
    parts = source_arn.split(":")
    source_account = parts[4] if len(parts) > 5 else ""
    if source_account == queue.account_id:
        return True  # same account: the service needs no grant, as on AWS
    text = queue.attrs.get("Policy")
    if not text:
        return False
    try:
        policy = Policy.parse(text)
    except PolicyError:
        return False  # SetQueueAttributes stores any JSON object; an invalid one grants nothing
    request = RequestInfo(
        action="sqs:SendMessage",
        resource=queue.arn,
        principal=Principal(service=service),
        context={"aws:SourceArn": source_arn, "aws:SourceAccount": source_account},
    )
    return policy.evaluate(request) is Decision.ALLOW


def may_deliver(env: ServiceEnv, queue_arn: str, source_arn: str, service: str = SNS) -> bool:
    """``delivery_allowed`` for the queue named by ARN; raises QueueDoesNotExist."""
    provider: SqsProvider = env.registry.provider("sqs")  # type: ignore[assignment]
    queue = env.store.read(lambda conn: provider._queue_by_arn(conn, queue_arn))
    if queue is None:
        raise QueueDoesNotExist()
    return delivery_allowed(queue, source_arn, service)


def deliver(
    env: ServiceEnv, queue_arn: str, body: str, message_attributes: dict[str, Any] | None = None,
    group_id: str | None = None, dedup_id: str | None = None, sender_id: str | None = None,
    *, source_arn: str | None = None, source_service: str = SNS,
) -> str:  # fmt: skip
    """Send ``body`` to the queue ``queue_arn``; returns the message id (for a FIFO duplicate,
    the original's). Raises the SQS error SendMessage would (QueueDoesNotExist, ...). With
    ``source_arn``, a source in another account needs the queue policy's Allow (AccessDenied)."""
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
        # Checked in the write transaction, so a policy change is seen by the next delivery.
        if source_arn is not None and not delivery_allowed(queue, source_arn, source_service):
            raise AccessDenied(
                f"{source_service} is not authorized to perform: sqs:SendMessage on resource: "
                f"{queue.arn} for source {source_arn}"
            )
        if not queue.fifo:
            entry.pop("MessageDeduplicationId", None)
            entry.pop("MessageGroupId", None)  # a standard queue ignores the topic's group
        message, result = provider._build(sender, conn, queue, entry, now)  # type: ignore[arg-type]
        if message is not None:
            provider._insert(conn, queue, [message])
        return result["MessageId"]

    return env.store.write(write)
