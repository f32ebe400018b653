"""DynamoDB's expression language: conditions, filters, key conditions, projections, updates.

One request may carry several expressions sharing ExpressionAttributeNames and -Values; the
caller creates one ``Usage``, passes it to every ``parse_*`` call, and finally calls
``check_unused`` so that a name or value no expression used is refused as AWS refuses it::

    usage = Usage()
    condition = parse_condition(request.get("ConditionExpression"), names, values, usage)
    update = parse_update(request["UpdateExpression"], names, values, usage)
    check_unused(names, values, usage)
"""

from __future__ import annotations

import re
from typing import Any

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions.common import Usage, check_unused
from overcast.services.dynamodb.expressions.conditions import Always, Condition
from overcast.services.dynamodb.expressions.keys import (
    KeyCondition,
    RangeCondition,
    parse_key_condition,
)
from overcast.services.dynamodb.expressions.parser import parse_condition
from overcast.services.dynamodb.expressions.projection import Projection, parse_projection
from overcast.services.dynamodb.expressions.updates import Update, parse_update

__all__ = [
    "Always",
    "Condition",
    "KeyCondition",
    "Projection",
    "RangeCondition",
    "Update",
    "Usage",
    "check_unused",
    "parse_condition",
    "parse_key_condition",
    "parse_projection",
    "parse_update",
    "validate_attribute_maps",
]

_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+")


def validate_attribute_maps(
    names: Any, values: Any, *, expressions: bool = True, older: bool = False
) -> None:
    """The request-level checks of ExpressionAttributeNames/-Values, before any parsing.

    ``expressions`` says whether the request carries any expression at all: without one, AWS
    refuses the maps outright. ``older`` asks for the wording of DynamoDB's older validation
    layer (Scan, BatchWriteItem, TransactWriteItems), which wraps a bad value as
    "ExpressionAttributeValues contains invalid value: ... for key :v".
    """
    if names is not None:
        if not expressions:
            raise ValidationException(
                "ExpressionAttributeNames can only be specified when using expressions"
            )
        if not names:
            raise ValidationException("ExpressionAttributeNames must not be empty")
        for key, name in names.items():
            _check_key("ExpressionAttributeNames", key, _NAME_KEY)
            if name == "":
                raise ValidationException(
                    f"ExpressionAttributeNames contains invalid value: Empty attribute name "
                    f"for key {key}"
                )
    if values is not None:
        if not expressions:
            raise ValidationException(
                "ExpressionAttributeValues can only be specified when using expressions"
            )
        if not values:
            raise ValidationException("ExpressionAttributeValues must not be empty")
        for key, value in values.items():
            _check_key("ExpressionAttributeValues", key, _VALUE_KEY)
            if not older:
                av.validate_value(value)
                continue
            # DynamoDB's older validation layer (Scan, batch writes, transactions) names the key.
            try:
                av.validate_value(value, older=True)
            except ValidationException as error:
                raise ValidationException(
                    f"ExpressionAttributeValues contains invalid value: {error.error_message} "
                    f"for key {key}"
                ) from None


def _check_key(member: str, key: str, pattern: re.Pattern[str]) -> None:
    size = len(key.encode("utf-8"))
    if size > 255:
        raise ValidationException(
            f"{member} contains invalid key: The expression attribute map contains a key that "
            f"is too long; size of key: {size}"
        )
    if not pattern.fullmatch(key):
        raise ValidationException(f'{member} contains invalid key: Syntax error; key: "{key}"')
