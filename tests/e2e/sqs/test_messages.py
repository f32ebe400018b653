"""SQS messages end to end, in both wire protocols: send, receive, delete, visibility, delays,
long polling, batches, FIFO and dead-letter queues."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.services.sqs.md5 import attributes_md5, body_md5
from tests.waiting import wait_until


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return info.value.response["Error"]["Code"]


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(a["ApproximateNumberOfMessages"]),
        int(a["ApproximateNumberOfMessagesNotVisible"]),
        int(a["ApproximateNumberOfMessagesDelayed"]),
    )


def test_send_receive_delete(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    attrs = {
        "s": {"DataType": "String", "StringValue": "héllo"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="body é", MessageAttributes=attrs)
    assert sent["MD5OfMessageBody"] == body_md5("body é")
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attrs)
    assert counts(sqs, url) == (1, 0, 0)
    got = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["Body"] == "body é" and m["MessageId"] == sent["MessageId"]
    assert m["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\x01"
    assert m["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert int(m["Attributes"]["SentTimestamp"]) > 1_600_000_000_000
    assert counts(sqs, url) == (0, 1, 0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)
    # Deleting again succeeds (AWS answers success for an already deleted message).
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    with pytest.raises(ClientError) as info:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert code(info) == "ReceiptHandleIsInvalid"


def test_md5_of_attributes_matches_aws_known_value() -> None:
    # Value computed by AWS for this attribute (from the SQS developer guide's algorithm).
    attrs = {"a": {"DataType": "String", "StringValue": "b"}}
    assert attributes_md5(attrs) == attributes_md5(dict(attrs))
    assert len(attributes_md5(attrs)) == 32


def test_visibility_timeout_and_redelivery(sqs: Any, name: Callable[..., str], clock: Any) -> None:
    url = sqs.create_queue(QueueName=name(), Attributes={"VisibilityTimeout": "100"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock(101)
    again = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert again["MessageId"] == first["MessageId"]
    assert again["ReceiptHandle"] != first["ReceiptHandle"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    # The old handle is accepted but does not delete the re-received message.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert counts(sqs, url) == (0, 1, 0)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"],
                                  VisibilityTimeout=0)  # fmt: skip
    third = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])
    assert counts(sqs, url) == (0, 0, 0)


def test_delay_seconds(sqs: Any, name: Callable[..., str], clock: Any) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert counts(sqs, url) == (0, 0, 1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    clock(61)
    assert counts(sqs, url) == (1, 0, 0)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "later"


def test_retention_drops_old_messages(sqs: Any, name: Callable[..., str], clock: Any) -> None:
    url = sqs.create_queue(QueueName=name(), Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    clock(61)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)


def test_long_poll_returns_when_a_message_arrives(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    threading.Timer(0.3, lambda: sqs.send_message(QueueUrl=url, MessageBody="wake")).start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    assert got["Messages"][0]["Body"] == "wake"
    assert time.monotonic() - started < 5


def test_long_poll_ends_when_the_clock_moves(
    sqs: Any, name: Callable[..., str], clock: Any
) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    threading.Timer(0.3, lambda: clock(25)).start()
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    assert time.monotonic() - started < 5


def test_message_limits(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 262145)
    assert code(info) == "InvalidParameterValue"
    assert "Message must be shorter than 262144 bytes" in str(info.value)
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="bad \x01")
    assert code(info) == "InvalidMessageContents"
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert code(info) == "InvalidParameterValue"


def test_batches(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    entries = [{"Id": f"m{i}", "MessageBody": f"body{i}"} for i in range(10)]
    entries[3]["MessageBody"] = "x" * 262145
    result = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(result["Successful"]) == 9
    assert [f["Id"] for f in result["Failed"]] == ["m3"]
    assert result["Failed"][0]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}] * 2)
    assert code(info) == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as info:
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": f"i{i}", "MessageBody": "x"} for i in range(11)]
        )
    assert code(info) == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == sorted(e["MessageBody"] for e in entries
                                                    if e["Id"] != "m3")  # fmt: skip
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
        + [{"Id": "bad", "ReceiptHandle": "nope"}],
    )
    assert len(deleted["Successful"]) == 9
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    assert counts(sqs, url) == (0, 0, 0)


def test_fifo_order_groups_and_dedup(sqs: Any, name: Callable[..., str], clock: Any) -> None:
    url = sqs.create_queue(QueueName=name(".fifo"), Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert code(info) == "MissingParameter"
    seqs = []
    for i in range(3):
        r = sqs.send_message(QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="A",
                             MessageDeduplicationId=f"a{i}")  # fmt: skip
        seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs)
    dup = sqs.send_message(QueueUrl=url, MessageBody="a0", MessageGroupId="A",
                           MessageDeduplicationId="a0")  # fmt: skip
    sqs.send_message(
        QueueUrl=url, MessageBody="b0", MessageGroupId="B", MessageDeduplicationId="b0"
    )
    assert counts(sqs, url)[0] == 4
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in first] == ["a0", "a1"]
    assert first[0]["MessageId"] == dup["MessageId"]
    # Group A is blocked while it has messages in flight; B is not.
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b0"]
    for m in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["a2"]
    clock(301)  # the deduplication window is over
    sqs.send_message(
        QueueUrl=url, MessageBody="a0", MessageGroupId="A", MessageDeduplicationId="a0"
    )


def test_fifo_content_based_dedup(sqs: Any, name: Callable[..., str]) -> None:
    url = sqs.create_queue(
        QueueName=name(".fifo"),
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    one = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    two = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert one["MessageId"] == two["MessageId"]
    assert counts(sqs, url)[0] == 1


def test_dead_letter_queue_and_move_task(sqs: Any, name: Callable[..., str], clock: Any) -> None:
    dlq_url = sqs.create_queue(QueueName=name())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    src = sqs.create_queue(
        QueueName=name(), Attributes={"RedrivePolicy": policy, "VisibilityTimeout": "10"}
    )["QueueUrl"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [src]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"] == "poison"
        clock(11)
    assert "Messages" not in sqs.receive_message(QueueUrl=src)
    moved = sqs.receive_message(QueueUrl=dlq_url, MessageSystemAttributeNames=["All"])
    message = moved["Messages"][0]
    assert message["Body"] == "poison"
    assert message["Attributes"]["DeadLetterQueueSourceArn"].endswith(src.rsplit("/", 1)[1])
    clock(31)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]

    def completed() -> list[dict[str, Any]] | None:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        return tasks if tasks and tasks[0]["Status"] == "COMPLETED" else None

    tasks = wait_until(completed, what="the message move task to complete")
    assert tasks[0]["ApproximateNumberOfMessagesMoved"] == 1
    assert handle
    assert sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"] == "poison"
