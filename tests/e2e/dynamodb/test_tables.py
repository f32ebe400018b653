"""DynamoDB tables through boto3: create/describe/update/delete/list, validation, tags."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


def _name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _create(ddb: Any, name: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    params.update(extra)
    return ddb.create_table(**params)["TableDescription"]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_describe_waiters_and_delete(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    desc = _create(ddb, name, Tags=[{"Key": "team", "Value": "core"}])
    assert desc["TableStatus"] == "CREATING"
    assert desc["TableArn"].endswith(f":table/{name}")
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["ItemCount"] == 0 and table["TableSizeBytes"] == 0
    assert table["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    summary = table["BillingModeSummary"]
    assert summary["LastUpdateToPayPerRequestDateTime"] == table["CreationDateTime"]
    assert "SSEDescription" not in table and "StreamSpecification" not in table
    assert "TableClassSummary" not in table  # never set: not described
    assert table["ProvisionedThroughput"] == {
        "NumberOfDecreasesToday": 0,
        "ReadCapacityUnits": 0,
        "WriteCapacityUnits": 0,
    }
    # The ARN works wherever a table name does.
    assert ddb.describe_table(TableName=table["TableArn"])["Table"]["TableName"] == name
    tags = ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "core"}]
    with pytest.raises(ClientError) as exc:
        _create(ddb, name)
    assert _error(exc) == ("ResourceInUseException", f"Table already exists: {name}")
    deleted = ddb.delete_table(TableName=name)["TableDescription"]
    assert deleted["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=name)
    assert _error(exc) == (
        "ResourceNotFoundException",
        f"Requested resource not found: Table: {name} not found",
    )


def test_provisioned_billing_and_update(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    desc = _create(
        ddb,
        name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
    )
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    with pytest.raises(ClientError) as exc:
        ddb.update_table(
            TableName=name,
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
        )
    assert "will not change" in _error(exc)[1]
    out = ddb.update_table(
        TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 3}
    )["TableDescription"]
    assert out["TableStatus"] == "UPDATING"
    assert out["ProvisionedThroughput"]["ReadCapacityUnits"] == 10
    assert "LastIncreaseDateTime" in out["ProvisionedThroughput"]
    ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "LastUpdateToPayPerRequestDateTime" in table["BillingModeSummary"]
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name)
    assert _error(exc)[0] == "ValidationException"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"BillingMode": "PROVISIONED"},
            "No provisioned throughput specified for the table",
        ),
        (
            {"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor "
            "WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
        ),
        (
            # Fewer definitions than keys on a table without indexes: AWS's short wording
            # (recorded by dynalite and by the 2026 conformance captures).
            {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]},
            "Invalid KeySchema: Some index key attribute have no definition",
        ),
        (
            {
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                    {"AttributeName": "extra", "AttributeType": "S"},
                ]
            },
            "One or more parameter values were invalid: Number of attributes in KeySchema does "
            "not exactly match number of attributes defined in AttributeDefinitions",
        ),
        (
            {
                "KeySchema": [
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                    {"AttributeName": "pk", "KeyType": "HASH"},
                ]
            },
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            {"TableName": "bad name!"},
            "1 validation error detected: Value 'bad name!' at 'tableName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ),
    ],
)
def test_create_table_validation(client: Client, params: dict[str, Any], message: str) -> None:
    ddb = client("dynamodb")
    if params.get("BillingMode") == "PROVISIONED":
        params = {**params}
    with pytest.raises(ClientError) as exc:
        _create(ddb, params.pop("TableName", _name()), **params)
    assert _error(exc) == ("ValidationException", message)


def test_local_index_needs_range_key(client: Client) -> None:
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=_name(),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "x", "AttributeType": "S"},
            ],
            LocalSecondaryIndexes=[
                {
                    "IndexName": "lsi",
                    "KeySchema": [
                        {"AttributeName": "pk", "KeyType": "HASH"},
                        {"AttributeName": "x", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    assert "does not have a range key" in _error(exc)[1]


def test_list_tables_paginates(client: Client) -> None:
    ddb = client("dynamodb", region="eu-west-3")
    names = sorted(_name("list") for _ in range(5))
    for name in names:
        _create(ddb, name)
    first = ddb.list_tables(Limit=2)
    assert len(first["TableNames"]) == 2
    assert first["LastEvaluatedTableName"] == first["TableNames"][-1]
    seen = [n for page in ddb.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    assert [n for n in seen if n in names] == names
    # Other regions do not see them.
    other = client("dynamodb", region="eu-west-2").list_tables()["TableNames"]
    assert not set(names) & set(other)


def test_deletion_protection(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    _create(ddb, name, DeletionProtectionEnabled=True)
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    assert _error(exc)[0] == "ValidationException"
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)


def test_tags(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    arn = _create(ddb, name)["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as exc:
        ddb.list_tags_of_resource(ResourceArn=arn + "-missing")
    assert _error(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.tag_resource(ResourceArn="not-an-arn", Tags=[{"Key": "a", "Value": "b"}])
    assert _error(exc) == ("ValidationException", "ARNs must start with 'arn:': not-an-arn")
    with pytest.raises(ClientError) as exc:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "ok", "Value": "#!%^"}])
    assert _error(exc)[0] == "ValidationException"
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "ключ ѮѮ", "Value": "a+b=c@d/e:f"}])
    with pytest.raises(ClientError) as exc:
        ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert _error(exc)[0] == "ValidationException"  # 52 tags in all


def test_table_class_stream_and_limits(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    desc = _create(
        ddb,
        name,
        TableClass="STANDARD_INFREQUENT_ACCESS",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    assert desc["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert desc["LatestStreamArn"] == f"{desc['TableArn']}/stream/{desc['LatestStreamLabel']}"
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    limits = ddb.describe_limits()
    assert limits["TableMaxReadCapacityUnits"] == 40000
    assert ddb.describe_endpoints()["Endpoints"][0]["CachePeriodInMinutes"] == 1440


def test_recreate_after_delete_starts_empty(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    _create(ddb, name)
    for n in range(30):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(n)}})
    ddb.delete_table(TableName=name)
    _create(ddb, name)
    assert ddb.scan(TableName=name)["Count"] == 0
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 0


def test_switch_to_provisioned_with_gsi_capacity(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    _create(
        ddb,
        name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    capacity = {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
    with pytest.raises(ClientError) as exc:
        ddb.update_table(TableName=name, BillingMode="PROVISIONED", ProvisionedThroughput=capacity)
    assert "ProvisionedThroughput must be specified for index: by-g" in _error(exc)[1]
    ddb.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=capacity,
        GlobalSecondaryIndexUpdates=[
            {"Update": {"IndexName": "by-g", "ProvisionedThroughput": capacity}}
        ],
    )
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    gsi = table["GlobalSecondaryIndexes"][0]
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"dynamodb:GetItem",'
    '"Resource":"*"}]}'
)


def test_resource_policies(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    arn = _create(ddb, name, ResourcePolicy=POLICY)["TableArn"]
    got = ddb.get_resource_policy(ResourceArn=arn)
    assert got["Policy"] == POLICY
    revision = ddb.put_resource_policy(
        ResourceArn=arn, Policy=POLICY, ExpectedRevisionId=got["RevisionId"]
    )["RevisionId"]
    with pytest.raises(ClientError) as exc:
        ddb.put_resource_policy(ResourceArn=arn, Policy=POLICY, ExpectedRevisionId="1")
    assert _error(exc)[0] == "PolicyNotFoundException"
    assert ddb.delete_resource_policy(ResourceArn=arn)["RevisionId"] == revision
    with pytest.raises(ClientError) as exc:
        ddb.get_resource_policy(ResourceArn=arn)
    assert _error(exc)[0] == "PolicyNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.put_resource_policy(ResourceArn=arn, Policy="not json")
    assert _error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.get_resource_policy(ResourceArn=arn + "-gone")
    assert _error(exc)[0] == "ResourceNotFoundException"


def test_contributor_insights(client: Client) -> None:
    ddb = client("dynamodb", region="ap-south-1")
    name = _name()
    _create(ddb, name)
    assert ddb.describe_contributor_insights(TableName=name)["ContributorInsightsStatus"] == (
        "DISABLED"
    )
    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    assert out["ContributorInsightsStatus"] == "ENABLING"
    desc = ddb.describe_contributor_insights(TableName=name)
    assert desc["ContributorInsightsStatus"] == "ENABLED"
    assert len(desc["ContributorInsightsRuleList"]) == 4  # PK and SK, accessed and throttled
    listed = ddb.list_contributor_insights()["ContributorInsightsSummaries"]
    assert {"TableName": name, "ContributorInsightsStatus": "ENABLED"}.items() <= listed[0].items()
    ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="DISABLE")
    assert ddb.list_contributor_insights(TableName=name)["ContributorInsightsSummaries"] == []


def test_explicit_standard_table_class_is_described(client: Client) -> None:
    ddb = client("dynamodb")
    name = _name()
    desc = _create(ddb, name, TableClass="STANDARD")
    assert desc["TableClassSummary"] == {"TableClass": "STANDARD"}
    ddb.update_table(TableName=name, TableClass="STANDARD_INFREQUENT_ACCESS")
    summary = ddb.describe_table(TableName=name)["Table"]["TableClassSummary"]
    assert summary["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert "LastUpdateDateTime" in summary
