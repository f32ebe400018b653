"""Mobile push and SMS through boto3: platform applications and endpoints, publishing to an
endpoint or a phone number (captured at /_overcast/sns/messages), and SMS settings."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess


def _name(prefix: str = "app") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    return str(err.value.response["Error"]["Code"])


def _captured(server: ServerProcess, n: int, **filters: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(200):  # captured right after the commit; poll briefly
        found = requests.get(
            server.endpoint + "/_overcast/sns/messages", params=filters, timeout=10
        ).json()["messages"]
        if len(found) >= n:
            break
        threading.Event().wait(0.02)
    return found


def test_platform_application_lifecycle(client: Any) -> None:
    sns = client("sns")
    name = _name()
    arn = sns.create_platform_application(
        Name=name, Platform="GCM", Attributes={"PlatformCredential": "server-key"}
    )["PlatformApplicationArn"]
    assert arn.endswith(f":app/GCM/{name}")
    attrs = sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"]
    assert attrs["Enabled"] == "true" and "PlatformCredential" not in attrs  # a secret
    sns.set_platform_application_attributes(
        PlatformApplicationArn=arn, Attributes={"EventEndpointCreated": "arn:aws:sns:x"}
    )
    listed = sns.get_paginator("list_platform_applications").paginate().build_full_result()
    mine = [a for a in listed["PlatformApplications"] if a["PlatformApplicationArn"] == arn]
    assert mine[0]["Attributes"]["EventEndpointCreated"] == "arn:aws:sns:x"
    assert (
        _code(
            lambda: sns.create_platform_application(
                Name=name, Platform="NOKIA", Attributes={"PlatformCredential": "k"}
            )
        )
        == "InvalidParameter"
    )
    no_credential = {"PlatformPrincipal": "p"}
    assert _code(lambda: sns.create_platform_application(
        Name=_name(), Platform="GCM", Attributes=no_credential)) == "InvalidParameter"  # fmt: skip
    sns.delete_platform_application(PlatformApplicationArn=arn)
    sns.delete_platform_application(PlatformApplicationArn=arn)  # twice is fine
    assert _code(lambda: sns.get_platform_application_attributes(
        PlatformApplicationArn=arn)) == "NotFound"  # fmt: skip


def test_endpoints_and_push(client: Any, server: ServerProcess) -> None:
    sns = client("sns")
    app = sns.create_platform_application(
        Name=_name(), Platform="APNS", Attributes={"PlatformCredential": "k",
                                                   "PlatformPrincipal": "p"},
    )["PlatformApplicationArn"]  # fmt: skip
    token = uuid.uuid4().hex
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token=token,
                                            CustomUserData="user-1")["EndpointArn"]  # fmt: skip
    assert ":endpoint/APNS/" in endpoint
    # The same token again: the same endpoint; with other attributes: refused.
    assert (
        sns.create_platform_endpoint(
            PlatformApplicationArn=app, Token=token, CustomUserData="user-1"
        )["EndpointArn"]
        == endpoint
    )
    assert (
        _code(
            lambda: sns.create_platform_endpoint(
                PlatformApplicationArn=app, Token=token, CustomUserData="other"
            )
        )
        == "InvalidParameter"
    )
    attrs = sns.get_endpoint_attributes(EndpointArn=endpoint)["Attributes"]
    assert attrs == {"Enabled": "true", "Token": token, "CustomUserData": "user-1"}
    listed = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert [e["EndpointArn"] for e in listed] == [endpoint]

    message = json.dumps({"default": "plain", "APNS": json.dumps({"aps": {"alert": "hi"}})})
    sent = sns.publish(TargetArn=endpoint, Message=message, MessageStructure="json")
    got = _captured(server, 1, endpoint=endpoint)
    assert got[0]["protocol"] == "application"
    assert got[0]["message"]["MessageId"] == sent["MessageId"]
    assert json.loads(got[0]["message"]["Message"]) == {"aps": {"alert": "hi"}}
    assert got[0]["message"]["Token"] == token

    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "false"})
    assert _code(lambda: sns.publish(TargetArn=endpoint, Message="m")) == "EndpointDisabled"
    sns.set_endpoint_attributes(EndpointArn=endpoint, Attributes={"Enabled": "true"})
    sns.set_platform_application_attributes(PlatformApplicationArn=app,
                                            Attributes={"Enabled": "false"})  # fmt: skip
    assert _code(lambda: sns.publish(TargetArn=endpoint, Message="m")) == (
        "PlatformApplicationDisabled"
    )
    sns.delete_endpoint(EndpointArn=endpoint)
    sns.delete_endpoint(EndpointArn=endpoint)
    assert _code(lambda: sns.get_endpoint_attributes(EndpointArn=endpoint)) == "NotFound"
    sns.create_platform_endpoint(PlatformApplicationArn=app, Token="t2")
    sns.delete_platform_application(PlatformApplicationArn=app)  # takes its endpoints along
    assert _code(lambda: sns.list_endpoints_by_platform_application(
        PlatformApplicationArn=app)) == "NotFound"  # fmt: skip


def test_topic_fans_out_to_an_endpoint(client: Any, server: ServerProcess) -> None:
    sns = client("sns")
    app = sns.create_platform_application(
        Name=_name(), Platform="GCM", Attributes={"PlatformCredential": "k"}
    )["PlatformApplicationArn"]
    endpoint = sns.create_platform_endpoint(PlatformApplicationArn=app, Token=_name("tok"))[
        "EndpointArn"
    ]
    topic = sns.create_topic(Name=_name("topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=endpoint)
    sns.publish(TopicArn=topic, Message="to every device")
    got = _captured(server, 1, endpoint=endpoint)
    assert got[0]["message"]["Message"] == "to every device"


def test_sms_settings_and_publish(client: Any, server: ServerProcess) -> None:
    sns = client("sns")
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional",
                                       "DefaultSenderID": "Overcast"})  # fmt: skip
    assert sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"] == {
        "DefaultSMSType": "Transactional"
    }
    assert sns.get_sms_attributes()["attributes"]["DefaultSenderID"] == "Overcast"
    assert _code(lambda: sns.set_sms_attributes(attributes={"DefaultSMSType": "Loud"})) == (
        "InvalidParameter"
    )
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    assert sns.check_if_phone_number_is_opted_out(phoneNumber=phone)["isOptedOut"] is False
    assert phone not in sns.list_phone_numbers_opted_out()["phoneNumbers"]
    sns.opt_in_phone_number(phoneNumber=phone)
    assert _code(lambda: sns.check_if_phone_number_is_opted_out(phoneNumber="call me")) == (
        "InvalidParameter"
    )
    sent = sns.publish(
        PhoneNumber=phone, Message="code 1234",
        MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                   "StringValue": "Promotional"}},
    )  # fmt: skip
    got = _captured(server, 1, endpoint=phone)
    assert got[0]["protocol"] == "sms"
    record = got[0]["message"]
    assert record["MessageId"] == sent["MessageId"] and record["Message"] == "code 1234"
    assert record["SMSType"] == "Promotional" and record["SenderID"] == "Overcast"
    assert _code(lambda: sns.publish(PhoneNumber="+0-call-me", Message="m")) == "InvalidParameter"
