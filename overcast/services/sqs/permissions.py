"""AddPermission / RemovePermission: edits of the queue's Policy document, as AWS makes them.

AWS keeps no separate permission list: AddPermission appends a statement whose Sid is the label
(Principal the accounts' root ARNs, Action ``SQS:<ActionName>``, Resource the queue ARN) to the
queue's ``Policy`` attribute, and RemovePermission drops the statement with that Sid. So a
permission is visible (and editable) through Get/SetQueueAttributes, and the same policy check
that serves a hand-written Policy serves these grants.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.sqs import store
from overcast.services.sqs.common import SqsBase
from overcast.services.sqs.errors import (
    AccessDenied,
    InvalidParameterValue,
    MissingParameter,
    OverLimit,
)
from overcast.services.sqs.models import Queue

_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_MAX_ACTIONS = 7
# The actions another account may be granted (AWS refuses the owner-only ones, e.g. DeleteQueue).
GRANTABLE = frozenset(
    {
        "*",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
    }
)


def _one_or_many(items: list[str]) -> str | list[str]:
    # AWS writes a single principal or action as a string and several as a list.
    return items[0] if len(items) == 1 else items


def _load_policy(queue: Queue) -> dict[str, Any]:
    text = queue.attrs.get("Policy")
    if not text:
        return {
            "Version": "2012-10-17",
            "Id": f"{queue.arn}/SQSDefaultPolicy",
            "Statement": [],
        }
    doc = json.loads(text)  # SetQueueAttributes only stores JSON objects
    statements = doc.get("Statement")
    # A hand-written policy may hold one statement as an object: edit it as a list.
    if isinstance(statements, dict):
        doc["Statement"] = [statements]
    elif not isinstance(statements, list):
        doc["Statement"] = []
    return doc


class Permissions(SqsBase):
    def _owned_queue(
        self, ctx: RequestContext, conn: sqlite3.Connection, url: str, action: str
    ) -> Queue:
        """The queue, for its owner only: cross-account grants do not extend to these actions."""
        queue = self._queue(ctx, conn, url, action)
        if queue.account_id != ctx.account_id:
            raise AccessDenied(
                f"Only the queue owner is allowed to invoke {action} on resource: {queue.arn}"
            )
        return queue

    def add_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        label = request["Label"]
        accounts = list(request.get("AWSAccountIds") or [])
        actions = list(request.get("Actions") or [])
        if not accounts:
            raise MissingParameter("The request must contain the parameter AWSAccountIds.")
        if not actions:
            raise MissingParameter("The request must contain the parameter Actions.")
        if not _LABEL.match(label):
            raise InvalidParameterValue(
                f"Value {label} for parameter Label is invalid. Reason: Can only include "
                "alphanumeric characters, hyphens, or underscores. 1 to 80 in length."
            )
        if len(actions) > _MAX_ACTIONS:
            raise OverLimit(
                f"{len(actions)} Actions were found, maximum allowed is {_MAX_ACTIONS}."
            )
        for action in actions:
            if action not in GRANTABLE:
                raise InvalidParameterValue(
                    f"Value SQS:{action} for parameter ActionName is invalid. Reason: Only the "
                    "queue owner is allowed to invoke this action."
                )
        for account in accounts:
            if not _ACCOUNT.match(account):
                raise InvalidParameterValue(
                    f"Value [{account}] for parameter PrincipalId is invalid. Reason: Unable to "
                    "verify."
                )
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            queue = self._owned_queue(ctx, conn, request["QueueUrl"], "AddPermission")
            doc = _load_policy(queue)
            if any(isinstance(s, dict) and s.get("Sid") == label for s in doc["Statement"]):
                raise InvalidParameterValue(
                    f"Value {label} for parameter Label is invalid. Reason: Already exists."
                )
            partition = queue.arn.split(":")[1]
            doc["Statement"].append(
                {
                    "Sid": label,
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": _one_or_many([f"arn:{partition}:iam::{a}:root" for a in accounts])
                    },
                    "Action": _one_or_many([f"SQS:{a}" for a in actions]),
                    "Resource": queue.arn,
                }
            )
            queue.attrs["Policy"] = json.dumps(doc, separators=(",", ":"))
            queue.modified = now
            store.update_queue_attrs(conn, queue)

        self.env.store.write(write)
        return {}

    def remove_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        label = request["Label"]
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            queue = self._owned_queue(ctx, conn, request["QueueUrl"], "RemovePermission")
            doc = _load_policy(queue)
            kept = [
                s for s in doc["Statement"] if not (isinstance(s, dict) and s.get("Sid") == label)
            ]
            if len(kept) == len(doc["Statement"]):
                raise InvalidParameterValue(
                    f"Value {label} for parameter Label is invalid. Reason: can't find label on "
                    "existing policy."
                )
            if kept:
                doc["Statement"] = kept
                queue.attrs["Policy"] = json.dumps(doc, separators=(",", ":"))
            else:
                # The last grant gone, the queue has no policy, as after SetQueueAttributes "".
                queue.attrs.pop("Policy", None)
            queue.modified = now
            store.update_queue_attrs(conn, queue)

        self.env.store.write(write)
        return {}
