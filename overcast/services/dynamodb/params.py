"""Request parameters every item operation shares: the item and key checks, the condition
(expression or legacy Expected), the projection, ReturnValues and the 400 KB limit."""

from __future__ import annotations

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


def check_item(table: Table, item: Any) -> Item:
    """A PutItem Item: valid values, the table's key, index key types, at most 400 KB;
    returned in canonical form."""
    values.validate_item(item)
    item = values.normalize_item(item)
    indexes.check_item_keys(table, item)
    check_size(item)
    return item


def check_size(item: Item, size: int | None = None) -> int:
    size = values.item_size(item) if size is None else size
    if size > MAX_ITEM_SIZE:
        raise ValidationException("Item size has exceeded the maximum allowed size")
    return size


def check_key(table: Table, key: Any) -> Item:
    """A Key parameter naming exactly the table's key attributes; canonical form."""
    values.validate_key(key, table.key_schema(), table.attribute_definitions)
    return values.normalize_item(key)


def return_values(operation: str, request: Mapping[str, Any]) -> str:
    mode = request.get("ReturnValues") or "NONE"
    if mode not in RETURN_VALUES[operation]:
        raise ValidationException("Return values set to invalid value")
    return mode


class Expressions:
    """The expressions of one request, parsed against one shared Usage, then checked for
    unused names and values (``done``)."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        legacy.check_not_mixed(request)
        self.request = request
        self.names = request.get("ExpressionAttributeNames")
        self.values = request.get("ExpressionAttributeValues")
        validate_attribute_maps(
            self.names,
            self.values,
            expressions=any(request.get(k) is not None for k in _EXPRESSIONS),
        )
        self.usage = Usage()

    def condition(self) -> Condition | None:
        """ConditionExpression, or the legacy Expected with ConditionalOperator."""
        text = self.request.get("ConditionExpression")
        if text is not None:
            return parse_condition(text, self.names, self.values, self.usage)
        if self.request.get("Expected") is not None:
            return legacy.expected_condition(
                self.request["Expected"], self.request.get("ConditionalOperator")
            )
        if self.request.get("ConditionalOperator") is not None:
            raise ValidationException(
                "ConditionalOperator can only be used when Filter or Expected has two or more "
                "elements"
            )
        return None

    def filter(self, legacy_member: str) -> Condition | None:
        """FilterExpression, or the legacy QueryFilter/ScanFilter."""
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
        text = self.request.get("ProjectionExpression")
        if text is not None:
            return parse_projection(text, self.names, self.usage)
        return legacy.attributes_to_get(self.request.get("AttributesToGet"))

    def update(self) -> Update | None:
        text = self.request.get("UpdateExpression")
        if text is not None:
            return parse_update(text, self.names, self.values, self.usage)
        if self.request.get("AttributeUpdates") is not None:
            return legacy.attribute_updates(self.request["AttributeUpdates"])
        return None

    def done(self) -> None:
        check_unused(self.names, self.values, self.usage)
