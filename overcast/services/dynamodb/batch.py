"""BatchGetItem (100 keys, 16 MB per response, the rest as UnprocessedKeys) and BatchWriteItem
(25 puts/deletes, committed together; UnprocessedItems only ever empty)."""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.services.dynamodb import capacity, legacy, params, storage
from overcast.services.dynamodb.items import (
    Change,
    ItemOps,
    collection_metrics,
    wants_metrics,
    write_consumed,
)
from overcast.services.dynamodb.models import Table

Item = dict[str, Any]
MAX_GET_KEYS = 100
MAX_WRITES = 25
MAX_GET_BYTES = 16 * 1024 * 1024
_INVALID = "One or more parameter values were invalid: "


def _key_id(table: Table, key: Item) -> tuple[bytes, bytes]:
    return storage.key_bytes(table, key)


class BatchOps(ItemOps):
    def batch_get_item(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        requests: dict[str, Any] = request["RequestItems"]
        total = sum(len(spec.get("Keys") or []) for spec in requests.values())
        if total > MAX_GET_KEYS:
            raise ValidationException("Too many items requested for the BatchGetItem call")
        plans: list[tuple[str, Table, dict[str, Any], list[Item], Any]] = []
        # AWS judges expression and legacy members over the whole request, across tables.
        merged: dict[str, Any] = {}
        for spec in requests.values():
            if isinstance(spec, dict):
                merged.update({k: v for k, v in spec.items() if v is not None})
        legacy.check_not_mixed(merged)
        for name, spec in requests.items():
            table = self._table(ctx, name)
            exprs = params.Expressions(spec)
            projection = exprs.projection()
            exprs.done()
            keys = [params.check_key(table, k) for k in spec["Keys"]]
            seen: set[tuple[bytes, bytes]] = set()
            for key in keys:
                ident = _key_id(table, key)
                if ident in seen:
                    raise ValidationException("Provided list of item keys contains duplicates")
                seen.add(ident)
            plans.append((name, table, spec, keys, projection))
        for _, table, _, _, _ in plans:
            self.throttle.check(table, read=True)

        def read(conn: sqlite3.Connection) -> dict[str, Any]:
            responses: dict[str, list[Item]] = {}
            unprocessed: dict[str, Any] = {}
            consumed: list[capacity.Consumed] = []
            budget = MAX_GET_BYTES
            for name, table, spec, keys, projection in plans:
                found = responses.setdefault(name, [])
                used = capacity.Consumed(table, read=True, label=name)
                consistent = bool(spec.get("ConsistentRead"))
                for position, key in enumerate(keys):
                    if budget <= 0:
                        rest = {k: v for k, v in spec.items() if k != "Keys"}
                        unprocessed[name] = {**rest, "Keys": keys[position:]}
                        break
                    row = storage.get_item_sized(conn, table, key)
                    used.on_table += capacity.read_units(
                        row[1] if row else 0, consistent=consistent
                    )
                    if row is not None:
                        budget -= row[1]
                        found.append(projection.apply(row[0]) if projection else row[0])
                consumed.append(used)
            out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": unprocessed}
            rendered = capacity.merge(consumed, request.get("ReturnConsumedCapacity"))
            if rendered is not None:
                out["ConsumedCapacity"] = rendered
            return out

        return self.env.store.read(read)

    def batch_write_item(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        requests: dict[str, list[dict[str, Any]]] = request["RequestItems"]
        total = sum(len(writes) for writes in requests.values())
        if total > MAX_WRITES:
            raise ValidationException("Too many items requested for the BatchWriteItem call")
        plans: list[tuple[str, Table, Item, Item | None]] = []  # (name, table, key, put item)
        for name, writes in requests.items():
            table = self._table(ctx, name)
            seen: set[tuple[bytes, bytes]] = set()
            for entry in writes:
                put, delete = entry.get("PutRequest"), entry.get("DeleteRequest")
                if (put is None) == (delete is None):
                    raise ValidationException(
                        f"{_INVALID}A WriteRequest must contain exactly one of PutRequest or "
                        "DeleteRequest"
                    )
                if put is not None:
                    params.check_put_key_types(table, put["Item"])
                    item = params.check_item(table, put["Item"], older=True)
                    key = table.key_of(item)
                    plans.append((name, table, key, item))
                else:
                    assert delete is not None
                    key = params.check_key(table, delete["Key"], older=True)
                    plans.append((name, table, key, None))
                ident = _key_id(table, key)
                if ident in seen:
                    raise ValidationException("Provided list of item keys contains duplicates")
                seen.add(ident)
        for table in {id(p[1]): p[1] for p in plans}.values():
            self.throttle.check(table, read=False)

        def write(conn: sqlite3.Connection) -> list[tuple[str, Change]]:
            changes: list[tuple[str, Change]] = []
            for name, table, key, item in plans:
                old = storage.get_item_sized(conn, table, key)
                size = params.check_size(item) if item is not None else 0
                change = self._item_apply(
                    conn, table, old, item, size, metrics=wants_metrics(request)
                )
                changes.append((name, change))
            return changes

        changes = self.env.store.write(write)
        out: dict[str, Any] = {"UnprocessedItems": {}}
        used = []
        for name, change in changes:
            consumed = write_consumed(change)
            consumed.label = name
            used.append(consumed)
        rendered = capacity.merge(used, request.get("ReturnConsumedCapacity"))
        if rendered is not None:
            out["ConsumedCapacity"] = rendered
        if request.get("ReturnItemCollectionMetrics") == "SIZE":
            metrics: dict[str, list[dict[str, Any]]] = {}
            for name, change in changes:
                m = collection_metrics(change)
                if m is not None:
                    metrics.setdefault(name, []).append(m)
            out["ItemCollectionMetrics"] = metrics
        return out
