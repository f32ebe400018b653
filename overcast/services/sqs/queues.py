"""Queues: create, find, list, delete, attributes, tags and purge."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.sqs import attributes, store
from overcast.services.sqs.common import SqsBase, queue_url
from overcast.services.sqs.errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from overcast.services.sqs.models import Queue

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_PAGE_MAX = 1000
_PURGE_INTERVAL = 60.0  # one PurgeQueue per queue per minute
_RECREATE_WAIT = 60.0  # a deleted queue's name is free again after a minute
_MAX_TAGS = 50


def _check_name(name: str, fifo: bool) -> None:
    base = name[:-5] if name.endswith(".fifo") else name
    if fifo and (not name.endswith(".fifo") or not _NAME.match(base) or len(name) > 80):
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
            "underscores, must end with .fifo suffix and be 1 to 80 in length."
        )
    if not fifo and not _NAME.match(name):
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def _check_tags(tags: dict[str, str]) -> None:
    if len(tags) > _MAX_TAGS:
        raise InvalidParameterValue("Too many tags added for queue.")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise InvalidParameterValue(f"Tag key or value is invalid: {key}")


class Queues(SqsBase):
    def create_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["QueueName"]
        requested = {k: str(v) for k, v in (request.get("Attributes") or {}).items()}
        fifo_flag = requested.get("FifoQueue", "false").lower() == "true"
        if name.endswith(".fifo") and not fifo_flag:
            # A ".fifo" name without FifoQueue=true is not a FIFO queue, and not a valid name.
            _check_name(name, False)
        _check_name(name, fifo_flag)
        attrs = attributes.validate(requested, fifo=fifo_flag, creating=True)
        tags = dict(request.get("tags") or {})
        _check_tags(tags)
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            existing = store.get_queue(conn, ctx.account_id, ctx.region, name)
            if existing is not None:
                for key, value in attrs.items():
                    if existing.attrs.get(key, "") != value:
                        raise QueueNameExists(
                            "A queue already exists with the same name and a different value "
                            f"for attribute {key}"
                        )
                return
            gone = store.deleted_at(conn, ctx.account_id, ctx.region, name)
            if gone is not None and now - gone < _RECREATE_WAIT:
                raise QueueDeletedRecently()
            full = {**attributes.defaults(fifo_flag), **attrs}
            for key in attributes.JSON_DOCS:
                if full.get(key) == "":
                    del full[key]
            if "RedrivePolicy" in full:
                self._check_redrive(conn, ctx, fifo_flag, full["RedrivePolicy"], name)
            queue = Queue(0, ctx.account_id, ctx.region, name, fifo_flag, full, tags, now, now)
            store.insert_queue(conn, queue)

        self.env.store.write(write)
        return {"QueueUrl": queue_url(ctx, ctx.account_id, name)}

    def get_queue_url(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        account = request.get("QueueOwnerAWSAccountId") or ctx.account_id
        name = request["QueueName"]
        queue = self.env.store.read(
            lambda c: self._queue(ctx, c, f"/{account}/{name}", "GetQueueUrl")
        )
        return {"QueueUrl": queue_url(ctx, queue.account_id, queue.name)}

    def list_queues(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        prefix = request.get("QueueNamePrefix") or ""
        limit = request.get("MaxResults")
        token = request.get("NextToken")
        if limit is not None and not 1 <= limit <= _PAGE_MAX:
            raise InvalidParameterValue(
                f"Value {limit} for parameter MaxResults is invalid. Reason: MaxResults must "
                "be an integer between 1 and 1000."
            )
        after = ""
        if token:
            try:
                after = json.loads(base64.b64decode(token))["after"]
            except (ValueError, KeyError, TypeError):
                raise InvalidParameterValue("Invalid NextToken value.") from None
        page = limit or _PAGE_MAX
        names = self.env.store.read(
            lambda c: store.list_queue_names(c, ctx.account_id, ctx.region, prefix, after, page + 1)
        )
        result: dict[str, Any] = {}
        if names[:page]:
            result["QueueUrls"] = [queue_url(ctx, ctx.account_id, n) for n in names[:page]]
        # Pagination exists only when MaxResults is given, as on AWS.
        if limit is not None and len(names) > page:
            cursor = json.dumps({"after": names[page - 1]}).encode()
            result["NextToken"] = base64.b64encode(cursor).decode()
        return result

    def delete_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> int:
            queue = self._queue(ctx, conn, request["QueueUrl"], "DeleteQueue")
            store.delete_queue(conn, queue, now)
            return queue.id

        queue_id = self.env.store.write(write)
        self._notify(queue_id)  # long polls on a deleted queue end now
        return {}

    def get_queue_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        names = list(request.get("AttributeNames") or [])
        for name in names:
            if name not in attributes.ALL_NAMES:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> Queue:
            queue = self._queue(ctx, conn, request["QueueUrl"], "GetQueueAttributes")
            if {"All", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"} & set(names):  # fmt: skip
                store.promote(conn, queue.id, now)
                refreshed = store.get_queue_by_id(conn, queue.id)
                assert refreshed is not None
                return refreshed
            return queue

        queue = self.env.store.write(write)
        if not names:
            return {}
        everything = {
            **queue.attrs,
            "QueueArn": queue.arn,
            "ApproximateNumberOfMessages": str(queue.n_visible),
            "ApproximateNumberOfMessagesNotVisible": str(queue.n_inflight),
            "ApproximateNumberOfMessagesDelayed": str(queue.n_delayed),
            "CreatedTimestamp": str(int(queue.created)),
            "LastModifiedTimestamp": str(int(queue.modified)),
        }
        if "All" in names:
            return {"Attributes": everything}
        return {"Attributes": {n: everything[n] for n in names if n in everything}}

    def set_queue_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        requested = {k: str(v) for k, v in (request.get("Attributes") or {}).items()}
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            queue = self._queue(ctx, conn, request["QueueUrl"], "SetQueueAttributes")
            if "FifoQueue" in requested:
                raise InvalidAttributeName("Unknown Attribute FifoQueue.")
            attrs = attributes.validate(
                requested, fifo=queue.fifo, creating=False, current=queue.attrs
            )
            if attrs.get("RedrivePolicy"):
                self._check_redrive(conn, ctx, queue.fifo, attrs["RedrivePolicy"], queue.name)
            for key, value in attrs.items():
                if key in attributes.JSON_DOCS and value == "":
                    queue.attrs.pop(key, None)
                else:
                    queue.attrs[key] = value
            queue.modified = now
            store.update_queue_attrs(conn, queue)

        self.env.store.write(write)
        return {}

    def _check_redrive(
        self, conn: sqlite3.Connection, ctx: RequestContext, fifo: bool, policy: str, name: str
    ) -> None:
        target_arn, _ = attributes.parse_redrive_policy(policy)
        target = self._queue_by_arn(conn, target_arn)
        if target is None or target.account_id != ctx.account_id:
            raise InvalidParameterValue(
                f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead-letter "
                "target does not exist."
            )
        if target.fifo != fifo:
            raise InvalidParameterValue(
                f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Dead-letter "
                "target must be the same type of queue as the source."
            )
        allow = target.attrs.get("RedriveAllowPolicy")
        if allow:
            doc = json.loads(allow)
            source_arn = Queue(0, ctx.account_id, ctx.region, name, fifo, {}, {}, 0, 0).arn
            permission = doc.get("redrivePermission")
            if permission == "denyAll" or (
                permission == "byQueue" and source_arn not in doc.get("sourceQueueArns", [])
            ):
                raise InvalidParameterValue(
                    f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Queue "
                    f"{source_arn} is not allowed to use {target_arn} as a dead-letter queue."
                )

    # -- tags -------------------------------------------------------------------------------

    def tag_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            queue = self._queue(ctx, conn, request["QueueUrl"], "TagQueue")
            tags = {**queue.tags, **request["Tags"]}
            _check_tags(tags)
            queue.tags = tags
            store.update_queue_attrs(conn, queue)

        self.env.store.write(write)
        return {}

    def untag_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            queue = self._queue(ctx, conn, request["QueueUrl"], "UntagQueue")
            for key in request["TagKeys"]:
                queue.tags.pop(key, None)
            store.update_queue_attrs(conn, queue)

        self.env.store.write(write)
        return {}

    def list_queue_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        queue = self.env.store.read(
            lambda c: self._queue(ctx, c, request["QueueUrl"], "ListQueueTags")
        )
        return {"Tags": dict(queue.tags)} if queue.tags else {}

    # -- purge ------------------------------------------------------------------------------

    def purge_queue(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            queue = self._queue(ctx, conn, request["QueueUrl"], "PurgeQueue")
            if queue.purged_at and now - queue.purged_at < _PURGE_INTERVAL:
                raise PurgeQueueInProgress(
                    f"Only one PurgeQueue operation on {queue.name} is allowed every 60 seconds."
                )
            store.purge(conn, queue.id)
            queue.purged_at = now
            store.update_queue_attrs(conn, queue)

        self.env.store.write(write)
        return {}


__all__ = ["QueueDoesNotExist", "Queues"]
