"""Block Public Access: the bucket's and the account's settings, and their combination.

New buckets have all four settings on (AWS's default since April 2023), so an absent
``config["public_access_block"]`` means all True; DeletePublicAccessBlock stores None (then none
apply and GetPublicAccessBlock answers NoSuchPublicAccessBlockConfiguration). The account-level
settings (s3control) live in the ``s3control/public_access_block`` collection under the account
id. The effective value of each setting is the OR of the two levels, as AWS applies them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from overcast.services.s3.models import Bucket
from overcast.state import Store

KEY = "public_access_block"
FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
NEW_BUCKET_DEFAULT = dict.fromkeys(FIELDS, True)
ACCOUNT_COLLECTION = ("s3control", "public_access_block")
ACCOUNT_DOC = "configuration"


def normalize(config: Mapping[str, Any] | None) -> dict[str, bool]:
    """A PublicAccessBlockConfiguration with every field present (absent means False)."""
    config = config or {}
    return {name: bool(config.get(name, False)) for name in FIELDS}


def bucket_setting(bucket: Bucket) -> dict[str, bool] | None:
    """The bucket's own configuration; None once deleted."""
    if KEY not in bucket.config:
        return dict(NEW_BUCKET_DEFAULT)
    value = bucket.config[KEY]
    return None if value is None else normalize(value)


def account_setting(
    store: Store, account_id: str, conn: sqlite3.Connection | None = None
) -> dict[str, bool] | None:
    doc = store.collection(*ACCOUNT_COLLECTION).get(account_id, "", ACCOUNT_DOC, conn=conn)
    return None if doc is None else normalize(doc)


def effective(
    store: Store, bucket: Bucket, conn: sqlite3.Connection | None = None
) -> dict[str, bool]:
    """Each setting ON when the bucket or the bucket owner's account turns it on."""
    own = bucket_setting(bucket) or {}
    account = account_setting(store, bucket.account_id, conn) or {}
    return {name: bool(own.get(name) or account.get(name)) for name in FIELDS}
