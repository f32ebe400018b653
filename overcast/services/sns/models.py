"""The records SNS keeps: topics and subscriptions, as plain dataclasses (rows of store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda",
             "firehose")  # fmt: skip


@dataclass(slots=True)
class Topic:
    arn: str
    account_id: str
    region: str
    name: str
    attrs: dict[str, str]
    tags: dict[str, str]
    data_protection_policy: str
    seq: int = 0

    @property
    def fifo(self) -> bool:
        return self.attrs.get("FifoTopic") == "true"


@dataclass(slots=True)
class Subscription:
    arn: str
    topic_arn: str
    owner: str
    protocol: str
    endpoint: str
    attrs: dict[str, str]
    confirmed: bool
    token: str
    authenticated: bool = False
    token_at: float = 0.0  # when the confirmation token was issued (Clock time)

    @property
    def raw(self) -> bool:
        return self.attrs.get("RawMessageDelivery") == "true"

    def filter_policy(self) -> dict[str, Any] | None:
        import json

        text = self.attrs.get("FilterPolicy")
        return json.loads(text) if text else None
