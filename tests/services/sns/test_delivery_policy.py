"""Delivery policy validation (delivery_policy.py), the retry budget and Content-Type (retry.py),
and the delivery status records (feedback.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.services.sns import delivery_policy, feedback, retry
from overcast.services.sns.delivery import lambda_event
from overcast.services.sns.errors import InvalidParameterException
from overcast.services.sns.models import Subscription
from overcast.services.sns.throttle import Throttle

# The example of AWS's guide: 3 immediate, 2 at 1 s, 10 exponential from 1 s to 60 s, 35 at 60 s.
GUIDE = {
    "healthyRetryPolicy": {
        "minDelayTarget": 1, "maxDelayTarget": 60, "numRetries": 50, "numNoDelayRetries": 3,
        "numMinDelayRetries": 2, "numMaxDelayRetries": 35, "backoffFunction": "exponential",
    },
    "throttlePolicy": {"maxReceivesPerSecond": 10},
}  # fmt: skip


def _sub_error(policy: Any, prefix: str = "") -> str:
    with pytest.raises(InvalidParameterException) as err:
        delivery_policy.check_subscription_policy(json.dumps(policy), prefix)
    return str(err.value.error_message)


def test_the_guides_example_and_effective_policies_are_accepted() -> None:
    delivery_policy.check_subscription_policy(json.dumps(GUIDE))
    delivery_policy.check_subscription_policy(
        json.dumps({"healthyRetryPolicy": {"numRetries": 5}, "sicklyRetryPolicy": None,
                    "throttlePolicy": None, "guaranteed": False})
    )  # fmt: skip
    topic = {"http": {"defaultHealthyRetryPolicy": GUIDE["healthyRetryPolicy"],
                      "disableSubscriptionOverrides": False,
                      "defaultThrottlePolicy": {"maxReceivesPerSecond": 1},
                      "defaultRequestPolicy": {"headerContentType": "text/plain"}}}  # fmt: skip
    delivery_policy.check_topic_policy(json.dumps(topic))


@pytest.mark.parametrize(
    ("retry_policy", "reason"),
    [
        ({"minDelayTarget": 0}, "healthyRetryPolicy.minDelayTarget must be greater than or equal "
                                "to 1"),
        ({"minDelayTarget": 1, "maxDelayTarget": 3601}, "maxDelayTarget must be less than or equal "
                                                        "to 3600"),
        ({"minDelayTarget": 30, "maxDelayTarget": 10}, "maxDelayTarget must be greater than or "
                                                       "equal to minDelayTarget"),
        ({"numRetries": 101, "minDelayTarget": 1, "maxDelayTarget": 1}, "numRetries must be "
                                                                        "between 0 and 100"),
        ({"numRetries": -1}, "numRetries must be between 0 and 100"),
        ({"numNoDelayRetries": -1}, "numNoDelayRetries must be greater than or equal to 0"),
        ({"numRetries": 2, "numNoDelayRetries": 2, "numMaxDelayRetries": 1},
         "must be less than or equal to numRetries"),
        ({"backoffFunction": "cubic"}, "backoffFunction must be one of"),
        ({"numRetries": "3"}, "numRetries type mismatch, expecting integer, received a string"),
        ({"minDelayTarget": 3599, "maxDelayTarget": 3600, "numRetries": 10},
         "healthyRetryPolicy: Total policy retry time cannot be greater than 3600 seconds"),
        ({"retries": 3}, 'Unrecognized field "retries"'),
    ],
)  # fmt: skip
def test_retry_policy_limits(retry_policy: dict[str, Any], reason: str) -> None:
    message = _sub_error({"healthyRetryPolicy": retry_policy})
    assert message.startswith("Invalid parameter: DeliveryPolicy: ") and reason in message


def test_total_time_counts_every_phase() -> None:
    # 100 retries at 36 s fill the hour exactly; one more second does not fit.
    delivery_policy.check_subscription_policy(json.dumps({"healthyRetryPolicy": {
        "numRetries": 100, "minDelayTarget": 36, "maxDelayTarget": 36}}))  # fmt: skip
    assert "Total policy retry time" in _sub_error({"healthyRetryPolicy": {
        "numRetries": 100, "minDelayTarget": 37, "maxDelayTarget": 37}})  # fmt: skip
    # Immediate retries cost nothing.
    delivery_policy.check_subscription_policy(json.dumps({"healthyRetryPolicy": {
        "numRetries": 100, "numNoDelayRetries": 99, "minDelayTarget": 3600,
        "maxDelayTarget": 3600}}))  # fmt: skip


def test_throttle_request_json_and_subscribe_wording() -> None:
    assert "throttlePolicy.maxReceivesPerSecond must be greater than or equal to 1" in _sub_error(
        {"throttlePolicy": {"maxReceivesPerSecond": 0}}
    )
    assert "requestPolicy.headerContentType is not a valid content type" in _sub_error(
        {"requestPolicy": {"headerContentType": "json please"}}
    )
    delivery_policy.check_subscription_policy(
        json.dumps({"requestPolicy": {"headerContentType": "application/json"}})
    )
    with pytest.raises(InvalidParameterException) as err:
        delivery_policy.check_subscription_policy("{nope")
    assert err.value.error_message == "Invalid parameter: DeliveryPolicy: failed to parse JSON."
    assert _sub_error({"healthyRetryPolicy": {"minDelayTarget": 0}}, "Attributes Reason: ") == (
        "Invalid parameter: Attributes Reason: DeliveryPolicy: healthyRetryPolicy.minDelayTarget "
        "must be greater than or equal to 1"
    )


def test_topic_policy_paths() -> None:
    with pytest.raises(InvalidParameterException) as err:
        delivery_policy.check_topic_policy(json.dumps({"http": {"defaultHealthyRetryPolicy": {
            "minDelayTarget": 3599, "maxDelayTarget": 3600, "numRetries": 10}}}))  # fmt: skip
    assert err.value.error_message == (
        "Invalid parameter: DeliveryPolicy: http.defaultHealthyRetryPolicy: Total policy retry "
        "time cannot be greater than 3600 seconds"
    )
    with pytest.raises(InvalidParameterException) as err:
        delivery_policy.check_topic_policy(
            json.dumps({"http": {"disableSubscriptionOverrides": 1}})
        )
    assert "disableSubscriptionOverrides must be a boolean" in err.value.error_message


def test_budget_and_content_type() -> None:
    assert retry.within_budget(100.0, 100.0, 3600)
    assert not retry.within_budget(100.0, 200.0, 3501)
    topic = {"DeliveryPolicy": json.dumps(
        {"http": {"defaultRequestPolicy": {"headerContentType": "application/xml"}}})}  # fmt: skip
    sub = {"DeliveryPolicy": json.dumps({"requestPolicy": {"headerContentType": "text/html"}})}
    assert retry.content_type({}, {}) == "text/plain; charset=UTF-8"
    assert retry.content_type(topic, {}) == "application/xml"
    assert retry.content_type(topic, sub) == "text/html"
    locked = json.loads(topic["DeliveryPolicy"])
    locked["http"]["disableSubscriptionOverrides"] = True
    assert retry.content_type({"DeliveryPolicy": json.dumps(locked)}, sub) == "application/xml"


# -- delivery status logging --------------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/SNSFeedback"
TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"


def _sub(protocol: str = "sqs") -> Subscription:
    return Subscription(f"{TOPIC}:abc", TOPIC, "123456789012", protocol,
                        "arn:aws:sqs:us-east-1:123456789012:q", {}, True, "t")  # fmt: skip


def test_feedback_attributes_are_validated() -> None:
    assert "HTTPSuccessFeedbackRoleArn" in feedback.ATTRIBUTES
    assert "ApplicationFailureFeedbackRoleArn" in feedback.ATTRIBUTES
    assert feedback.check_attribute("SQSSuccessFeedbackRoleArn", ROLE) == ROLE
    assert feedback.check_attribute("SQSSuccessFeedbackSampleRate", "050") == "50"
    for name, value in (("SQSSuccessFeedbackSampleRate", "101"),
                        ("SQSSuccessFeedbackSampleRate", "-1"),
                        ("LambdaFailureFeedbackRoleArn", "arn:aws:iam::123456789012:user/u"),
                        ("LambdaFailureFeedbackRoleArn", "role")):  # fmt: skip
        with pytest.raises(InvalidParameterException):
            feedback.check_attribute(name, value)


def test_feedback_sampling_and_groups() -> None:
    attrs = {"SQSSuccessFeedbackRoleArn": ROLE, "SQSFailureFeedbackRoleArn": ROLE}
    sub = _sub()
    assert not feedback.wanted(attrs, sub, "m", True)  # no sample rate: no successes
    assert feedback.wanted(attrs, sub, "m", False)  # every failure
    assert feedback.wanted({**attrs, "SQSSuccessFeedbackSampleRate": "100"}, sub, "m", True)
    half = {**attrs, "SQSSuccessFeedbackSampleRate": "50"}
    logged = sum(feedback.wanted(half, sub, f"m{i}", True) for i in range(1000))
    assert 400 < logged < 600
    assert not feedback.wanted(attrs, _sub("email"), "m", False)  # email: no status logging
    assert not feedback.wanted({}, sub, "m", False)
    assert feedback.log_group(TOPIC, True) == "sns/us-east-1/123456789012/orders"
    assert feedback.log_group(TOPIC, False) == "sns/us-east-1/123456789012/orders/Failure"


def test_feedback_record_shape() -> None:
    p = {"message_id": "mid", "topic_arn": TOPIC, "timestamp": 1_700_000_000.25}
    got = feedback.record(p, _sub(), "hello", success=False, attempts=4, status_code=500,
                          response="boom", now=1_700_000_002.0)  # fmt: skip
    assert got["status"] == "FAILURE"
    assert got["notification"] == {
        "messageMD5Sum": "5d41402abc4b2a76b9719d911017c592", "messageId": "mid",
        "topicArn": TOPIC, "timestamp": "2023-11-14 22:13:20.250",
    }  # fmt: skip
    delivery = got["delivery"]
    assert delivery["dwellTimeMs"] == 1750 and delivery["attempts"] == 4
    assert delivery["statusCode"] == 500 and delivery["providerResponse"] == "boom"
    assert delivery["destination"] == _sub().endpoint and len(delivery["deliveryId"]) == 36


def test_throttle_window() -> None:
    throttle = Throttle()
    assert [throttle.wait("s", 2, 100.0) for _ in range(2)] == [0.0, 0.0]
    assert throttle.wait("s", 2, 100.4) == pytest.approx(0.6)  # full until 101.0
    assert throttle.wait("other", 2, 100.4) == 0.0  # per subscription
    assert throttle.wait("s", 2, 101.0) == 0.0  # the first slot has freed
    throttle_policy = {
        "DeliveryPolicy": json.dumps({"throttlePolicy": {"maxReceivesPerSecond": 3}})
    }
    assert retry.max_receives({}, throttle_policy) == 3
    assert retry.max_receives({}, {}) is None


def test_lambda_event_from_the_envelope() -> None:
    envelope = {
        "Type": "Notification", "MessageId": "mid", "TopicArn": TOPIC, "Message": "m",
        "Timestamp": "2026-01-01T00:00:00.000Z", "SignatureVersion": "1", "Signature": "sig",
        "SigningCertURL": "http://h/cert.pem", "UnsubscribeURL": "http://h/?Action=Unsubscribe",
    }  # fmt: skip
    (record,) = lambda_event(envelope, _sub("lambda"))["Records"]
    assert record["EventSource"] == "aws:sns" and record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == f"{TOPIC}:abc"
    sns = record["Sns"]
    assert sns["Subject"] is None and sns["MessageAttributes"] == {}
    assert sns["SigningCertUrl"] == "http://h/cert.pem"
    assert sns["UnsubscribeUrl"] == "http://h/?Action=Unsubscribe"
