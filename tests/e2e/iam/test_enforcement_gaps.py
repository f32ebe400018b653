"""Enforcement gaps closed (issue #7), end to end through boto3: resource tags of buckets,
queues and topics; request tags on create and tag operations; ``dynamodb:LeadingKeys`` per
item of transactions and PartiQL statements; deleted access keys refused, not mistaken for
unknown keys."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.iam.conftest import advance
from tests.iam.helpers import allow, error_code, from_sts, new_role, new_user, unique

ONCE = Config(retries={"max_attempts": 1})
BLUE = {"StringEquals": {"aws:ResourceTag/team": "blue"}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("iam-gaps") / "overcast.log"
    with ServerProcess(log_file=log) as server:
        yield server


def denied(call: Callable[[], Any]) -> bool:
    """Whether ``call`` is refused by IAM (any other outcome is not a denial)."""
    try:
        call()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("AccessDenied", "AccessDeniedException", "AuthorizationError"):
            return True
        raise
    return False


# --- aws:ResourceTag ------------------------------------------------------------------------


def test_bucket_tags(server: ServerProcess) -> None:
    s3_root = server.client("s3")
    buckets = {}
    for team in ("blue", "red"):
        buckets[team] = unique(f"{team}-bkt")
        s3_root.create_bucket(Bucket=buckets[team])
        s3_root.put_bucket_tagging(
            Bucket=buckets[team], Tagging={"TagSet": [{"Key": "team", "Value": team}]}
        )
    untagged = unique("plain-bkt")
    s3_root.create_bucket(Bucket=untagged)
    _, creds = new_user(server, allow("s3:ListBucket", Condition=BLUE))
    s3 = server.client("s3", **creds)
    assert not denied(lambda: s3.list_objects_v2(Bucket=buckets["blue"]))
    assert denied(lambda: s3.list_objects_v2(Bucket=buckets["red"]))
    assert denied(lambda: s3.list_objects_v2(Bucket=untagged))
    # A retag applies to the next request.
    s3_root.put_bucket_tagging(
        Bucket=buckets["red"], Tagging={"TagSet": [{"Key": "team", "Value": "blue"}]}
    )
    assert not denied(lambda: s3.list_objects_v2(Bucket=buckets["red"]))


def test_bucket_policy_reading_the_buckets_tags(server: ServerProcess) -> None:
    s3_root = server.client("s3")
    _, creds = new_user(server, allow("s3:ListBucket"))
    s3 = server.client("s3", **creds)
    names = {}
    for locked in ("true", "false"):
        names[locked] = unique("lock-bkt")
        s3_root.create_bucket(Bucket=names[locked])
        s3_root.put_bucket_tagging(
            Bucket=names[locked], Tagging={"TagSet": [{"Key": "locked", "Value": locked}]}
        )
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{names[locked]}",
            "Condition": {"StringEquals": {"aws:ResourceTag/locked": "true"}},
        }
        s3_root.put_bucket_policy(
            Bucket=names[locked],
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
    assert denied(lambda: s3.list_objects_v2(Bucket=names["true"]))
    assert not denied(lambda: s3.list_objects_v2(Bucket=names["false"]))


def test_queue_tags(server: ServerProcess) -> None:
    sqs_root = server.client("sqs")
    blue = sqs_root.create_queue(QueueName=unique("blue-q"), tags={"team": "blue"})["QueueUrl"]
    red = sqs_root.create_queue(QueueName=unique("red-q"), tags={"team": "red"})["QueueUrl"]
    _, creds = new_user(server, allow("sqs:SendMessage", Condition=BLUE))
    sqs = server.client("sqs", config=ONCE, **creds)
    assert not denied(lambda: sqs.send_message(QueueUrl=blue, MessageBody="hi"))
    assert denied(lambda: sqs.send_message(QueueUrl=red, MessageBody="hi"))
    sqs_root.tag_queue(QueueUrl=red, Tags={"team": "blue"})
    assert not denied(lambda: sqs.send_message(QueueUrl=red, MessageBody="hi"))


def test_queue_policy_reading_the_queues_tags(server: ServerProcess) -> None:
    # The identity policy never mentions the key: the queue policy's mention is enough.
    sqs_root = server.client("sqs")
    _, creds = new_user(server, allow("sqs:SendMessage"))
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:SendMessage",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/locked": "true"}},
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    urls = {
        locked: sqs_root.create_queue(
            QueueName=unique("q"), tags={"locked": locked}, Attributes={"Policy": policy}
        )["QueueUrl"]
        for locked in ("true", "false")
    }
    sqs = server.client("sqs", config=ONCE, **creds)
    assert denied(lambda: sqs.send_message(QueueUrl=urls["true"], MessageBody="m"))
    assert not denied(lambda: sqs.send_message(QueueUrl=urls["false"], MessageBody="m"))


def test_topic_tags(server: ServerProcess) -> None:
    sns_root = server.client("sns")
    arns = {
        team: sns_root.create_topic(
            Name=unique(f"{team}-t"), Tags=[{"Key": "team", "Value": team}]
        )["TopicArn"]
        for team in ("blue", "red")
    }
    _, creds = new_user(server, allow("sns:Publish", Condition=BLUE))
    sns = server.client("sns", config=ONCE, **creds)
    assert not denied(lambda: sns.publish(TopicArn=arns["blue"], Message="m"))
    assert denied(lambda: sns.publish(TopicArn=arns["red"], Message="m"))


def test_role_session_reads_resource_tags_too(server: ServerProcess) -> None:
    sqs_root = server.client("sqs")
    blue = sqs_root.create_queue(QueueName=unique("blue-q"), tags={"team": "blue"})["QueueUrl"]
    red = sqs_root.create_queue(QueueName=unique("red-q"), tags={"team": "red"})["QueueUrl"]
    _, user = new_user(server, allow("sts:AssumeRole"))
    role = new_role(
        server,
        {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "sts:AssumeRole"},
        allow("sqs:GetQueueAttributes", Condition=BLUE),
    )
    session = server.client("sts", **user).assume_role(RoleArn=role, RoleSessionName="tagged")
    sqs = server.client("sqs", config=ONCE, **from_sts(session["Credentials"]))
    assert not denied(lambda: sqs.get_queue_attributes(QueueUrl=blue))
    assert denied(lambda: sqs.get_queue_attributes(QueueUrl=red))


# --- aws:RequestTag, aws:TagKeys --------------------------------------------------------------

ONLY_TEAM_BLUE = {
    "StringEquals": {"aws:RequestTag/team": "blue"},
    "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
}


def test_request_tags_on_create_and_tag_operations(server: ServerProcess) -> None:
    _, creds = new_user(
        server,
        allow(
            [
                "sqs:CreateQueue",
                "sqs:TagQueue",
                "sns:CreateTopic",
                "sns:TagResource",
                "s3:PutBucketTagging",
                "s3:CreateBucket",
                "dynamodb:CreateTable",
                "dynamodb:TagResource",
                "iam:CreateUser",
                "iam:TagUser",
                "iam:TagRole",
            ],
            Condition=ONLY_TEAM_BLUE,
        ),
        allow(["sqs:GetQueueUrl", "sns:ListTopics"]),
    )
    sqs = server.client("sqs", config=ONCE, **creds)
    sns = server.client("sns", config=ONCE, **creds)
    s3 = server.client("s3", **creds)
    ddb = server.client("dynamodb", config=ONCE, **creds)
    iam = server.client("iam", **creds)

    url = sqs.create_queue(QueueName=unique("q"), tags={"team": "blue"})["QueueUrl"]
    assert denied(lambda: sqs.create_queue(QueueName=unique("q"), tags={"team": "red"}))
    assert denied(lambda: sqs.create_queue(QueueName=unique("q")))  # no tag: no match
    assert denied(lambda: sqs.tag_queue(QueueUrl=url, Tags={"team": "blue", "cost": "1"}))
    sqs.tag_queue(QueueUrl=url, Tags={"team": "blue"})

    blue = [{"Key": "team", "Value": "blue"}]
    topic = sns.create_topic(Name=unique("t"), Tags=blue)["TopicArn"]
    assert denied(lambda: sns.create_topic(Name=unique("t"), Tags=[{"Key": "x", "Value": "1"}]))
    assert denied(
        lambda: sns.tag_resource(ResourceArn=topic, Tags=[{"Key": "team", "Value": "red"}])
    )
    sns.tag_resource(ResourceArn=topic, Tags=blue)

    bucket = unique("tagged-bkt")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"Tags": blue})
    assert server.client("s3").get_bucket_tagging(Bucket=bucket)["TagSet"] == blue
    assert denied(lambda: s3.create_bucket(Bucket=unique("untagged-bkt")))
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": blue})
    assert denied(
        lambda: s3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "red"}]}
        )
    )

    def table(tags: list[dict[str, str]]) -> None:
        ddb.create_table(
            TableName=unique("tbl"),
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
        )

    table(blue)
    assert denied(lambda: table([{"Key": "team", "Value": "red"}]))

    iam.create_user(UserName=unique("u"), Tags=blue)
    assert denied(lambda: iam.create_user(UserName=unique("u")))
    assert denied(
        lambda: iam.create_user(UserName=unique("u"), Tags=[*blue, {"Key": "a", "Value": "b"}])
    )


def test_untag_checks_the_tag_keys(server: ServerProcess) -> None:
    sqs_root = server.client("sqs")
    url = sqs_root.create_queue(QueueName=unique("q"), tags={"team": "blue", "cost": "1"})[
        "QueueUrl"
    ]
    only_cost = {"ForAllValues:StringEquals": {"aws:TagKeys": ["cost"]}}
    _, creds = new_user(server, allow("sqs:UntagQueue", Condition=only_cost))
    sqs = server.client("sqs", config=ONCE, **creds)
    assert denied(lambda: sqs.untag_queue(QueueUrl=url, TagKeys=["team"]))
    sqs.untag_queue(QueueUrl=url, TagKeys=["cost"])
    assert sqs_root.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "blue"}


# --- dynamodb:LeadingKeys per item ----------------------------------------------------------

OWN_ITEMS = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}


@pytest.fixture
def owned_table(server: ServerProcess) -> str:
    name = unique("own-tbl")
    server.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "owner", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "owner", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_leading_keys_per_transaction_item(server: ServerProcess, owned_table: str) -> None:
    name, creds = new_user(
        server, allow(["dynamodb:PutItem", "dynamodb:GetItem"], Condition=OWN_ITEMS)
    )
    ddb = server.client("dynamodb", config=ONCE, **creds)

    def put(*owners: str) -> Callable[[], Any]:
        items = [{"Put": {"TableName": owned_table, "Item": {"owner": {"S": o}}}} for o in owners]
        return lambda: ddb.transact_write_items(TransactItems=items)

    def get(*owners: str) -> Callable[[], Any]:
        items = [{"Get": {"TableName": owned_table, "Key": {"owner": {"S": o}}}} for o in owners]
        return lambda: ddb.transact_get_items(TransactItems=items)

    assert not denied(put(name))
    assert denied(put(name, "someone-else"))
    assert denied(put("someone-else"))
    assert not denied(get(name))
    assert denied(get(name, "someone-else"))
    # An action the policy does not grant (DeleteItem) is denied whatever the key.
    delete = [{"Delete": {"TableName": owned_table, "Key": {"owner": {"S": name}}}}]
    assert denied(lambda: ddb.transact_write_items(TransactItems=delete))


def test_leading_keys_per_batch_item(server: ServerProcess, owned_table: str) -> None:
    # A single-valued operator: each item is its own check, with its own one key.
    mine = {"StringEquals": {"dynamodb:LeadingKeys": "${aws:username}"}}
    name, creds = new_user(
        server, allow(["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"], Condition=mine)
    )
    ddb = server.client("dynamodb", config=ONCE, **creds)

    def write(*owners: str) -> Callable[[], Any]:
        items = [{"PutRequest": {"Item": {"owner": {"S": o}}}} for o in owners]
        return lambda: ddb.batch_write_item(RequestItems={owned_table: items})

    def read(*owners: str) -> Callable[[], Any]:
        keys = [{"owner": {"S": o}} for o in owners]
        return lambda: ddb.batch_get_item(RequestItems={owned_table: {"Keys": keys}})

    assert not denied(write(name))
    assert denied(write(name, "someone-else"))
    assert not denied(read(name))
    assert denied(read("someone-else", name))


def test_leading_keys_per_partiql_statement(server: ServerProcess, owned_table: str) -> None:
    name, creds = new_user(
        server,
        allow(["dynamodb:PartiQLSelect", "dynamodb:PartiQLInsert"], Condition=OWN_ITEMS),
    )
    ddb = server.client("dynamodb", config=ONCE, **creds)

    def select(owner: str, literal: bool = False) -> Callable[[], Any]:
        if literal:
            return lambda: ddb.execute_statement(
                Statement=f"SELECT * FROM \"{owned_table}\" WHERE owner = '{owner}'"
            )
        return lambda: ddb.execute_statement(
            Statement=f'SELECT * FROM "{owned_table}" WHERE "owner" = ?',
            Parameters=[{"S": owner}],
        )

    assert not denied(select(name))
    assert denied(select("someone-else"))
    assert not denied(select(name, literal=True))
    assert denied(select("someone-else", literal=True))
    either = f'SELECT * FROM "{owned_table}" WHERE owner = ? OR owner = ?'
    two = [{"S": name}, {"S": "someone-else"}]
    assert denied(lambda: ddb.execute_statement(Statement=either, Parameters=two))
    among = f"SELECT * FROM \"{owned_table}\" WHERE owner IN [?, 'someone-else']"
    assert denied(lambda: ddb.execute_statement(Statement=among, Parameters=[{"S": name}]))
    among = f'SELECT * FROM "{owned_table}" WHERE owner IN [?]'
    assert not denied(lambda: ddb.execute_statement(Statement=among, Parameters=[{"S": name}]))
    insert = f"INSERT INTO \"{owned_table}\" VALUE {{'owner': ?, 'n': 1}}"
    assert not denied(lambda: ddb.execute_statement(Statement=insert, Parameters=[{"S": name}]))
    assert denied(lambda: ddb.execute_statement(Statement=insert, Parameters=[{"S": "other"}]))
    batch = [
        {"Statement": f'SELECT * FROM "{owned_table}" WHERE "owner" = ?', "Parameters": [{"S": o}]}
        for o in (name, "someone-else")
    ]
    assert denied(lambda: ddb.batch_execute_statement(Statements=batch))
    assert not denied(lambda: ddb.batch_execute_statement(Statements=batch[:1]))


# --- revoked keys ---------------------------------------------------------------------------


def test_deleted_access_key_is_refused_not_mapped_to_root(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("sqs:ListQueues"))
    server.client("sts", **creds).get_caller_identity()
    server.client("iam").delete_access_key(UserName=name, AccessKeyId=creds["aws_access_key_id"])
    with pytest.raises(ClientError) as exc:
        server.client("sts", **creds).get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as exc:
        server.client("dynamodb", config=ONCE, **creds).list_tables()
    assert error_code(exc) == "UnrecognizedClientException"  # the JSON protocols' name
    with pytest.raises(ClientError) as exc:
        server.client("s3", **creds).list_buckets()
    assert error_code(exc) == "InvalidAccessKeyId"
    info = server.client("sts").get_access_key_info(AccessKeyId=creds["aws_access_key_id"])
    assert info["Account"] == "000000000000"
    # Deleting the user (now keyless) keeps the key refused.
    server.client("iam").delete_user_policy(UserName=name, PolicyName="inline")
    server.client("iam").delete_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        server.client("sts", **creds).get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"


def test_deleted_key_stays_refused_after_a_restart(disk_server: ServerProcess) -> None:
    name, creds = new_user(disk_server, allow("*"))
    disk_server.client("iam").delete_access_key(
        UserName=name, AccessKeyId=creds["aws_access_key_id"]
    )
    disk_server.restart()
    with pytest.raises(ClientError) as exc:
        disk_server.client("sts", **creds).get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"


def test_long_expired_session_keys_answer_expired_token(tmp_path: Any) -> None:
    with ServerProcess(log_file=tmp_path / "overcast.log") as server:
        _, user = new_user(server, allow("sts:AssumeRole"))
        role = new_role(
            server,
            {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "sts:AssumeRole"},
            allow("*"),
        )
        sts = server.client("sts", **user)
        c = sts.assume_role(RoleArn=role, RoleSessionName="old", DurationSeconds=900)
        session = from_sts(c["Credentials"])
        advance(server, 2 * 86400)
        # Issuing (here to the root, whose requests carry no verified signature) sweeps the
        # credentials expired over a day ago down to their tombstone.
        server.client("sts").get_session_token()
        with pytest.raises(ClientError) as exc:
            server.client("sts", **session).get_caller_identity()
        assert error_code(exc) == "ExpiredToken"


# --- resource policies the engine cannot read -------------------------------------------------


def test_unreadable_queue_policy_denies_instead_of_being_dropped(server: ServerProcess) -> None:
    """SQS stores a Policy after a JSON check only; dropping one the engine cannot read would
    drop its Deny statements too, so it denies every IAM principal's request instead."""
    sqs_root = server.client("sqs")
    url = sqs_root.create_queue(QueueName=unique("odd-policy"))["QueueUrl"]
    _, creds = new_user(server, allow("sqs:*"))
    sqs = server.client("sqs", config=ONCE, **creds)
    assert not denied(lambda: sqs.send_message(QueueUrl=url, MessageBody="before"))
    odd = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny"}})
    sqs_root.set_queue_attributes(QueueUrl=url, Attributes={"Policy": odd})
    assert denied(lambda: sqs.send_message(QueueUrl=url, MessageBody="after"))
