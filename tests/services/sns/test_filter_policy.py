"""Filter policy matching and validation, table-driven."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.services.sns import filter_policy as fp
from overcast.services.sns.errors import InvalidParameterException


def _s(v: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": v}


def _n(v: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": v}


ATTRS: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"a": ["x"]}, {"a": _s("x")}, True),
    ({"a": ["x"]}, {"a": _s("y")}, False),
    ({"a": ["x"]}, {}, False),
    ({"a": [{"prefix": "ab"}]}, {"a": _s("abc")}, True),
    ({"a": [{"suffix": "bc"}]}, {"a": _s("abc")}, True),
    ({"a": [{"equals-ignore-case": "ABC"}]}, {"a": _s("abc")}, True),
    ({"a": [{"anything-but": ["x", "y"]}]}, {"a": _s("z")}, True),
    ({"a": [{"anything-but": ["x", "y"]}]}, {"a": _s("x")}, False),
    ({"a": [{"anything-but": {"prefix": "in"}}]}, {"a": _s("out")}, True),
    ({"a": [{"anything-but": {"suffix": "t"}}]}, {"a": _s("out")}, False),
    ({"a": [{"anything-but": "x"}]}, {}, False),
    ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": _n("5")}, True),
    ({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": _n("5.1")}, False),
    ({"n": [{"numeric": ["=", 3]}]}, {"n": _n("3.0")}, True),
    ({"n": [3]}, {"n": _n("3")}, True),
    ({"a": [{"exists": True}]}, {"a": _s("x")}, True),
    ({"a": [{"exists": False}]}, {}, True),
    ({"a": [{"exists": False}]}, {"a": _s("x")}, False),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": _s("10.0.0.7")}, True),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": _s("10.0.1.7")}, False),
    ({"a": ["x"]}, {"a": {"DataType": "String.Array", "StringValue": '["w","x"]'}}, True),
    ({"a": ["x"], "b": ["y"]}, {"a": _s("x"), "b": _s("z")}, False),
    ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": _s("y")}, True),
    ({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": _s("z")}, False),
    ({"a": ["x"]}, {"a": {"DataType": "Binary", "BinaryValue": "eA=="}}, False),
]


@pytest.mark.parametrize(("policy", "attrs", "expected"), ATTRS)
def test_attributes(policy: dict[str, Any], attrs: dict[str, Any], expected: bool) -> None:
    fp.parse(json.dumps(policy))
    assert fp.matches_attributes(policy, attrs) is expected


BODY: list[tuple[dict[str, Any], Any, bool]] = [
    ({"order": {"kind": ["book"]}}, {"order": {"kind": "book"}}, True),
    ({"order": {"kind": ["book"]}}, {"order": {"kind": "pen"}}, False),
    ({"order": {"kind": ["book"]}}, {"order": [{"kind": "pen"}, {"kind": "book"}]}, True),
    ({"tags": ["a"]}, {"tags": ["b", "a"]}, True),
    ({"price": [{"numeric": [">=", 10]}]}, {"price": 12.5}, True),
    ({"price": [{"numeric": [">=", 10]}]}, {"price": "12.5"}, False),
    ({"ok": [True]}, {"ok": True}, True),
    ({"v": [None]}, {"v": None}, True),
    ({"missing": [{"exists": False}]}, {"other": 1}, True),
    ({"a": {"b": [{"exists": True}]}}, {"a": {"b": {"c": 1}}}, True),
    ({"$or": [{"a": [1]}, {"b": {"c": ["x"]}}]}, {"b": {"c": "x"}}, True),
    ({"a": ["x"]}, "not an object", False),
]


@pytest.mark.parametrize(("policy", "body", "expected"), BODY)
def test_body(policy: dict[str, Any], body: Any, expected: bool) -> None:
    fp.parse(json.dumps(policy), "MessageBody")
    assert fp.matches_body(policy, json.dumps(body)) is expected


INVALID: list[tuple[Any, str]] = [
    ("not json", "MessageAttributes"),
    ([1], "MessageAttributes"),
    ({"a": "x"}, "MessageAttributes"),
    ({"a": []}, "MessageAttributes"),
    ({"a": [{"bogus": 1}]}, "MessageAttributes"),
    ({"a": [{"numeric": [">", "x"]}]}, "MessageAttributes"),
    ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "MessageAttributes"),
    ({"a": [{"numeric": [">", 5, "<", 1]}]}, "MessageAttributes"),
    ({"a": [2e9]}, "MessageAttributes"),
    ({"a": [{"exists": "yes"}]}, "MessageAttributes"),
    ({"a": [{"cidr": "nope"}]}, "MessageAttributes"),
    ({"a": [{"prefix": 1}]}, "MessageAttributes"),
    ({"a": {"b": ["x"]}}, "MessageAttributes"),
    ({k: ["x"] for k in "abcdef"}, "MessageAttributes"),
    ({"a": list(range(13)), "b": list(range(13))}, "MessageAttributes"),
    ({"$or": [{"a": ["x"]}]}, "MessageAttributes"),
]


@pytest.mark.parametrize(("policy", "scope"), INVALID)
def test_invalid(policy: Any, scope: str) -> None:
    text = policy if isinstance(policy, str) else json.dumps(policy)
    with pytest.raises(InvalidParameterException):
        fp.parse(text, scope)
