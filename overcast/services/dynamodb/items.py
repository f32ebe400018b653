"""Items: PutItem, GetItem, UpdateItem and DeleteItem.

Each write is one store transaction: read the old item, evaluate the condition, write the item
with its index entries and counts, and call ``_record_change`` (streams, PITR, replication).
The ``_write_*`` helpers are shared with TransactWriteItems and BatchWriteItem.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.services.dynamodb import capacity, params, storage, values
from overcast.services.dynamodb.common import DynamoBase
from overcast.services.dynamodb.errors import (
    ConditionalCheckFailedException,
    ItemCollectionSizeLimitExceededException,
    ResourceNotFoundException,
)
from overcast.services.dynamodb.expressions import Condition, Update
from overcast.services.dynamodb.models import Table

Item = dict[str, Any]
LSI_COLLECTION_LIMIT = 10 * 1024**3
_Op = TypeVar("_Op", bound=Callable[..., dict[str, Any]])


def current_layer(operation: _Op) -> _Op:
    """PutItem, UpdateItem and DeleteItem answer a bad value (number, empty or repeated set)
    inside AWS's "1 validation error detected: " envelope."""

    @functools.wraps(operation)
    def run(self: Any, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return operation(self, ctx, request)
        except values.AttributeValueError as error:
            raise values.enveloped(error) from None

    return run  # type: ignore[return-value]


@dataclass
class Change:
    """What one item write did (for ReturnValues, capacity and collection metrics)."""

    table: Table
    old: Item | None
    new: Item | None
    old_size: int
    new_size: int
    collection_size: int | None = None  # bytes of the item collection (tables with LSIs)


def write_consumed(change: Change, *, transactional: bool = False) -> capacity.Consumed:
    """Write units of one change: the larger image on the table, each index entry written."""
    table = change.table
    consumed = capacity.Consumed(table, read=False)
    consumed.on_table = capacity.write_units(
        max(change.old_size, change.new_size), transactional=transactional
    )
    for index in table.indexes:
        old_keys = storage.index_key_bytes(index, change.old) if change.old else None
        new_keys = storage.index_key_bytes(index, change.new) if change.new else None
        if old_keys is None and new_keys is None:
            continue
        projects = index.projects(table)

        def entry_size(item: Item, projects: frozenset[str] | None = projects) -> int:
            if projects is None:
                return values.item_size(item)
            return values.item_size({k: v for k, v in item.items() if k in projects})

        units = 0.0
        if old_keys is not None and new_keys is not None and old_keys == new_keys:
            assert change.old is not None and change.new is not None
            size = max(entry_size(change.old), entry_size(change.new))
            units = capacity.write_units(size, transactional=transactional)
        else:
            if old_keys is not None and change.old is not None:
                units += capacity.write_units(entry_size(change.old), transactional=transactional)
            if new_keys is not None and change.new is not None:
                units += capacity.write_units(entry_size(change.new), transactional=transactional)
        consumed.add_index(index.name, units)
    return consumed


def wants_metrics(request: dict[str, Any]) -> bool:
    return request.get("ReturnItemCollectionMetrics") == "SIZE"


def removes_only(update: Update) -> bool:
    """An update made only of REMOVE/DELETE actions (it creates no missing item)."""
    return bool(update.actions) and all(a.section in ("REMOVE", "DELETE") for a in update.actions)


def collection_metrics(change: Change) -> dict[str, Any] | None:
    """ItemCollectionMetrics of a write to a table with local secondary indexes."""
    table = change.table
    if not table.lsis or change.collection_size is None:
        return None
    ref = change.new or change.old
    if ref is None:
        return None
    gb = change.collection_size / 1024**3
    low = float(int(gb))
    return {
        "ItemCollectionKey": {table.hash_key: ref[table.hash_key]},
        "SizeEstimateRangeGB": [low, low + 1.0],
    }


def condition_failed(old: Item | None, request: dict[str, Any]) -> ConditionalCheckFailedException:
    """The error, with the old item when ReturnValuesOnConditionCheckFailure is ALL_OLD."""
    if request.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and old is not None:
        return ConditionalCheckFailedException(Item=old)
    return ConditionalCheckFailedException()


def request_checks(operation: str, request: dict[str, Any]) -> None:
    """What AWS checks of an item request before it looks the table up: expressions and legacy
    conditions, ReturnValues, the values of the item or key, the item's size."""
    exprs = params.Expressions(request)
    if operation != "GetItem":
        params.return_values(operation, request)
    if operation == "UpdateItem":
        exprs.update()
    if operation == "GetItem":
        exprs.projection()
    else:
        exprs.condition()
    exprs.done()
    if operation == "PutItem":
        values.validate_item(request.get("Item"))
        params.check_size(values.normalize_item(request["Item"]))
    else:
        values.validate_item(request.get("Key"), what="key")


class ItemOps(DynamoBase):
    def _item_table(self, ctx: RequestContext, operation: str, request: dict[str, Any]) -> Table:
        """The request's table; when it does not exist, the request's own errors come first
        (checked only then: the hot path checks them once, against the table)."""
        try:
            return self._table(ctx, request["TableName"])
        except ResourceNotFoundException:
            request_checks(operation, request)
            raise

    # -- the write core (one item, inside the caller's transaction) ----------------------------

    def _item_apply(
        self,
        conn: sqlite3.Connection,
        table: Table,
        old_row: storage.Row | None,
        new: Item | None,
        new_size: int = 0,
        keys: tuple[bytes, bytes] | None = None,
        *,
        metrics: bool = False,
    ) -> Change:
        """Write one change with its index entries, counts and change record. On a table with
        LSIs the item collection is measured (a scan of the partition) only when the write grows
        it (the 10 GB limit) or ``metrics`` (ReturnItemCollectionMetrics) asks for its size."""
        old, old_size = old_row if old_row is not None else (None, 0)
        if old is None and new is None:
            return Change(table, None, None, 0, 0)
        storage.apply_change(
            conn,
            table,
            old,
            new,
            new_size if new is not None else None,
            old_size=old_size,
            keys=keys,
        )
        change = Change(table, old, new, old_size, new_size if new is not None else 0)
        grows = new is not None and new_size > old_size
        if table.lsis and (metrics or grows):
            ref = new if new is not None else old
            assert ref is not None
            size = storage.collection_size(conn, table, ref[table.hash_key])
            if new is not None and size > LSI_COLLECTION_LIMIT:
                raise ItemCollectionSizeLimitExceededException(
                    "Item collection size limit exceeded"
                )
            change.collection_size = size
        self._record_change(conn, table, old, new)
        return change

    def _item_put(
        self,
        conn: sqlite3.Connection,
        table: Table,
        item: Item,
        size: int,
        condition: Condition | None,
        request: dict[str, Any],
    ) -> Change:
        keys = storage.key_bytes(table, item)
        old_row = storage.get_item_sized(conn, table, item, keys)
        old = old_row[0] if old_row else None
        if condition is not None and not condition.evaluate(old or {}):
            raise condition_failed(old, request)
        return self._item_apply(
            conn, table, old_row, item, size, keys, metrics=wants_metrics(request)
        )

    def _item_delete(
        self,
        conn: sqlite3.Connection,
        table: Table,
        key: Item,
        condition: Condition | None,
        request: dict[str, Any],
    ) -> Change:
        keys = storage.key_bytes(table, key)
        old_row = storage.get_item_sized(conn, table, key, keys)
        old = old_row[0] if old_row else None
        if condition is not None and not condition.evaluate(old or {}):
            raise condition_failed(old, request)
        return self._item_apply(conn, table, old_row, None, 0, keys, metrics=wants_metrics(request))

    def _item_update(
        self,
        conn: sqlite3.Connection,
        table: Table,
        key: Item,
        update: Update | None,
        condition: Condition | None,
        request: dict[str, Any],
    ) -> Change:
        old_row = storage.get_item_sized(conn, table, key)
        old = old_row[0] if old_row else None
        if condition is not None and not condition.evaluate(old or {}):
            raise condition_failed(old, request)
        if old is None and update is not None and removes_only(update):
            return Change(table, None, None, 0, 0)  # AWS creates no item to delete from
        new = update.apply(old if old is not None else key) if update else dict(old or key)
        new, size = params.check_item_sized(table, new, update=True)
        return self._item_apply(conn, table, old_row, new, size, metrics=wants_metrics(request))

    def _item_response(
        self,
        change: Change,
        request: dict[str, Any],
        attributes: Item | None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if attributes:
            out["Attributes"] = attributes
        mode = request.get("ReturnConsumedCapacity")
        if mode in ("TOTAL", "INDEXES"):
            consumed = write_consumed(change)
            consumed.label = request["TableName"]
            out["ConsumedCapacity"] = consumed.render(mode)
        if request.get("ReturnItemCollectionMetrics") == "SIZE":
            metrics = collection_metrics(change)
            if metrics is not None:
                out["ItemCollectionMetrics"] = metrics
        return out

    # -- operations -----------------------------------------------------------------------------

    @current_layer
    def put_item(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._item_table(ctx, "PutItem", request)
        exprs = params.Expressions(request)
        item, size = params.check_item_sized(table, request["Item"])
        mode = params.return_values("PutItem", request)
        condition = exprs.condition()
        exprs.done()
        self.throttle.check(table, read=False, units=capacity.write_units(size))
        change = self.env.store.write(
            lambda conn: self._item_put(conn, table, item, size, condition, request)
        )
        return self._item_response(change, request, change.old if mode == "ALL_OLD" else None)

    @current_layer
    def delete_item(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._item_table(ctx, "DeleteItem", request)
        exprs = params.Expressions(request)
        key = params.check_key(table, request["Key"])
        mode = params.return_values("DeleteItem", request)
        condition = exprs.condition()
        exprs.done()
        self.throttle.check(table, read=False)
        change = self.env.store.write(
            lambda conn: self._item_delete(conn, table, key, condition, request)
        )
        return self._item_response(change, request, change.old if mode == "ALL_OLD" else None)

    @current_layer
    def update_item(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._item_table(ctx, "UpdateItem", request)
        exprs = params.Expressions(request)
        key = params.check_key(table, request["Key"])
        mode = params.return_values("UpdateItem", request)
        update = exprs.update()
        condition = exprs.condition()
        exprs.done()
        if update is not None:
            for name in table.key_names:
                if name in update.paths:
                    raise ValidationException(
                        "One or more parameter values were invalid: Cannot update attribute "
                        f"{name}. This attribute is part of the key"
                    )
        self.throttle.check(table, read=False)
        change = self.env.store.write(
            lambda conn: self._item_update(conn, table, key, update, condition, request)
        )
        attributes: Item | None = None
        if mode == "ALL_OLD":
            attributes = change.old
        elif mode == "ALL_NEW":
            attributes = change.new
        elif mode in ("UPDATED_OLD", "UPDATED_NEW") and update is not None:
            image = change.old if mode == "UPDATED_OLD" else change.new
            attributes = update.projection.apply(image) if image else None
        return self._item_response(change, request, attributes)

    def get_item(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._item_table(ctx, "GetItem", request)
        exprs = params.Expressions(request)
        key = params.check_key(table, request["Key"])
        projection = exprs.projection()
        exprs.done()
        consistent = bool(request.get("ConsistentRead"))
        self.throttle.check(table, read=True)
        row = self.env.store.read(lambda conn: storage.get_item_sized(conn, table, key))
        out: dict[str, Any] = {}
        if row is not None:
            out["Item"] = projection.apply(row[0]) if projection is not None else row[0]
        mode = request.get("ReturnConsumedCapacity")
        if mode in ("TOTAL", "INDEXES"):
            consumed = capacity.Consumed(table, read=True, label=request["TableName"])
            consumed.on_table = capacity.read_units(row[1] if row else 0, consistent=consistent)
            out["ConsumedCapacity"] = consumed.render(mode)
        return out
