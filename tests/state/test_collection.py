"""Collections: JSON documents isolated by account and region, prefix listing and pagination."""

from __future__ import annotations

import sqlite3

import pytest

from overcast.state import Store

A, B = "111111111111", "222222222222"
R1, R2 = "us-east-1", "eu-west-1"


def test_put_get_delete(store: Store) -> None:
    queues = store.collection("sqs", "queue")
    assert queues.get(A, R1, "q") is None
    queues.put(A, R1, "q", {"attrs": {"VisibilityTimeout": "30"}, "n": 1})
    assert queues.get(A, R1, "q") == {"attrs": {"VisibilityTimeout": "30"}, "n": 1}
    queues.put(A, R1, "q", {"n": 2})
    assert queues.get(A, R1, "q") == {"n": 2}
    assert queues.insert(A, R1, "q", {"n": 3}) is False
    assert queues.insert(A, R1, "q2", {"n": 3}) is True
    assert queues.delete(A, R1, "q") is True
    assert queues.delete(A, R1, "q") is False
    assert store.collection("sqs", "queue") is queues


def test_isolated_by_account_region_and_kind(store: Store) -> None:
    queues = store.collection("sqs", "queue")
    topics = store.collection("sns", "queue")  # same kind name, another service
    queues.put(A, R1, "q", {"who": "a1"})
    queues.put(A, R2, "q", {"who": "a2"})
    queues.put(B, R1, "q", {"who": "b1"})
    assert queues.get(A, R1, "q") == {"who": "a1"}
    assert queues.get(A, R2, "q") == {"who": "a2"}
    assert queues.get(B, R1, "q") == {"who": "b1"}
    assert queues.get(B, R2, "q") is None
    assert topics.get(A, R1, "q") is None
    assert [i for i, _ in queues.list(A, R1).items] == ["q"]
    queues.delete(A, R1, "q")
    assert queues.get(A, R2, "q") == {"who": "a2"}
    assert {(a, r) for a, r, _, _ in queues.scan()} == {(A, R2), (B, R1)}


def test_list_prefix_and_pagination(store: Store) -> None:
    coll = store.collection("svc", "thing")
    ids = ["a", "a%", "a_b", "ab", "abc", "b", "ba", "A"]
    for i in ids:
        coll.put(A, R1, i, {"id": i})
    assert [i for i, _ in coll.list(A, R1, prefix="a").items] == ["a", "a%", "a_b", "ab", "abc"]
    assert [i for i, _ in coll.list(A, R1, prefix="a%").items] == ["a%"]  # no LIKE wildcards
    assert [i for i, _ in coll.list(A, R1, prefix="A").items] == ["A"]  # case-sensitive
    page = coll.list(A, R1, limit=3)
    seen = [i for i, _ in page.items]
    while page.next_token:
        page = coll.list(A, R1, after=page.next_token, limit=3)
        seen += [i for i, _ in page.items]
    assert seen == sorted(ids)
    assert [i for i, _ in coll.all(A, R1, prefix="b", page_size=1)] == ["b", "ba"]
    with pytest.raises(ValueError):
        coll.list(A, R1, limit=0)


def test_part_of_callers_transaction(store: Store) -> None:
    coll = store.collection("svc", "thing")

    def create_two_then_fail(conn: sqlite3.Connection) -> None:
        coll.put(A, R1, "x", {}, conn=conn)
        coll.put(A, R1, "y", {}, conn=conn)
        assert coll.get(A, R1, "x", conn=conn) == {}
        raise RuntimeError

    with pytest.raises(RuntimeError):
        store.write(create_two_then_fail)
    assert coll.list(A, R1).items == []


def test_unicode_ids_and_docs(store: Store) -> None:
    coll = store.collection("s3", "bucket")
    coll.put(A, "", "naïve-☃", {"tag": "日本"})
    assert coll.get(A, "", "naïve-☃") == {"tag": "日本"}
    assert [i for i, _ in coll.list(A, "", prefix="naï").items] == ["naïve-☃"]
