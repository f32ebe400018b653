"""SNS end to end through boto3: topics, subscriptions, fan-out to SQS with filter policies,
email capture and confirmation, and HTTP delivery signed with the served certificate."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.request
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from overcast.services.sns.signing import string_to_sign


def _name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _queue(sqs: Any, fifo: bool = False) -> tuple[str, str]:
    attrs = {"FifoQueue": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=_name("q") + (".fifo" if fifo else ""), Attributes=attrs)[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _receive(sqs: Any, url: str, n: int = 1) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    for _ in range(n * 3):
        resp = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        got += resp.get("Messages", [])
        if len(got) >= n:
            break
    return got


def test_topic_lifecycle(client: Any) -> None:
    sns = client("sns")
    name = _name()
    arn = sns.create_topic(Name=name, Tags=[{"Key": "a", "Value": "1"}])["TopicArn"]
    assert arn.endswith(f":{name}")
    assert sns.create_topic(Name=name)["TopicArn"] == arn  # idempotent
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["SubscriptionsConfirmed"] == "0" and attrs["DisplayName"] == ""
    policy = json.loads(attrs["Policy"])
    assert policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceOwner"] == attrs["Owner"]
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Hi")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Hi"
    with pytest.raises(ClientError) as err:
        sns.create_topic(Name=name, Attributes={"DisplayName": "other"})
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy='{"Name":"p"}')
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == (
        '{"Name":"p"}'
    )
    assert arn in [t["TopicArn"] for t in sns.get_paginator("list_topics").paginate()
                   .build_full_result()["Topics"]]  # fmt: skip
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(ClientError) as err:
        sns.get_topic_attributes(TopicArn=arn)
    assert err.value.response["Error"]["Code"] == "NotFound"


def test_topic_name_rules_and_fifo(client: Any) -> None:
    sns = client("sns")
    for bad in ("bad name", "x" * 257):
        with pytest.raises(ClientError) as err:
            sns.create_topic(Name=bad)
        assert err.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError):
        sns.create_topic(Name=_name() + ".fifo")  # .fifo without FifoTopic
    arn = sns.create_topic(Name=_name() + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true" and attrs["ContentBasedDeduplication"] == "false"


def test_fanout_three_queues_with_filters(client: Any) -> None:
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    q_all, a_all = _queue(sqs)
    q_red, a_red = _queue(sqs)
    q_big, a_big = _queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=a_all)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=a_red,
        Attributes={"FilterPolicy": json.dumps({"color": ["red", {"prefix": "crim"}]}),
                    "RawMessageDelivery": "true"},
    )  # fmt: skip
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=a_big,
        Attributes={"FilterPolicy": json.dumps({"size": [{"numeric": [">", 10]}]}),
                    "FilterPolicyScope": "MessageBody"},
    )  # fmt: skip
    attrs = {"color": {"DataType": "String", "StringValue": "red"}}
    sns.publish(TopicArn=topic, Message=json.dumps({"size": 5}), Subject="s1",
                MessageAttributes=attrs)  # fmt: skip
    sns.publish(TopicArn=topic, Message=json.dumps({"size": 50}))
    got_all = _receive(sqs, q_all, 2)
    assert len(got_all) == 2
    env = json.loads(got_all[0]["Body"])
    assert env["Type"] == "Notification" and env["TopicArn"] == topic
    assert {"MessageId", "Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"} <= set(env)
    red = _receive(sqs, q_red)
    assert [m["Body"] for m in red] == [json.dumps({"size": 5})]  # raw
    assert red[0]["MessageAttributes"]["color"]["StringValue"] == "red"
    big = _receive(sqs, q_big)
    assert len(big) == 1 and json.loads(json.loads(big[0]["Body"])["Message"]) == {"size": 50}
    counts = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert counts["SubscriptionsConfirmed"] == "3"


def test_fifo_topic_to_fifo_queue_dedups(client: Any, server: Any) -> None:
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(
        Name=_name() + ".fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"},
    )["TopicArn"]
    url, arn = _queue(sqs, fifo=True)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    with pytest.raises(ClientError):
        sns.publish(TopicArn=topic, Message="m")  # no group id
    first = sns.publish(TopicArn=topic, Message="m", MessageGroupId="g")
    again = sns.publish(TopicArn=topic, Message="m", MessageGroupId="g")
    assert first["MessageId"] == again["MessageId"] and first["SequenceNumber"]
    got = _receive(sqs, url)
    assert len(got) == 1
    assert json.loads(got[0]["Body"])["SequenceNumber"] == first["SequenceNumber"]


def test_publish_validation(client: Any) -> None:
    sns = client("sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    cases = [
        dict(Message="x" * 262145),
        dict(Message='{"sqs": "a"}', MessageStructure="json"),
        dict(Message="m", MessageAttributes={
            f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}),
        dict(Message="m", MessageAttributes={"n": {"DataType": "Number", "StringValue": "x"}}),
        dict(Message="m", MessageDeduplicationId="d"),
    ]  # fmt: skip
    for case in cases:
        with pytest.raises(ClientError) as err:
            sns.publish(TopicArn=topic, **case)
        assert err.value.response["Error"]["Code"] in ("InvalidParameter", "ParameterValueInvalid")
    with pytest.raises(ClientError) as err:
        sns.publish(TopicArn=topic + "nope", Message="m")
    assert err.value.response["Error"]["Code"] == "NotFound"
    batch = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "b", "Message": ""}],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["a"]
    assert batch["Failed"][0]["Code"] == "InvalidParameter"


def _captured(server: Any, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={urllib.request.quote(v, safe='')}" for k, v in filters.items())
    with urllib.request.urlopen(f"{server.endpoint}/_overcast/sns/messages?{query}") as r:
        return json.loads(r.read())["messages"]


def _wait_captured(server: Any, n: int, **filters: str) -> list[dict[str, Any]]:
    for _ in range(200):  # deliveries land right after the commit; poll the endpoint briefly
        found = _captured(server, **filters)
        if len(found) >= n:
            return found
        threading.Event().wait(0.02)
    return _captured(server, **filters)


def test_email_confirmation_and_delivery(client: Any, server: Any) -> None:
    sns = client("sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    email = f"{_name()}@example.com"
    resp = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    assert resp["SubscriptionArn"] == "pending confirmation"
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert subs[0]["SubscriptionArn"] == "PendingConfirmation"
    confirm = _wait_captured(server, 1, endpoint=email)[0]["message"]
    assert confirm["Type"] == "SubscriptionConfirmation"
    arn = sns.confirm_subscription(TopicArn=topic, Token=confirm["Token"])["SubscriptionArn"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attrs["PendingConfirmation"] == "false"
    sns.publish(TopicArn=topic, Message="hello", Subject="hi")
    got = _wait_captured(server, 2, endpoint=email)
    assert got[1]["message"]["Message"] == "hello" and got[1]["protocol"] == "email"
    sns.unsubscribe(SubscriptionArn=arn)
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    fail_next = 0
    arrived = threading.Condition()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        if cls.fail_next:
            cls.fail_next -= 1
            self.send_response(500)
        else:
            with cls.arrived:
                cls.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                cls.arrived.notify_all()
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _wait_posts(n: int) -> list[tuple[dict[str, str], dict[str, Any]]]:
    with _Recorder.arrived:
        _Recorder.arrived.wait_for(lambda: len(_Recorder.received) >= n, timeout=10)
    return _Recorder.received


def _verify(server: Any, env: dict[str, Any]) -> None:
    with urllib.request.urlopen(env["SigningCertURL"]) as r:
        cert = x509.load_pem_x509_certificate(r.read())
    digest = hashes.SHA1() if env["SignatureVersion"] == "1" else hashes.SHA256()
    cert.public_key().verify(  # type: ignore[union-attr,call-arg]
        base64.b64decode(env["Signature"]), string_to_sign(env).encode(), padding.PKCS1v15(),
        digest,
    )  # fmt: skip


def test_http_subscription_signed(client: Any, server: Any) -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Recorder.received = []
    try:
        sns = client("sns")
        topic = sns.create_topic(Name=_name(), Attributes={"SignatureVersion": "2"})["TopicArn"]
        endpoint = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint)
        headers, confirm = _wait_posts(1)[0]
        assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
        _verify(server, confirm)
        with urllib.request.urlopen(confirm["SubscribeURL"]) as r:  # works against Overcast
            assert r.status == 200
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        assert subs[0]["SubscriptionArn"].startswith(topic + ":")
        _Recorder.fail_next = 1  # the first attempt fails: retried on the delivery policy
        sns.publish(TopicArn=topic, Message="payload", Subject="subj")
        for _ in range(50):
            if _Recorder.fail_next == 0:
                break
            threading.Event().wait(0.02)
        body = json.dumps({"advance": 20}).encode()  # the default policy: 20 s apart
        for _ in range(5):  # under load the retry may be timed after an advance: advance again
            req = urllib.request.Request(server.endpoint + "/_overcast/clock", data=body,
                                         method="POST")  # fmt: skip
            urllib.request.urlopen(req).close()
            with _Recorder.arrived:
                if _Recorder.arrived.wait_for(lambda: len(_Recorder.received) >= 2, timeout=2):
                    break
        headers, note = _wait_posts(2)[1]
        assert headers["x-amz-sns-subscription-arn"] == subs[0]["SubscriptionArn"]
        assert note["Message"] == "payload" and note["SignatureVersion"] == "2"
        _verify(server, note)
    finally:
        httpd.shutdown()
