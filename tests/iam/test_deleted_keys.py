"""IAM's tombstones of deleted access keys (``storage.delete_key``), on both store kinds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.services.iam import storage
from overcast.state import Store


@pytest.fixture(params=["ephemeral", "disk"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store.open(None if request.param == "ephemeral" else tmp_path / "data")
    yield s
    s.close()


def key(key_id: str) -> dict[str, str]:
    return {"AccessKeyId": key_id, "SecretAccessKey": "s", "Status": "Active",
            "UserName": "alice", "CreateDate": "2026-01-01T00:00:00Z"}  # fmt: skip


def test_a_deleted_key_leaves_its_account_behind(store: Store) -> None:
    storage.write(store, lambda c: storage.insert_key(c, "111122223333", "alice", key("AKIA1")))
    assert storage.read(store, lambda c: storage.deleted_key_account(c, "AKIA1")) is None
    assert storage.write(store, lambda c: storage.delete_key(c, "AKIA1"))
    assert storage.read(store, lambda c: storage.get_key(c, "AKIA1")) is None
    assert storage.read(store, lambda c: storage.deleted_key_account(c, "AKIA1")) == "111122223333"
    # Deleting again is a no-op that keeps the tombstone; unknown keys get none.
    assert not storage.write(store, lambda c: storage.delete_key(c, "AKIA1"))
    assert not storage.write(store, lambda c: storage.delete_key(c, "AKIA2"))
    assert storage.read(store, lambda c: storage.deleted_key_account(c, "AKIA1")) == "111122223333"
    assert storage.read(store, lambda c: storage.deleted_key_account(c, "AKIA2")) is None
