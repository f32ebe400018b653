"""Bucket event notifications: configuration, validation, and delivery to SQS, SNS, Lambda
(stored) and EventBridge (stored until EventBridge exists), as AWS words and shapes them."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.waiting import wait_until


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _advance(server: ServerProcess, seconds: float) -> None:
    request = urllib.request.Request(
        server.endpoint + "/_overcast/clock",
        data=json.dumps({"advance": seconds}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request).read()


def _queue(sqs: Any, allow_s3: bool = True, name: str | None = None) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name or _name("q"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    if allow_s3:
        policy = {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                }
            ]
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, arn


def _messages(sqs: Any, url: str, want: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < want and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in got.get("Messages", []):
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return bodies


def _records(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for b in bodies for r in b.get("Records", [])]


@pytest.fixture
def s3(client: Any) -> Any:
    return client("s3")


@pytest.fixture
def sqs(client: Any) -> Any:
    return client("sqs")


def test_queue_gets_test_event_then_aws_records(s3: Any, sqs: Any) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    url, arn = _queue(sqs)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "all",
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                }
            ]
        },
    )
    [test] = _messages(sqs, url, 1)
    assert test["Event"] == "s3:TestEvent"
    assert test["Service"] == "Amazon S3"
    assert test["Bucket"] == bucket

    put = s3.put_object(Bucket=bucket, Key="dir/a b+c.txt", Body=b"hello")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "dir/a b+c.txt"})
    s3.delete_object(Bucket=bucket, Key="copy")
    records = _records(_messages(sqs, url, 3))
    names = [r["eventName"] for r in records]
    assert names == ["ObjectCreated:Put", "ObjectCreated:Copy", "ObjectRemoved:Delete"]
    first = records[0]
    assert first["eventSource"] == "aws:s3"
    assert first["eventVersion"] == "2.1"
    assert first["awsRegion"] == "us-east-1"
    assert first["s3"]["configurationId"] == "all"
    assert first["s3"]["bucket"]["name"] == bucket
    assert first["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    obj = first["s3"]["object"]
    assert obj["key"] == "dir/a+b%2Bc.txt"  # URL-encoded as AWS sends it
    assert obj["size"] == 5
    assert obj["eTag"] == put["ETag"].strip('"')
    assert "versionId" not in obj  # unversioned bucket
    assert "size" not in records[2]["s3"]["object"]
    assert records[0]["s3"]["object"]["sequencer"] < records[1]["s3"]["object"]["sequencer"]
    assert first["responseElements"]["x-amz-request-id"] == put["ResponseMetadata"]["RequestId"]


def test_filters_and_versioned_delete_markers(s3: Any, sqs: Any) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    url, arn = _queue(sqs)
    rules = [{"Name": "prefix", "Value": "logs/"}, {"Name": "suffix", "Value": ".json"}]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn,
                    "Events": ["s3:ObjectCreated:Put", "s3:ObjectRemoved:DeleteMarkerCreated"],
                    "Filter": {"Key": {"FilterRules": rules}},
                }
            ]
        },
    )
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    [config] = got["QueueConfigurations"]
    assert config["Id"]  # S3 names an unnamed configuration
    assert config["Filter"]["Key"]["FilterRules"] == [
        {"Name": "Prefix", "Value": "logs/"},
        {"Name": "Suffix", "Value": ".json"},
    ]
    _messages(sqs, url, 1)  # the test event
    s3.put_object(Bucket=bucket, Key="other/x.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="logs/x.txt", Body=b"{}")
    put = s3.put_object(Bucket=bucket, Key="logs/x.json", Body=b"{}")
    marker = s3.delete_object(Bucket=bucket, Key="logs/x.json")
    records = _records(_messages(sqs, url, 2))
    assert [r["eventName"] for r in records] == [
        "ObjectCreated:Put",
        "ObjectRemoved:DeleteMarkerCreated",
    ]
    assert records[0]["s3"]["object"]["versionId"] == put["VersionId"]
    assert records[1]["s3"]["object"]["versionId"] == marker["VersionId"]
    assert not _messages(sqs, url, 1, timeout=1.5)


def test_validation_errors(s3: Any, sqs: Any) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    _, denied = _queue(sqs, allow_s3=False)
    missing = "arn:aws:sqs:us-east-1:000000000000:no-such-queue"
    for arn, reason in ((denied, "Permissions on the destination queue"), (missing, "not exist")):
        with pytest.raises(ClientError) as err:
            s3.put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={
                    "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
                },
            )
        error = err.value.response["Error"]
        assert error["Code"] == "InvalidArgument"
        assert error["Message"] == "Unable to validate the following destination configurations"
        assert error["ArgumentName1"] == arn
        assert reason in error["ArgumentValue1"]
    fifo = sqs.create_queue(QueueName=_name("q") + ".fifo", Attributes={"FifoQueue": "true"})
    fifo_arn = sqs.get_queue_attributes(QueueUrl=fifo["QueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    with pytest.raises(ClientError) as err:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": fifo_arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )
    assert "FIFO" in err.value.response["Error"]["ArgumentValue1"]
    _, arn = _queue(sqs)
    bad_event = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectMade:*"]}]}
    bad_rule = {
        "QueueConfigurations": [
            {
                "QueueArn": arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "middle", "Value": "x"}]}},
            }
        ]
    }
    overlap = {
        "QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]},
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:Put"]},
        ]
    }
    for config, message in (
        (bad_event, "The event is not supported for notifications"),
        (bad_rule, "filter rule name must be either prefix or suffix"),
        (overlap, "Configurations overlap"),
    ):
        with pytest.raises(ClientError) as err:
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration=config
            )
        assert err.value.response["Error"]["Code"] == "InvalidArgument"
        assert err.value.response["Error"]["Message"].startswith(message)
    # Skipping validation stores a destination that does not exist.
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": missing, "Events": ["s3:ObjectCreated:*"]}]
        },
        SkipDestinationValidation=True,
    )
    assert s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert "QueueConfigurations" not in got


def test_sns_destination(s3: Any, sqs: Any, client: Any) -> None:
    sns = client("sns")
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    topic = sns.create_topic(Name=_name("t"))["TopicArn"]
    url, queue_arn = _queue(sqs)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    config = {"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]}
    with pytest.raises(ClientError) as err:  # the default topic policy does not name S3
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    assert err.value.response["Error"]["ArgumentName1"] == topic
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "SNS:Publish",
                "Resource": topic,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
            }
        ]
    }
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy)
    )
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    bodies = _messages(sqs, url, 2)
    assert bodies[0]["Event"] == "s3:TestEvent"
    assert [r["eventName"] for r in _records(bodies)] == ["ObjectCreated:Put"]


def _stored(endpoint: str, bucket: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(endpoint + "/_overcast/s3/notifications") as response:
        entries = json.loads(response.read())["notifications"]
    return [e for e in entries if e["bucket"] == bucket]


def _wait_stored(endpoint: str, bucket: str, want: int) -> list[dict[str, Any]]:
    def stored() -> list[dict[str, Any]] | None:
        got = _stored(endpoint, bucket)
        return got if len(got) >= want else None

    return wait_until(stored, what=f"{want} stored notifications")


def test_lambda_and_eventbridge_deliveries_are_stored(s3: Any, server: ServerProcess) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    function = "arn:aws:lambda:us-east-1:000000000000:function:thumbnails"
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "fn",
                    "LambdaFunctionArn": function,
                    "Events": ["s3:ObjectCreated:Post", "s3:ObjectCreated:CompleteMultipartUpload"],
                }
            ],
            "EventBridgeConfiguration": {},
        },
    )
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert got["EventBridgeConfiguration"] == {}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"x")
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    entries = _wait_stored(server.endpoint, bucket, 2)
    kinds = sorted(e["kind"] for e in entries)
    assert kinds == ["eventbridge", "lambda"]
    lam = next(e for e in entries if e["kind"] == "lambda")
    assert lam["arn"] == function
    [rec] = lam["message"]["Records"]
    assert rec["eventName"] == "ObjectCreated:CompleteMultipartUpload"
    assert rec["s3"]["configurationId"] == "fn"
    bridge = next(e for e in entries if e["kind"] == "eventbridge")["message"]
    assert bridge["source"] == "aws.s3"
    assert bridge["detail-type"] == "Object Created"
    assert bridge["detail"]["bucket"]["name"] == bucket
    assert bridge["detail"]["object"]["key"] == "big"
    assert bridge["detail"]["reason"] == "CompleteMultipartUpload"
    assert bridge["resources"] == [f"arn:aws:s3:::{bucket}"]


def test_pending_deliveries_survive_kill_9(disk_server: ServerProcess) -> None:
    s3, sqs = disk_server.client("s3"), disk_server.client("sqs")
    bucket = _name("durable")
    s3.create_bucket(Bucket=bucket)
    url, arn = _queue(sqs)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    _messages(sqs, url, 1)
    # The queue disappears: deliveries fail and wait in the outbox, retried with backoff.
    sqs.delete_queue(QueueUrl=url)
    keys = [f"k{i:03d}" for i in range(20)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    disk_server.kill()
    disk_server.start()
    _advance(disk_server, 61)  # SQS refuses a deleted queue's name for 60 seconds
    sqs = disk_server.client("sqs")
    url, _ = _queue(sqs, name=arn.rsplit(":", 1)[1])
    _advance(disk_server, 600)  # the retries are scheduled on the clock
    records = _records(_messages(sqs, url, len(keys), timeout=20))
    assert {r["s3"]["object"]["key"] for r in records} == set(keys)


def test_tagging_and_acl_events(s3: Any, sqs: Any) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    url, arn = _queue(sqs)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn, "Events": ["s3:ObjectTagging:*", "s3:ObjectAcl:Put"]}
            ]
        },
    )
    _messages(sqs, url, 1)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # not subscribed
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")
    names = [r["eventName"] for r in _records(_messages(sqs, url, 3))]
    assert names == ["ObjectTagging:Put", "ObjectTagging:Delete", "ObjectAcl:Put"]


def test_a_failing_destination_is_retried_alone(s3: Any, sqs: Any, server: ServerProcess) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    url, arn = _queue(sqs)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}],
            "EventBridgeConfiguration": {},
        },
    )
    _messages(sqs, url, 1)
    sqs.delete_queue(QueueUrl=url)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")  # to the queue and to EventBridge
    assert len(_wait_stored(server.endpoint, bucket, 1)) == 1
    _advance(server, 61)
    url, _ = _queue(sqs, name=arn.rsplit(":", 1)[1])
    for _ in range(4):  # the bus's backoff, on the clock
        _advance(server, 30)
    assert len(_records(_messages(sqs, url, 1))) == 1
    assert len(_stored(server.endpoint, bucket)) == 1  # EventBridge got it once


def test_restore_events(s3: Any, sqs: Any, server: ServerProcess) -> None:
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    url, arn = _queue(sqs)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRestore:*"]}],
        },
    )
    _messages(sqs, url, 1)
    s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="GLACIER")
    s3.restore_object(
        Bucket=bucket,
        Key="cold",
        RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}},
    )
    [rec] = _records(_messages(sqs, url, 1))
    assert rec["eventName"] == "ObjectRestore:Post"
    assert rec["s3"]["object"]["key"] == "cold"
    _advance(server, 5 * 60 + 1)  # an Expedited restore from GLACIER is ready within 5 minutes
    [done] = _records(_messages(sqs, url, 1))
    assert done["eventName"] == "ObjectRestore:Completed"
    restore = done["glacierEventData"]["restoreEventData"]
    assert restore["lifecycleRestoreStorageClass"] == "GLACIER"
    assert restore["lifecycleRestorationExpiryTime"].endswith("Z")


def test_destinations_are_those_at_the_time_of_the_event(
    s3: Any, sqs: Any, server: ServerProcess
) -> None:
    """An event waiting for a retry goes where the configuration said when it happened, not
    where a later configuration points (AWS delivers per the configuration at event time)."""
    bucket = _name("notify")
    s3.create_bucket(Bucket=bucket)
    url_a, arn_a = _queue(sqs)
    url_b, arn_b = _queue(sqs)

    def point_to(arn: str) -> None:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
            },
        )

    point_to(arn_a)
    _messages(sqs, url_a, 1)  # the s3:TestEvent
    sqs.delete_queue(QueueUrl=url_a)
    s3.put_object(Bucket=bucket, Key="before", Body=b"x")  # fails for now: queue A is gone
    point_to(arn_b)
    _messages(sqs, url_b, 1)
    s3.put_object(Bucket=bucket, Key="after", Body=b"y")
    _advance(server, 61)
    url_a, _ = _queue(sqs, name=arn_a.rsplit(":", 1)[1])
    for _ in range(4):  # the bus's backoff, on the clock
        _advance(server, 30)
    assert [r["s3"]["object"]["key"] for r in _records(_messages(sqs, url_a, 1))] == ["before"]
    got_b = _records(_messages(sqs, url_b, 2, timeout=3))
    assert [r["s3"]["object"]["key"] for r in got_b] == ["after"]
