"""SQS queues end to end, in both wire protocols: create, find, list, attributes, tags, purge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return info.value.response["Error"]["Code"]


def test_create_get_url_and_delete(sqs: Any, name: Callable[..., str]) -> None:
    q = name()
    url = sqs.create_queue(QueueName=q)["QueueUrl"]
    assert url.endswith(f"/000000000000/{q}")
    assert url.startswith("http://127.0.0.1:")
    assert sqs.get_queue_url(QueueName=q)["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName=q, QueueOwnerAWSAccountId="000000000000")["QueueUrl"] == url
    # Same name, same attributes: the existing URL.
    assert sqs.create_queue(QueueName=q)["QueueUrl"] == url
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.get_queue_url(QueueName=q)
    assert code(info) == "AWS.SimpleQueueService.NonExistentQueue"
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=q)
    assert code(info) == "AWS.SimpleQueueService.QueueDeletedRecently"


def test_queue_url_with_any_host(sqs: Any, name: Callable[..., str]) -> None:
    q = name()
    sqs.create_queue(QueueName=q)
    other = f"https://sqs.us-east-1.amazonaws.com/000000000000/{q}"
    sqs.send_message(QueueUrl=other, MessageBody="hi")
    attrs = sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])["Attributes"]
    assert attrs == {"QueueArn": f"arn:aws:sqs:us-east-1:000000000000:{q}"}


def test_different_attributes_conflict(sqs: Any, name: Callable[..., str]) -> None:
    q = name()
    sqs.create_queue(QueueName=q, Attributes={"VisibilityTimeout": "10"})
    sqs.create_queue(QueueName=q, Attributes={"VisibilityTimeout": "10"})
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=q, Attributes={"VisibilityTimeout": "11"})
    assert code(info) == "QueueAlreadyExists"


@pytest.mark.parametrize("bad", ["", "a" * 81, "has space", "dot.name", "x.fifo"])
def test_invalid_names(sqs: Any, bad: str) -> None:
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=bad)
    assert code(info) == "InvalidParameterValue"


def test_default_attributes(sqs: Any, name: Callable[..., str]) -> None:
    q = name()
    url = sqs.create_queue(QueueName=q)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MessageRetentionPeriod"] == "345600"
    assert attrs["MaximumMessageSize"] == "262144"
    assert attrs["DelaySeconds"] == "0"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "0"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "0"
    assert attrs["QueueArn"].endswith(f":{q}")
    assert int(attrs["CreatedTimestamp"]) > 1_600_000_000
    assert "FifoQueue" not in attrs


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("RedrivePolicy", "not json"),
    ],
)
def test_attribute_ranges(sqs: Any, name: Callable[..., str], attr: str, value: str) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={attr: value})
    assert code(info) == "InvalidAttributeValue"


def unknown(info: pytest.ExceptionInfo[ClientError], attr: str) -> None:
    """SQS's own answer, not the protocol layer's enum ValidationException/ValidationError."""
    assert code(info) == "InvalidAttributeName"
    assert info.value.response["Error"]["Message"] == f"Unknown Attribute {attr}."
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_attribute(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Nope": "1"})
    unknown(info, "Nope")
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "true"})
    unknown(info, "ContentBasedDeduplication")
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=name(), Attributes={"Nope": "1"})
    unknown(info, "Nope")
    with pytest.raises(ClientError) as info:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "Nope"])
    unknown(info, "Nope")
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["Nope"])
    unknown(info, "Nope")
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=url, AttributeNames=["Nope"])
    unknown(info, "Nope")
    # The known names still work on both protocols.
    sqs.send_message(QueueUrl=url, MessageBody="x")
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["SenderId"])
    assert set(got["Messages"][0]["Attributes"]) == {"SenderId"}


def test_set_and_get_attributes(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"VisibilityTimeout": "5", "DelaySeconds": "3"}
    )
    got = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["VisibilityTimeout", "DelaySeconds"]
    )
    assert got["Attributes"] == {"VisibilityTimeout": "5", "DelaySeconds": "3"}


def test_list_queues_prefix_and_pages(sqs: Any, name: Callable[..., str]) -> None:
    prefix = name()
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5))
    assert sorted(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == urls
    seen: list[str] = []
    kwargs: dict[str, Any] = {"QueueNamePrefix": prefix, "MaxResults": 2}
    while True:
        page = sqs.list_queues(**kwargs)
        seen += page["QueueUrls"]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == urls
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=prefix + "zzz")


def test_tags(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name(), tags={"a": "1"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"b": "2"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "b": "2"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["a"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"b": "2"}


def test_purge_once_a_minute(sqs: Any, name: Callable[..., str], clock: Any) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.purge_queue(QueueUrl=url)
    assert code(info) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    clock(61)
    sqs.purge_queue(QueueUrl=url)


def test_missing_queue(sqs: Any) -> None:
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl="http://localhost/000000000000/nope-nope", MessageBody="x")
    assert code(info) == "AWS.SimpleQueueService.NonExistentQueue"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
