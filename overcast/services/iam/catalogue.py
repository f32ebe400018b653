"""The AWS managed policies catalogue (``arn:aws:iam::aws:policy/...``), read-only data.

Loaded once, on first use, from ``data/aws_managed_policies.json.gz`` (see ``docs/iam.md`` for
where it comes from and ``data/regenerate.py`` for how to refresh it). Every account sees the
same documents; only attachments are per account.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"


@dataclass(frozen=True)
class AwsPolicy:
    name: str
    path: str
    arn: str
    policy_id: str
    default_version: str
    created: float
    updated: float
    document: dict[str, Any]

    @property
    def document_text(self) -> str:
        return json.dumps(self.document, indent=4)


_lock = threading.Lock()
_by_arn: dict[str, AwsPolicy] | None = None


def _epoch(text: str | None) -> float:
    return datetime.fromisoformat(text).timestamp() if text else 0.0


def _policy_id(name: str) -> str:
    # AWS's real ids are not public; a stable id derived from the name keeps them constant.
    digest = base64.b32encode(hashlib.sha1(name.encode()).digest()).decode()
    return "ANPA" + digest[:17]


def _load() -> dict[str, AwsPolicy]:
    global _by_arn
    with _lock:
        if _by_arn is None:
            blob = resources.files("overcast.services.iam.data").joinpath(
                "aws_managed_policies.json.gz"
            )
            data = json.loads(gzip.decompress(blob.read_bytes()))
            table: dict[str, AwsPolicy] = {}
            for p in data["policies"]:
                arn = f"arn:aws:iam::aws:policy{p['Path']}{p['PolicyName']}"
                table[arn] = AwsPolicy(
                    name=p["PolicyName"], path=p["Path"], arn=arn,
                    policy_id=_policy_id(p["PolicyName"]),
                    default_version=p["DefaultVersionId"], created=_epoch(p["CreateDate"]),
                    updated=_epoch(p["UpdateDate"]), document=p["Document"],
                )  # fmt: skip
            _by_arn = table
        return _by_arn


def is_aws_policy(arn: str) -> bool:
    return arn.startswith(AWS_POLICY_PREFIX)


def get(arn: str) -> AwsPolicy | None:
    return _load().get(arn)


def all_policies() -> list[AwsPolicy]:
    return sorted(_load().values(), key=lambda p: p.name.lower())
