"""ImportTable's ION reader: DynamoDB's Ion export form back into items, bad values as BadLine."""

from __future__ import annotations

from overcast.services.dynamodb.export_formats import BadLine, data_line
from overcast.services.dynamodb.import_ion import ion_items


def test_round_trip_of_the_export_writer() -> None:
    item = {
        "pk": {"S": 'a"b\\c'},
        "n": {"N": "-12.5"},
        "i": {"N": "7"},
        "b": {"B": b"\x00\xff"},
        "t": {"BOOL": False},
        "z": {"NULL": True},
        "l": {"L": [{"M": {"x": {"N": "1"}}}]},
        "ss": {"SS": ["p", "q"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"u"]},
    }
    (got,) = ion_items("$ion_1_0\n" + data_line(item, "ION"))
    assert got == item


def test_values_that_are_not_items() -> None:
    got = ion_items(
        '{Item:{pk:"a"}} 42 {Item:"x"} {Item:{t:2024-01-01T}} {Item:{s:$dynamodb_SS::[1]}}'
    )
    assert got[0] == {"pk": {"S": "a"}}
    assert all(isinstance(g, BadLine) for g in got[1:]) and len(got) == 5
    (bad,) = ion_items("{Item:{pk:")
    assert isinstance(bad, BadLine)
