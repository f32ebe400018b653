"""Subscriptions: subscribe (per-protocol endpoint rules and confirmation), confirm, unsubscribe,
list, and subscription attributes (filter policies, raw delivery, redrive and delivery policies).

SQS, Lambda, Firehose and application endpoints are confirmed at once; HTTP(S) and email
endpoints stay pending until ConfirmSubscription is called with the token their
SubscriptionConfirmation message carried (sent through the event bus like any delivery).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from typing import Any

from overcast import events
from overcast.gateway.context import RequestContext
from overcast.services.sns import delivery_policy, filter_policy, retry, store
from overcast.services.sns.common import SnsBase, base_url, split_arn
from overcast.services.sns.errors import InvalidParameterException, NotFoundException, invalid
from overcast.services.sns.models import PROTOCOLS, Subscription

PAGE = 100
TOKEN_LIFETIME = 3 * 24 * 3600.0  # AWS: a confirmation token is valid for three days
AUTO_CONFIRMED = {"sqs", "lambda", "firehose", "application", "sms"}
_SETTABLE = {"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
             "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"}  # fmt: skip


def _check_endpoint(protocol: str, endpoint: str) -> None:
    if protocol not in PROTOCOLS:
        raise InvalidParameterException(
            f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
        )
    if protocol in ("http", "https") and not endpoint.lower().startswith(protocol + "://"):
        raise invalid("Endpoint must match the specified protocol")
    if protocol in ("email", "email-json") and "@" not in endpoint:
        raise invalid("Email address")
    if (protocol == "sqs" and not endpoint.startswith("arn:")) or (
        protocol == "sqs" and endpoint.split(":")[2:3] != ["sqs"]
    ):
        raise invalid("SQS endpoint ARN")
    if protocol == "lambda" and ":lambda:" not in endpoint:
        raise invalid("Lambda endpoint ARN")
    if protocol == "sms" and not endpoint.lstrip("+").replace("-", "").isdigit():
        raise invalid("Invalid SMS endpoint: " + endpoint)


def check_attribute(
    name: str, value: str, attrs: dict[str, str], protocol: str, creating: bool = False
) -> str:
    """The value to store for a subscription attribute, validated as AWS does (``creating``:
    given to Subscribe, whose messages say ``Attributes Reason:``)."""
    if name not in _SETTABLE:
        raise invalid("AttributeName")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise invalid("Attributes Reason: RawMessageDelivery: Invalid value [" + value + "]")
        if protocol not in ("sqs", "http", "https", "firehose") and value.lower() == "true":
            raise invalid(
                "Attributes Reason: Delivery protocol [" + protocol + "] does not support raw "
                "message delivery."
            )
        return value.lower()
    if name == "FilterPolicyScope":
        if value not in ("MessageAttributes", "MessageBody"):
            raise invalid(
                "Attributes Reason: FilterPolicyScope: Invalid value [" + value + "]. Please "
                "use either MessageBody or MessageAttributes"
            )
        if attrs.get("FilterPolicy"):
            filter_policy.parse(attrs["FilterPolicy"], value)
    if name == "FilterPolicy" and value:
        filter_policy.parse(value, attrs.get("FilterPolicyScope", "MessageAttributes"))
    if name == "RedrivePolicy" and value:
        try:
            target = json.loads(value)["deadLetterTargetArn"]
            if target.split(":")[2] != "sqs":
                raise ValueError
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise invalid("RedrivePolicy: deadLetterTargetArn is invalid") from None
    if name == "DeliveryPolicy" and value:
        delivery_policy.check_subscription_policy(value, "Attributes Reason: " if creating else "")
    return value


def public_arn(sub: Subscription) -> str:
    return sub.arn if sub.confirmed else "PendingConfirmation"


class Subscriptions(SnsBase):
    def subscribe(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        protocol = request["Protocol"].lower()
        endpoint = request.get("Endpoint") or ""
        _check_endpoint(protocol, endpoint)
        given = dict(request.get("Attributes") or {})
        attrs: dict[str, str] = {}
        # Scope first: the filter policy is validated against it.
        for name in sorted(given, key=lambda n: n != "FilterPolicyScope"):
            attrs[name] = check_attribute(name, given[name], attrs, protocol, creating=True)
        if protocol == "sqs":
            attrs.setdefault("RawMessageDelivery", "false")
        if attrs.get("FilterPolicy"):
            attrs.setdefault("FilterPolicyScope", "MessageAttributes")
        url = base_url(ctx)

        def write(conn: sqlite3.Connection) -> Subscription:
            topic = self._topic(ctx, conn, request["TopicArn"], "Subscribe")
            if topic.fifo and protocol not in ("sqs", "firehose"):
                raise invalid(f"Invalid protocol type: {protocol}")
            existing = store.find_subscription(conn, topic.arn, protocol, endpoint)
            if existing is not None:
                if any(existing.attrs.get(k) != v for k, v in given.items()):
                    raise InvalidParameterException(
                        "Invalid parameter: Attributes Reason: Subscription already exists with "
                        "different attributes"
                    )
                if not existing.confirmed:
                    # Still pending: the confirmation is sent again, with a fresh token if the
                    # old one has expired.
                    if self.env.clock.now() - existing.token_at > TOKEN_LIFETIME:
                        existing.token = os.urandom(64).hex()
                        existing.token_at = self.env.clock.now()
                        store.put_subscription(conn, existing)
                    self._request_confirmation(conn, ctx, existing, url)
                return existing
            sub = Subscription(
                arn=f"{topic.arn}:{uuid.uuid4()}", topic_arn=topic.arn, owner=ctx.account_id,
                protocol=protocol, endpoint=endpoint, attrs=attrs,
                confirmed=protocol in AUTO_CONFIRMED, token=os.urandom(64).hex(),
                token_at=self.env.clock.now(),
            )  # fmt: skip
            store.put_subscription(conn, sub)
            if not sub.confirmed:
                self._request_confirmation(conn, ctx, sub, url)
            return sub

        sub = self.env.store.write(write)
        if sub.confirmed or request.get("ReturnSubscriptionArn"):
            return {"SubscriptionArn": sub.arn}
        return {"SubscriptionArn": "pending confirmation"}

    def _request_confirmation(
        self, conn: sqlite3.Connection, ctx: RequestContext, sub: Subscription, url: str
    ) -> None:
        """Queue the SubscriptionConfirmation message (delivered after the commit)."""
        region, account, _ = split_arn(sub.topic_arn) or ("", "", "")
        self.env.events.publish(
            events.SNS_MESSAGE_PUBLISHED,
            {
                "account_id": account, "region": region, "topic_arn": sub.topic_arn,
                "message_id": str(uuid.uuid4()), "type": "SubscriptionConfirmation",
                "subscription_arn": sub.arn, "token": sub.token, "base_url": url,
                "timestamp": self.env.clock.now(), "message": (
                    f"You have chosen to subscribe to the topic {sub.topic_arn}.\n"
                    "To confirm the subscription, visit the SubscribeURL included in this "
                    "message."
                ),
                "subject": None, "message_attributes": {}, "message_group_id": None,
                "message_deduplication_id": None,
            },
            conn=conn,
        )  # fmt: skip

    def confirm_subscription(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        token = request["Token"]
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> str:
            topic = self._topic(ctx, conn, request["TopicArn"], "ConfirmSubscription")
            sub = store.by_token(conn, token)
            if sub is None or sub.topic_arn != topic.arn:
                raise invalid("Token")
            if not sub.confirmed and now - sub.token_at > TOKEN_LIFETIME:
                # Expired: the subscription stays pending (a new Subscribe sends a new token).
                raise invalid("Token")
            if not sub.confirmed:
                sub.confirmed = True
                sub.authenticated = (request.get("AuthenticateOnUnsubscribe") or "").lower() in (
                    "true", "1",
                )  # fmt: skip
                store.put_subscription(conn, sub)
            return sub.arn

        return {"SubscriptionArn": self.env.store.write(write)}

    def unsubscribe(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SubscriptionArn"]

        def write(conn: sqlite3.Connection) -> None:
            try:
                sub = self._subscription(conn, arn)
            except NotFoundException:
                return  # unsubscribing twice succeeds
            if sub.authenticated and ctx.identity is not None and not ctx.identity.access_key:
                # Confirmed with AuthenticateOnUnsubscribe: the anonymous UnsubscribeURL won't do.
                raise invalid("Unsubscribe requires authentication for this subscription")
            store.delete_subscription(conn, sub)

        self.env.store.write(write)
        return {}

    def _page(
        self, ctx: RequestContext, request: dict[str, Any], topic_arn: str | None
    ) -> dict[str, Any]:
        after = request.get("NextToken") or ""

        def read(conn: sqlite3.Connection) -> list[Subscription]:
            if topic_arn is not None:
                self._topic(ctx, conn, topic_arn, "ListSubscriptionsByTopic")
            return store.list_subscriptions(
                conn, ctx.account_id, ctx.region, topic_arn, after, PAGE + 1
            )

        subs = self.env.store.read(read)
        out: dict[str, Any] = {
            "Subscriptions": [
                {
                    "SubscriptionArn": public_arn(s),
                    "Owner": s.owner,
                    "Protocol": s.protocol,
                    "Endpoint": s.endpoint,
                    "TopicArn": s.topic_arn,
                }
                for s in subs[:PAGE]
            ]
        }
        if len(subs) > PAGE:
            out["NextToken"] = subs[PAGE - 1].arn
        return out

    def list_subscriptions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._page(ctx, request, None)

    def list_subscriptions_by_topic(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._page(ctx, request, request["TopicArn"])

    def get_subscription_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def read(conn: sqlite3.Connection) -> tuple[Subscription, dict[str, str]]:
            sub = self._subscription(conn, request["SubscriptionArn"])
            topic = store.get_topic(conn, sub.topic_arn)
            return sub, topic.attrs if topic else {}

        sub, topic_attrs = self.env.store.read(read)
        attrs = dict(sub.attrs)
        if sub.protocol in ("http", "https"):
            attrs["EffectiveDeliveryPolicy"] = retry.effective_policy(topic_attrs, sub.attrs)
        attrs.update(
            SubscriptionArn=sub.arn, TopicArn=sub.topic_arn, Owner=sub.owner,
            Protocol=sub.protocol, Endpoint=sub.endpoint,
            PendingConfirmation=str(not sub.confirmed).lower(),
            ConfirmationWasAuthenticated=str(sub.authenticated or (sub.confirmed and
                                             sub.protocol in AUTO_CONFIRMED)).lower(),
            SubscriptionPrincipal=f"arn:aws:iam::{sub.owner}:root",
        )  # fmt: skip
        return {"Attributes": attrs}

    def set_subscription_attributes(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["AttributeName"]
        value = request.get("AttributeValue") or ""

        def write(conn: sqlite3.Connection) -> None:
            sub = self._subscription(conn, request["SubscriptionArn"])
            stored = check_attribute(name, value, sub.attrs, sub.protocol)
            if stored == "" and name in ("FilterPolicy", "RedrivePolicy", "DeliveryPolicy"):
                sub.attrs.pop(name, None)  # an empty value removes the policy
            else:
                sub.attrs[name] = stored
            if name == "FilterPolicy" and stored:
                sub.attrs.setdefault("FilterPolicyScope", "MessageAttributes")
            store.put_subscription(conn, sub)

        self.env.store.write(write)
        return {}
