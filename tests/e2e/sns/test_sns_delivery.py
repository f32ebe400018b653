"""SNS behaviours that need a server of their own (a second account, a clock moved by minutes or
days) or a restart: topic policies across accounts, AddPermission/RemovePermission, redrive to a
dead-letter queue, FIFO ordering and deduplication, and durable HTTP delivery across a crash."""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess, free_port

KEY, SECRET, OTHER = "AKIAOVERCASTSNS00001", "sns/secret+value", "222222222222"


@pytest.fixture(scope="module")
def own() -> Iterator[ServerProcess]:
    """A server for this module: its clock may jump (the session server's must not), and it
    knows a key of a second account."""
    proc = ServerProcess(extra_args=["--credentials", f"{KEY}:{SECRET}:{OTHER}"]).start()
    yield proc
    proc.stop()


def _name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _other(server: ServerProcess, service: str) -> Any:
    return server.client(service, aws_access_key_id=KEY, aws_secret_access_key=SECRET)


def _advance(server: ServerProcess, seconds: float) -> None:
    requests.post(server.endpoint + "/_overcast/clock", json={"advance": seconds}, timeout=10)


def _queue(sqs: Any, fifo: bool = False) -> tuple[str, str]:
    attrs = {"FifoQueue": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=_name("q") + (".fifo" if fifo else ""), Attributes=attrs)[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _drain_queue(sqs: Any, url: str, n: int, wait: int = 2) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    for _ in range(n + 3):
        resp = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10)
        for m in resp.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if len(got) >= n:
            break
    return got


class Endpoint:
    """A local HTTP endpoint for SNS to POST to, that can be taken down and brought back up on
    the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.received: list[dict[str, Any]] = []  # answered 200
        self.notes = 0  # notifications posted, failed or not
        self.fail_next = 0  # answer that many notifications with a 500
        self.headers: list[dict[str, str]] = []  # of every POST, lower-case names
        self.arrived = threading.Condition()
        self.httpd: http.server.ThreadingHTTPServer | None = None

    def up(self) -> Endpoint:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 200
                with owner.arrived:
                    owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                    if body["Type"] == "Notification":
                        owner.notes += 1
                        if owner.fail_next:
                            owner.fail_next -= 1
                            status = 500
                    if status == 200:
                        owner.received.append(body)
                    owner.arrived.notify_all()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def wait_notes(self, n: int, timeout: float = 10) -> int:
        with self.arrived:
            self.arrived.wait_for(lambda: self.notes >= n, timeout=timeout)
        return self.notes

    def wait(self, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= n, timeout=timeout)
        return self.received


def _confirmed_http(sns: Any, topic: str, endpoint: Endpoint, **attrs: str) -> str:
    """Subscribe the endpoint and confirm through the SubscribeURL it was sent."""
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url, Attributes=attrs)
    confirm = endpoint.wait(1)[0]
    assert confirm["Type"] == "SubscriptionConfirmation"
    return sns.confirm_subscription(TopicArn=topic, Token=confirm["Token"])["SubscriptionArn"]


# -- topic policy across accounts --------------------------------------------------------------


def _refused(call: Any) -> None:
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == "AuthorizationError"


def test_cross_account_publish_needs_a_policy(own: ServerProcess) -> None:
    sns, theirs = own.client("sns"), _other(own, "sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    default = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    # The default policy only lets the owner account in.
    _refused(lambda: theirs.publish(TopicArn=topic, Message="m"))
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "pub", "Effect": "Allow", "Principal": {"AWS": OTHER},
                       "Action": "sns:Publish", "Resource": topic}],
    }  # fmt: skip
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                             AttributeValue=json.dumps(policy))  # fmt: skip
    assert theirs.publish(TopicArn=topic, Message="m")["MessageId"]
    _refused(lambda: theirs.delete_topic(TopicArn=topic))  # only Publish was granted
    # Back to the default policy: refused again.
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=default)
    _refused(lambda: theirs.publish(TopicArn=topic, Message="m"))


def test_add_and_remove_permission(own: ServerProcess) -> None:
    sns, theirs = own.client("sns"), _other(own, "sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    sns.add_permission(TopicArn=topic, Label="let-them-publish", AWSAccountId=[OTHER],
                       ActionName=["Publish"])  # fmt: skip
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    added = [s for s in policy["Statement"] if s["Sid"] == "let-them-publish"]
    assert added == [{"Sid": "let-them-publish", "Effect": "Allow",
                      "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                      "Action": "SNS:Publish", "Resource": topic}]  # fmt: skip
    assert policy["Statement"][0]["Sid"] == "__default_statement_ID"  # kept
    assert theirs.publish(TopicArn=topic, Message="m")["MessageId"]
    _refused(lambda: theirs.get_topic_attributes(TopicArn=topic))
    with pytest.raises(ClientError) as err:  # labels are unique
        sns.add_permission(TopicArn=topic, Label="let-them-publish", AWSAccountId=[OTHER],
                           ActionName=["Subscribe"])  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError) as err:
        sns.add_permission(TopicArn=topic, Label="x", AWSAccountId=[OTHER],
                           ActionName=["DoEverything"])  # fmt: skip
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    sns.remove_permission(TopicArn=topic, Label="let-them-publish")
    _refused(lambda: theirs.publish(TopicArn=topic, Message="m"))
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
    _refused(lambda: theirs.add_permission(TopicArn=topic, Label="mine", AWSAccountId=[OTHER],
                                           ActionName=["Publish"]))  # fmt: skip


def test_delivery_to_another_accounts_queue_needs_its_queue_policy(own: ServerProcess) -> None:
    sqs, theirs = own.client("sqs"), _other(own, "sns")
    url, arn = _queue(sqs)
    topic = theirs.create_topic(Name=_name())["TopicArn"]
    theirs.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                     Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    theirs.publish(TopicArn=topic, Message="refused")
    assert _drain_queue(sqs, url, 1, wait=1) == []
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    theirs.publish(TopicArn=topic, Message="allowed")
    # (The refused one may still arrive on a retry, as on AWS: only "allowed" is certain.)
    assert "allowed" in [m["Body"] for m in _drain_queue(sqs, url, 1)]


# -- dead-letter queue, FIFO ------------------------------------------------------------------


def test_http_failures_exhausted_go_to_the_redrive_dlq(own: ServerProcess) -> None:
    sns, sqs = own.client("sns"), own.client("sqs")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    dlq_url, dlq_arn = _queue(sqs)
    endpoint = Endpoint().up()
    try:
        sub = _confirmed_http(sns, topic, endpoint)
    finally:
        endpoint.down()  # every delivery attempt now fails (connection refused)
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": dlq_arn}),
    )  # fmt: skip
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="DeliveryPolicy",
        AttributeValue=json.dumps({"healthyRetryPolicy": {
            "numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}}),
    )  # fmt: skip
    sns.publish(TopicArn=topic, Message="undeliverable", Subject="s")
    got: list[dict[str, Any]] = []
    for _ in range(10):  # each advance lets the next retry run at once
        _advance(own, 30)
        got = _drain_queue(sqs, dlq_url, 1, wait=1)
        if got:
            break
    assert len(got) == 1
    body = json.loads(got[0]["Body"])
    assert body["Message"] == "undeliverable" and body["TopicArn"] == topic
    assert endpoint.received[1:] == []  # nothing but the confirmation ever arrived


def test_fifo_topic_keeps_group_order_and_dedups_for_five_minutes(own: ServerProcess) -> None:
    sns, sqs = own.client("sns"), own.client("sqs")
    topic = sns.create_topic(Name=_name() + ".fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = _queue(sqs, fifo=True)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    sent = [("a", f"a{i}") for i in range(5)] + [("b", f"b{i}") for i in range(5)]
    sent.sort(key=lambda gm: gm[1][1])  # interleave the groups: a0 b0 a1 b1 ...
    seqs = []
    for group, body in sent:
        seqs.append(
            sns.publish(
                TopicArn=topic, Message=body, MessageGroupId=group, MessageDeduplicationId=body
            )["SequenceNumber"]
        )
    assert seqs == sorted(seqs)
    dup = sns.publish(TopicArn=topic, Message="a0", MessageGroupId="a",
                      MessageDeduplicationId="a0")  # fmt: skip
    assert dup["SequenceNumber"] == seqs[0]
    got = [m["Body"] for m in _drain_queue(sqs, url, 10)]
    assert [b for b in got if b[0] == "a"] == [f"a{i}" for i in range(5)]
    assert [b for b in got if b[0] == "b"] == [f"b{i}" for i in range(5)]
    _advance(own, 301)  # past both windows (the topic's and the queue's): accepted again
    again = sns.publish(TopicArn=topic, Message="a0", MessageGroupId="a",
                        MessageDeduplicationId="a0")  # fmt: skip
    assert again["SequenceNumber"] > seqs[-1]
    assert [m["Body"] for m in _drain_queue(sqs, url, 1)] == ["a0"]


def test_http_retries_follow_the_delivery_policy(own: ServerProcess) -> None:
    sns = own.client("sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    endpoint = Endpoint().up()
    try:
        # 1 immediate retry, 1 at the minimum (10 s), a backoff phase of 2 from 10 s to 40 s.
        policy = {"healthyRetryPolicy": {
            "numRetries": 4, "numNoDelayRetries": 1, "numMinDelayRetries": 1,
            "minDelayTarget": 10, "maxDelayTarget": 40, "backoffFunction": "linear"}}  # fmt: skip
        _confirmed_http(sns, topic, endpoint, DeliveryPolicy=json.dumps(policy))
        endpoint.fail_next = 4
        sns.publish(TopicArn=topic, Message="patience")
        assert endpoint.wait_notes(2) == 2  # the first attempt and the immediate retry
        settle = 0.3  # the server records a failure (and times the next retry) after the 500
        threading.Event().wait(settle)
        # Real time flows too (the clock is not frozen): stop 2 s short of each due time.
        for step, expected in ((8, 2), (2, 3), (8, 3), (2, 4), (38, 4), (2, 5)):
            _advance(own, step)
            if expected > endpoint.notes:
                assert endpoint.wait_notes(expected) == expected
                threading.Event().wait(settle)
            else:
                threading.Event().wait(0.3)  # nothing is due yet: nothing arrives
                assert endpoint.notes == expected
        assert [b["Message"] for b in endpoint.received[1:]] == ["patience"]
    finally:
        endpoint.down()


# -- durability ---------------------------------------------------------------------------------


def test_http_delivery_survives_a_crash(disk_server: ServerProcess) -> None:
    sns = disk_server.client("sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    endpoint = Endpoint().up()
    try:
        _confirmed_http(sns, topic, endpoint)
    finally:
        endpoint.down()
    sns.publish(TopicArn=topic, Message="survivor")  # first attempt fails: endpoint down
    disk_server.kill()  # SIGKILL with the retry pending
    revived = Endpoint(endpoint.port).up()
    try:
        disk_server.start()  # no SNS request: its pending retry resumes by itself
        note: list[dict[str, Any]] = []
        for _ in range(10):
            _advance(disk_server, 30)
            note = revived.wait(1, timeout=1)
            if note:
                break
        assert [n["Message"] for n in note] == ["survivor"]
    finally:
        revived.down()


# -- confirmation tokens ------------------------------------------------------------------------


def _tokens(server: ServerProcess, email: str) -> list[str]:
    for _ in range(200):
        found = requests.get(server.endpoint + "/_overcast/sns/messages",
                             params={"endpoint": email}, timeout=10).json()["messages"]  # fmt: skip
        tokens = [m["message"]["Token"] for m in found if m["message"].get("Token")]
        if tokens:
            return tokens
        threading.Event().wait(0.02)
    return []


def test_confirmation_tokens_expire_after_three_days(own: ServerProcess) -> None:
    sns = own.client("sns")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    email = f"{_name()}@example.com"
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    token = _tokens(own, email)[0]
    _advance(own, 3 * 24 * 3600 + 60)
    with pytest.raises(ClientError) as err:
        sns.confirm_subscription(TopicArn=topic, Token=token)
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in subs] == ["PendingConfirmation"]
    # Subscribing again sends a new token, which works.
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=email)
    for _ in range(200):
        tokens = _tokens(own, email)
        if len(tokens) >= 2:
            break
    assert tokens[-1] != token
    arn = sns.confirm_subscription(TopicArn=topic, Token=tokens[-1])["SubscriptionArn"]
    assert arn.startswith(topic + ":")
