"""What every SNS operation group shares: ARNs, finding topics and subscriptions, topic-policy
checks for callers from other accounts, and the base URL the envelopes' links point at."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from overcast.gateway.authorize import request_principal
from overcast.gateway.context import RequestContext
from overcast.iam import Decision, Policy, PolicyError, RequestInfo
from overcast.ids import partition_of
from overcast.services.base import Provider, ServiceEnv
from overcast.services.sns import store
from overcast.services.sns.errors import AuthorizationErrorException, NotFoundException, invalid
from overcast.services.sns.models import Subscription, Topic
from overcast.services.sns.signing import Signer

DEFAULT_ACTIONS = [
    "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
    "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
    "SNS:Publish",
]  # fmt: skip


def topic_arn(region: str, account: str, name: str) -> str:
    return f"arn:{partition_of(region)}:sns:{region}:{account}:{name}"


def split_arn(arn: str) -> tuple[str, str, str] | None:
    """``(region, account, resource)`` of an SNS ARN, or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        return None
    return parts[3], parts[4], parts[5]


def default_policy(arn: str, account: str) -> str:
    """The policy AWS gives a new topic: the owner account may do everything."""
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": DEFAULT_ACTIONS,
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
                }
            ],
        },
        separators=(",", ":"),
    )


def base_url(ctx: RequestContext) -> str:
    """Where clients reached this server: SubscribeURL, UnsubscribeURL and SigningCertURL
    point back here so they work against the emulator."""
    return ctx.base_url("sns")


class SnsBase(Provider):
    """Environment and lookups, inherited by every SNS operation group."""

    service = "sns"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        store.migrate(env.store)
        self.signer = Signer(env.store)

    def _topic(
        self, ctx: RequestContext, conn: sqlite3.Connection, arn: str, action: str = ""
    ) -> Topic:
        """The topic ``arn`` names, if the caller may act on it; NotFound otherwise."""
        if split_arn(arn) is None:
            raise invalid("TopicArn")
        topic = store.get_topic(conn, arn)
        if topic is None:
            raise NotFoundException("Topic does not exist")
        if topic.account_id != ctx.account_id:
            self._check_policy(ctx, topic, action)
        return topic

    def _check_policy(self, ctx: RequestContext, topic: Topic, action: str) -> None:
        """A caller from another account needs an Allow in the topic's policy."""
        decision = Decision.NO_MATCH
        text = topic.attrs.get("Policy")
        if text and action:
            try:
                policy: Policy | None = Policy.parse(text)
            except PolicyError:
                policy = None
            if policy is not None:
                principal = request_principal(ctx)
                decision = policy.evaluate(
                    RequestInfo(action=f"sns:{action}", resource=topic.arn, principal=principal)
                )
        if decision is not Decision.ALLOW:
            who = ctx.identity.principal_arn if ctx.identity else "anonymous"
            raise AuthorizationErrorException(
                f"User: {who} is not authorized to perform: SNS:{action} on resource: "
                f"{topic.arn} because no resource-based policy allows the SNS:{action} action"
            )

    def _resource_policy(self, ctx: RequestContext, arn: str) -> tuple[str, str | None] | None:
        """The topic's account and policy, evaluated with the caller's identity policies by the
        gateway's IAM authorize step (None: no such topic)."""
        topic = self.env.store.read(lambda conn: store.get_topic(conn, arn))
        return None if topic is None else (topic.account_id, topic.attrs.get("Policy"))

    def _resource_tags(self, ctx: RequestContext, arn: str) -> dict[str, str] | None:
        """The topic's tags for ``aws:ResourceTag/*`` (IAM's authorize step, only when a policy
        reads that key); a subscription's checks name its topic."""
        topic = self.env.store.read(lambda conn: store.get_topic(conn, arn))
        return None if topic is None else dict(topic.tags)

    def _subscription(self, conn: sqlite3.Connection, arn: str) -> Subscription:
        if split_arn(arn) is None or arn.count(":") != 6:
            raise invalid("SubscriptionArn")
        sub = store.get_subscription(conn, arn)
        if sub is None:
            raise NotFoundException("Subscription does not exist")
        return sub

    def reset(self) -> None:
        self.signer.reset()


def tags_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}
