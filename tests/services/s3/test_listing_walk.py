"""The listing walks against a reference: every page sequence yields exactly the full listing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overcast.services.s3 import store as s3
from overcast.services.s3.keyrange import decode_token, encode_token, prefix_end
from overcast.services.s3.listing_walk import version_seq, walk_latest, walk_versions
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.state import Store


@pytest.fixture
def db() -> Iterator[Store]:
    st_ = Store.open(None)
    s3.migrate(st_)
    yield st_
    st_.close()


def _fill(db: Store, keys: list[str], versioning: str = "", name: str = "b") -> Bucket:
    bucket = Bucket(name, "000000000000", "us-east-1", 0.0, versioning=versioning)

    def fill(conn: sqlite3.Connection) -> None:
        s3.insert_bucket(conn, bucket)
        for key in keys:
            obj = ObjectVersion(name, key, "", 1.0, size=1, etag='"e"')
            s3.put_version(conn, db, bucket, obj)

    db.write(fill)
    return bucket


def _reference(keys: list[str], prefix: str, delimiter: str) -> list[str]:
    items: set[str] = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        items.add(key if at < 0 else key[: at + len(delimiter)])
    return sorted(items)


def _all_pages(db: Store, prefix: str, delimiter: str, limit: int) -> list[str]:
    out: list[str] = []
    after = ""
    for _ in range(1000):
        page = db.read(
            lambda c, a=after: walk_latest(
                c, "b", prefix=prefix, delimiter=delimiter, after=a, limit=limit
            )
        )
        items = sorted([r[0] for r in page.rows] + page.prefixes)
        assert len(items) <= limit
        out += items
        if not page.truncated:
            return out
        assert page.last_key is not None
        after = page.last_key
    raise AssertionError("no end")


KEYS = ["a", "a/1", "a/2", "a/b/c", "ab", "b/", "b//x", "c", "c/d", "ü/x", "z"]


@pytest.mark.parametrize("limit", [1, 2, 3, 1000])
@pytest.mark.parametrize("prefix", ["", "a", "a/", "b/", "zz"])
@pytest.mark.parametrize("delimiter", ["", "/", "b"])
def test_pages_cover_the_listing_exactly(db: Store, limit: int, prefix: str, delimiter: str):
    _fill(db, KEYS)
    assert _all_pages(db, prefix, delimiter, limit) == _reference(KEYS, prefix, delimiter)


_key = st.text(alphabet="ab/.é", min_size=1, max_size=6)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(_key, min_size=0, max_size=25, unique=True),
    prefix=st.sampled_from(["", "a", "a/", "b"]),
    delimiter=st.sampled_from(["", "/", "."]),
    limit=st.integers(1, 5),
)
def test_random_listings_match_the_reference(
    keys: list[str], prefix: str, delimiter: str, limit: int
) -> None:
    db = Store.open(None)
    try:
        s3.migrate(db)
        _fill(db, keys)
        assert _all_pages(db, prefix, delimiter, limit) == _reference(keys, prefix, delimiter)
    finally:
        db.close()


def test_zero_limit_is_an_empty_untruncated_page(db: Store):
    _fill(db, ["a"])
    page = db.read(lambda c: walk_latest(c, "b", prefix="", delimiter="", after="", limit=0))
    assert page.rows == [] and not page.truncated


def test_a_marker_inside_a_common_prefix_skips_that_prefix(db: Store):
    _fill(db, ["a/1", "a/2", "b"])
    page = db.read(lambda c: walk_latest(c, "b", prefix="", delimiter="/", after="a/", limit=5))
    assert [r[0] for r in page.rows] == ["b"] and page.prefixes == []


def test_deleted_keys_are_not_listed(db: Store):
    bucket = _fill(db, ["a", "b"], versioning="Enabled")
    db.write(lambda c: s3.delete_key(c, db, bucket, "a", 2.0, "000000000000"))
    page = db.read(lambda c: walk_latest(c, "b", prefix="", delimiter="", after="", limit=5))
    assert [r[0] for r in page.rows] == ["b"]


def _version_pages(db: Store, limit: int, prefix: str = "", delimiter: str = "") -> list:
    out: list = []
    key_marker, seq = "", None
    for _ in range(1000):
        page = db.read(
            lambda c, k=key_marker, s=seq: walk_versions(
                c, "b", prefix=prefix, delimiter=delimiter, key_marker=k, marker_seq=s, limit=limit
            )
        )
        out += [(r[0], r[1]) for r in page.rows] + [(p, None) for p in page.prefixes]
        if not page.truncated:
            return out
        key_marker = page.last_key or ""
        last = page.last_version
        seq = db.read(lambda c, k=key_marker, v=last: version_seq(c, "b", k, v)) if last else None
    raise AssertionError("no end")


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 100])
def test_version_pages_cover_every_version_once(db: Store, limit: int):
    bucket = _fill(db, ["a", "b", "a", "c", "a", "b"], versioning="Enabled")
    db.write(lambda c: s3.delete_key(c, db, bucket, "b", 2.0, "000000000000"))
    everything = _version_pages(db, 1000)
    assert [k for k, _ in everything] == ["a", "a", "a", "b", "b", "b", "c"]
    assert _version_pages(db, limit) == everything


def test_version_pages_with_a_delimiter(db: Store):
    _fill(db, ["d/1", "d/2", "d/1", "e", "e"], versioning="Enabled")
    assert [k for k, _ in _version_pages(db, 1, delimiter="/")] == ["d/", "e", "e"]


def test_prefix_end_and_tokens():
    assert prefix_end("a/") == "a0"
    assert prefix_end("") is None
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\ud7ff") == "\ue000"
    assert decode_token(encode_token("ü/x")) == "ü/x"
    with pytest.raises(Exception, match="continuation token"):
        decode_token("not a token!")


def test_a_full_page_of_a_thousand_keys(db: Store):
    keys = [f"dir{i % 3}/key{i:04d}" for i in range(1001)]
    _fill(db, keys)
    page = db.read(lambda c: walk_latest(c, "b", prefix="", delimiter="", after="", limit=1000))
    assert len(page.rows) == 1000 and page.truncated
    assert [r[0] for r in page.rows] == sorted(keys)[:1000]
    page = db.read(lambda c: walk_latest(c, "b", prefix="", delimiter="/", after="", limit=1000))
    assert page.prefixes == ["dir0/", "dir1/", "dir2/"] and not page.truncated
