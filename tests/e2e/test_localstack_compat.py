"""LocalStack's endpoints and header: /_localstack/health, /info, the x-localstack header, and the
SQS developer endpoint /_aws/sqs/messages (peeking without side effects)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import boto3
import pytest

from overcast.testing import ServerProcess


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of this module's own: service states start at 'available'."""
    root = tmp_path_factory.mktemp("localstack")
    proc = ServerProcess(log_file=root / "overcast.log").start()
    yield proc
    proc.stop()


def call(
    proc: ServerProcess, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(proc.endpoint + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()


def test_health_keys_and_service_states(fresh: ServerProcess) -> None:
    status, headers, body = call(fresh, "GET", "/_localstack/health")
    assert status == 200
    assert headers["x-localstack"] == "true"
    health = json.loads(body)
    assert set(health) == {"services", "edition", "version"}
    assert health["edition"] == "community"
    assert health["services"]["sqs"] == "available"
    assert health["services"]["s3"] == "available"
    fresh.client("sqs").list_queues()
    services = json.loads(call(fresh, "GET", "/_localstack/health")[2])["services"]
    assert services["sqs"] == "running"
    assert services["s3"] == "available"
    for method in ("POST", "PUT"):
        status, _, body = call(fresh, method, "/_localstack/health")
        assert status == 200 and json.loads(body)["services"]["sqs"] == "running"
    status, headers, body = call(fresh, "HEAD", "/_localstack/health")
    assert (status, body) == (200, b"")
    assert headers["x-localstack"] == "true"


def test_info_keys(fresh: ServerProcess) -> None:
    status, _, body = call(fresh, "GET", "/_localstack/info")
    assert status == 200
    info = json.loads(body)
    assert set(info) == {
        "version",
        "edition",
        "is_license_activated",
        "session_id",
        "machine_id",
        "system",
        "is_docker",
        "server_time_utc",
        "uptime",
    }
    assert info["is_license_activated"] is False
    assert isinstance(info["uptime"], int) and info["uptime"] >= 0
    assert len(info["server_time_utc"]) == 19  # 2026-01-01T00:00:00
    assert (
        json.loads(call(fresh, "GET", "/_localstack/info")[2])["session_id"] == info["session_id"]
    )


def test_x_localstack_header_on_aws_responses_and_errors(fresh: ServerProcess) -> None:
    sqs = fresh.client("sqs")
    response = sqs.list_queues()
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-localstack"] == "true"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName="nope")
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-localstack"] == "true"
    status, headers, _ = call(fresh, "GET", "/_overcast/nothing-here")
    assert status == 404 and headers["x-localstack"] == "true"


# --- /_aws/sqs/messages ------------------------------------------------------------------------


def _queue(client: Callable[..., Any], name: str, **attrs: str) -> str:
    return client("sqs").create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]


def _peek(
    proc: ServerProcess, params: str, accept_json: bool = True, path: str = ""
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"} if accept_json else {}
    status, _, body = call(proc, "GET", f"/_aws/sqs/messages{path}?{params}", headers)
    return status, json.loads(body) if accept_json else body


def _messages(doc: Any) -> list[dict[str, Any]]:
    result = doc["ReceiveMessageResponse"]["ReceiveMessageResult"]
    if result is None:
        return []
    found = result["Message"]
    return found if isinstance(found, list) else [found]


def _attrs(message: dict[str, Any]) -> dict[str, str]:
    return {a["Name"]: a["Value"] for a in message["Attribute"]}


def test_peek_has_no_side_effects(server: ServerProcess, client: Callable[..., Any]) -> None:
    from urllib.parse import quote

    url = _queue(client, "peek-plain")
    sqs = client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="message-1")
    sqs.send_message(QueueUrl=url, MessageBody="message-2")
    status, body = _peek(server, f"QueueUrl={quote(url)}", accept_json=False)
    assert status == 200
    root = ElementTree.fromstring(body)
    ns = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}
    bodies = [e.text for e in root.iterfind(".//q:Message/q:Body", ns)]
    assert bodies == ["message-1", "message-2"]
    handles = {e.text for e in root.iterfind(".//q:Message/q:ReceiptHandle", ns)}
    assert handles == {"SQS/BACKDOOR/ACCESS"}
    # Peeking twice changed nothing: the messages are still there, never received.
    _peek(server, f"QueueUrl={quote(url)}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"])
    assert got["Messages"][0]["Body"] == "message-1"
    assert got["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "1"
    status, doc = _peek(server, f"QueueUrl={quote(url)}&ShowInvisible=true")
    messages = _messages(doc)
    assert [m["Body"] for m in messages] == ["message-1", "message-2"]
    assert messages[0]["MD5OfBody"] == "3d6b824fd8c1520e9a047d21fee6fb1f"
    first, second = _attrs(messages[0]), _attrs(messages[1])
    assert (first["ApproximateReceiveCount"], first["IsVisible"]) == ("1", "false")
    assert (second["ApproximateReceiveCount"], second["IsVisible"]) == ("0", "true")
    assert second["SenderId"] == "000000000000"
    assert {"SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(second)
    status, doc = _peek(server, f"QueueUrl={quote(url)}&ShowInvisible=False")
    assert [m["Body"] for m in _messages(doc)] == ["message-2"]
    # A single message is an object, as LocalStack's XML-to-JSON gives it.
    assert isinstance(doc["ReceiveMessageResponse"]["ReceiveMessageResult"]["Message"], dict)


def test_peek_delayed_messages(server: ServerProcess, client: Callable[..., Any]) -> None:
    url = _queue(client, "peek-delayed")
    sqs = client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    path = "/us-east-1/000000000000/peek-delayed"
    assert [m["Body"] for m in _messages(_peek(server, "", path=path)[1])] == ["now"]
    messages = _messages(_peek(server, "ShowDelayed=true", path=path)[1])
    assert [(m["Body"], _attrs(m)["IsDelayed"]) for m in messages] == [
        ("now", "false"),
        ("later", "true"),
    ]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"


def test_peek_fifo_attributes(server: ServerProcess, client: Callable[..., Any]) -> None:
    url = _queue(client, "peek.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    sqs = client("sqs")
    for body, group in (("m1", "1"), ("m2", "1"), ("m3", "2")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    peeker = boto3.client(
        "sqs",
        endpoint_url=server.endpoint + "/_aws/sqs/messages",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    # As an SDK endpoint: ReceiveMessage answers every message, MaxNumberOfMessages ignored.
    messages = peeker.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in messages] == ["m1", "m2", "m3"]
    assert [m["Attributes"]["MessageGroupId"] for m in messages] == ["1", "1", "2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in messages} == {"0"}
    with pytest.raises(peeker.exceptions.ClientError) as info:
        peeker.send_message(QueueUrl=url, MessageBody="no")
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidRequest",
        "This endpoint only accepts ReceiveMessage calls",
    )


def test_peek_errors(server: ServerProcess, client: Callable[..., Any]) -> None:
    _queue(client, "peek-errors")
    status, doc = _peek(server, "")
    assert status == 400
    assert doc["ErrorResponse"]["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    status, doc = _peek(server, "QueueUrl=http://localhost:4566/nonsense")
    assert status == 404
    assert doc["ErrorResponse"]["Error"]["Code"] == "InvalidAddress"
    status, doc = _peek(server, "", path="/us-east-1/000000000000/hopefully-not-there")
    assert doc["ErrorResponse"]["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    # The right queue in the wrong region does not exist either.
    status, doc = _peek(server, "", path="/us-east-2/000000000000/peek-errors")
    assert status == 400
    assert doc["ErrorResponse"]["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    status, body = _peek(server, "", accept_json=False)
    assert status == 400 and b"<Code>AWS.SimpleQueueService.NonExistentQueue</Code>" in body


def test_no_ses_developer_endpoint_without_ses(fresh: ServerProcess) -> None:
    status, _, _ = call(fresh, "GET", "/_aws/ses")
    assert status == 404


def test_compatibility_doc_names_every_endpoint() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "compatibility.md").read_text()
    for endpoint in (
        "/_localstack/health",
        "/_localstack/info",
        "/_localstack/init",
        "/_aws/sqs/messages",
        "/moto-api/reset-auth",
    ):
        assert endpoint in doc


def test_state_changing_endpoints_refuse_requests_from_web_pages(server: ServerProcess) -> None:
    """A page in the user's browser must not wipe state or move the clock (a no-cors POST)."""
    import requests

    reset = server.endpoint + "/_overcast/reset"
    for headers in (
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ):
        answer = requests.post(reset, headers=headers, timeout=10)
        assert answer.status_code == 403, headers
    clock = server.endpoint + "/_overcast/clock"
    moved = requests.post(
        clock, json={"advance": 10}, headers={"Origin": "http://x.test"}, timeout=10
    )
    assert moved.status_code == 403
    # Tools send no Origin; a page served by Overcast itself (same origin) is fine too.
    host = server.endpoint.split("://", 1)[1]
    assert requests.get(clock, headers={"Origin": "https://evil.example"}, timeout=10).ok
    same = requests.post(
        clock, json={"advance": 0}, headers={"Origin": f"http://{host}"}, timeout=10
    )
    assert same.status_code == 200
