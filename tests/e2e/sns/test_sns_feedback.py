"""SNS delivery policies (AWS's limits, the one-hour retry budget, headerContentType), delivery
status logging (``/_overcast/sns/delivery-status``) and Lambda deliveries (the SNS event a
function is invoked with, queued at ``/_overcast/sns/messages?protocol=lambda``)."""

from __future__ import annotations

import base64
import functools
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from overcast.services.sns.signing import string_to_sign
from overcast.testing import ServerProcess
from tests.e2e.sns.test_sns_delivery import (
    Endpoint,
    _advance,
    _confirmed_http,
    _drain_queue,
    _name,
    _queue,
)

ROLE = "arn:aws:iam::{account}:role/SNSFeedback"


@pytest.fixture(scope="module")
def own() -> Iterator[ServerProcess]:
    """A server whose clock this module moves by hours."""
    proc = ServerProcess().start()
    yield proc
    proc.stop()


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as err:
        call()
    return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]


def _account(topic: str) -> str:
    return topic.split(":")[4]


def _records(
    server: ServerProcess, n: int, tries: int = 100, **params: str
) -> list[dict[str, Any]]:
    """The delivery status records, once ``n`` are there (or what there is after a while)."""
    found: list[dict[str, Any]] = []
    for _ in range(tries):
        found = requests.get(
            server.endpoint + "/_overcast/sns/delivery-status", params=params, timeout=10
        ).json()["records"]
        if len(found) >= n:
            break
        threading.Event().wait(0.05)
    return found


def _log_topic(sns: Any, protocol: str, rate: str = "100") -> str:
    topic = sns.create_topic(Name=_name())["TopicArn"]
    role = ROLE.format(account=_account(topic))
    for suffix, value in (
        ("SuccessFeedbackRoleArn", role),
        ("SuccessFeedbackSampleRate", rate),
        ("FailureFeedbackRoleArn", role),
    ):
        sns.set_topic_attributes(
            TopicArn=topic, AttributeName=protocol + suffix, AttributeValue=value
        )
    return topic


# -- validation -----------------------------------------------------------------------------------


def test_delivery_policies_are_held_to_aws_limits(client: Any) -> None:
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    hourly = {"minDelayTarget": 3599, "maxDelayTarget": 3600, "numRetries": 10}
    assert _error(
        lambda: sns.set_topic_attributes(
            TopicArn=topic,
            AttributeName="DeliveryPolicy",
            AttributeValue=json.dumps({"http": {"defaultHealthyRetryPolicy": hourly}}),
        )
    ) == (
        "InvalidParameter",
        "Invalid parameter: DeliveryPolicy: http.defaultHealthyRetryPolicy: "
        "Total policy retry time cannot be greater than 3600 seconds",
    )
    code, message = _error(
        lambda: sns.create_topic(
            Name=_name(),
            Attributes={
                "DeliveryPolicy": json.dumps(
                    {"http": {"defaultHealthyRetryPolicy": {"numRetries": 101}}}
                )
            },
        )
    )
    assert code == "InvalidParameter"
    assert message.startswith("Invalid parameter: Attributes Reason: DeliveryPolicy: http.")
    stringly = {"http": {"defaultHealthyRetryPolicy": {"minDelayTarget": "20"}}}
    assert _error(
        lambda: sns.set_topic_attributes(
            TopicArn=topic, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(stringly)
        )
    ) == (
        "InvalidParameter",
        "Invalid parameter: DeliveryPolicy: http.defaultHealthyRetryPolicy.minDelayTarget type "
        "mismatch, expecting integer, received a string",
    )
    guide = {
        "minDelayTarget": 1,
        "maxDelayTarget": 60,
        "numRetries": 50,
        "numNoDelayRetries": 3,
        "numMinDelayRetries": 2,
        "numMaxDelayRetries": 35,
        "backoffFunction": "exponential",
    }
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(
            {
                "http": {
                    "defaultHealthyRetryPolicy": guide,
                    "defaultThrottlePolicy": {"maxReceivesPerSecond": 10},
                }
            }
        ),
    )
    effective = json.loads(
        sns.get_topic_attributes(TopicArn=topic)["Attributes"]["EffectiveDeliveryPolicy"]
    )
    assert effective["http"]["defaultHealthyRetryPolicy"] == guide
    # Subscribe says "Attributes Reason:", SetSubscriptionAttributes does not.
    assert _error(
        lambda: sns.subscribe(
            TopicArn=topic,
            Protocol="https",
            Endpoint="https://example.com/hook",
            Attributes={
                "DeliveryPolicy": json.dumps({"healthyRetryPolicy": {"minDelayTarget": 0}})
            },
        )
    ) == (
        "InvalidParameter",
        "Invalid parameter: Attributes Reason: DeliveryPolicy: "
        "healthyRetryPolicy.minDelayTarget must be greater than or equal to 1",
    )
    _, arn = _queue(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    for bad, reason in (
        (
            {"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 4}},
            "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must be less than or "
            "equal to numRetries",
        ),
        ({"healthyRetryPolicy": {"backoffFunction": "random"}}, "backoffFunction must be one of"),
        (
            {"throttlePolicy": {"maxReceivesPerSecond": 0}},
            "throttlePolicy.maxReceivesPerSecond must be greater than or equal to 1",
        ),
    ):
        code, message = _error(
            functools.partial(
                sns.set_subscription_attributes,
                SubscriptionArn=sub,
                AttributeName="DeliveryPolicy",
                AttributeValue=json.dumps(bad),
            )
        )
        assert code == "InvalidParameter"
        assert message.startswith("Invalid parameter: DeliveryPolicy: ") and reason in message


def test_delivery_status_attributes_are_validated(client: Any) -> None:
    sns = client("sns")
    topic = _log_topic(sns, "HTTP", rate="25")
    attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attrs["HTTPSuccessFeedbackSampleRate"] == "25"
    assert attrs["HTTPFailureFeedbackRoleArn"] == ROLE.format(account=_account(topic))
    for name, value in (
        ("SQSSuccessFeedbackSampleRate", "150"),
        ("LambdaSuccessFeedbackRoleArn", "not-a-role"),
        ("FirehoseFailureFeedbackRoleArn", "arn:aws:iam::123456789012:user/u"),
        ("EmailSuccessFeedbackRoleArn", ROLE.format(account="123456789012")),
    ):
        code, _ = _error(
            functools.partial(
                sns.set_topic_attributes, TopicArn=topic, AttributeName=name, AttributeValue=value
            )
        )
        assert code == "InvalidParameter", name
    sns.set_topic_attributes(
        TopicArn=topic, AttributeName="HTTPFailureFeedbackRoleArn", AttributeValue=""
    )
    assert (
        "HTTPFailureFeedbackRoleArn" not in sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    )


# -- delivery status logs -------------------------------------------------------------------------


def test_sqs_deliveries_are_logged_at_the_sample_rate(client: Any, server: ServerProcess) -> None:
    sns, sqs = client("sns"), client("sqs")
    logged, quiet = _log_topic(sns, "SQS"), _log_topic(sns, "SQS", rate="0")
    url, arn = _queue(sqs)
    for topic in (logged, quiet):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=logged, Message="counted")
    sns.publish(TopicArn=quiet, Message="not counted")
    bodies = {json.loads(m["Body"])["Message"]: m["MessageId"] for m in _drain_queue(sqs, url, 2)}
    assert set(bodies) == {"counted", "not counted"}
    (record,) = _records(server, 1, topic=logged)
    name = logged.split(":")[5]
    assert record["logGroupName"] == f"sns/us-east-1/{_account(logged)}/{name}"
    entry = record["message"]
    assert entry["status"] == "SUCCESS"
    assert entry["notification"]["topicArn"] == logged
    delivery = entry["delivery"]
    assert delivery["destination"] == arn and delivery["statusCode"] == 200
    assert delivery["attempts"] == 1 and delivery["dwellTimeMs"] >= 0
    assert json.loads(delivery["providerResponse"])["sqsMessageId"] == bodies["counted"]
    assert _records(server, 1, topic=quiet) == []  # sample rate 0: no success is logged


def test_http_success_is_logged_with_the_requested_content_type(own: ServerProcess) -> None:
    sns = own.client("sns")
    topic = _log_topic(sns, "HTTP")
    endpoint = Endpoint().up()
    try:
        sub = _confirmed_http(
            sns,
            topic,
            endpoint,
            DeliveryPolicy=json.dumps({"requestPolicy": {"headerContentType": "application/json"}}),
        )
        sns.publish(TopicArn=topic, Message="typed")
        assert endpoint.wait(2)[1]["Message"] == "typed"
        assert endpoint.headers[-1]["content-type"] == "application/json"
        assert endpoint.headers[-1]["x-amz-sns-message-type"] == "Notification"
    finally:
        endpoint.down()
    effective = json.loads(
        sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"][
            "EffectiveDeliveryPolicy"
        ]
    )
    assert effective["requestPolicy"] == {"headerContentType": "application/json"}
    assert effective["healthyRetryPolicy"]["numRetries"] == 3  # AWS's default
    (record,) = _records(own, 1, topic=topic, status="SUCCESS")
    delivery = record["message"]["delivery"]
    assert delivery["statusCode"] == 200 and delivery["destination"] == endpoint.url
    assert delivery["attempts"] == 1


def test_max_receives_per_second_holds_deliveries_back(own: ServerProcess) -> None:
    sns = own.client("sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    endpoint = Endpoint().up()
    try:
        _confirmed_http(
            sns, topic, endpoint,
            DeliveryPolicy=json.dumps({"throttlePolicy": {"maxReceivesPerSecond": 1}}),
        )  # fmt: skip
        for i in range(3):
            sns.publish(TopicArn=topic, Message=f"m{i}")
        assert endpoint.wait_notes(1) == 1
        threading.Event().wait(0.3)
        assert endpoint.notes == 1  # the others wait for the next seconds
        _advance(own, 1)
        assert endpoint.wait_notes(2) >= 2
        _advance(own, 1)
        assert endpoint.wait_notes(3) == 3
        assert sorted(b["Message"] for b in endpoint.received[1:]) == ["m0", "m1", "m2"]
    finally:
        endpoint.down()


def test_retries_stop_an_hour_after_the_first_failure(own: ServerProcess) -> None:
    """The topic's hourly retries with the subscription's three: the schedule would span three
    hours, so SNS gives up after the retry at +1 h, logs the failure and dead-letters."""
    sns, sqs = own.client("sns"), own.client("sqs")
    topic = _log_topic(sns, "HTTP", rate="0")
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps(
            {
                "http": {
                    "defaultHealthyRetryPolicy": {
                        "numRetries": 1,
                        "minDelayTarget": 3600,
                        "maxDelayTarget": 3600,
                    }
                }
            }
        ),
    )
    dlq_url, dlq_arn = _queue(sqs)
    endpoint = Endpoint().up()
    try:
        sub = _confirmed_http(
            sns,
            topic,
            endpoint,
            DeliveryPolicy=json.dumps({"healthyRetryPolicy": {"numRetries": 3}}),
            RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn}),
        )
    finally:
        endpoint.down()  # every attempt now fails: connection refused
    sns.publish(TopicArn=topic, Message="late")
    threading.Event().wait(0.5)  # the first attempt fails and the retry is timed
    _advance(own, 1800)
    assert _drain_queue(sqs, dlq_url, 1, wait=1) == []  # the retry is not due yet
    _advance(own, 1800)
    got = _drain_queue(sqs, dlq_url, 1)
    assert [json.loads(m["Body"])["Message"] for m in got] == ["late"]
    (record,) = _records(own, 1, topic=topic)
    name = topic.split(":")[5]
    assert record["logGroupName"] == f"sns/us-east-1/{_account(topic)}/{name}/Failure"
    entry = record["message"]
    assert entry["status"] == "FAILURE" and entry["delivery"]["attempts"] == 2
    assert entry["delivery"]["destination"] == endpoint.url
    assert entry["notification"]["topicArn"] == topic
    # Given up: a later hour brings no further attempt to the (revived) endpoint.
    revived = Endpoint(endpoint.port).up()
    try:
        _advance(own, 7200)
        threading.Event().wait(0.5)
        assert revived.notes == 0
    finally:
        revived.down()
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["Endpoint"]


def test_sqs_delivery_failures_are_logged_with_the_queues_error(own: ServerProcess) -> None:
    sns, sqs = own.client("sns"), own.client("sqs")
    topic = _log_topic(sns, "SQS")
    url, arn = _queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sqs.delete_queue(QueueUrl=url)
    sns.publish(TopicArn=topic, Message="nowhere")
    found: list[dict[str, Any]] = []
    for _ in range(20):  # the bus retries on its backoff (on the clock): three attempts
        _advance(own, 60)
        found = _records(own, 1, tries=5, topic=topic, status="FAILURE")
        if found:
            break
    (record,) = found
    delivery = record["message"]["delivery"]
    assert delivery["attempts"] == 3 and delivery["statusCode"] == 400
    assert delivery["destination"] == arn
    assert json.loads(delivery["providerResponse"])["ErrorCode"] == "QueueDoesNotExist"
    assert record["logGroupName"].endswith("/Failure")


def test_delivery_status_records_survive_a_restart(disk_server: ServerProcess) -> None:
    sns, sqs = disk_server.client("sns"), disk_server.client("sqs")
    topic = _log_topic(sns, "SQS")
    url, arn = _queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="kept")
    assert len(_drain_queue(sqs, url, 1)) == 1
    before = _records(disk_server, 1, topic=topic)
    assert len(before) == 1
    disk_server.kill()
    disk_server.start()
    assert _records(disk_server, 1, tries=1, topic=topic) == before


# -- Lambda ---------------------------------------------------------------------------------------


def _verify(sns_record: dict[str, Any]) -> None:
    envelope = {k: v for k, v in sns_record.items() if v is not None}
    cert_pem = requests.get(sns_record["SigningCertUrl"], timeout=10).content
    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(sns_record["Signature"]),
        string_to_sign(envelope).encode(),
        padding.PKCS1v15(),
        hashes.SHA1(),
    )


def test_lambda_deliveries_are_queued_as_the_sns_event(client: Any, server: ServerProcess) -> None:
    sns = client("sns")
    topic = _log_topic(sns, "Lambda")
    function = f"arn:aws:lambda:us-east-1:{_account(topic)}:function:{_name('fn')}"
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    message_id = sns.publish(
        TopicArn=topic,
        Message="to a function",
        Subject="hello",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "n": {"DataType": "Number", "StringValue": "7"},
        },
    )["MessageId"]
    sns.publish(TopicArn=topic, Message="no subject")
    queued: list[dict[str, Any]] = []
    for _ in range(100):
        queued = requests.get(
            server.endpoint + "/_overcast/sns/messages",
            params={"protocol": "lambda", "endpoint": function},
            timeout=10,
        ).json()["messages"]
        if len(queued) >= 2:
            break
        threading.Event().wait(0.05)
    assert [q["subscription_arn"] for q in queued] == [sub, sub]
    (first,) = queued[0]["message"]["Records"]
    assert first["EventSource"] == "aws:sns" and first["EventVersion"] == "1.0"
    assert first["EventSubscriptionArn"] == sub
    event = first["Sns"]
    assert set(event) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    }
    assert event["Type"] == "Notification" and event["MessageId"] == message_id
    assert event["TopicArn"] == topic and event["Subject"] == "hello"
    assert event["Message"] == "to a function" and event["SignatureVersion"] == "1"
    assert event["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "order"},
        "n": {"Type": "Number", "Value": "7"},
    }
    assert "Action=Unsubscribe" in event["UnsubscribeUrl"]
    _verify(event)
    second = queued[1]["message"]["Records"][0]["Sns"]
    assert second["Subject"] is None and second["MessageAttributes"] == {}
    records = _records(server, 2, topic=topic)
    assert [r["message"]["delivery"]["statusCode"] for r in records] == [202, 202]
    assert "lambdaRequestId" in json.loads(records[0]["message"]["delivery"]["providerResponse"])


def test_direct_pushes_are_logged_for_the_platform_application(
    client: Any, server: ServerProcess
) -> None:
    sns = client("sns")
    app_name = _name("app")
    creds = {"PlatformCredential": "k", "PlatformPrincipal": "p"}
    code, _ = _error(
        lambda: sns.create_platform_application(
            Name=app_name, Platform="GCM", Attributes={**creds, "SuccessFeedbackSampleRate": "x"}
        )
    )
    assert code == "InvalidParameter"
    app = sns.create_platform_application(Name=app_name, Platform="GCM", Attributes=creds)[
        "PlatformApplicationArn"
    ]
    account = app.split(":")[4]
    sns.set_platform_application_attributes(
        PlatformApplicationArn=app,
        Attributes={
            "SuccessFeedbackRoleArn": ROLE.format(account=account),
            "SuccessFeedbackSampleRate": "100",
        },
    )
    token = _name("token")
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token=token)["EndpointArn"]
    sent = sns.publish(TargetArn=endpoint, Message="ping")["MessageId"]
    group = f"sns/us-east-1/{account}/app/GCM/{app_name}"
    (record,) = _records(server, 1, log_group=group)
    entry = record["message"]
    assert entry["status"] == "SUCCESS" and entry["notification"]["messageId"] == sent
    assert entry["delivery"]["destination"] == endpoint and entry["delivery"]["token"] == token
