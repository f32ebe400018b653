"""AddPermission / RemovePermission (edits of the queue Policy, as AWS makes them) and the
cross-account access a queue policy grants: another account's caller is denied until a policy
statement allows the action."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

KEY, SECRET, OTHER = "AKIAOVERCASTSQS00001", "other/secret", "111111111111"
OWNER = "000000000000"


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return info.value.response["Error"]["Code"]


def policy(sqs: Any, url: str) -> dict[str, Any] | None:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes")
    return json.loads(attrs["Policy"]) if attrs and "Policy" in attrs else None


def test_add_permission_writes_the_policy_as_aws(sqs: Any, name: Callable[..., str]) -> None:
    q = name()
    url = sqs.create_queue(QueueName=q)["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{OWNER}:{q}"
    sqs.add_permission(QueueUrl=url, Label="one", AWSAccountIds=[OTHER], Actions=["SendMessage"])
    sqs.add_permission(
        QueueUrl=url, Label="two", AWSAccountIds=[OTHER, "222222222222"],
        Actions=["ReceiveMessage", "DeleteMessage"],
    )  # fmt: skip
    doc = policy(sqs, url)
    assert doc is not None
    assert doc["Id"] == f"{arn}/SQSDefaultPolicy"
    assert doc["Statement"] == [
        {
            "Sid": "one",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
            "Action": "SQS:SendMessage",
            "Resource": arn,
        },
        {
            "Sid": "two",
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{OTHER}:root", "arn:aws:iam::222222222222:root"]},
            "Action": ["SQS:ReceiveMessage", "SQS:DeleteMessage"],
            "Resource": arn,
        },
    ]
    sqs.remove_permission(QueueUrl=url, Label="one")
    doc = policy(sqs, url)
    assert doc is not None and [s["Sid"] for s in doc["Statement"]] == ["two"]
    sqs.remove_permission(QueueUrl=url, Label="two")
    assert policy(sqs, url) is None


def test_add_permission_extends_a_hand_written_policy(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    mine = {"Version": "2012-10-17", "Statement": {"Sid": "mine", "Effect": "Deny",
            "Principal": "*", "Action": "sqs:PurgeQueue", "Resource": "*"}}  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(mine)})
    sqs.add_permission(QueueUrl=url, Label="grant", AWSAccountIds=[OTHER], Actions=["*"])
    doc = policy(sqs, url)
    assert doc is not None
    assert [s["Sid"] for s in doc["Statement"]] == ["mine", "grant"]
    assert doc["Statement"][1]["Action"] == "SQS:*"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"Label": "dup"}, "InvalidParameterValue", "Value dup for parameter Label is invalid. "
         "Reason: Already exists."),
        ({"Label": "bad label!"}, "InvalidParameterValue", None),
        ({"Actions": ["DeleteQueue"]}, "InvalidParameterValue", "Value SQS:DeleteQueue for "
         "parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke "
         "this action."),
        ({"Actions": ["Nope"]}, "InvalidParameterValue", None),
        ({"Actions": ["SendMessage"] * 8}, "OverLimit",
         "8 Actions were found, maximum allowed is 7."),
        ({"Actions": []}, "MissingParameter", None),
        ({"AWSAccountIds": []}, "MissingParameter", None),
        ({"AWSAccountIds": ["12345"]}, "InvalidParameterValue", None),
    ],
)  # fmt: skip
def test_add_permission_errors(
    sqs: Any, name: Callable[..., str], kwargs: dict[str, Any], error: str, message: str | None
) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="dup", AWSAccountIds=[OTHER], Actions=["SendMessage"])
    args = {"QueueUrl": url, "Label": "new", "AWSAccountIds": [OTHER], "Actions": ["SendMessage"]}
    with pytest.raises(ClientError) as info:
        sqs.add_permission(**{**args, **kwargs})
    assert code(info) == error
    if message is not None:
        assert info.value.response["Error"]["Message"] == message
    # A refused request leaves the policy as it was.
    doc = policy(sqs, url)
    assert doc is not None and [s["Sid"] for s in doc["Statement"]] == ["dup"]


def test_remove_unknown_label(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.remove_permission(QueueUrl=url, Label="nope")
    assert code(info) == "InvalidParameterValue"
    assert "can't find label" in info.value.response["Error"]["Message"]


def test_permission_on_missing_queue(sqs: Any) -> None:
    url = f"http://localhost/{OWNER}/no-such-queue"
    with pytest.raises(ClientError) as info:
        sqs.add_permission(QueueUrl=url, Label="a", AWSAccountIds=[OTHER], Actions=["*"])
    assert code(info) == "AWS.SimpleQueueService.NonExistentQueue"


# -- cross-account --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[ServerProcess]:
    proc = ServerProcess(extra_args=["--credentials", f"{KEY}:{SECRET}:{OTHER}"]).start()
    yield proc
    proc.stop()


@pytest.fixture
def owner(keyed_server: ServerProcess) -> Any:
    return keyed_server.client("sqs")


@pytest.fixture
def other(keyed_server: ServerProcess) -> Any:
    return keyed_server.client("sqs", aws_access_key_id=KEY, aws_secret_access_key=SECRET)


def denied(call: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as info:
        call()
    assert code(info) == "AccessDenied"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_other_account_needs_a_grant(owner: Any, other: Any, name: Callable[..., str]) -> None:
    url = owner.create_queue(QueueName=name())["QueueUrl"]
    denied(lambda: other.send_message(QueueUrl=url, MessageBody="hi"))
    owner.add_permission(QueueUrl=url, Label="send", AWSAccountIds=[OTHER], Actions=["SendMessage"])
    sent = other.send_message(QueueUrl=url, MessageBody="hi")
    # Only the granted action: receiving is still the owner's.
    denied(lambda: other.receive_message(QueueUrl=url))
    got = owner.receive_message(QueueUrl=url, MessageSystemAttributeNames=["SenderId"])
    assert got["Messages"][0]["MessageId"] == sent["MessageId"]
    assert got["Messages"][0]["Attributes"]["SenderId"].startswith(("AKIA", OTHER))
    owner.remove_permission(QueueUrl=url, Label="send")
    denied(lambda: other.send_message(QueueUrl=url, MessageBody="again"))


def test_other_account_with_a_written_policy(
    owner: Any, other: Any, name: Callable[..., str]
) -> None:
    q = name()
    url = owner.create_queue(QueueName=q)["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{OWNER}:{q}"
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
           "Principal": {"AWS": OTHER}, "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
           "Resource": arn}]}  # fmt: skip
    denied(lambda: other.send_message(QueueUrl=url, MessageBody="hi"))
    owner.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(doc)})
    other.send_message(QueueUrl=url, MessageBody="hi")
    assert other.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "hi"
    # GetQueueUrl was not granted.
    denied(lambda: other.get_queue_url(QueueName=q, QueueOwnerAWSAccountId=OWNER))


def test_only_the_owner_edits_permissions(owner: Any, other: Any, name: Callable[..., str]) -> None:
    url = owner.create_queue(QueueName=name())["QueueUrl"]
    # Even a grant of every action does not let another account grant or revoke.
    owner.add_permission(QueueUrl=url, Label="all", AWSAccountIds=[OTHER], Actions=["*"])
    denied(lambda: other.add_permission(
        QueueUrl=url, Label="mine", AWSAccountIds=[OTHER], Actions=["SendMessage"]))  # fmt: skip
    denied(lambda: other.remove_permission(QueueUrl=url, Label="all"))
    other.send_message(QueueUrl=url, MessageBody="allowed by SQS:*")
