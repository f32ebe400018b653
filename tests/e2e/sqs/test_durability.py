"""SQS durability: acknowledged messages survive kill -9; in-flight ones come back after their
visibility timeout, delayed ones after their delay, as on AWS."""

from __future__ import annotations

from overcast.testing import ServerProcess


def test_messages_survive_kill_9(disk_server: ServerProcess) -> None:
    sqs = disk_server.client("sqs")
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": f"b{i}"} for i in range(5)]
    )
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
    in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert len(in_flight) == 2
    disk_server.kill()
    disk_server.start()
    sqs = disk_server.client("sqs")
    url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
    bodies: set[str] = set()
    for _ in range(40):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            bodies.add(m["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(bodies) == 6:
            break
    assert bodies == {"b0", "b1", "b2", "b3", "b4", "delayed"}
