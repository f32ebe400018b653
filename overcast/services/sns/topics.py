"""Topics: create (standard and FIFO, idempotent), delete, list, attributes, tags and the data
protection policy."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.iam import Policy, PolicyError
from overcast.services.sns import delivery_policy, feedback, store
from overcast.services.sns.common import SnsBase, default_policy, split_arn, tags_dict, topic_arn
from overcast.services.sns.errors import (
    InvalidParameterException,
    ResourceNotFoundException,
    TagLimitExceededException,
    invalid,
)
from overcast.services.sns.models import Topic

PAGE = 100
MAX_TAGS = 50
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_SETTABLE = {"DeliveryPolicy", "DisplayName", "Policy", "KmsMasterKeyId", "SignatureVersion",
             "TracingConfig", "ContentBasedDeduplication", "FifoThroughputScope", "ArchivePolicy",
             "FifoTopic"}  # fmt: skip
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
# Actions AddPermission may grant (ActionName values, as AWS accepts them).
_PERMITTED = {"AddPermission", "ConfirmSubscription", "CreateTopic", "DeleteTopic",
              "GetTopicAttributes", "ListSubscriptions", "ListSubscriptionsByTopic",
              "ListTopics", "Publish", "RemovePermission", "SetTopicAttributes", "Subscribe",
              "Unsubscribe", "GetDataProtectionPolicy", "PutDataProtectionPolicy"}  # fmt: skip
_DEFAULT_DELIVERY = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3,
            "numMaxDelayRetries": 0, "numNoDelayRetries": 0, "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}  # fmt: skip


def _policy_document(topic: Topic) -> dict[str, Any]:
    """The topic's policy as a dict; a single statement object becomes a list to append to."""
    try:
        policy = json.loads(topic.attrs.get("Policy") or "")
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        policy = json.loads(default_policy(topic.arn, topic.account_id))
    if isinstance(policy.get("Statement"), dict):
        policy["Statement"] = [policy["Statement"]]
    return policy


def _check_attribute(name: str, value: str, fifo: bool, creating: bool) -> str:
    """The value to store for a topic attribute, validated as AWS does."""
    if name in feedback.ATTRIBUTES:
        return feedback.check_attribute(name, value)
    if name not in _SETTABLE:
        raise invalid("AttributeName")
    if name == "FifoTopic":
        if not creating:
            raise invalid("AttributeName")
        return value.lower()
    if name == "ContentBasedDeduplication":
        if not fifo:
            raise InvalidParameterException(
                "Invalid parameter: ContentBasedDeduplication Reason: Content based "
                "deduplication can only be set for FIFO topics"
            )
        if value.lower() not in ("true", "false"):
            raise invalid("ContentBasedDeduplication")
        return value.lower()
    if name == "Policy":
        try:
            Policy.parse(value)
        except (PolicyError, ValueError) as exc:
            raise InvalidParameterException(f"Invalid parameter: Policy Error: {exc}") from None
    if name == "DeliveryPolicy" and value:
        # CreateTopic's messages say "Attributes Reason:", as Subscribe's do.
        delivery_policy.check_topic_policy(value, "Attributes Reason: " if creating else "")
    if name == "SignatureVersion" and value not in ("1", "2"):
        raise InvalidParameterException(
            "Invalid parameter: SignatureVersion: Signature version must be 1 or 2"
        )
    if name == "DisplayName" and len(value) > 100:
        raise invalid("DisplayName")
    return value


class Topics(SnsBase):
    def create_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        attrs = dict(request.get("Attributes") or {})
        fifo = attrs.get("FifoTopic", "false").lower() == "true"
        if fifo != name.endswith(".fifo") or not _NAME.match(name.removesuffix(".fifo")):
            if fifo:
                raise InvalidParameterException(
                    "Invalid parameter: Fifo Topic names must end with .fifo and must be made up "
                    "of only uppercase and lowercase ASCII letters, numbers, underscores, and "
                    "hyphens, and must be between 1 and 256 characters long."
                )
            raise invalid("Topic Name")
        given = {k: _check_attribute(k, v, fifo, True) for k, v in attrs.items()}
        tags = tags_dict(request.get("Tags"))
        if len(tags) > MAX_TAGS:
            raise TagLimitExceededException(
                "Could not complete request: tag quota of per resource exceeded"
            )
        arn = topic_arn(ctx.region, ctx.account_id, name)
        dpp = request.get("DataProtectionPolicy") or ""

        def write(conn: sqlite3.Connection) -> None:
            existing = store.get_topic(conn, arn)
            if existing is not None:
                # Creating again is idempotent only with the same attributes and tags.
                for key, value in given.items():
                    if key == "FifoTopic":
                        continue
                    if existing.attrs.get(key, "") != value:
                        raise InvalidParameterException(
                            "Invalid parameter: Attributes Reason: Topic already exists with "
                            "different attributes"
                        )
                if tags and tags != existing.tags:
                    raise InvalidParameterException(
                        "Invalid parameter: Tags Reason: Topic already exists with different tags"
                    )
                return
            # An empty delivery status attribute means logging is off: not stored.
            stored = {
                k: v
                for k, v in given.items()
                if k != "FifoTopic" and not (k in feedback.ATTRIBUTES and not v)
            }
            stored.setdefault("Policy", default_policy(arn, ctx.account_id))
            stored.setdefault("DisplayName", "")
            if fifo:
                stored["FifoTopic"] = "true"
                stored.setdefault("ContentBasedDeduplication", "false")
            store.put_topic(conn, Topic(arn, ctx.account_id, ctx.region, name, stored, tags, dpp))

        self.env.store.write(write)
        return {"TopicArn": arn}

    def delete_topic(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["TopicArn"]

        def write(conn: sqlite3.Connection) -> None:
            if split_arn(arn) is None:
                raise invalid("TopicArn")
            topic = store.get_topic(conn, arn)
            if topic is None:
                return  # deleting a missing topic succeeds, as on AWS
            if topic.account_id != ctx.account_id:
                self._check_policy(ctx, topic, "DeleteTopic")
            store.delete_topic(conn, arn)

        self.env.store.write(write)
        return {}

    def list_topics(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        after = request.get("NextToken") or ""
        arns = self.env.store.read(
            lambda c: store.list_topics(c, ctx.account_id, ctx.region, after, PAGE + 1)
        )
        out: dict[str, Any] = {"Topics": [{"TopicArn": a} for a in arns[:PAGE]]}
        if len(arns) > PAGE:
            out["NextToken"] = arns[PAGE - 1]
        return out

    def get_topic_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def read(conn: sqlite3.Connection) -> dict[str, str]:
            topic = self._topic(ctx, conn, request["TopicArn"], "GetTopicAttributes")
            confirmed, pending, deleted = store.subscription_counts(conn, topic.arn)
            attrs = dict(topic.attrs)
            delivery = _DEFAULT_DELIVERY
            if attrs.get("DeliveryPolicy"):
                delivery = {**_DEFAULT_DELIVERY, **json.loads(attrs["DeliveryPolicy"])}
            attrs.update(
                TopicArn=topic.arn,
                Owner=topic.account_id,
                SubscriptionsConfirmed=str(confirmed),
                SubscriptionsPending=str(pending),
                SubscriptionsDeleted=str(deleted),
                EffectiveDeliveryPolicy=json.dumps(delivery, separators=(",", ":")),
            )
            return attrs

        return {"Attributes": self.env.store.read(read)}

    def set_topic_attributes(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["AttributeName"]
        value = request.get("AttributeValue") or ""

        def write(conn: sqlite3.Connection) -> None:
            topic = self._topic(ctx, conn, request["TopicArn"], "SetTopicAttributes")
            topic.attrs[name] = _check_attribute(name, value, topic.fifo, False)
            if name == "Policy" and not value:
                topic.attrs[name] = default_policy(topic.arn, topic.account_id)
            elif name in feedback.ATTRIBUTES and not value:
                del topic.attrs[name]  # logging turned off
            store.put_topic(conn, topic)

        self.env.store.write(write)
        return {}

    # -- permissions (statements in the topic policy) -----------------------------------------

    def add_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        label = request["Label"]
        accounts = request.get("AWSAccountId") or []
        actions = request.get("ActionName") or []
        if not _LABEL.match(label):
            raise invalid("Label")
        if not accounts or not actions:
            raise invalid("AWSAccountId and ActionName must not be empty")
        for action in actions:
            if action not in _PERMITTED:
                raise invalid(f"Policy statement action out of service scope!: {action}")

        def write(conn: sqlite3.Connection) -> None:
            topic = self._topic(ctx, conn, request["TopicArn"], "AddPermission")
            policy = _policy_document(topic)
            statements = policy.setdefault("Statement", [])
            if any(s.get("Sid") == label for s in statements):
                raise invalid("Statement already exists")
            # AWS writes one principal/action as a string and several as a list.
            principals = [f"arn:{topic.arn.split(':')[1]}:iam::{a}:root" for a in accounts]
            names = [f"SNS:{a}" for a in actions]
            statements.append(
                {
                    "Sid": label,
                    "Effect": "Allow",
                    "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                    "Action": names[0] if len(names) == 1 else names,
                    "Resource": topic.arn,
                }
            )
            topic.attrs["Policy"] = json.dumps(policy, separators=(",", ":"))
            store.put_topic(conn, topic)

        self.env.store.write(write)
        return {}

    def remove_permission(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        label = request["Label"]

        def write(conn: sqlite3.Connection) -> None:
            topic = self._topic(ctx, conn, request["TopicArn"], "RemovePermission")
            policy = _policy_document(topic)
            statements = policy.get("Statement", [])
            kept = [s for s in statements if s.get("Sid") != label]
            if len(kept) == len(statements):
                return  # an unknown label changes nothing
            policy["Statement"] = kept
            topic.attrs["Policy"] = json.dumps(policy, separators=(",", ":"))
            store.put_topic(conn, topic)

        self.env.store.write(write)
        return {}

    # -- tags ---------------------------------------------------------------------------------

    def _tagged(self, ctx: RequestContext, conn: sqlite3.Connection, arn: str) -> Topic:
        topic = store.get_topic(conn, arn) if split_arn(arn) else None
        if topic is None or topic.account_id != ctx.account_id:
            raise ResourceNotFoundException("Resource does not exist")
        return topic

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            topic = self._tagged(ctx, conn, request["ResourceArn"])
            topic.tags.update(tags_dict(request.get("Tags")))
            if len(topic.tags) > MAX_TAGS:
                raise TagLimitExceededException(
                    "Could not complete request: tag quota of per resource exceeded"
                )
            store.put_topic(conn, topic)

        self.env.store.write(write)
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            topic = self._tagged(ctx, conn, request["ResourceArn"])
            for key in request.get("TagKeys") or []:
                topic.tags.pop(key, None)
            store.put_topic(conn, topic)

        self.env.store.write(write)
        return {}

    def list_tags_for_resource(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        topic = self.env.store.read(lambda c: self._tagged(ctx, c, request["ResourceArn"]))
        return {"Tags": [{"Key": k, "Value": v} for k, v in topic.tags.items()]}

    # -- data protection policy ---------------------------------------------------------------

    def put_data_protection_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        text = request["DataProtectionPolicy"]
        try:
            if not isinstance(json.loads(text), dict):
                raise ValueError
        except ValueError:
            raise invalid("DataProtectionPolicy") from None

        def write(conn: sqlite3.Connection) -> None:
            topic = self._topic(ctx, conn, request["ResourceArn"], "PutDataProtectionPolicy")
            topic.data_protection_policy = text
            store.put_topic(conn, topic)

        self.env.store.write(write)
        return {}

    def get_data_protection_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        topic = self.env.store.read(
            lambda c: self._topic(ctx, c, request["ResourceArn"], "GetDataProtectionPolicy")
        )
        return {"DataProtectionPolicy": topic.data_protection_policy}
