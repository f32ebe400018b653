"""Server-side validation messages and error codes per protocol family."""

from __future__ import annotations

import pytest

from overcast.errors import MissingParameter, ValidationException
from overcast.protocol.models import service_model
from overcast.protocol.validate import ValidationError, validate


def test_json_missing_required_member() -> None:
    op = service_model("sqs").operation_model("CreateQueue")
    with pytest.raises(ValidationException) as info:
        validate({}, op, "json")
    assert info.value.error_message == (
        "1 validation error detected: Value null at 'queueName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_query_missing_required_member_is_missing_parameter() -> None:
    op = service_model("sqs").operation_model("CreateQueue")
    with pytest.raises(MissingParameter) as info:
        validate({}, op, "query")
    assert info.value.error_message == "The request must contain the parameter QueueName."


def test_query_constraint_is_validation_error() -> None:
    op = service_model("sts").operation_model("AssumeRole")
    with pytest.raises(ValidationError) as info:
        validate(
            {"RoleArn": "arn:aws:iam::000000000000:role/r", "RoleSessionName": "s"}, op, "query"
        )
    assert "at 'roleSessionName'" in info.value.error_message
    assert "Member must have length greater than or equal to 2" in info.value.error_message


def test_json_nested_length_enum_and_count() -> None:
    op = service_model("dynamodb").operation_model("CreateTable")
    params = {
        "TableName": "t",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "", "KeyType": "BAD"}],
    }
    with pytest.raises(ValidationException) as info:
        validate(params, op, "json")
    message = info.value.error_message
    assert message.startswith("2 validation errors detected: ")
    assert "Value '' at 'keySchema.1.member.attributeName'" in message
    assert "Member must satisfy enum value set: [HASH, RANGE]" in message


def test_json_range() -> None:
    op = service_model("lambda").operation_model("ListFunctions")
    with pytest.raises(ValidationException) as info:
        validate({"MaxItems": 0}, op, "rest-json")
    assert "Value '0' at 'maxItems'" in info.value.error_message


def test_valid_input_and_rest_xml_pass() -> None:
    validate({"QueueName": "q"}, service_model("sqs").operation_model("CreateQueue"), "json")
    validate({}, service_model("s3").operation_model("PutObject"), "rest-xml")


def test_ec2_checks_only_required() -> None:
    op = service_model("ec2").operation_model("RunInstances")
    with pytest.raises(MissingParameter):
        validate({"MinCount": 1}, op, "ec2")
    validate({"MinCount": 1, "MaxCount": 1, "ImageId": ""}, op, "ec2")
