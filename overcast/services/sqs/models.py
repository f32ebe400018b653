"""The records SQS keeps: queues and messages, as plain dataclasses (rows of ``store.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Message states. A row's state names the counter it is counted in; time-driven transitions
# (a delay ending, a visibility timeout expiring) are applied lazily by ``store.promote``.
DELAYED, VISIBLE, INFLIGHT = 0, 1, 2


@dataclass(slots=True)
class Queue:
    id: int
    account_id: str
    region: str
    name: str
    fifo: bool
    attrs: dict[str, str]
    tags: dict[str, str]
    created: float
    modified: float
    n_visible: int = 0
    n_inflight: int = 0
    n_delayed: int = 0
    purged_at: float = 0.0

    @property
    def arn(self) -> str:
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        return f"arn:{partition}:sqs:{self.region}:{self.account_id}:{self.name}"

    def int_attr(self, name: str) -> int:
        return int(self.attrs[name])


@dataclass(slots=True)
class Message:
    id: int  # rowid: the order messages were sent in
    queue_id: int
    message_id: str
    body: str
    attrs: dict[str, Any]  # message attributes, binary values base64-encoded
    sys_attrs: dict[str, Any]  # message system attributes (AWSTraceHeader) + SenderId
    md5_body: str
    md5_attrs: str | None
    md5_sys: str | None
    sent: float
    visible_at: float
    state: int
    receive_count: int
    first_receive: float | None
    receipt: str
    group_id: str | None = None
    dedup_id: str | None = None
    seq_number: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
