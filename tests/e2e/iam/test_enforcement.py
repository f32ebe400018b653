"""Policy enforcement for IAM principals, end to end through boto3: allowed and denied calls on S3,
SQS, SNS, DynamoDB, IAM and EC2, with each service's own AccessDenied shape; resource policies
evaluated with identity policies; boundaries; policy variables and principal tags; the
decisions endpoint; root and unknown keys untouched."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.iam.helpers import (
    ACCOUNT,
    allow,
    deny,
    doc,
    error_code,
    error_message,
    new_user,
    own_server,
    unique,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from own_server(tmp_path_factory)


def decisions(server: ServerProcess, **query: str) -> list[dict[str, Any]]:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    with urllib.request.urlopen(f"{server.endpoint}/_overcast/iam/decisions?{q}") as response:
        return list(json.load(response)["decisions"])


@pytest.fixture
def bucket(server: ServerProcess) -> str:
    name = unique("bkt")
    s3 = server.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="public/a.txt", Body=b"a")
    s3.put_object(Bucket=name, Key="private/b.txt", Body=b"b")
    return name


def test_s3_user_is_allowed_what_its_policy_allows_and_nothing_else(
    server: ServerProcess, bucket: str
) -> None:
    _, creds = new_user(server, allow("s3:GetObject", f"arn:aws:s3:::{bucket}/public/*"))
    s3 = server.client("s3", **creds)
    assert s3.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"a"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="private/b.txt")
    assert error_code(exc) == "AccessDenied"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "because no identity-based policy allows the s3:GetObject action" in error_message(exc)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="public/new.txt", Body=b"x")
    assert error_code(exc) == "AccessDenied"


def test_s3_operations_check_their_documented_actions(server: ServerProcess, bucket: str) -> None:
    # ListObjectsV2 and HeadBucket need s3:ListBucket; HeadObject needs s3:GetObject.
    _, creds = new_user(
        server,
        allow("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
        allow("s3:GetObject", f"arn:aws:s3:::{bucket}/*"),
    )
    s3 = server.client("s3", **creds)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 2
    s3.head_bucket(Bucket=bucket)
    s3.head_object(Bucket=bucket, Key="public/a.txt")
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()  # s3:ListAllMyBuckets
    assert error_code(exc) == "AccessDenied"


def test_s3_prefix_condition(server: ServerProcess, bucket: str) -> None:
    _, creds = new_user(
        server,
        allow(
            "s3:ListBucket",
            f"arn:aws:s3:::{bucket}",
            Condition={"StringLike": {"s3:prefix": ["public/*"]}},
        ),
    )
    s3 = server.client("s3", **creds)
    assert s3.list_objects_v2(Bucket=bucket, Prefix="public/")["KeyCount"] == 1
    with pytest.raises(ClientError):
        s3.list_objects_v2(Bucket=bucket, Prefix="private/")


def test_explicit_deny_wins_over_allow(server: ServerProcess, bucket: str) -> None:
    _, creds = new_user(server, allow("s3:*"), deny("s3:DeleteObject"))
    s3 = server.client("s3", **creds)
    s3.put_object(Bucket=bucket, Key="public/c.txt", Body=b"c")
    with pytest.raises(ClientError) as exc:
        s3.delete_object(Bucket=bucket, Key="public/c.txt")
    assert "with an explicit deny in an identity-based policy" in error_message(exc) or (
        "explicit deny" in error_message(exc)
    )


def test_bucket_policy_naming_the_user_is_enough_in_the_same_account(
    server: ServerProcess, bucket: str
) -> None:
    name, creds = new_user(server)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    server.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    s3 = server.client("s3", **creds)
    assert s3.get_object(Bucket=bucket, Key="private/b.txt")["Body"].read() == b"b"
    with pytest.raises(ClientError):
        s3.list_objects_v2(Bucket=bucket)
    latest = decisions(server, principal=f"arn:aws:iam::{ACCOUNT}:user/{name}", limit="5")
    allowed = next(d for d in latest if d["action"] == "s3:GetObject")
    assert allowed["statement"]["kind"] == "resource-based policy"


def test_bucket_policy_delegating_to_the_account_still_needs_an_identity_policy(
    server: ServerProcess, bucket: str
) -> None:
    _, creds = new_user(server)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    server.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    with pytest.raises(ClientError):
        server.client("s3", **creds).get_object(Bucket=bucket, Key="private/b.txt")


def test_policy_variables_give_each_user_a_home(server: ServerProcess, bucket: str) -> None:
    statement = allow("s3:PutObject", f"arn:aws:s3:::{bucket}/home/${{aws:username}}/*")
    name, creds = new_user(server, statement)
    s3 = server.client("s3", **creds)
    s3.put_object(Bucket=bucket, Key=f"home/{name}/file", Body=b"mine")
    with pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="home/someone-else/file", Body=b"theirs")


def test_principal_tags_in_conditions(server: ServerProcess, bucket: str) -> None:
    statement = allow(
        "s3:GetObject",
        f"arn:aws:s3:::{bucket}/*",
        Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}},
    )
    _, blue = new_user(server, statement, tags={"team": "blue"})
    _, red = new_user(server, statement, tags={"team": "red"})
    server.client("s3", **blue).get_object(Bucket=bucket, Key="public/a.txt")
    with pytest.raises(ClientError):
        server.client("s3", **red).get_object(Bucket=bucket, Key="public/a.txt")


def test_permissions_boundary_limits_the_identity_policy(
    server: ServerProcess, bucket: str
) -> None:
    iam = server.client("iam")
    boundary = iam.create_policy(
        PolicyName=unique("boundary"), PolicyDocument=doc(allow("s3:GetObject"))
    )["Policy"]["Arn"]
    name, creds = new_user(server, allow("s3:*"))
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    s3 = server.client("s3", **creds)
    s3.get_object(Bucket=bucket, Key="public/a.txt")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="public/x", Body=b"x")
    assert "because no permissions boundary allows the s3:PutObject action" in error_message(exc)


def test_sqs(server: ServerProcess) -> None:
    url = server.client("sqs").create_queue(QueueName=unique("q"))["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"
    _, creds = new_user(server, allow("sqs:SendMessage", arn))
    sqs = server.client("sqs", **creds)
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    with pytest.raises(ClientError) as exc:
        sqs.receive_message(QueueUrl=url)
    assert error_code(exc) == "AccessDenied"
    assert f"sqs:ReceiveMessage on resource: {arn}" in error_message(exc)


def test_sqs_queue_policy_deny_applies_to_an_allowed_user(server: ServerProcess) -> None:
    sqs_root = server.client("sqs")
    url = sqs_root.create_queue(QueueName=unique("q"))["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{url.rsplit('/', 1)[-1]}"
    name, creds = new_user(server, allow("sqs:*"))
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }
        ],
    }
    sqs_root.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sqs = server.client("sqs", **creds)
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="no")
    assert "explicit deny in a resource-based policy" in error_message(exc)


def test_sns(server: ServerProcess) -> None:
    sns_root = server.client("sns")
    allowed = sns_root.create_topic(Name=unique("t"))["TopicArn"]
    other = sns_root.create_topic(Name=unique("t"))["TopicArn"]
    _, creds = new_user(server, allow("sns:Publish", allowed))
    sns = server.client("sns", **creds)
    sns.publish(TopicArn=allowed, Message="hi")
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=other, Message="hi")
    assert error_code(exc) == "AuthorizationError"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_dynamodb(server: ServerProcess) -> None:
    table = unique("tbl")
    ddb_root = server.client("dynamodb")
    ddb_root.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"
    name, creds = new_user(server, allow("dynamodb:PutItem", arn))
    ddb = server.client("dynamodb", config=Config(retries={"max_attempts": 1}), **creds)
    try:
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    except ClientError as error:  # DynamoDB's item operations are being built in parallel
        assert error.response["Error"]["Code"] != "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert error_code(exc) == "AccessDeniedException"
    assert error_message(exc) == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: "
        f"dynamodb:GetItem on resource: {arn} because no identity-based policy allows the "
        "dynamodb:GetItem action"
    )
    with pytest.raises(ClientError):
        ddb.create_table(
            TableName=unique("tbl"),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def test_iam_itself(server: ServerProcess) -> None:
    _, creds = new_user(server, allow("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/app-*"))
    iam = server.client("iam", **creds)
    iam.create_user(UserName=unique("app"))
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=unique("ops"))
    assert error_code(exc) == "AccessDenied"
    with pytest.raises(ClientError):
        iam.list_users()


def test_ec2_denial_is_encoded_and_decodable(server: ServerProcess) -> None:
    _, creds = new_user(server, allow("sts:DecodeAuthorizationMessage"))
    with pytest.raises(ClientError) as exc:
        server.client("ec2", **creds).describe_regions()
    assert error_code(exc) == "UnauthorizedOperation"
    encoded = error_message(exc).rsplit(": ", 1)[-1]
    decoded = server.client("sts", **creds).decode_authorization_message(EncodedMessage=encoded)
    message = json.loads(decoded["DecodedMessage"])
    assert message["allowed"] is False
    assert message["context"]["action"] == "ec2:DescribeRegions"
    with pytest.raises(ClientError) as exc:
        server.client("sts").decode_authorization_message(EncodedMessage="not-a-message")
    assert error_code(exc) == "InvalidAuthorizationMessageException"


def test_decisions_endpoint_explains_the_deciding_statement(
    server: ServerProcess, bucket: str
) -> None:
    name, creds = new_user(
        server, {**allow("s3:GetObject"), "Sid": "ReadAll"}, {**deny("s3:PutObject"), "Sid": "NoW"}
    )
    s3 = server.client("s3", **creds)
    s3.get_object(Bucket=bucket, Key="public/a.txt")
    with pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="x", Body=b"x")
    found = decisions(server, principal=f"arn:aws:iam::{ACCOUNT}:user/{name}", limit="10")
    assert [d["decision"] for d in found[:2]] == ["deny", "allow"]
    assert found[0]["statement"]["sid"] == "NoW"
    assert (
        found[0]["statement"]["policy"]
        == f"arn:aws:iam::{ACCOUNT}:user/{name} inline policy inline"
    )
    assert found[0]["resources"] == [f"arn:aws:s3:::{bucket}/x"]
    assert found[1]["statement"]["sid"] == "ReadAll"
    assert len(decisions(server, limit="1")) == 1


def test_root_and_unknown_keys_are_not_enforced(server: ServerProcess, bucket: str) -> None:
    unknown = {"aws_access_key_id": "AKIAUNKNOWNKEY000000", "aws_secret_access_key": "x"}
    anyone = server.client("s3", **unknown)
    anyone.put_object(Bucket=bucket, Key="root-write", Body=b"r")
    identity = server.client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_wrong_secret_and_inactive_keys(server: ServerProcess) -> None:
    name, creds = new_user(server, allow("*"))
    bad = {**creds, "aws_secret_access_key": "wrong" * 8}
    with pytest.raises(ClientError) as exc:
        server.client("sts", **bad).get_caller_identity()
    assert error_code(exc) == "SignatureDoesNotMatch"
    server.client("iam").update_access_key(
        UserName=name, AccessKeyId=creds["aws_access_key_id"], Status="Inactive"
    )
    with pytest.raises(ClientError) as exc:
        server.client("sts", **creds).get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as exc:
        server.client("s3", **creds).list_buckets()
    assert error_code(exc) == "InvalidAccessKeyId"


def test_audit_and_off_modes(tmp_path: Any) -> None:
    for mode, expect_denied in (("audit", False), ("off", False), ("enforce", True)):
        with ServerProcess(extra_args=["--iam-mode", mode], log_file=tmp_path / f"{mode}.log") as s:
            _, creds = new_user(s)
            sqs = s.client("sqs", **creds)
            if expect_denied:
                with pytest.raises(ClientError):
                    sqs.list_queues()
                continue
            sqs.list_queues()
            found = decisions(s)
            if mode == "audit":
                assert found[0]["decision"] == "audit-deny"
                assert "would deny" in (tmp_path / f"{mode}.log").read_text()
            else:
                assert found == []


def test_resource_tags_of_roles(server: ServerProcess) -> None:
    iam = server.client("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
    arns = {}
    for team in ("blue", "red"):
        name = unique(f"{team}-role")
        arns[team] = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
            Tags=[{"Key": "team", "Value": team}],
        )["Role"]["Arn"]
    condition = {"StringEquals": {"aws:ResourceTag/team": "blue"}}
    _, creds = new_user(server, allow("sts:AssumeRole", Condition=condition))
    sts = server.client("sts", **creds)
    sts.assume_role(RoleArn=arns["blue"], RoleSessionName="blue")
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=arns["red"], RoleSessionName="red")


def test_dynamodb_leading_keys_and_table_tags(server: ServerProcess) -> None:
    ddb_root = server.client("dynamodb")
    tables = {}
    for team in ("blue", "red"):
        tables[team] = unique(f"{team}-tbl")
        ddb_root.create_table(
            TableName=tables[team],
            KeySchema=[{"AttributeName": "owner", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "owner", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "team", "Value": team}],
        )
    own_items = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}
    blue_tables = {"StringEquals": {"aws:ResourceTag/team": "blue"}}
    name, creds = new_user(
        server,
        allow("dynamodb:GetItem", Condition={**own_items, **blue_tables}),
    )
    ddb = server.client("dynamodb", config=Config(retries={"max_attempts": 1}), **creds)

    def denied(table: str, owner: str) -> bool:
        try:
            ddb.get_item(TableName=table, Key={"owner": {"S": owner}})
        except ClientError as error:
            code = error.response["Error"]["Code"]
            assert code in ("AccessDeniedException", "NotImplemented", "InternalFailure"), code
            return code == "AccessDeniedException"
        return False

    assert not denied(tables["blue"], name)
    assert denied(tables["blue"], "someone-else")
    assert denied(tables["red"], name)


def test_policy_changes_apply_to_the_next_request(server: ServerProcess, bucket: str) -> None:
    name, creds = new_user(server, allow("s3:GetObject"))
    s3 = server.client("s3", **creds)
    s3.get_object(Bucket=bucket, Key="public/a.txt")
    iam = server.client("iam")
    iam.delete_user_policy(UserName=name, PolicyName="inline")
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="public/a.txt")
    group = unique("readers")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="read", PolicyDocument=doc(allow("s3:Get*")))
    iam.add_user_to_group(GroupName=group, UserName=name)
    s3.get_object(Bucket=bucket, Key="public/a.txt")
    managed = iam.create_policy(PolicyName=unique("lister"), PolicyDocument=doc(allow("s3:List*")))
    iam.attach_user_policy(UserName=name, PolicyArn=managed["Policy"]["Arn"])
    s3.list_objects_v2(Bucket=bucket)
    latest = decisions(server, principal=f"arn:aws:iam::{ACCOUNT}:user/{name}", limit="2")
    assert latest[0]["statement"]["policy"] == managed["Policy"]["Arn"]
    assert latest[1]["statement"]["policy"].endswith(f":group/{group} inline policy read")


def test_audit_mode_covers_trust_policies(tmp_path: Any) -> None:
    with ServerProcess(extra_args=["--iam-mode", "audit"], log_file=tmp_path / "a.log") as s:
        _, creds = new_user(s)
        trust = {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
        role = s.client("iam").create_role(
            RoleName=unique("r"),
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]}),
        )["Role"]["Arn"]
        s.client("sts", **creds).assume_role(RoleArn=role, RoleSessionName="audited")
        assert "(trust policy)" in (tmp_path / "a.log").read_text()


def test_dynamodb_leading_keys_in_batches(server: ServerProcess) -> None:
    table = unique("batch-tbl")
    server.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "owner", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "owner", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    own_items = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}
    name, creds = new_user(server, allow("dynamodb:BatchWriteItem", Condition=own_items))
    ddb = server.client("dynamodb", config=Config(retries={"max_attempts": 1}), **creds)

    def write(*owners: str) -> str | None:
        items = [{"PutRequest": {"Item": {"owner": {"S": o}}}} for o in owners]
        try:
            ddb.batch_write_item(RequestItems={table: items})
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return None

    assert write(name) != "AccessDeniedException"
    assert write(name, "someone-else") == "AccessDeniedException"


def test_reset_forgets_decisions(tmp_path: Any) -> None:
    with ServerProcess(log_file=tmp_path / "reset.log") as s:
        _, creds = new_user(s, allow("sqs:ListQueues"))
        s.client("sqs", **creds).list_queues()
        assert decisions(s)
        request = urllib.request.Request(f"{s.endpoint}/_overcast/reset", method="POST")
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
        assert decisions(s) == []
