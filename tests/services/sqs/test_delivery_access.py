"""Who may deliver to a queue from a service (SNS fan-out): the source's own account always; any
other account only through the queue policy's Allow to the service principal, as on AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.services.sqs.delivery import delivery_allowed
from overcast.services.sqs.models import Queue

OWNER, OTHER = "000000000000", "111111111111"
TOPIC = f"arn:aws:sns:us-east-1:{OTHER}:news"
MINE = f"arn:aws:sns:us-east-1:{OWNER}:news"


def queue(policy: dict[str, Any] | str | None = None) -> Queue:
    attrs = {} if policy is None else {"Policy": policy if isinstance(policy, str) else
                                       json.dumps(policy)}  # fmt: skip
    return Queue(1, OWNER, "us-east-1", "q", False, attrs, {}, 0.0, 0.0)


def allow(principal: Any, condition: dict[str, Any] | None = None, action: str = "sqs:SendMessage",
          effect: str = "Allow") -> dict[str, Any]:  # fmt: skip
    statement: dict[str, Any] = {
        "Effect": effect, "Principal": principal, "Action": action,
        "Resource": f"arn:aws:sqs:us-east-1:{OWNER}:q",
    }  # fmt: skip
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_same_account_needs_no_policy() -> None:
    assert delivery_allowed(queue(), MINE)


def test_other_account_without_policy_is_refused() -> None:
    assert not delivery_allowed(queue(), TOPIC)


@pytest.mark.parametrize(
    ("policy", "allowed"),
    [
        (allow({"Service": "sns.amazonaws.com"}, {"ArnEquals": {"aws:SourceArn": TOPIC}}), True),
        (allow({"Service": "sns.amazonaws.com"}, {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*"}}),
         True),
        (allow({"Service": "sns.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": OTHER}}),
         True),
        (allow({"Service": "sns.amazonaws.com"}), True),
        (allow("*", {"ArnEquals": {"aws:SourceArn": TOPIC}}), True),
        (allow({"Service": "sns.amazonaws.com"}, action="sqs:*"), True),
        # Another topic, another service, another action, or a Deny: refused.
        (allow({"Service": "sns.amazonaws.com"},
               {"ArnEquals": {"aws:SourceArn": TOPIC + "-other"}}), False),
        (allow({"Service": "events.amazonaws.com"}), False),
        (allow({"Service": "sns.amazonaws.com"}, action="sqs:ReceiveMessage"), False),
        (allow({"Service": "sns.amazonaws.com"}, effect="Deny"), False),
        # An account grant is for that account's callers, not for a service delivering.
        (allow({"AWS": OTHER}), False),
        ('{"Statement": "not a policy"}', False),
    ],
)  # fmt: skip
def test_other_account_needs_the_policy(policy: Any, allowed: bool) -> None:
    assert delivery_allowed(queue(policy), TOPIC) is allowed


def test_service_is_a_parameter() -> None:
    q = queue(allow({"Service": "events.amazonaws.com"}))
    rule = f"arn:aws:events:us-east-1:{OTHER}:rule/r"
    assert delivery_allowed(q, rule, "events.amazonaws.com")
    assert not delivery_allowed(q, rule)
