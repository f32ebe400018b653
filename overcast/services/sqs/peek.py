"""Reading a queue's messages without receiving them: LocalStack's ``/_aws/sqs/messages``.

Nothing changes: no visibility timeout starts, no receive count grows, no receipt handle is
issued (every message carries LocalStack's fixed ``SQS/BACKDOOR/ACCESS``). Messages come in the
order they were sent, each with every system attribute; in-flight messages are shown with
``show_invisible`` (attribute ``IsVisible``), delayed ones with ``show_delayed`` (``IsDelayed``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.services.sqs import store
from overcast.services.sqs.errors import QueueDoesNotExist
from overcast.services.sqs.messages import _render
from overcast.services.sqs.models import DELAYED, INFLIGHT, Queue
from overcast.state import Store

RECEIPT_HANDLE = "SQS/BACKDOOR/ACCESS"
MAX_MESSAGES = 10_000  # a developer view, not an export: the oldest 10,000


def peek(
    db: Store,
    account: str,
    region: str | None,
    name: str,
    *,
    now: float,
    default_region: str,
    show_invisible: bool = False,
    show_delayed: bool = False,
) -> list[dict[str, Any]]:
    """The queue's messages in ReceiveMessage's output shape; QueueDoesNotExist when absent."""

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        queue = _find(conn, account, region, name, default_region)
        if queue is None:
            raise QueueDoesNotExist()
        shown: list[dict[str, Any]] = []
        for m in store.oldest_messages(conn, queue.id, MAX_MESSAGES):
            pending = m.visible_at > now
            delayed = pending and m.state == DELAYED
            invisible = pending and m.state == INFLIGHT
            if (delayed and not show_delayed) or (invisible and not show_invisible):
                continue
            out = _render(queue, m, {"All"}, ["All"])
            out["ReceiptHandle"] = RECEIPT_HANDLE
            attrs = out.setdefault("Attributes", {})
            if show_invisible:  # receivable now: neither in flight nor delayed
                attrs["IsVisible"] = "false" if pending else "true"
            if show_delayed:
                attrs["IsDelayed"] = "true" if delayed else "false"
            shown.append(out)
        return shown

    return db.read(read)


def _find(
    conn: sqlite3.Connection, account: str, region: str | None, name: str, default_region: str
) -> Queue | None:
    """The queue in ``region``; without one (a URL on a plain host such as ``localhost:4566``),
    in the default region, else in the only region that has a queue of that name."""
    if region:
        return store.get_queue(conn, account, region, name)
    queue = store.get_queue(conn, account, default_region, name)
    if queue is not None:
        return queue
    matches = [q for q in store.all_queues(conn) if q.account_id == account and q.name == name]
    return matches[0] if len(matches) == 1 else None
