"""The generic validation leaves SQS's enums to the provider (dialect ``validate_enums``), and
still checks them for services that answer as their model says."""

from __future__ import annotations

import pytest
from botocore.session import get_session

from overcast.errors import ValidationException
from overcast.protocol.validate import ValidationError, validate


def test_sqs_enums_are_left_to_the_provider() -> None:
    op = get_session().get_service_model("sqs").operation_model("GetQueueAttributes")
    params = {"QueueUrl": "q", "AttributeNames": ["Nope"]}
    validate(params, op, "json")  # InvalidAttributeName comes from the provider instead
    validate(params, op, "query")
    # Required members are still the protocol layer's job.
    with pytest.raises(ValidationException):
        validate({"AttributeNames": ["Nope"]}, op, "json")


def test_other_services_still_check_enums() -> None:
    cw = get_session().get_service_model("cloudwatch").operation_model("PutMetricAlarm")
    params = {
        "AlarmName": "a", "EvaluationPeriods": 1, "ComparisonOperator": "Nope",
        "MetricName": "m", "Namespace": "n", "Period": 60, "Statistic": "Average",
        "Threshold": 1.0,
    }  # fmt: skip
    with pytest.raises(ValidationError, match="enum value set"):
        validate(params, cw, "query")
