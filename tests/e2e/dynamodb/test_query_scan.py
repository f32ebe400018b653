"""DynamoDB Query and Scan through boto3: ordering, ranges, paging, Select, filters, segments."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


@pytest.fixture
def ddb(client: Client) -> Any:
    return client("dynamodb")


def _table(ddb: Any, sort_type: str = "N") -> str:
    name = f"query-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": sort_type},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def _fill(ddb: Any, name: str, sort_values: list[dict[str, Any]], pk: str = "p") -> None:
    for i, sk in enumerate(sort_values):
        ddb.put_item(TableName=name, Item={"pk": {"S": pk}, "sk": sk, "i": {"N": str(i)}})


def _query(ddb: Any, name: str, **kw: Any) -> dict[str, Any]:
    return ddb.query(
        TableName=name,
        KeyConditionExpression=kw.pop("kce", "pk = :p"),
        ExpressionAttributeValues={":p": {"S": "p"}, **kw.pop("values", {})},
        **kw,
    )


def test_number_order_and_ranges(ddb: Any) -> None:
    name = _table(ddb)
    numbers = ["-1e10", "-5", "-0.5", "0", "0.001", "1", "2", "10", "1e3", "99999999999"]
    _fill(ddb, name, [{"N": n} for n in reversed(numbers)])
    got = [i["sk"]["N"] for i in _query(ddb, name)["Items"]]
    assert got == [
        "-10000000000",
        "-5",
        "-0.5",
        "0",
        "0.001",
        "1",
        "2",
        "10",
        "1000",
        "99999999999",
    ]
    back = [i["sk"]["N"] for i in _query(ddb, name, ScanIndexForward=False)["Items"]]
    assert back == list(reversed(got))
    between = _query(
        ddb,
        name,
        kce="pk = :p AND sk BETWEEN :a AND :b",
        values={":a": {"N": "-0.5"}, ":b": {"N": "2"}},
    )
    assert [i["sk"]["N"] for i in between["Items"]] == ["-0.5", "0", "0.001", "1", "2"]
    less = _query(ddb, name, kce="pk = :p AND sk < :a", values={":a": {"N": "0"}})
    assert [i["sk"]["N"] for i in less["Items"]] == ["-10000000000", "-5", "-0.5"]


def test_string_and_binary_order_begins_with(ddb: Any) -> None:
    name = _table(ddb, "S")
    words = ["b", "a", "ab", "aa", "B", "é", "z", "abc"]
    _fill(ddb, name, [{"S": w} for w in words])
    got = [i["sk"]["S"] for i in _query(ddb, name)["Items"]]
    assert got == sorted(words, key=lambda w: w.encode())
    prefixed = _query(ddb, name, kce="pk = :p AND begins_with(sk, :x)", values={":x": {"S": "ab"}})
    assert [i["sk"]["S"] for i in prefixed["Items"]] == ["ab", "abc"]
    bname = _table(ddb, "B")
    blobs = [b"\xff", b"\x00", b"\x7f\x01", b"\x80"]
    _fill(ddb, bname, [{"B": b} for b in blobs])
    assert [i["sk"]["B"] for i in _query(ddb, bname)["Items"]] == sorted(blobs)


def test_limit_pagination_filter_and_count(ddb: Any) -> None:
    name = _table(ddb)
    _fill(ddb, name, [{"N": str(n)} for n in range(10)])
    first = _query(ddb, name, Limit=4)
    assert [i["sk"]["N"] for i in first["Items"]] == ["0", "1", "2", "3"]
    assert first["LastEvaluatedKey"] == {"pk": {"S": "p"}, "sk": {"N": "3"}}
    rest = _query(ddb, name, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert [i["sk"]["N"] for i in rest["Items"]] == [str(n) for n in range(4, 10)]
    assert "LastEvaluatedKey" not in rest
    # Limit counts items read before the filter, as AWS does.
    filtered = _query(ddb, name, Limit=5, FilterExpression="i >= :x", values={":x": {"N": "3"}})
    assert filtered["Count"] == 2 and filtered["ScannedCount"] == 5
    assert "LastEvaluatedKey" in filtered
    count = _query(ddb, name, Select="COUNT")
    assert count["Count"] == 10 and "Items" not in count
    projected = _query(ddb, name, ProjectionExpression="sk", Limit=1)
    assert projected["Items"] == [{"sk": {"N": "0"}}]
    pages = ddb.get_paginator("query").paginate(
        TableName=name,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        PaginationConfig={"PageSize": 3},
    )
    assert sum(p["Count"] for p in pages) == 10


def test_one_megabyte_page(ddb: Any) -> None:
    name = _table(ddb)
    blob = "x" * (300 * 1024)
    for n in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "d": {"S": blob}})
    page = _query(ddb, name, FilterExpression="d = :none", values={":none": {"S": "-"}})
    assert page["Count"] == 0
    assert page["ScannedCount"] == 4  # the 1 MB is read before the filter
    assert "LastEvaluatedKey" in page
    scan = ddb.scan(TableName=name)
    assert scan["ScannedCount"] == 4 and "LastEvaluatedKey" in scan


def test_scan_segments_and_errors(ddb: Any) -> None:
    name = _table(ddb)
    for pk in range(40):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{pk}"}, "sk": {"N": "1"}})
    seen: list[str] = []
    for segment in range(3):
        items = ddb.scan(TableName=name, Segment=segment, TotalSegments=3)["Items"]
        seen += [i["pk"]["S"] for i in items]
    assert sorted(seen) == sorted(f"k{n}" for n in range(40))
    whole = [
        i["pk"]["S"]
        for p in ddb.get_paginator("scan").paginate(TableName=name, Limit=7)
        for i in p["Items"]
    ]
    assert sorted(whole) == sorted(seen)
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, Segment=3, TotalSegments=3)
    assert _code(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.scan(
            TableName=name,
            Segment=0,
            TotalSegments=1000000,
            ExclusiveStartKey={"pk": {"S": "k1"}, "sk": {"N": "1"}},
        )
    assert _code(exc) == (
        "ValidationException",
        "The provided Exclusive start key does not map to the provided Segment and "
        "TotalSegments values.",
    )
    # Resuming inside a segment works.
    first = ddb.scan(TableName=name, Segment=1, TotalSegments=2, Limit=2)
    rest = ddb.scan(
        TableName=name, Segment=1, TotalSegments=2, ExclusiveStartKey=first["LastEvaluatedKey"]
    )
    whole = ddb.scan(TableName=name, Segment=1, TotalSegments=2)
    assert first["Items"] + rest["Items"] == whole["Items"]
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=name)
    assert _code(exc) == (
        "ValidationException",
        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the "
        "request.",
    )
    with pytest.raises(ClientError) as exc:
        _query(ddb, name, FilterExpression="sk > :z", values={":z": {"N": "0"}})
    assert _code(exc) == (
        "ValidationException",
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk",
    )
    with pytest.raises(ClientError) as exc:
        _query(ddb, name, IndexName="nope")
    assert _code(exc) == (
        "ValidationException",
        "The table does not have the specified index: nope",
    )


def test_legacy_key_conditions_and_capacity(ddb: Any) -> None:
    name = _table(ddb)
    _fill(ddb, name, [{"N": str(n)} for n in range(3)])
    out = ddb.query(
        TableName=name,
        KeyConditions={
            "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
            "sk": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]},
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["Count"] == 2
    assert out["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 0.5}


def test_reverse_pagination_and_limit_at_the_end(ddb: Any) -> None:
    name = _table(ddb)
    _fill(ddb, name, [{"N": str(n)} for n in range(7)])
    seen: list[str] = []
    start: dict[str, Any] | None = None
    pages = 0
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        page = _query(ddb, name, ScanIndexForward=False, Limit=3, **extra)
        seen += [i["sk"]["N"] for i in page["Items"]]
        pages += 1
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
    assert seen == [str(n) for n in reversed(range(7))]
    assert pages == 3
    # A page that stops exactly at the last item still carries a LastEvaluatedKey (as on
    # AWS); the next page is empty and final.
    exact = _query(ddb, name, Limit=7)
    assert exact["Count"] == 7 and "LastEvaluatedKey" in exact
    after = _query(ddb, name, ExclusiveStartKey=exact["LastEvaluatedKey"])
    assert after["Count"] == 0 and "LastEvaluatedKey" not in after


def test_scan_select_and_projection(ddb: Any) -> None:
    name = _table(ddb)
    _fill(ddb, name, [{"N": str(n)} for n in range(4)])
    count = ddb.scan(TableName=name, Select="COUNT")
    assert count["Count"] == 4 and "Items" not in count
    items = ddb.scan(TableName=name, ProjectionExpression="i")["Items"]
    assert sorted(i["i"]["N"] for i in items) == ["0", "1", "2", "3"]
    filtered = ddb.scan(
        TableName=name,
        FilterExpression="sk >= :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    assert filtered["Count"] == 2 and filtered["ScannedCount"] == 4
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, Select="ALL_PROJECTED_ATTRIBUTES")
    assert _code(exc)[0] == "ValidationException"
