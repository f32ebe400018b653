"""TransactWriteItems and TransactGetItems: up to 100 actions, all-or-nothing in one store
transaction (so serializable), TransactionCanceledException with one reason per action in
request order, and ClientRequestToken idempotency for 10 minutes on the clock."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from overcast.errors import ServiceError, ValidationException
from overcast.gateway.context import RequestContext
from overcast.services.dynamodb import capacity, params, storage, values
from overcast.services.dynamodb.errors import (
    ConditionalCheckFailedException,
    IdempotentParameterMismatchException,
    ItemCollectionSizeLimitExceededException,
    TransactionCanceledException,
)
from overcast.services.dynamodb.expressions import Condition, Projection, Update
from overcast.services.dynamodb.items import (
    Change,
    ItemOps,
    collection_metrics,
    removes_only,
    wants_metrics,
    write_consumed,
)
from overcast.services.dynamodb.models import Table

Item = dict[str, Any]
MAX_ACTIONS = 100
TOKEN_TTL = 600.0
_KINDS = ("ConditionCheck", "Put", "Delete", "Update")


@dataclass
class Action:
    kind: str
    table: Table
    spec: dict[str, Any]
    key: Item
    item: Item | None = None  # Put
    update: Update | None = None
    condition: Condition | None = None


def _digest(request: dict[str, Any]) -> str:
    def default(value: Any) -> str:
        return value.hex() if isinstance(value, bytes | bytearray) else str(value)

    text = json.dumps(request.get("TransactItems"), sort_keys=True, default=default)
    return hashlib.sha256(text.encode()).hexdigest()


def _cancelled(reasons: list[dict[str, Any]]) -> TransactionCanceledException:
    codes = ", ".join(r["Code"] for r in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )


class TransactionOps(ItemOps):
    def _transact_action(self, ctx: RequestContext, entry: dict[str, Any]) -> Action:
        present = [k for k in _KINDS if entry.get(k) is not None]
        if len(present) != 1:
            raise ValidationException(
                "TransactItems can only contain one of Check, Put, Update or Delete"
            )
        kind = present[0]
        spec = entry[kind]
        table = self._table(ctx, spec["TableName"])
        exprs = params.Expressions(spec, older=True)
        action = Action(kind, table, spec, key={})
        if kind == "Put":
            params.check_put_key_types(table, spec["Item"])
            action.item = params.check_item(table, spec["Item"], older=True)
            action.key = table.key_of(action.item)
        else:
            action.key = params.check_key(table, spec["Key"], older=True)
        if kind == "Update":
            action.update = exprs.update()
            if action.update is not None:
                for name in table.key_names:
                    if name in action.update.paths:
                        raise ValidationException(
                            "One or more parameter values were invalid: Cannot update attribute "
                            f"{name}. This attribute is part of the key"
                        )
        action.condition = exprs.condition()
        if kind == "ConditionCheck" and action.condition is None:
            raise ValidationException(
                "The ConditionExpression parameter is required for ConditionCheck"
            )
        exprs.done()
        return action

    def transact_write_items(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        entries = request["TransactItems"]
        if len(entries) > MAX_ACTIONS:
            raise ValidationException(
                f"Member must have length less than or equal to {MAX_ACTIONS}"
            )
        actions = [self._transact_action(ctx, e) for e in entries]
        seen: set[tuple[int, bytes, bytes]] = set()
        for action in actions:
            ident = (action.table.id, *storage.key_bytes(action.table, action.key))
            if ident in seen:
                raise ValidationException(
                    "Transaction request cannot include multiple operations on one item"
                )
            seen.add(ident)
        for action in actions:
            self.throttle.check(action.table, read=action.kind == "ConditionCheck")
        token = request.get("ClientRequestToken")
        digest = _digest(request) if token else ""
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> list[Change] | None:
            if token:
                known = storage.token_digest(conn, ctx.account_id, ctx.region, token, now)
                if known is not None:
                    if known != digest:
                        raise IdempotentParameterMismatchException(
                            "Request token has already been used with different parameters"
                        )
                    return None  # already applied: answer success again
            planned: list[tuple[Action, storage.Row | None, Item | None, int]] = []
            reasons: list[dict[str, Any]] = []
            failed = False
            for action in actions:
                old_row = storage.get_item_sized(conn, action.table, action.key)
                old = old_row[0] if old_row else None
                reason: dict[str, Any] = {"Code": "None"}
                new: Item | None = None
                size = 0
                try:
                    if action.condition is not None and not action.condition.evaluate(old or {}):
                        raise ConditionalCheckFailedException()
                    if action.kind == "Put":
                        new = action.item
                        size = values.item_size(new) if new else 0
                    elif action.kind == "Update":
                        if old is None and action.update and removes_only(action.update):
                            reasons.append(reason)
                            planned.append((action, None, None, 0))
                            continue
                        base = old if old is not None else action.key
                        new = action.update.apply(base) if action.update else dict(base)
                        new, size = params.check_item_sized(action.table, new, update=True)
                except ConditionalCheckFailedException:
                    failed = True
                    reason = {
                        "Code": "ConditionalCheckFailed",
                        "Message": "The conditional request failed",
                    }
                    if action.spec.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old:
                        reason["Item"] = old
                except ServiceError as error:
                    failed = True
                    reason = {"Code": "ValidationError", "Message": error.error_message}
                reasons.append(reason)
                planned.append((action, old_row, new, size))
            if failed:
                raise _cancelled(reasons)
            changes = []
            for position, (action, old_row, new, size) in enumerate(planned):
                if action.kind == "ConditionCheck":
                    # Sized like a write of the item; no index is touched.
                    size = old_row[1] if old_row else 0
                    changes.append(Change(action.table, None, None, size, 0))
                    continue
                try:
                    change = self._item_apply(
                        conn, action.table, old_row, new, size, metrics=wants_metrics(request)
                    )
                except ItemCollectionSizeLimitExceededException as error:
                    # Raised inside the write: everything done so far is rolled back.
                    reasons = [{"Code": "None"} for _ in planned]
                    reasons[position] = {
                        "Code": "ItemCollectionSizeLimitExceeded",
                        "Message": error.error_message,
                    }
                    raise _cancelled(reasons) from None
                changes.append(change)
            if token:
                storage.remember_token(
                    conn, ctx.account_id, ctx.region, token, digest, now + TOKEN_TTL
                )
            return changes

        changes = self.env.store.write(write)
        out: dict[str, Any] = {}
        mode = request.get("ReturnConsumedCapacity")
        if mode in ("TOTAL", "INDEXES"):
            if changes is None:  # a replayed token: nothing was written again
                used = [capacity.Consumed(a.table, read=False) for a in actions]
            else:
                used = [write_consumed(c, transactional=True) for c in changes]
            for consumed, action in zip(used, actions, strict=True):
                consumed.label = action.spec["TableName"]
            out["ConsumedCapacity"] = capacity.merge(used, mode)
        if request.get("ReturnItemCollectionMetrics") == "SIZE" and changes:
            metrics: dict[str, list[dict[str, Any]]] = {}
            for change, action in zip(changes, actions, strict=True):
                m = collection_metrics(change)
                if m is not None:
                    metrics.setdefault(action.spec["TableName"], []).append(m)
            out["ItemCollectionMetrics"] = metrics
        return out

    def transact_get_items(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        entries = request["TransactItems"]
        if len(entries) > MAX_ACTIONS:
            raise ValidationException(
                f"Member must have length less than or equal to {MAX_ACTIONS}"
            )
        gets: list[tuple[Table, Item, Projection | None]] = []
        seen: set[tuple[int, bytes, bytes]] = set()
        for entry in entries:
            spec = entry["Get"]
            table = self._table(ctx, spec["TableName"])
            exprs = params.Expressions(spec, older=True)
            projection = exprs.projection()
            exprs.done()
            key = params.check_key(table, spec["Key"], older=True)
            ident = (table.id, *storage.key_bytes(table, key))
            if ident in seen:
                raise ValidationException(
                    "Transaction request cannot include multiple operations on one item"
                )
            seen.add(ident)
            gets.append((table, key, projection))
        for table, _, _ in gets:
            self.throttle.check(table, read=True)

        def read(conn: sqlite3.Connection) -> list[storage.Row | None]:
            return [storage.get_item_sized(conn, table, key) for table, key, _ in gets]

        rows = self.env.store.read(read)
        spec_names = [entry["Get"]["TableName"] for entry in entries]
        responses: list[dict[str, Any]] = []
        used: list[capacity.Consumed] = []
        for (table, _, projection), row in zip(gets, rows, strict=True):
            consumed = capacity.Consumed(table, read=True, label=spec_names.pop(0))
            consumed.on_table = capacity.read_units(
                row[1] if row else 0, consistent=True, transactional=True
            )
            used.append(consumed)
            if row is None:
                responses.append({})
            else:
                responses.append({"Item": projection.apply(row[0]) if projection else row[0]})
        out: dict[str, Any] = {"Responses": responses}
        rendered = capacity.merge(used, request.get("ReturnConsumedCapacity"))
        if rendered is not None:
            out["ConsumedCapacity"] = rendered
        return out
