"""S3's storage rules: versioning on put/delete, listing order, uploads and parts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from overcast.services.s3 import store as s3
from overcast.services.s3.models import NULL_VERSION, Bucket, ObjectVersion, Part, Upload
from overcast.state import Store


@pytest.fixture
def db() -> Iterator[Store]:
    st = Store.open(None)
    s3.migrate(st)
    yield st
    st.close()


def _bucket(db: Store, versioning: str = "") -> Bucket:
    b = Bucket("b", "000000000000", "us-east-1", 0.0, versioning=versioning)
    db.write(lambda c: s3.insert_bucket(c, b))
    return b


def _put(db: Store, bucket: Bucket, key: str, data: bytes) -> ObjectVersion:
    blob = db.blobs.put_bytes(data)
    obj = ObjectVersion(bucket.name, key, "", 1.0, size=blob.size, segments=[(blob.id, blob.size)])
    return db.write(lambda c: s3.put_version(c, db, bucket, obj))


def _versions(db: Store) -> list[tuple[str, bool, bool]]:
    return db.read(
        lambda c: [(o.key, o.is_latest, o.delete_marker) for o in s3.iter_versions(c, "b")]
    )


def test_unversioned_put_replaces_and_frees_the_old_blob(db: Store) -> None:
    b = _bucket(db)
    first = _put(db, b, "k", b"one")
    second = _put(db, b, "k", b"two")
    assert first.version_id == second.version_id == NULL_VERSION
    assert _versions(db) == [("k", True, False)]
    assert not db.blobs.exists(first.segments[0][0])
    assert db.blobs.exists(second.segments[0][0])


def test_enabled_versioning_keeps_history_and_delete_adds_a_marker(db: Store) -> None:
    b = _bucket(db, "Enabled")
    v1 = _put(db, b, "k", b"one")
    v2 = _put(db, b, "k", b"two")
    assert v1.version_id != v2.version_id != NULL_VERSION
    marker = db.write(lambda c: s3.delete_key(c, db, b, "k", 2.0, "000000000000"))
    assert marker is not None and marker.delete_marker
    assert _versions(db) == [("k", True, True), ("k", False, False), ("k", False, False)]
    assert db.read(lambda c: s3.list_latest(c, "b", limit=10)) == []
    # Removing the marker restores the object.
    db.write(lambda c: s3.delete_version(c, db, marker))
    latest = db.read(lambda c: s3.get_latest(c, "b", "k"))
    assert latest is not None and latest.version_id == v2.version_id


def test_suspended_versioning_replaces_only_the_null_version(db: Store) -> None:
    b = _bucket(db, "Enabled")
    v1 = _put(db, b, "k", b"one")
    b.versioning = "Suspended"
    n1 = _put(db, b, "k", b"two")
    n2 = _put(db, b, "k", b"three")
    assert n1.version_id == n2.version_id == NULL_VERSION
    ids = db.read(lambda c: [o.version_id for o in s3.iter_versions(c, "b")])
    assert ids == [NULL_VERSION, v1.version_id]


def test_list_latest_is_in_byte_order_with_prefix_and_marker(db: Store) -> None:
    b = _bucket(db)
    for key in ["b", "a/2", "a/1", "é", "Z", "a"]:
        _put(db, b, key, b"x")
    keys = lambda **kw: [o.key for o in db.read(lambda c: s3.list_latest(c, "b", limit=10, **kw))]  # noqa: E731
    assert keys() == ["Z", "a", "a/1", "a/2", "b", "é"]
    assert keys(prefix="a/") == ["a/1", "a/2"]
    assert keys(after="a/1") == ["a/2", "b", "é"]
    assert keys(prefix="a", after="a") == ["a/1", "a/2"]


def test_parts_replace_and_upload_removal_frees_unused_blobs(db: Store) -> None:
    b = _bucket(db)
    up = Upload("u1", b.name, "k", 1.0)
    db.write(lambda c: s3.insert_upload(c, up))
    blobs = [db.blobs.put_bytes(bytes([i]) * 10) for i in range(3)]
    for number, blob in ((1, blobs[0]), (2, blobs[1]), (1, blobs[2])):
        part = Part("u1", number, blob.id, blob.size, '"e"', 1.0)
        db.write(lambda c, part=part: s3.put_part(c, db, part))
    parts = db.read(lambda c: s3.list_parts(c, "u1"))
    assert [(p.part_number, p.blob_id) for p in parts] == [(1, blobs[2].id), (2, blobs[1].id)]
    assert not db.blobs.exists(blobs[0].id)
    db.write(lambda c: s3.delete_upload(c, db, "u1", keep={blobs[2].id}))
    assert db.blobs.exists(blobs[2].id) and not db.blobs.exists(blobs[1].id)
    assert db.read(lambda c: s3.get_upload(c, "u1")) is None
