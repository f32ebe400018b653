"""Identifiers made one way: request ids, resource ids and ARNs."""

from __future__ import annotations

import secrets
import uuid


def request_id() -> str:
    return str(uuid.uuid4())


def short_id(prefix: str, length: int = 17) -> str:
    """EC2-style ids: ``vpc-0a1b2c3d4e5f67890``."""
    return f"{prefix}-{secrets.token_hex((length + 1) // 2)[:length]}"


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def arn(service: str, region: str, account: str, resource: str, partition: str = "aws") -> str:
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"
