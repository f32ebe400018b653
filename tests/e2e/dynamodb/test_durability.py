"""DynamoDB durability: acknowledged writes (items, index entries, tables) survive kill -9."""

from __future__ import annotations

from overcast.testing import ServerProcess


def test_items_and_indexes_survive_kill_9(disk_server: ServerProcess) -> None:
    ddb = disk_server.client("dynamodb")
    ddb.create_table(
        TableName="durable",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(20):
        ddb.put_item(
            TableName="durable",
            Item={
                "pk": {"S": "p"},
                "sk": {"N": str(n)},
                "g": {"S": f"g{n % 2}"},
                "b": {"B": b"\x00"},
            },
        )
    ddb.delete_item(TableName="durable", Key={"pk": {"S": "p"}, "sk": {"N": "0"}})
    ddb.update_table(
        TableName="durable",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    disk_server.kill()
    disk_server.start()
    ddb = disk_server.client("dynamodb")
    items = ddb.query(
        TableName="durable",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
    )["Items"]
    assert [i["sk"]["N"] for i in items] == [str(n) for n in range(1, 20)]
    assert items[0]["b"] == {"B": b"\x00"}
    odd = ddb.query(
        TableName="durable",
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "g1"}},
    )
    assert odd["Count"] == 10
    table = ddb.describe_table(TableName="durable")["Table"]
    assert table["ItemCount"] == 19
    assert table["StreamSpecification"]["StreamEnabled"] is True
