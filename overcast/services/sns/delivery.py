"""Fan-out: the event-bus handler that delivers a published message to each subscription.

One ``sns.message.published`` event per published message (or per SubscriptionConfirmation).
The handler serves every subscription whose filter policy matches and records, per event,
which were served (``sns_progress``).

Retries differ by protocol. HTTP(S) follows the subscription's effective delivery policy
(retry.py): each retry is a row of ``sns_retries`` due at the policy's time, written in the
same transaction that records the failure, and run by a Clock timer armed for the earliest row
(re-armed when the provider loads, so a restart keeps them). Other protocols fail the bus event,
so the bus retries it (its backoff, on the Clock) and only the failed subscriptions are tried
again, up to 3 attempts. A subscription out of attempts has the message sent to its
RedrivePolicy dead-letter queue, if any, and is given up.

SQS gets AWS's JSON envelope (or the raw message); HTTP(S) a POST with AWS's headers and the
delivery policy's Content-Type; email, email-json, SMS, application, Lambda and Firehose
deliveries are captured in the store and served at ``GET /_overcast/sns/messages`` (nothing
leaves the machine; a Lambda delivery is the event a function would be invoked with, queued for
the Lambda service). An HTTP(S) retry schedule never reaches past an hour after the first failed
attempt, and a notification over the subscription's ``maxReceivesPerSecond`` waits in
``sns_retries`` for a free second (throttle.py) without counting as an attempt. Each outcome
the topic asks to log (feedback.py) is recorded as AWS's delivery status log record.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import json
import logging
import sqlite3
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import quote

from overcast import events
from overcast.clock import Timer
from overcast.errors import ServiceError
from overcast.events import Event
from overcast.services.base import ServiceEnv
from overcast.services.sns import feedback, filter_policy, retry, store
from overcast.services.sns.common import SnsBase
from overcast.services.sns.models import Subscription
from overcast.services.sns.throttle import Throttle
from overcast.services.sqs import delivery as sqs_delivery

log = logging.getLogger("overcast.sns")

SUBSCRIBER = "sns.fanout"
CERT_PATH = "/_overcast/sns/SimpleNotificationService.pem"
HTTP_TIMEOUT = 15.0
RETRY_BATCH = 50
DEFAULT_ATTEMPTS = 3
CAPTURED = {"email", "email-json", "sms", "application", "lambda", "firehose"}
RESPONSE_KEPT = 4096  # bytes of an endpoint's response body kept for the status log


def iso(ts: float) -> str:
    moment = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class DeliveryFailed(Exception):
    """A delivery the endpoint refused: its status code and response, for the status log."""

    def __init__(self, message: str, status: int = 0, response: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.response = response or message


Outcome = tuple[int, str]  # (status code, provider response) of a delivery


def _failure(exc: Exception) -> Outcome:
    if isinstance(exc, DeliveryFailed):
        return exc.status, exc.response
    if isinstance(exc, ServiceError):  # refused by the target service (SQS), as AWS logs it
        response = {"ErrorCode": exc.error_code, "ErrorMessage": exc.error_message,
                    "sqsRequestId": "Unrecorded", "sqsMessageId": "Unrecorded"}  # fmt: skip
        return exc.http_status, json.dumps(response)
    return 0, str(exc) or type(exc).__name__


def lambda_event(envelope: dict[str, Any], sub: Subscription) -> dict[str, Any]:
    """The event AWS invokes a subscribed function with, from the signed envelope."""
    sns = {
        "Type": envelope["Type"], "MessageId": envelope["MessageId"],
        "TopicArn": envelope["TopicArn"], "Subject": envelope.get("Subject"),
        "Message": envelope["Message"], "Timestamp": envelope["Timestamp"],
        "SignatureVersion": envelope["SignatureVersion"], "Signature": envelope["Signature"],
        "SigningCertUrl": envelope["SigningCertURL"],
        "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
        "MessageAttributes": envelope.get("MessageAttributes", {}),
    }  # fmt: skip
    return {
        "Records": [
            {"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn": sub.arn,
             "Sns": sns}
        ]
    }  # fmt: skip


class Delivery(SnsBase):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        # The bus hands over this subscriber's undelivered events from before a restart.
        env.events.subscribe(events.SNS_MESSAGE_PUBLISHED, self._on_published, name=SUBSCRIBER)
        self._retry_timer: Timer | None = None
        self._timer_lock = threading.Lock()
        self._retry_lock: asyncio.Lock | None = None
        self._throttle = Throttle()
        self._arm_retries()  # HTTP retries stored before a restart

    # -- envelopes ----------------------------------------------------------------------------

    def _envelope(self, p: dict[str, Any], sub: Subscription, message: str) -> dict[str, Any]:
        """AWS's JSON document for HTTP(S), SQS (not raw) and email-json, signed."""
        base = p["base_url"]
        env: dict[str, Any] = {"Type": p["type"], "MessageId": p["message_id"]}
        if p["type"] == "Notification":
            if p.get("sequence_number"):
                env["SequenceNumber"] = p["sequence_number"]
            env["TopicArn"] = p["topic_arn"]
            if p.get("subject") is not None:
                env["Subject"] = p["subject"]
            env["Message"] = message
        else:
            env.update(Token=p["token"], TopicArn=p["topic_arn"], Message=message)
            env["SubscribeURL"] = (
                f"{base}/?Action=ConfirmSubscription&TopicArn={quote(p['topic_arn'], safe='')}"
                f"&Token={p['token']}"
            )
        env["Timestamp"] = iso(p["timestamp"])
        env["SignatureVersion"] = p.get("signature_version") or "1"
        env["Signature"] = self.signer.sign(env)
        env["SigningCertURL"] = base + CERT_PATH
        if p["type"] == "Notification":
            env["UnsubscribeURL"] = (
                f"{base}/?Action=Unsubscribe&SubscriptionArn={quote(sub.arn, safe='')}"
            )
            attrs = p.get("message_attributes") or {}
            if attrs:
                env["MessageAttributes"] = {
                    name: {
                        "Type": a["DataType"],
                        "Value": a.get("StringValue", a.get("BinaryValue")),
                    }
                    for name, a in attrs.items()
                }
        return env

    # -- the handler --------------------------------------------------------------------------

    async def _on_published(self, event: Event) -> None:
        p = event.payload
        state = self.env.store

        def load(
            c: sqlite3.Connection,
        ) -> tuple[list[Subscription], dict[str, Any], dict[str, str]]:
            if p.get("subscription_arn"):
                sub = store.get_subscription(c, p["subscription_arn"])
                subs = [sub] if sub is not None and not sub.confirmed else []
            else:
                subs = [s for s in store.topic_subscriptions(c, p["topic_arn"]) if s.confirmed]
            topic = store.get_topic(c, p["topic_arn"])
            return subs, store.progress(c, event.id), topic.attrs if topic else {}

        subs, done, topic_attrs = state.read(load)
        updates: dict[str, tuple[int, bool]] = {}
        # HTTP(S) rows for sns_retries: (subscription, payload, due).
        retries: list[tuple[str, dict[str, Any], float]] = []
        failures = []
        for sub in subs:
            attempts, finished = done.get(sub.arn, (0, False))
            if finished:
                continue
            if p["type"] == "Notification" and not self._wanted(sub, p):
                continue
            pause = self._throttled(p, sub, topic_attrs)
            if pause > 0:
                # Over maxReceivesPerSecond: the first attempt waits for a free slot.
                due = self.env.clock.now() + pause
                retries.append((sub.arn, {**p, "throttled": True}, due))
                updates[sub.arn] = (attempts, True)
                continue
            try:
                outcome = await self._deliver(p, sub, topic_attrs)
            except Exception as exc:
                attempts += 1
                if sub.protocol in ("http", "https"):
                    # The delivery policy times the retries, not the bus: hand it over.
                    policy = retry.healthy_policy(topic_attrs, sub.attrs)
                    if retry.num_retries(policy) > 0:
                        # The retries must end within the hour after this first failure.
                        now = self.env.clock.now()
                        payload = {**p, "first_failed_at": now}
                        retries.append((sub.arn, payload, now + retry.delay(policy, 0)))
                    else:
                        log.warning("SNS delivery to %s failed, no retries: %s", sub.arn, exc)
                        await self._give_up(p, sub, topic_attrs, attempts, _failure(exc))
                    updates[sub.arn] = (attempts, True)
                elif attempts >= DEFAULT_ATTEMPTS:
                    log.warning("SNS delivery to %s failed, giving up: %s", sub.arn, exc)
                    await self._give_up(p, sub, topic_attrs, attempts, _failure(exc))
                    updates[sub.arn] = (attempts, True)
                else:
                    updates[sub.arn] = (attempts, False)
                    failures.append(f"{sub.arn}: {exc}")
            else:
                updates[sub.arn] = (attempts + 1, True)
                await self._log_status(p, sub, topic_attrs, True, attempts + 1, outcome)

        def record(c: sqlite3.Connection) -> None:
            for sub_arn, payload, due in retries:
                store.add_retry(c, sub_arn, payload, 0, due)
            if failures:
                store.record_progress(c, event.id, updates)
            else:
                store.forget_progress(c, event.id)

        await state.awrite(record)
        if retries:
            self._arm_retries()
        if failures:
            raise DeliveryFailed("; ".join(failures))

    def _wanted(self, sub: Subscription, p: dict[str, Any]) -> bool:
        policy = sub.filter_policy()
        if not policy:
            return True
        if sub.attrs.get("FilterPolicyScope") == "MessageBody":
            return filter_policy.matches_body(policy, p["message"])
        return filter_policy.matches_attributes(policy, p.get("message_attributes") or {})

    # -- HTTP(S) retries on the delivery policy's schedule ------------------------------------

    def _arm_retries(self) -> None:
        """(Re)arm the Clock timer for the earliest stored retry (any thread)."""
        due = self.env.store.read(store.next_retry_due)
        with self._timer_lock:
            if self._retry_timer is not None:
                self._retry_timer.cancel()
                self._retry_timer = None
            if due is None:
                return
            # No event loop yet (not serving): armed again when the provider loads.
            with contextlib.suppress(RuntimeError):
                self._retry_timer = self.env.clock.call_at(due, self._run_retries)

    async def _run_retries(self) -> None:
        """Try every retry that is due; reschedule, dead-letter or drop each as it turns out."""
        if self._retry_lock is None:
            self._retry_lock = asyncio.Lock()
        state = self.env.store
        try:
            async with self._retry_lock:
                while True:
                    due = state.read(
                        lambda c: store.due_retries(c, self.env.clock.now(), RETRY_BATCH)
                    )
                    if not due:
                        return
                    for retry_id, sub_arn, p, attempts in due:
                        await self._retry_one(retry_id, sub_arn, p, attempts)
        finally:
            self._arm_retries()

    async def _retry_one(
        self, retry_id: int, sub_arn: str, p: dict[str, Any], attempts: int
    ) -> None:
        def load(c: sqlite3.Connection) -> tuple[Subscription | None, dict[str, str]]:
            topic = store.get_topic(c, p["topic_arn"])
            return store.get_subscription(c, sub_arn), topic.attrs if topic else {}

        sub, topic_attrs = self.env.store.read(load)
        confirming = p["type"] == "SubscriptionConfirmation"
        if sub is None or sub.confirmed == confirming:
            # Unsubscribed (or confirmed meanwhile): nothing left to deliver.
            await self.env.store.awrite(lambda c: store.delete_retry(c, retry_id))
            return
        now = self.env.clock.now()
        pause = self._throttled(p, sub, topic_attrs)
        if pause > 0:  # over maxReceivesPerSecond: wait for a free slot
            await self.env.store.awrite(
                lambda c: store.reschedule_retry(c, retry_id, attempts, now + pause)
            )
            return
        first_attempt = bool(p.get("throttled"))  # held back by the throttle, not yet tried
        try:
            outcome = await self._deliver(p, sub, topic_attrs)
        except Exception as exc:
            policy = retry.healthy_policy(topic_attrs, sub.attrs)
            now = self.env.clock.now()
            if first_attempt:
                # The first failure: the schedule (and the hour's budget) starts now.
                p = {k: v for k, v in p.items() if k != "throttled"}
                p["first_failed_at"] = now
            else:
                attempts += 1  # retries made so far
            pause = retry.delay(policy, attempts)
            first = float(p.get("first_failed_at", now))
            if attempts >= retry.num_retries(policy) or not retry.within_budget(first, now, pause):
                log.warning("SNS delivery to %s failed, giving up: %s", sub.arn, exc)
                await self._give_up(p, sub, topic_attrs, attempts + 1, _failure(exc))
                await self.env.store.awrite(lambda c: store.delete_retry(c, retry_id))
            else:
                payload = p
                await self.env.store.awrite(
                    lambda c: store.reschedule_retry(c, retry_id, attempts, now + pause, payload)
                )
        else:
            await self.env.store.awrite(lambda c: store.delete_retry(c, retry_id))
            made = 1 if first_attempt else attempts + 2
            await self._log_status(p, sub, topic_attrs, True, made, outcome)

    def _throttled(
        self, p: dict[str, Any], sub: Subscription, topic_attrs: dict[str, str]
    ) -> float:
        """Seconds an HTTP(S) notification must wait for its subscription's
        ``maxReceivesPerSecond`` (0: deliver now, and it counts)."""
        if sub.protocol not in ("http", "https") or p["type"] != "Notification":
            return 0.0
        rate = retry.max_receives(topic_attrs, sub.attrs)
        if rate is None:
            return 0.0
        return self._throttle.wait(sub.arn, rate, self.env.clock.now())

    async def _give_up(
        self, p: dict[str, Any], sub: Subscription, topic_attrs: dict[str, str], attempts: int,
        outcome: Outcome,
    ) -> None:  # fmt: skip
        """Out of attempts: log the failure and move the message to the dead-letter queue."""
        await self._log_status(p, sub, topic_attrs, False, attempts, outcome)
        await self._dead_letter(p, sub)

    async def _log_status(
        self, p: dict[str, Any], sub: Subscription, topic_attrs: dict[str, str], success: bool,
        attempts: int, outcome: Outcome,
    ) -> None:  # fmt: skip
        """Record the outcome as AWS's delivery status log, if the topic asks for it."""
        if p["type"] != "Notification" or not feedback.wanted(
            topic_attrs, sub, p["message_id"], success
        ):
            return
        now = self.env.clock.now()
        entry = feedback.record(
            p, sub, self._message_for(p, sub.protocol), success=success, attempts=attempts,
            status_code=outcome[0], response=outcome[1], now=now,
        )  # fmt: skip
        group = feedback.log_group(p["topic_arn"], success)
        await self.env.store.awrite(
            lambda c: store.log_status(c, now, p["topic_arn"], group, entry)
        )

    def _message_for(self, p: dict[str, Any], protocol: str) -> str:
        messages = p.get("messages")
        if messages:
            return messages.get(protocol, messages["default"])
        return p["message"]

    async def _deliver(
        self, p: dict[str, Any], sub: Subscription, topic_attrs: dict[str, str]
    ) -> Outcome:
        message = self._message_for(p, sub.protocol)
        if sub.protocol == "sqs":
            message_id = await asyncio.to_thread(self._to_sqs, sub.endpoint, p, sub, message)
            return 200, json.dumps({"sqsRequestId": "Unrecorded", "sqsMessageId": message_id})
        if sub.protocol in ("http", "https"):
            return await self._to_http(p, sub, message, retry.content_type(topic_attrs, sub.attrs))
        record = self._envelope(p, sub, message)
        outcome: Outcome = (200, "{}")
        if sub.protocol == "lambda":
            # Queued for the Lambda service: the event it will invoke the function with.
            record = lambda_event(record, sub)
            outcome = (202, json.dumps({"lambdaRequestId": str(uuid.uuid4())}))
        now = self.env.clock.now()
        await self.env.store.awrite(
            lambda c: store.capture(
                c, now, p["topic_arn"], sub.arn, sub.protocol, sub.endpoint, record
            )
        )
        return outcome

    def _to_sqs(self, queue_arn: str, p: dict[str, Any], sub: Subscription, message: str) -> str:
        if sub.raw:
            attrs = {
                name: (
                    {"DataType": a["DataType"], "BinaryValue": base64.b64decode(a["BinaryValue"])}
                    if "BinaryValue" in a
                    else dict(a)
                )
                for name, a in (p.get("message_attributes") or {}).items()
            }
            body = message
        else:
            attrs, body = {}, json.dumps(self._envelope(p, sub, message), ensure_ascii=False)
        # The topic is the source: a queue in another account needs a policy allowing it.
        return sqs_delivery.deliver(
            self.env, queue_arn, body, attrs or None, p.get("message_group_id"),
            p.get("message_deduplication_id"), source_arn=p["topic_arn"],
        )  # fmt: skip

    async def _to_http(
        self, p: dict[str, Any], sub: Subscription, message: str, content_type: str
    ) -> Outcome:
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Amazon Simple Notification Service Agent",
            "x-amz-sns-message-type": p["type"],
            "x-amz-sns-message-id": p["message_id"],
            "x-amz-sns-topic-arn": p["topic_arn"],
        }
        if p["type"] == "Notification":
            headers["x-amz-sns-subscription-arn"] = sub.arn
        if sub.raw and p["type"] == "Notification":
            headers["x-amz-sns-rawdelivery"] = "true"
            body = message
        else:
            body = json.dumps(self._envelope(p, sub, message), ensure_ascii=False)
        return await asyncio.to_thread(_post, sub.endpoint, body.encode(), headers)

    async def _dead_letter(self, p: dict[str, Any], sub: Subscription) -> None:
        try:
            target = json.loads(sub.attrs.get("RedrivePolicy") or "{}").get("deadLetterTargetArn")
        except ValueError:
            target = None
        if not target or p["type"] != "Notification":
            return
        try:
            await asyncio.to_thread(
                self._to_sqs, target, p, sub, self._message_for(p, sub.protocol)
            )
        except Exception:
            log.exception("SNS could not move a message to the dead-letter queue %s", target)


def _post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST the delivery; its status and response body (or reason), or DeliveryFailed."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            status, reason = response.status, response.reason
            text = response.read(RESPONSE_KEPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status, reason = exc.code, exc.reason
        text = exc.read(RESPONSE_KEPT).decode("utf-8", "replace") if exc.fp else ""
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryFailed(f"{url}: {exc}", 0, str(getattr(exc, "reason", exc))) from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status} from {url}", status, text or str(reason))
    return status, text or str(reason)
