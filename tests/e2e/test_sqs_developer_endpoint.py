"""LocalStack's SQS developer endpoint ``/_aws/sqs/messages``: queue URLs in each of LocalStack's
endpoint strategies, queues of other accounts and regions, the region of a URL that names none,
and the errors for missing queues and URLs that are no queue URLs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from overcast.testing import ServerProcess

Client = Callable[..., Any]
OTHER_ACCOUNT = "111122223333"
OTHER_KEY = "AKIAOTHERACCOUNT0001"


def _peek(proc: ServerProcess, params: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{proc.endpoint}/_aws/sqs/messages?{urlencode(params)}",
        headers={"Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _bodies(doc: Any) -> list[str]:
    result = doc["ReceiveMessageResponse"]["ReceiveMessageResult"]
    found = result["Message"] if result else []
    return [m["Body"] for m in (found if isinstance(found, list) else [found])]


def _error(doc: Any) -> str:
    return str(doc["ErrorResponse"]["Error"]["Code"])


def _sqs(proc: ServerProcess, region: str, other_account: bool = False) -> Any:
    if not other_account:
        return proc.client("sqs", region=region)
    return proc.client(
        "sqs", region=region, aws_access_key_id=OTHER_KEY, aws_secret_access_key="secret"
    )


@pytest.fixture(scope="module")
def queues(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """``dev-q`` with one message in us-east-1 and in eu-west-1 (different bodies), and in
    another account; ``dev-west-only`` only in eu-west-1."""
    proc = ServerProcess(
        extra_args=["--credentials", f"{OTHER_KEY}:secret:{OTHER_ACCOUNT}"],
        log_file=tmp_path_factory.mktemp("sqs-dev") / "overcast.log",
    ).start()
    for region, other, body in (
        ("us-east-1", False, "east"),
        ("eu-west-1", False, "west"),
        ("us-east-1", True, "other account"),
    ):
        sqs = _sqs(proc, region, other)
        url = sqs.create_queue(QueueName="dev-q")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=body)
    west = _sqs(proc, "eu-west-1")
    url = west.create_queue(QueueName="dev-west-only")["QueueUrl"]
    west.send_message(QueueUrl=url, MessageBody="only west")
    yield proc
    proc.stop()


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("http://localhost:4566/000000000000/dev-q", "east"),  # no region: the default one
        ("http://localhost:4566/000000000000/dev-q/", "east"),
        ("http://sqs.eu-west-1.localhost.localstack.cloud:4566/000000000000/dev-q", "west"),
        ("http://eu-west-1.queue.localhost.localstack.cloud:4566/000000000000/dev-q", "west"),
        ("http://queue.localhost.localstack.cloud:4566/000000000000/dev-q", "east"),
        ("http://localhost:4566/queue/eu-west-1/000000000000/dev-q", "west"),  # path strategy
        (f"https://sqs.us-east-1.amazonaws.com/{OTHER_ACCOUNT}/dev-q", "other account"),
        ("http://localhost:4566/000000000000/dev-west-only", "only west"),
    ],
)
def test_queue_urls_of_every_strategy(queues: ServerProcess, url: str, body: str) -> None:
    status, doc = _peek(queues, {"QueueUrl": url})
    assert status == 200, doc
    assert _bodies(doc) == [body]


def test_a_sdk_call_takes_the_region_of_its_signature(queues: ServerProcess) -> None:
    peeker = boto3.client(
        "sqs",
        endpoint_url=queues.endpoint + "/_aws/sqs/messages",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    url = f"{queues.endpoint}/000000000000/dev-q"  # names no region
    messages = peeker.receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in messages] == ["west"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "AWS.SimpleQueueService.NonExistentQueue"),
        ({"QueueUrl": ""}, 400, "AWS.SimpleQueueService.NonExistentQueue"),
        (
            {"QueueUrl": "http://localhost:4566/000000000000/no-such-queue"},
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        (  # the queue exists, in another region than the URL's
            {"QueueUrl": "http://sqs.ap-south-1.localhost.localstack.cloud/000000000000/dev-q"},
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        (  # an account without such a queue
            {"QueueUrl": "http://localhost:4566/999999999999/dev-q"},
            400,
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        ({"QueueUrl": "http://localhost:4566/nonsense"}, 404, "InvalidAddress"),
        ({"QueueUrl": "http://localhost:4566/a/b/c"}, 404, "InvalidAddress"),
        ({"QueueUrl": "http://localhost:4566/other/eu-west-1/0/dev-q"}, 404, "InvalidAddress"),
    ],
)
def test_errors(queues: ServerProcess, params: dict[str, str], status: int, code: str) -> None:
    got, doc = _peek(queues, params)
    assert (got, _error(doc)) == (status, code)


def test_a_browser_get_ignores_action(queues: ServerProcess) -> None:
    # Only an SDK's call is held to ReceiveMessage; a plain GET's parameters are just that.
    url = "http://localhost:4566/000000000000/dev-q"
    status, doc = _peek(queues, {"QueueUrl": url, "Action": "SendMessage"})
    assert status == 200 and _bodies(doc) == ["east"]
