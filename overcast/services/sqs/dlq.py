"""Dead-letter queues: moving exhausted messages on receive, ListDeadLetterSourceQueues, and
message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask).

A move task runs on the event loop: it moves messages in transactions of at most a second's
worth (``MaxNumberOfMessagesPerSecond``, default 500), waiting on the Clock between them, and
records its progress in ``sqs_move_tasks`` so ListMessageMoveTasks sees it. A task interrupted
by a restart is reported FAILED, as AWS reports tasks that stopped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import uuid
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.sqs import attributes, store
from overcast.services.sqs.common import SqsBase, queue_url
from overcast.services.sqs.errors import InvalidParameterValue, ResourceNotFoundException
from overcast.services.sqs.models import VISIBLE, Message, Queue

_DEFAULT_RATE = 500
_MAX_RATE = 500
_MISSING = "The resource that you specified for the {} parameter doesn't exist."


class DeadLetters(SqsBase):
    _tasks: dict[str, asyncio.Task[None]]

    def _max_receive_count(self, queue: Queue) -> int:
        policy = queue.attrs.get("RedrivePolicy")
        if not policy:
            return 0
        return attributes.parse_redrive_policy(policy)[1]

    def _dead_letter(
        self, conn: sqlite3.Connection, queue: Queue, messages: list[Message], now: float
    ) -> None:
        """Move ``messages`` (visible, receive count exhausted) to the queue's DLQ."""
        target_arn = attributes.parse_redrive_policy(queue.attrs["RedrivePolicy"])[0]
        target = self._queue_by_arn(conn, target_arn)
        if target is None:
            return  # DLQ deleted: AWS keeps the messages in the source queue
        self._transfer(conn, queue, target, messages, now, source_arn=queue.arn)

    def _transfer(
        self, conn: sqlite3.Connection, source: Queue, target: Queue, messages: list[Message],
        now: float, source_arn: str | None,
    ) -> None:  # fmt: skip
        copies = []
        for m in messages:
            sys_attrs = dict(m.sys_attrs)
            if source_arn:
                sys_attrs["DeadLetterQueueSourceArn"] = source_arn
            else:
                sys_attrs.pop("DeadLetterQueueSourceArn", None)
            seq = None
            if target.fifo:
                seq = f"{18_000_000_000_000_000_000 + store.next_sequence(conn, target.id, 1):020d}"
            copies.append(
                Message(
                    id=0, queue_id=target.id, message_id=m.message_id, body=m.body,
                    attrs=m.attrs, sys_attrs=sys_attrs, md5_body=m.md5_body,
                    md5_attrs=m.md5_attrs, md5_sys=m.md5_sys,
                    # Standard DLQs keep the original enqueue time (retention counts from it).
                    sent=m.sent if not target.fifo else now, visible_at=now, state=VISIBLE,
                    receive_count=0, first_receive=None, receipt="", group_id=m.group_id,
                    dedup_id=m.dedup_id, seq_number=seq,
                )
            )  # fmt: skip
        store.delete_message_rows(conn, [m.id for m in messages])
        store.add_counts(conn, source.id, *store.count_delta(m.state for m in messages))
        store.insert_messages(conn, copies)
        store.add_counts(conn, target.id, len(copies), 0, 0)
        self._notify_after_commit(conn, target.id)

    def list_dead_letter_source_queues(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        limit = request.get("MaxResults")
        if limit is not None and not 1 <= limit <= 1000:
            raise InvalidParameterValue(
                f"Value {limit} for parameter MaxResults is invalid. Reason: MaxResults must "
                "be an integer between 1 and 1000."
            )
        after = ""
        if request.get("NextToken"):
            try:
                after = json.loads(base64.b64decode(request["NextToken"]))["after"]
            except (ValueError, KeyError, TypeError):
                raise InvalidParameterValue("Invalid NextToken value.") from None

        def read(conn: sqlite3.Connection) -> list[str]:
            dlq = self._queue(ctx, conn, request["QueueUrl"], "ListDeadLetterSourceQueues")
            names = []
            for q in store.queues_of(conn, ctx.account_id, ctx.region):
                policy = q.attrs.get("RedrivePolicy")
                if (
                    policy
                    and q.name > after
                    and attributes.parse_redrive_policy(policy)[0] == dlq.arn
                ):
                    names.append(q.name)
            return names

        names = self.env.store.read(read)
        page = limit or 1000
        result: dict[str, Any] = {"queueUrls": [queue_url(ctx, ctx.account_id, n)
                                                for n in names[:page]]}  # fmt: skip
        if limit is not None and len(names) > page:
            token = json.dumps({"after": names[page - 1]}).encode()
            result["NextToken"] = base64.b64encode(token).decode()
        return result

    # -- message move tasks -----------------------------------------------------------------

    def start_message_move_task(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        source_arn = request["SourceArn"]
        dest_arn = request.get("DestinationArn")
        rate = request.get("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= rate <= _MAX_RATE:
            raise InvalidParameterValue(
                "Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be "
                f"between 1 and {_MAX_RATE}."
            )
        now = self.env.clock.now()
        handle = base64.b64encode(
            json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
        ).decode()

        def write(conn: sqlite3.Connection) -> None:
            source = self._queue_by_arn(conn, source_arn)
            if source is None or source.account_id != ctx.account_id:
                raise ResourceNotFoundException(_MISSING.format("SourceArn"))
            if not self._is_dead_letter_queue(conn, source):
                raise InvalidParameterValue(
                    "Source queue must be configured as a Dead Letter Queue."
                )
            if dest_arn is not None:
                dest = self._queue_by_arn(conn, dest_arn)
                if dest is None or dest.account_id != ctx.account_id:
                    raise ResourceNotFoundException(_MISSING.format("DestinationArn"))
            running = conn.execute(
                "SELECT 1 FROM sqs_move_tasks WHERE source_arn = ? AND status = 'RUNNING'",
                (source_arn,),
            ).fetchone()
            if running:
                raise InvalidParameterValue(
                    "There is already a task running. Only one active task is allowed for "
                    "a source queue arn at a given time."
                )
            conn.execute(
                "INSERT INTO sqs_move_tasks (handle, account_id, source_arn, destination_arn,"
                " rate, status, started, to_move) VALUES (?, ?, ?, ?, ?, 'RUNNING', ?, ?)",
                (handle, ctx.account_id, source_arn, dest_arn, rate, now,
                 store.message_count(conn, source.id)),
            )  # fmt: skip

        self.env.store.write(write)
        self._running_tasks()[handle] = asyncio.ensure_future(self._run_move(handle))
        return {"TaskHandle": handle}

    def _running_tasks(self) -> dict[str, asyncio.Task[None]]:
        if not hasattr(self, "_tasks"):
            self._tasks = {}
        return self._tasks

    def _is_dead_letter_queue(self, conn: sqlite3.Connection, dlq: Queue) -> bool:
        for q in store.queues_of(conn, dlq.account_id, dlq.region):
            policy = q.attrs.get("RedrivePolicy")
            if policy and attributes.parse_redrive_policy(policy)[0] == dlq.arn:
                return True
        return False

    async def _run_move(self, handle: str) -> None:
        try:
            while True:
                status, batch_done = self.env.store.write(lambda c: self._move_some(c, handle))
                if status != "RUNNING" or batch_done:
                    return
                await self.env.clock.sleep(1.0)
        finally:
            self._running_tasks().pop(handle, None)

    def _move_some(self, conn: sqlite3.Connection, handle: str) -> tuple[str, bool]:
        """Move up to a second's worth; returns (status, finished)."""
        row = conn.execute(
            "SELECT source_arn, destination_arn, rate, status FROM sqs_move_tasks WHERE handle = ?",
            (handle,),
        ).fetchone()
        if row is None or row[3] != "RUNNING":
            return (row[3] if row else "CANCELLED"), True
        source_arn, dest_arn, rate, _ = row
        now = self.env.clock.now()
        source = self._queue_by_arn(conn, source_arn)
        if source is None:
            self._finish(conn, handle, "FAILED", "AWS.SimpleQueueService.NonExistentQueue")
            return "FAILED", True
        store.promote(conn, source.id, now)
        batch = store.visible_messages(conn, source.id, rate or _DEFAULT_RATE)
        moved = 0
        for m in batch:
            target_arn = dest_arn or m.sys_attrs.get("DeadLetterQueueSourceArn")
            target = self._queue_by_arn(conn, target_arn) if target_arn else None
            if target is None:
                continue
            self._transfer(conn, source, target, [m], now, source_arn=None)
            moved += 1
        conn.execute("UPDATE sqs_move_tasks SET moved = moved + ? WHERE handle = ?",
                     (moved, handle))  # fmt: skip
        if len(batch) < (rate or _DEFAULT_RATE):
            self._finish(conn, handle, "COMPLETED", None)
            return "COMPLETED", True
        return "RUNNING", False

    def _finish(
        self, conn: sqlite3.Connection, handle: str, status: str, reason: str | None
    ) -> None:
        conn.execute(
            "UPDATE sqs_move_tasks SET status = ?, failure = ? WHERE handle = ?",
            (status, reason, handle),
        )

    def cancel_message_move_task(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        handle = request["TaskHandle"]

        def write(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT status, moved FROM sqs_move_tasks WHERE handle = ? AND account_id = ?",
                (handle, ctx.account_id),
            ).fetchone()
            if row is None:
                raise ResourceNotFoundException("Task does not exist.")
            if row[0] != "RUNNING":
                raise InvalidParameterValue("Only active tasks can be cancelled.")
            self._finish(conn, handle, "CANCELLED", None)
            return int(row[1])

        moved = self.env.store.write(write)
        task = self._running_tasks().pop(handle, None)
        if task is not None:
            task.cancel()
        return {"ApproximateNumberOfMessagesMoved": moved}

    def list_message_move_tasks(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        source_arn = request["SourceArn"]
        limit = request.get("MaxResults") or 1
        if not 1 <= limit <= 10:
            raise InvalidParameterValue(
                f"Value {limit} for parameter MaxResults is invalid. Reason: must be between "
                "1 and 10."
            )

        def read(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            if self._queue_by_arn(conn, source_arn) is None:
                raise ResourceNotFoundException(_MISSING.format("SourceArn"))
            return conn.execute(
                "SELECT handle, source_arn, destination_arn, rate, status, started, moved,"
                " to_move, failure FROM sqs_move_tasks WHERE source_arn = ? AND account_id = ?"
                " ORDER BY started DESC LIMIT ?",
                (source_arn, ctx.account_id, limit),
            ).fetchall()

        results = []
        for (
            handle,
            src,
            dest,
            rate,
            status,
            started,
            moved,
            to_move,
            failure,
        ) in self.env.store.read(read):
            entry: dict[str, Any] = {
                "Status": status,
                "SourceArn": src,
                "ApproximateNumberOfMessagesMoved": moved,
                "ApproximateNumberOfMessagesToMove": to_move,
                "StartedTimestamp": int(started * 1000),
            }
            if status == "RUNNING":
                entry["TaskHandle"] = handle
            if dest:
                entry["DestinationArn"] = dest
            if rate:
                entry["MaxNumberOfMessagesPerSecond"] = rate
            if failure:
                entry["FailureReason"] = failure
            results.append(entry)
        return {"Results": results}
