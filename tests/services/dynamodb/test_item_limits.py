"""DynamoDB item writes in-process: the LSI item-collection limit (10 GB, lowered here) and the
rollback of a refused write."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from overcast.gateway.app import create_app
from overcast.services.dynamodb import items
from overcast.services.dynamodb.errors import ItemCollectionSizeLimitExceededException
from overcast.services.dynamodb.provider import DynamoDBProvider
from overcast.settings import Settings


@pytest.fixture
def provider() -> Iterator[DynamoDBProvider]:
    env = create_app(Settings(data_dir=None)).env
    yield DynamoDBProvider(env)
    env.store.close()


CTX: Any = SimpleNamespace(account_id="000000000000", region="us-east-1", partition="aws")


def test_lsi_collection_limit_refuses_and_rolls_back(
    provider: DynamoDBProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider.create_table(
        CTX,
        {
            "TableName": "lsi-limit",
            "KeySchema": [
                {"AttributeName": "p", "KeyType": "HASH"},
                {"AttributeName": "s", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": [
                {"AttributeName": "p", "AttributeType": "S"},
                {"AttributeName": "s", "AttributeType": "N"},
                {"AttributeName": "x", "AttributeType": "S"},
            ],
            "LocalSecondaryIndexes": [
                {
                    "IndexName": "by-x",
                    "KeySchema": [
                        {"AttributeName": "p", "KeyType": "HASH"},
                        {"AttributeName": "x", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )
    monkeypatch.setattr(items, "LSI_COLLECTION_LIMIT", 3000)
    blob = {"S": "d" * 600}
    for n in range(2):  # each item counts twice: the table and its LSI entry
        provider.put_item(
            CTX,
            {
                "TableName": "lsi-limit",
                "Item": {"p": {"S": "a"}, "s": {"N": str(n)}, "x": {"S": "x"}, "d": blob},
            },
        )
    with pytest.raises(ItemCollectionSizeLimitExceededException):
        provider.put_item(
            CTX,
            {
                "TableName": "lsi-limit",
                "Item": {"p": {"S": "a"}, "s": {"N": "9"}, "x": {"S": "x"}, "d": blob},
            },
        )
    got = provider.get_item(
        CTX, {"TableName": "lsi-limit", "Key": {"p": {"S": "a"}, "s": {"N": "9"}}}
    )
    assert "Item" not in got  # the refused write left nothing behind
    # Another partition has its own collection.
    provider.put_item(
        CTX,
        {
            "TableName": "lsi-limit",
            "Item": {"p": {"S": "b"}, "s": {"N": "9"}, "x": {"S": "x"}, "d": blob},
        },
    )
    # Shrinking an item in a full collection is allowed.
    provider.put_item(
        CTX,
        {"TableName": "lsi-limit", "Item": {"p": {"S": "a"}, "s": {"N": "1"}, "x": {"S": "x"}}},
    )


def test_transaction_cancelled_by_collection_limit(
    provider: DynamoDBProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from overcast.services.dynamodb.errors import TransactionCanceledException

    test_lsi_collection_limit_refuses_and_rolls_back(provider, monkeypatch)
    big = {"S": "d" * 2000}
    with pytest.raises(TransactionCanceledException) as exc:
        provider.transact_write_items(
            CTX,
            {
                "TransactItems": [
                    {"Put": {"TableName": "lsi-limit", "Item": {"p": {"S": "c"}, "s": {"N": "1"}}}},
                    {
                        "Put": {
                            "TableName": "lsi-limit",
                            "Item": {"p": {"S": "a"}, "s": {"N": "7"}, "x": {"S": "y"}, "d": big},
                        }
                    },
                ]
            },
        )
    reasons = exc.value.fields["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ItemCollectionSizeLimitExceeded"]
    got = provider.get_item(
        CTX, {"TableName": "lsi-limit", "Key": {"p": {"S": "c"}, "s": {"N": "1"}}}
    )
    assert "Item" not in got  # the first put was rolled back with the second
