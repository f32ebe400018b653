"""Request parameters every item operation shares: the item and key checks, the condition
(expression or legacy Expected), the projection, ReturnValues and the 400 KB limit."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from overcast.errors import ValidationException
from overcast.services.dynamodb import indexes, legacy, values
from overcast.services.dynamodb.expressions import (
    Condition,
    Projection,
    Update,
    Usage,
    check_unused,
    parse_condition,
    parse_projection,
    parse_update,
    validate_attribute_maps,
)
from overcast.services.dynamodb.models import Table

MAX_ITEM_SIZE = 400 * 1024
_LONELY_OPERATOR = (
    "ConditionalOperator can only be used when Filter or Expected has two or more elements"
)
Item = dict[str, Any]

RETURN_VALUES = {
    "PutItem": ("NONE", "ALL_OLD"),
    "DeleteItem": ("NONE", "ALL_OLD"),
    "UpdateItem": ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"),
}
_EXPRESSIONS = (
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
    "FilterExpression",
    "KeyConditionExpression",
)
_ANY = frozenset(
    (
        *_EXPRESSIONS,
        *legacy.LEGACY_PARAMETERS,
        "ExpressionAttributeNames",
        "ExpressionAttributeValues",
    )
)


@functools.lru_cache(maxsize=65536)
def _number(text: str) -> tuple[str, int]:
    """A number's canonical text and size (cached: the hot path sees the same numbers often)."""
    canonical = values.format_number(values.parse_number(text))
    return canonical, values.value_size({"N": canonical})


def _simple(value: Any) -> tuple[dict[str, Any], int] | None:
    """Canonical form and size of a scalar S, N, BOOL or NULL value, None for anything else
    (which takes the general path: ``values.validate_value``/``normalize``)."""
    if type(value) is not dict or len(value) != 1:
        return None
    kind, body = next(iter(value.items()))
    if kind == "S" and type(body) is str:
        return value, len(body) if body.isascii() else len(body.encode("utf-8"))
    if kind == "N" and type(body) is str:
        canonical, size = _number(body)
        return (value if canonical == body else {"N": canonical}), size
    if kind == "BOOL" and type(body) is bool:
        return value, 1
    if kind == "NULL" and body is True:
        return value, 1
    return None


def check_item_sized(
    table: Table, item: Any, *, older: bool = False, update: bool = False
) -> tuple[Item, int]:
    """A PutItem Item: valid values, the table's key, index key types, at most 400 KB;
    returned in canonical form with its size. ``older``: the older layer's wording for bad
    values (BatchWriteItem, TransactWriteItems); ``update``: the item an update produced."""
    if type(item) is not dict or older:
        values.validate_item(item, older=older)
    out: Item = {}
    size = 0
    for name, value in item.items():
        simple = _simple(value) if name else None
        if simple is None:
            if name == "":
                values.validate_item({name: value})
            values.validate_value(value)
            canonical = values.normalize(value)
            out[name] = canonical
            size += values.value_size(canonical)
        else:
            out[name] = simple[0]
            size += simple[1]
        size += len(name) if name.isascii() else len(name.encode("utf-8"))
    indexes.check_item_keys(table, out)
    check_size(out, size, update=update)
    return out, size


def check_put_key_types(table: Table, item: Any) -> None:
    """A put whose key attribute has another type: BatchWriteItem and TransactWriteItems (the
    older layer) answer the schema mismatch; PutItem says "Type mismatch for key"."""
    if not isinstance(item, dict):
        return
    for name, kind in ((table.hash_key, table.hash_type), (table.range_key, table.range_type)):
        value = item.get(name) if name is not None else None
        if isinstance(value, dict) and len(value) == 1 and kind not in value:
            raise ValidationException("The provided key element does not match the schema")


def check_item(table: Table, item: Any, *, older: bool = False) -> Item:
    """``check_item_sized`` without the size."""
    return check_item_sized(table, item, older=older)[0]


def check_size(item: Item, size: int | None = None, *, update: bool = False) -> int:
    size = values.item_size(item) if size is None else size
    if size > MAX_ITEM_SIZE:
        if update:  # UpdateItem's own wording (AWS's API reference lists it)
            raise ValidationException("Item size to update has exceeded the maximum allowed size")
        raise ValidationException("Item size has exceeded the maximum allowed size")
    return size


def check_key(table: Table, key: Any, *, older: bool = False) -> Item:
    """A Key parameter naming exactly the table's key attributes; canonical form. ``older``:
    the older layer's wording for a bad number (batches, transactions)."""
    if older and isinstance(key, Mapping):
        for value in key.values():
            values.validate_value(value, older=True)
    if type(key) is dict and len(key) == len(table.key_names):
        out: Item = {}
        for name, kind in ((table.hash_key, table.hash_type), (table.range_key, table.range_type)):
            if name is None:
                continue
            value = key.get(name)
            if type(value) is not dict or len(value) != 1 or kind not in value:
                break
            body = value[kind]
            if kind == "S" and type(body) is str and body:
                out[name] = value
            elif kind == "N" and type(body) is str:
                canonical = _number(body)[0]
                out[name] = value if canonical == body else {"N": canonical}
            else:
                break
        else:
            indexes.check_key_sizes(table, out)
            return out
    schema: list[Mapping[str, str]] = list(table.key_schema())
    definitions: list[Mapping[str, str]] = list(table.attribute_definitions)
    values.validate_key(key, schema, definitions)
    normalized = values.normalize_item(key)
    indexes.check_key_sizes(table, normalized)
    return normalized


def return_values(operation: str, request: Mapping[str, Any]) -> str:
    mode = request.get("ReturnValues") or "NONE"
    if mode not in RETURN_VALUES[operation]:
        raise ValidationException("Return values set to invalid value")
    return mode


class Expressions:
    """The expressions of one request, parsed against one shared Usage, then checked for
    unused names and values (``done``). ``older`` picks the wording of DynamoDB's older
    validation layer (Scan, batches, transactions) for bad ExpressionAttributeValues."""

    def __init__(self, request: Mapping[str, Any], *, older: bool = False) -> None:
        self.request = request
        self.names = request.get("ExpressionAttributeNames")
        self.values = request.get("ExpressionAttributeValues")
        self.usage = Usage()
        # The hot path: no expression, no legacy member, so every accessor answers None.
        self.plain = _ANY.isdisjoint(request.keys())
        if self.plain:
            return
        legacy.check_not_mixed(request)
        validate_attribute_maps(
            self.names,
            self.values,
            expressions=any(request.get(k) is not None for k in _EXPRESSIONS),
            older=older,
        )

    def condition(self) -> Condition | None:
        """ConditionExpression, or the legacy Expected with ConditionalOperator."""
        if self.plain:
            return None
        text = self.request.get("ConditionExpression")
        if text is not None:
            return parse_condition(text, self.names, self.values, self.usage)
        if self.request.get("Expected") == {} and self.request.get("ConditionalOperator"):
            raise ValidationException(_LONELY_OPERATOR)
        if self.request.get("Expected") is not None:
            return legacy.expected_condition(
                self.request["Expected"], self.request.get("ConditionalOperator")
            )
        if self.request.get("ConditionalOperator") is not None:
            raise ValidationException(_LONELY_OPERATOR)
        return None

    def filter(self, legacy_member: str) -> Condition | None:
        """FilterExpression, or the legacy QueryFilter/ScanFilter."""
        if self.plain:
            return None
        text = self.request.get("FilterExpression")
        if text is not None:
            return parse_condition(
                text, self.names, self.values, self.usage, kind="FilterExpression"
            )
        if self.request.get(legacy_member) is not None:
            return legacy.filter_condition(
                self.request[legacy_member], self.request.get("ConditionalOperator")
            )
        return None

    def projection(self) -> Projection | None:
        """ProjectionExpression, or the legacy AttributesToGet."""
        if self.plain:
            return None
        text = self.request.get("ProjectionExpression")
        if text is not None:
            return parse_projection(text, self.names, self.usage)
        return legacy.attributes_to_get(self.request.get("AttributesToGet"))

    def update(self) -> Update | None:
        if self.plain:
            return None
        text = self.request.get("UpdateExpression")
        if text is not None:
            return parse_update(text, self.names, self.values, self.usage)
        if self.request.get("AttributeUpdates") is not None:
            return legacy.attribute_updates(self.request["AttributeUpdates"])
        return None

    def done(self) -> None:
        if not self.plain:
            check_unused(self.names, self.values, self.usage)
