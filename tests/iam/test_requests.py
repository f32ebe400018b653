"""From API requests to IAM actions, resource ARNs and condition keys (``overcast.iam.requests``),
per the Service Authorization Reference and the services' permission tables."""

from __future__ import annotations

from typing import Any

import pytest

from overcast.iam.reference import action_name, condition_keys, known_action
from overcast.iam.requests import Check, Target, checks, partiql_target

T = Target(
    account="111122223333", region="eu-west-1", caller_arn="arn:aws:iam::111122223333:user/al"
)


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("s3", "ListObjectsV2", "s3:ListBucket"),
        ("s3", "ListObjects", "s3:ListBucket"),
        ("s3", "HeadObject", "s3:GetObject"),
        ("s3", "HeadBucket", "s3:ListBucket"),
        ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3", "CreateMultipartUpload", "s3:PutObject"),
        ("s3", "DeleteObjects", "s3:DeleteObject"),
        ("s3", "PutBucketPolicy", "s3:PutBucketPolicy"),
        ("s3", "DeleteBucketCors", "s3:PutBucketCORS"),
        ("s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
        ("sqs", "SendMessageBatch", "sqs:SendMessage"),
        ("sqs", "ReceiveMessage", "sqs:ReceiveMessage"),
        ("sns", "PublishBatch", "sns:Publish"),
        ("dynamodb", "PutItem", "dynamodb:PutItem"),
        ("dynamodbstreams", "GetRecords", "dynamodb:GetRecords"),
        ("iam", "CreateUser", "iam:CreateUser"),
        ("sts", "AssumeRole", "sts:AssumeRole"),
        ("lambda", "Invoke", "lambda:InvokeFunction"),
    ],
)
def test_action_names(service: str, operation: str, action: str) -> None:
    assert action_name(service, operation) == action
    assert known_action(action)


def test_condition_keys_come_from_the_reference() -> None:
    assert "s3:prefix" in condition_keys("s3:ListBucket")
    assert "dynamodb:LeadingKeys" in condition_keys("dynamodb:GetItem")


def one(service: str, operation: str, params: dict[str, Any]) -> Check:
    found = checks(service, operation, params, T)
    assert len(found) == 1
    return found[0]


def test_s3_resources_and_keys() -> None:
    check = one("s3", "GetObject", {"Bucket": "b", "Key": "a/b.txt"})
    assert (check.action, check.resource) == ("s3:GetObject", "arn:aws:s3:::b/a/b.txt")
    versioned = one("s3", "GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"})
    assert versioned.action == "s3:GetObjectVersion"
    listing = one("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "home/", "MaxKeys": 10})
    assert listing.resource == "arn:aws:s3:::b"
    assert listing.context["s3:prefix"] == "home/"
    assert listing.context["s3:max-keys"] == "10"
    put = one("s3", "PutObject", {"Bucket": "b", "Key": "k", "ACL": "public-read"})
    assert put.context["s3:x-amz-acl"] == "public-read"
    assert one("s3", "ListBuckets", {}).resource == "*"


def test_s3_copy_checks_the_source_too() -> None:
    found = checks("s3", "CopyObject", {"Bucket": "dst", "Key": "k", "CopySource": "src/a%20b"}, T)
    assert [(c.action, c.resource) for c in found] == [
        ("s3:PutObject", "arn:aws:s3:::dst/k"),
        ("s3:GetObject", "arn:aws:s3:::src/a b"),
    ]


def test_s3_delete_objects_checks_every_key() -> None:
    params = {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y"}]}}
    assert [c.resource for c in checks("s3", "DeleteObjects", params, T)] == [
        "arn:aws:s3:::b/x",
        "arn:aws:s3:::b/y",
    ]


def test_sqs_queue_url_becomes_the_queue_arn() -> None:
    check = one("sqs", "SendMessage", {"QueueUrl": "http://localhost:4566/222233334444/jobs"})
    assert check.resource == "arn:aws:sqs:eu-west-1:222233334444:jobs"
    created = one("sqs", "CreateQueue", {"QueueName": "new", "tags": {"env": "dev"}})
    assert created.resource == "arn:aws:sqs:eu-west-1:111122223333:new"
    assert created.context["aws:RequestTag/env"] == "dev"
    assert created.context["aws:TagKeys"] == ["env"]


def test_sns_subscription_permissions_are_the_topics() -> None:
    topic = "arn:aws:sns:eu-west-1:111122223333:t"
    assert one("sns", "Unsubscribe", {"SubscriptionArn": f"{topic}:abc"}).resource == topic
    subscribe = one("sns", "Subscribe", {"TopicArn": topic, "Protocol": "sqs", "Endpoint": "e"})
    assert subscribe.context == {"sns:Protocol": "sqs", "sns:Endpoint": "e"}


def test_dynamodb_tables_indexes_and_transactions() -> None:
    table = "arn:aws:dynamodb:eu-west-1:111122223333:table/T"
    assert one("dynamodb", "GetItem", {"TableName": "T", "Key": {}}).resource == table
    query = one("dynamodb", "Query", {"TableName": "T", "IndexName": "byDate"})
    assert query.resource == f"{table}/index/byDate"
    items = {"TransactItems": [{"Put": {"TableName": "T"}}, {"Delete": {"TableName": "U"}}]}
    found = checks("dynamodb", "TransactWriteItems", items, T)
    assert [c.action for c in found] == ["dynamodb:PutItem", "dynamodb:DeleteItem"]
    batch = checks("dynamodb", "BatchWriteItem", {"RequestItems": {"T": [], "U": []}}, T)
    assert [c.resource.rsplit("/", 1)[-1] for c in batch] == ["T", "U"]
    partiql = one("dynamodb", "ExecuteStatement", {"Statement": 'SELECT * FROM "T" WHERE a=1'})
    assert (partiql.action, partiql.resource) == ("dynamodb:PartiQLSelect", table)


def test_iam_and_sts_resources() -> None:
    user = one("iam", "CreateUser", {"UserName": "bob", "Path": "/ops/"})
    assert user.resource == "arn:aws:iam::111122223333:user/ops/bob"
    own = one("iam", "CreateAccessKey", {})
    assert own.resource == "arn:aws:iam::111122223333:user/al"
    role = "arn:aws:iam::222233334444:role/r"
    assume = one("sts", "AssumeRole", {"RoleArn": role, "RoleSessionName": "s", "ExternalId": "x"})
    assert (assume.resource, assume.context["sts:ExternalId"]) == (role, "x")
    assert checks("sts", "GetCallerIdentity", {}, T) == []


def test_bucket_tagging_and_untag_operations_carry_tag_keys() -> None:
    tagging = {"TagSet": [{"Key": "team", "Value": "blue"}, {"Key": "cost", "Value": "1"}]}
    put = one("s3", "PutBucketTagging", {"Bucket": "b", "Tagging": tagging})
    assert put.resource == "arn:aws:s3:::b"
    assert put.context["aws:RequestTag/team"] == "blue"
    assert put.context["aws:TagKeys"] == ["team", "cost"]
    untag = one("sqs", "UntagQueue", {"QueueUrl": "http://h/111122223333/q", "TagKeys": ["a"]})
    assert untag.context == {"aws:TagKeys": ["a"]}
    assert "aws:RequestTag/a" not in untag.context
    # PutObject's Tagging header is object tags (s3:RequestObjectTag), not request tags.
    obj = one("s3", "PutObject", {"Bucket": "b", "Key": "k", "Tagging": "a=1"})
    assert obj.context["s3:RequestObjectTag/a"] == "1"
    assert "aws:TagKeys" not in obj.context
    tags = one("s3", "PutObjectTagging", {"Bucket": "b", "Key": "k", "Tagging": tagging})
    assert tags.context["s3:RequestObjectTagKeys"] == ["team", "cost"]
    assert "aws:TagKeys" not in tags.context


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ('SELECT * FROM "t" WHERE pk = ?', ("Select", "t")),
        ("INSERT INTO \"t\" VALUE {'pk': 'a'}", ("Insert", "t")),
        ('UPDATE "t.index" SET a = 1 WHERE pk = 1', ("Update", "t")),
        ('DELETE FROM "t" WHERE pk = 1', ("Delete", "t")),
        ("SELECT * FROM t", None),
    ],
)
def test_partiql_target(statement: str, expected: tuple[str, str] | None) -> None:
    assert partiql_target(statement) == expected


def test_dynamodb_batches_are_checked_item_by_item() -> None:
    items = {
        "T": [
            {"PutRequest": {"Item": {"k": {"S": "a"}}}},
            {"DeleteRequest": {"Key": {"k": {"S": "b"}}}},
        ],
        "U": [{"PutRequest": {"Item": {"k": {"S": "c"}}}}],
    }
    found = checks("dynamodb", "BatchWriteItem", {"RequestItems": items}, T)
    assert [c.resource.rsplit("/", 1)[-1] for c in found] == ["T", "T", "U"]
    assert {c.action for c in found} == {"dynamodb:BatchWriteItem"}
    keys = {"T": {"Keys": [{"k": {"S": "a"}}, {"k": {"S": "b"}}]}}
    assert len(checks("dynamodb", "BatchGetItem", {"RequestItems": keys}, T)) == 2
