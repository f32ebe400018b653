"""What every expression kind shares: errors, limits, reserved words, attribute usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FilePath

from overcast.services.dynamodb.errors import ValidationException

#: An expression longer than this (UTF-8 bytes) is rejected before parsing.
MAX_EXPRESSION_BYTES = 4096
#: Document paths may be nested at most this deep (names and list indexes both count).
MAX_PATH_DEPTH = 32
#: IN takes at most this many operands on its right-hand side.
MAX_IN_OPERANDS = 100
#: An expression may hold at most this many operators and functions.
MAX_OPERATORS = 300

#: Short type names as DynamoDB prints them in condition errors, and the long ones of updates.
LONG_TYPE_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "SS": "STRING SET",
    "NS": "NUMBER SET",
    "BS": "BINARY SET",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "L": "LIST",
    "M": "MAP",
}


def invalid(kind: str, detail: str) -> ValidationException:
    """``Invalid ConditionExpression: <detail>``, the prefix every expression error carries."""
    return ValidationException(f"Invalid {kind}: {detail}")


@cache
def reserved_words() -> frozenset[str]:
    text = (FilePath(__file__).parent / "reserved_words.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def is_reserved(name: str) -> bool:
    return name.upper() in reserved_words()


@dataclass
class Usage:
    """The ExpressionAttributeNames and -Values keys the expressions of one request used."""

    names: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)


def check_unused(
    names: dict[str, str] | None, values: dict[str, object] | None, usage: Usage
) -> None:
    """AWS rejects a request whose names or values maps hold a key no expression used."""
    unused_names = [key for key in names or {} if key not in usage.names]
    if unused_names:
        raise ValidationException(
            "Value provided in ExpressionAttributeNames unused in expressions: "
            f"keys: {{{', '.join(unused_names)}}}"
        )
    unused_values = [key for key in values or {} if key not in usage.values]
    if unused_values:
        raise ValidationException(
            "Value provided in ExpressionAttributeValues unused in expressions: "
            f"keys: {{{', '.join(unused_values)}}}"
        )


def check_size(kind: str, text: str) -> None:
    """The checks before parsing: an empty expression, then one over 4 KB."""
    if not text.strip():
        raise invalid(kind, "The expression can not be empty;")
    size = len(text.encode("utf-8"))
    if size > MAX_EXPRESSION_BYTES:
        raise invalid(
            kind,
            f"Expression size has exceeded the maximum allowed size; expression size: {size}",
        )
