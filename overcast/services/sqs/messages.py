"""Messages: send, receive (with long polling), delete and change visibility, single and batch.

A request is one transaction. Receipt handles name the queue, the message row and a token that
changes on every receive: deleting with an older handle of a re-received message succeeds but
leaves the message (as AWS documents), and a handle that does not decode is
``ReceiptHandleIsInvalid``.
"""

from __future__ import annotations

import base64
import binascii
import os
import sqlite3
import uuid
from typing import Any

from overcast.errors import ServiceError
from overcast.gateway.context import RequestContext
from overcast.services.sqs import fifo, store, validation
from overcast.services.sqs.common import SqsBase
from overcast.services.sqs.dlq import DeadLetters
from overcast.services.sqs.errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    MessageNotInflight,
    ReceiptHandleIsInvalid,
)
from overcast.services.sqs.md5 import attributes_md5, body_md5
from overcast.services.sqs.models import DELAYED, INFLIGHT, VISIBLE, Message, Queue

_SYSTEM_NAMES = {
    "All", "SenderId", "SentTimestamp", "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp", "SequenceNumber", "MessageDeduplicationId",
    "MessageGroupId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
}  # fmt: skip


def _encode_handle(queue_id: int, msg_id: int, token: str) -> str:
    return base64.b64encode(f"{queue_id}:{msg_id}:{token}".encode()).decode()


def _decode_handle(handle: str) -> tuple[int, int, str]:
    try:
        queue_id, msg_id, token = base64.b64decode(handle, validate=True).decode().split(":")
        return int(queue_id), int(msg_id), token
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ReceiptHandleIsInvalid(
            f'The input receipt handle "{handle}" is not a valid receipt handle.'
        ) from None


def _store_attrs(attrs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Message attributes as JSON can hold them (binary values base64-encoded)."""
    out: dict[str, Any] = {}
    for name, attr in attrs.items():
        kept: dict[str, Any] = {"DataType": attr["DataType"]}
        if attr.get("BinaryValue") is not None:
            kept["BinaryValue"] = base64.b64encode(attr["BinaryValue"]).decode()
        else:
            kept["StringValue"] = attr["StringValue"]
        out[name] = kept
    return out


def _load_attrs(attrs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, attr in attrs.items():
        if "BinaryValue" in attr:
            out[name] = {"DataType": attr["DataType"],
                         "BinaryValue": base64.b64decode(attr["BinaryValue"])}  # fmt: skip
        else:
            out[name] = dict(attr)
    return out


def _sender_id(ctx: RequestContext) -> str:
    identity = ctx.identity
    if identity is None or identity.principal_arn.endswith(":root") or not identity.access_key:
        return ctx.account_id
    return identity.access_key


def _int_param(request: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = request.get(name)
    if value is not None and not low <= value <= high:
        raise InvalidParameterValue(
            f"Value {value} for parameter {name} is invalid. Reason: Must be between {low} and "
            f"{high}, if provided."
        )
    return value


class Messages(DeadLetters, SqsBase):
    # -- sending ----------------------------------------------------------------------------

    def _build(
        self, ctx: RequestContext, conn: sqlite3.Connection, queue: Queue, entry: dict[str, Any],
        now: float,
    ) -> tuple[Message | None, dict[str, Any]]:  # fmt: skip
        """Validate one send; returns the row to insert (None for a FIFO duplicate) and the
        result entry."""
        body = entry["MessageBody"]
        validation.check_body(body)
        attrs = entry.get("MessageAttributes") or {}
        sys_attrs = entry.get("MessageSystemAttributes") or {}
        size = validation.check_attributes(attrs)
        validation.check_attributes(sys_attrs, system=True)
        validation.check_size(body, size, queue.int_attr("MaximumMessageSize"))
        delay = entry.get("DelaySeconds")
        if delay is not None:
            validation.check_delay(delay)
        result: dict[str, Any] = {"MD5OfMessageBody": body_md5(body)}
        md5_attrs = attributes_md5(attrs) if attrs else None
        md5_sys = attributes_md5(sys_attrs) if sys_attrs else None
        if md5_attrs:
            result["MD5OfMessageAttributes"] = md5_attrs
        if md5_sys:
            result["MD5OfMessageSystemAttributes"] = md5_sys
        group = dedup = seq = None
        if queue.fifo:
            group, dedup = fifo.dedup_key(queue, entry)
            seen = fifo.duplicate(conn, queue, group, dedup, now)
            if seen is not None:
                result["MessageId"], result["SequenceNumber"] = seen
                return None, result
        else:
            fifo.check_standard(entry)
            group = entry.get("MessageGroupId")
        message_id = str(uuid.uuid4())
        if queue.fifo:
            assert group is not None and dedup is not None
            seq = fifo.accept(conn, queue, group, dedup, now, message_id)
            result["SequenceNumber"] = seq
        result["MessageId"] = message_id
        if delay is None:
            delay = queue.int_attr("DelaySeconds")
        stored_sys = _store_attrs(sys_attrs)
        stored_sys["SenderId"] = _sender_id(ctx)
        message = Message(
            id=0, queue_id=queue.id, message_id=message_id, body=body,
            attrs=_store_attrs(attrs), sys_attrs=stored_sys, md5_body=result["MD5OfMessageBody"],
            md5_attrs=md5_attrs, md5_sys=md5_sys, sent=now, visible_at=now + delay,
            state=DELAYED if delay else VISIBLE, receive_count=0, first_receive=None,
            receipt="", group_id=group, dedup_id=dedup, seq_number=seq,
        )  # fmt: skip
        return message, result

    def _insert(self, conn: sqlite3.Connection, queue: Queue, messages: list[Message]) -> None:
        if not messages:
            return
        store.insert_messages(conn, messages)
        delayed = sum(1 for m in messages if m.state == DELAYED)
        store.add_counts(conn, queue.id, len(messages) - delayed, 0, delayed)
        self._notify_after_commit(conn, queue.id)

    async def send_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            queue = self._queue(ctx, conn, request["QueueUrl"], "SendMessage")
            message, result = self._build(ctx, conn, queue, request, now)
            if message is not None:
                self._insert(conn, queue, [message])
            return result

        return await self.env.store.write_grouped(write)

    async def send_message_batch(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        entries = request.get("Entries") or []
        validation.check_batch(entries, "SendMessageBatch")
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            queue = self._queue(ctx, conn, request["QueueUrl"], "SendMessage")
            total = sum(
                len(e["MessageBody"].encode()) + _attr_bytes(e.get("MessageAttributes"))
                for e in entries
            )
            limit = 1048576
            if total > limit:
                raise validation_error_too_long(total, limit)
            ok: list[dict[str, Any]] = []
            failed: list[dict[str, Any]] = []
            rows: list[Message] = []
            for entry in entries:
                try:
                    message, result = self._build(ctx, conn, queue, entry, now)
                except ServiceError as exc:
                    failed.append(_failure(entry["Id"], exc))
                    continue
                if message is not None:
                    rows.append(message)
                ok.append({"Id": entry["Id"], **result})
            self._insert(conn, queue, rows)
            return {"Successful": ok, "Failed": failed}

        return await self.env.store.write_grouped(write)

    # -- receiving --------------------------------------------------------------------------

    async def receive_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        count = _int_param(request, "MaxNumberOfMessages", 1, 10) or 1
        visibility = _int_param(request, "VisibilityTimeout", 0, 43200)
        wait = _int_param(request, "WaitTimeSeconds", 0, 20)
        names = set(request.get("MessageSystemAttributeNames") or []) | set(
            request.get("AttributeNames") or []
        )
        # The protocol layer leaves SQS's enums to us (dialect ``validate_enums``): an unknown
        # name is SQS's own InvalidAttributeName, on the JSON and the query protocol alike.
        for name in sorted(names):
            if name not in _SYSTEM_NAMES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        wanted = request.get("MessageAttributeNames") or []
        url = request["QueueUrl"]
        clock = self.env.clock
        deadline: float | None = None
        while True:
            now = clock.now()
            queue, got = await self.env.store.write_grouped(
                lambda c, n=now: self._receive_once(ctx, c, url, count, visibility, n)
            )
            if got:
                return {"Messages": [_render(queue, m, names, wanted) for m in got]}
            if deadline is None:
                seconds = (
                    wait if wait is not None else queue.int_attr("ReceiveMessageWaitTimeSeconds")
                )
                deadline = now + seconds
            if clock.now() >= deadline:
                return {}
            await self._wait_for_message(queue.id, deadline)

    def _receive_once(
        self, ctx: RequestContext, conn: sqlite3.Connection, url: str, count: int,
        visibility: int | None, now: float,
    ) -> tuple[Queue, list[Message]]:  # fmt: skip
        queue = self._queue(ctx, conn, url, "ReceiveMessage")
        store.expire(conn, queue.id, now - queue.int_attr("MessageRetentionPeriod"), 1000)
        store.promote(conn, queue.id, now)
        max_receives = self._max_receive_count(queue)
        chosen: list[Message] = []
        for _ in range(10):  # each round moves exhausted messages to the DLQ
            want = count - len(chosen)
            if queue.fifo:
                candidates = store.fifo_candidates(conn, queue.id, want)
            else:
                candidates = store.visible_messages(conn, queue.id, want)
            if not candidates:
                break
            exhausted = [m for m in candidates if max_receives and m.receive_count >= max_receives]
            if exhausted:
                self._dead_letter(conn, queue, exhausted, now)
                chosen += [m for m in candidates if m not in exhausted]
                if queue.fifo:
                    break  # a moved message unblocks nothing further in this receive
                continue
            chosen += candidates
            break
        if queue.fifo and chosen:
            # One receive hands out messages of the first group it finds first, as AWS does.
            first = chosen[0].group_id
            chosen.sort(key=lambda m: (m.group_id != first, m.id))
        if not chosen:
            return queue, []
        timeout = visibility if visibility is not None else queue.int_attr("VisibilityTimeout")
        updates = []
        for m in chosen:
            m.receipt = os.urandom(12).hex()
            m.receive_count += 1
            m.first_receive = m.first_receive or now
            m.visible_at = now + timeout
            updates.append((m.visible_at, m.receipt, now, m.id))
        store.mark_received(conn, updates)
        store.add_counts(conn, queue.id, -len(chosen), len(chosen), 0)
        return queue, chosen

    # -- deleting ---------------------------------------------------------------------------

    def _delete(self, conn: sqlite3.Connection, queue: Queue, handle: str) -> None:
        queue_id, msg_id, token = _decode_handle(handle)
        if queue_id != queue.id:
            raise ReceiptHandleIsInvalid(
                f'The input receipt handle "{handle}" is not a valid receipt handle.'
            )
        state = store.delete_by_receipt(conn, queue.id, msg_id, token)
        if state is not None:
            store.add_counts(conn, queue.id, *store.count_delta([state]))

    async def delete_message(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            queue = self._queue(ctx, conn, request["QueueUrl"], "DeleteMessage")
            self._delete(conn, queue, request["ReceiptHandle"])

        await self.env.store.write_grouped(write)
        return {}

    async def delete_message_batch(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        entries = request.get("Entries") or []
        validation.check_batch(entries, "DeleteMessageBatch")

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            queue = self._queue(ctx, conn, request["QueueUrl"], "DeleteMessage")
            ok, failed = [], []
            for entry in entries:
                try:
                    self._delete(conn, queue, entry["ReceiptHandle"])
                except ServiceError as exc:
                    failed.append(_failure(entry["Id"], exc))
                else:
                    ok.append({"Id": entry["Id"]})
            return {"Successful": ok, "Failed": failed}

        return await self.env.store.write_grouped(write)

    # -- visibility -------------------------------------------------------------------------

    def _change_visibility(
        self, conn: sqlite3.Connection, queue: Queue, handle: str, timeout: int, now: float
    ) -> None:
        if not 0 <= timeout <= 43200:
            raise InvalidParameterValue(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be "
                ">= 0 and <= 43200, if provided."
            )
        queue_id, msg_id, token = _decode_handle(handle)
        message = store.get_message(conn, queue.id, msg_id) if queue_id == queue.id else None
        if message is None or message.receipt != token:
            raise InvalidParameterValue(
                f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does "
                "not exist or is not available for visibility timeout change."
            )
        if message.state != INFLIGHT or message.visible_at <= now:
            raise MessageNotInflight()
        if timeout == 0:
            store.set_visibility(conn, msg_id, now, VISIBLE)
            store.add_counts(conn, queue.id, 1, -1, 0)
            self._notify_after_commit(conn, queue.id)
        else:
            store.set_visibility(conn, msg_id, now + timeout, INFLIGHT)

    def change_message_visibility(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            queue = self._queue(ctx, conn, request["QueueUrl"], "ChangeMessageVisibility")
            store.promote(conn, queue.id, now)
            self._change_visibility(
                conn, queue, request["ReceiptHandle"], request["VisibilityTimeout"], now
            )

        self.env.store.write(write)
        return {}

    def change_message_visibility_batch(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        entries = request.get("Entries") or []
        validation.check_batch(entries, "ChangeMessageVisibilityBatch")
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            queue = self._queue(ctx, conn, request["QueueUrl"], "ChangeMessageVisibility")
            store.promote(conn, queue.id, now)
            ok, failed = [], []
            for entry in entries:
                try:
                    self._change_visibility(
                        conn, queue, entry["ReceiptHandle"], entry.get("VisibilityTimeout", 0),
                        now,
                    )  # fmt: skip
                except ServiceError as exc:
                    failed.append(_failure(entry["Id"], exc))
                else:
                    ok.append({"Id": entry["Id"]})
            return {"Successful": ok, "Failed": failed}

        return self.env.store.write(write)


def _attr_bytes(attrs: dict[str, Any] | None) -> int:
    size = 0
    for name, attr in (attrs or {}).items():
        value = attr.get("BinaryValue") or (attr.get("StringValue") or "").encode()
        size += len(name.encode()) + len((attr.get("DataType") or "").encode()) + len(value)
    return size


def validation_error_too_long(total: int, limit: int) -> ServiceError:
    from overcast.services.sqs.errors import BatchRequestTooLong

    return BatchRequestTooLong(
        f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes."
    )


def _failure(entry_id: str, exc: ServiceError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": exc.sender_fault,
        "Code": exc.error_code,
        "Message": exc.error_message,
    }


def _wanted(name: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern in ("All", ".*") or pattern == name:
            return True
        if pattern.endswith(".*") and name.startswith(pattern[:-1]):
            return True
    return False


def _render(queue: Queue, m: Message, names: set[str], wanted: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MessageId": m.message_id,
        "ReceiptHandle": _encode_handle(queue.id, m.id, m.receipt),
        "MD5OfBody": m.md5_body,
        "Body": m.body,
    }
    if names:
        every = "All" in names
        system: dict[str, str] = {
            "SenderId": m.sys_attrs.get("SenderId", queue.account_id),
            "SentTimestamp": str(int(m.sent * 1000)),
            "ApproximateReceiveCount": str(m.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int((m.first_receive or m.sent) * 1000)),
        }
        trace = m.sys_attrs.get("AWSTraceHeader")
        if trace:
            system["AWSTraceHeader"] = trace["StringValue"]
        if m.seq_number:
            system["SequenceNumber"] = m.seq_number
        if m.dedup_id and queue.fifo:
            system["MessageDeduplicationId"] = m.dedup_id
        if m.group_id:
            system["MessageGroupId"] = m.group_id
        source = m.sys_attrs.get("DeadLetterQueueSourceArn")
        if source:
            system["DeadLetterQueueSourceArn"] = source
        attrs = {k: v for k, v in system.items() if every or k in names}
        if attrs:
            out["Attributes"] = attrs
    if wanted and m.attrs:
        chosen = {k: v for k, v in _load_attrs(m.attrs).items() if _wanted(k, wanted)}
        if chosen:
            out["MessageAttributes"] = chosen
            out["MD5OfMessageAttributes"] = attributes_md5(chosen)
    return out
