"""Delivery status logging: the ``<Protocol>SuccessFeedbackRoleArn``,
``<Protocol>SuccessFeedbackSampleRate`` and ``<Protocol>FailureFeedbackRoleArn`` topic attributes
and the records AWS writes to CloudWatch Logs for them.

AWS logs a delivery's outcome to the log group ``sns/<region>/<account>/<topic>`` (successes,
sampled at the success sample rate, a percentage) or ``sns/<region>/<account>/<topic>/Failure``
(every failure), when the topic names a role for it. Overcast has no CloudWatch Logs yet: the
records stay in SNS's state (store.py, ``sns_delivery_status``) and are served at
``GET /_overcast/sns/delivery-status``. Sampling is a hash of message and subscription, not a
coin toss, so a test knows which deliveries are logged.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import uuid
from typing import Any

from overcast.services.sns.errors import InvalidParameterException
from overcast.services.sns.models import Subscription

# Attribute prefix for each subscription protocol that has delivery status logging.
PREFIXES = {"http": "HTTP", "https": "HTTP", "sqs": "SQS", "lambda": "Lambda",
            "firehose": "Firehose", "application": "Application"}  # fmt: skip
SUFFIXES = ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")
ATTRIBUTES = {p + s for p in set(PREFIXES.values()) for s in SUFFIXES}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def check_attribute(name: str, value: str) -> str:
    """The value to store for a delivery status attribute (an empty value turns it off)."""
    if value == "":
        return value
    if name.endswith("SampleRate"):
        if not value.isdigit() or int(value) > 100:
            raise InvalidParameterException(
                f"Invalid parameter: {name}: Success feedback sample rate must be an integer "
                "between 0 and 100"
            )
        return str(int(value))
    if not _ROLE_ARN.match(value):
        raise InvalidParameterException(f"Invalid parameter: {name}: Invalid role ARN {value}")
    return value


def _sampled(rate: str, message_id: str, sub_arn: str) -> bool:
    percent = int(rate) if rate.isdigit() else 0
    digest = hashlib.sha256(f"{message_id}|{sub_arn}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < percent


def log_group(topic_arn: str, success: bool) -> str:
    _, _, _, region, account, name = topic_arn.split(":", 5)
    group = f"sns/{region}/{account}/{name}"
    return group if success else group + "/Failure"


def app_log_group(app_arn: str, success: bool) -> str:
    """The log group of direct publishes to a platform application's endpoints."""
    _, _, _, region, account, resource = app_arn.split(":", 5)  # resource: app/GCM/MyApp
    group = f"sns/{region}/{account}/{resource}"
    return group if success else group + "/Failure"


def app_wanted(app_attrs: dict[str, str], message_id: str, endpoint_arn: str) -> bool:
    """Whether a platform application asks for this direct publish's success to be logged."""
    if not app_attrs.get("SuccessFeedbackRoleArn"):
        return False
    return _sampled(app_attrs.get("SuccessFeedbackSampleRate", "0"), message_id, endpoint_arn)


def push_record(
    message_id: str, endpoint_arn: str, token: str, message: str, now: float
) -> dict[str, Any]:
    """The record AWS logs for a push handed to the platform (a direct publish)."""
    return {
        "notification": {
            "messageMD5Sum": hashlib.md5(message.encode(), usedforsecurity=False).hexdigest(),
            "messageId": message_id,
            "timestamp": _stamp(now),
        },
        "delivery": {
            "deliveryId": str(uuid.uuid4()),
            "destination": endpoint_arn,
            "token": token,
            "providerResponse": "{}",
            "dwellTimeMs": 0,
            "statusCode": 200,
        },
        "status": "SUCCESS",
    }


def wanted(topic_attrs: dict[str, str], sub: Subscription, message_id: str, success: bool) -> bool:
    """Whether the topic asks for this delivery's outcome to be logged."""
    prefix = PREFIXES.get(sub.protocol)
    if prefix is None:
        return False
    if not success:
        return bool(topic_attrs.get(prefix + "FailureFeedbackRoleArn"))
    if not topic_attrs.get(prefix + "SuccessFeedbackRoleArn"):
        return False
    return _sampled(topic_attrs.get(prefix + "SuccessFeedbackSampleRate", "0"), message_id,
                    sub.arn)  # fmt: skip


def _stamp(ts: float) -> str:
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def record(
    p: dict[str, Any], sub: Subscription, message: str, *, success: bool, attempts: int,
    status_code: int, response: str, now: float,
) -> dict[str, Any]:  # fmt: skip
    """The JSON document AWS logs for one delivery's outcome."""
    return {
        "notification": {
            "messageMD5Sum": hashlib.md5(message.encode(), usedforsecurity=False).hexdigest(),
            "messageId": p["message_id"],
            "topicArn": p["topic_arn"],
            "timestamp": _stamp(p["timestamp"]),
        },
        "delivery": {
            "deliveryId": str(uuid.uuid4()),
            "destination": sub.endpoint,
            "providerResponse": response,
            "dwellTimeMs": max(0, round((now - p["timestamp"]) * 1000)),
            "attempts": attempts,
            "statusCode": status_code,
        },
        "status": "SUCCESS" if success else "FAILURE",
    }
