"""PartiQL parameters checked as DynamoDB reads them: BigDecimal's limits, 32-bit wrapping
magnitude, nesting depth, and the first problem in document order."""

from __future__ import annotations

from typing import Any

import pytest

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.partiql.params import UNCONVERTIBLE, check_parameters
from overcast.services.dynamodb.values import OVERFLOW, TOO_DEEP, UNDERFLOW


def _deep(depth: int, leaf: dict[str, Any] | None = None) -> dict[str, Any]:
    value: dict[str, Any] = leaf or {"S": "leaf"}
    for _ in range(depth):
        value = {"M": {"n": value}}
    return value


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([{"N": "1e99999999999"}], f"{UNCONVERTIBLE}: 1e99999999999"),
        ([{"N": "1e2147483648"}], f"{UNCONVERTIBLE}: 1e2147483648"),
        ([{"N": "1e-2147483648"}], f"{UNCONVERTIBLE}: 1e-2147483648"),
        ([{"N": "1e2147483647"}], UNDERFLOW),  # precision - scale wraps in 32 bits
        ([{"N": "1e126"}], OVERFLOW),
        ([{"N": "0e126"}], OVERFLOW),
        ([{"N": ""}], UNCONVERTIBLE),
        ([{"N": "abc"}], f"{UNCONVERTIBLE}: abc"),
        (
            [{"M": {"x": {"L": [{"N": "1"}, {"N": "1e99999999999"}]}}}],
            f"{UNCONVERTIBLE}: 1e99999999999",
        ),
        ([{"NS": ["1", "1e99999999999"]}], f"{UNCONVERTIBLE}: 1e99999999999"),
        ([_deep(40), {"N": "abc"}], TOO_DEEP),
        ([{"N": "abc"}, _deep(40)], f"{UNCONVERTIBLE}: abc"),
        ([_deep(40, {"N": "abc"})], TOO_DEEP),
    ],
)
def test_refused_parameters(params: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValidationException) as exc:
        check_parameters(params)
    assert exc.value.error_message == message


def test_accepted_parameters() -> None:
    check_parameters([{"N": "-12.50"}, {"N": ".5e3"}, {"N": "0e5"}, _deep(32), {"S": "x"}])
