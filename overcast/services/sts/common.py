"""What every STS operation that issues credentials shares: session policies, session tags,
the packed-policy size, trust-policy checks, and the ``Credentials`` shape."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from overcast.gateway.auth.credentials import Credential, PrincipalInfo
from overcast.iam.matching import ContextValue
from overcast.iam.policy import Decision, Policy, PolicyError, Principal, RequestInfo
from overcast.services.sts import sessions
from overcast.services.sts.errors import (
    AccessDenied,
    InvalidParameterValue,
    MalformedPolicyDocumentException,
    PackedPolicyTooLargeException,
    ValidationError,
)

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.iam.directory import Directory

log = logging.getLogger("overcast.iam")
_PACKED_LIMIT = 2048  # bytes the packed session policies and tags may take
MAX_SESSION_TAGS = 50
MAX_POLICY_ARNS = 10


def session_policies(
    env: ServiceEnv, directory: Directory, request: Mapping[str, Any]
) -> tuple[str, ...] | None:
    """The documents of the inline ``Policy`` and the ``PolicyArns``; None when neither."""
    inline = request.get("Policy")
    arns = [p.get("arn", "") for p in request.get("PolicyArns") or []]
    if inline is None and not arns:
        return None
    documents: list[str] = []
    if inline is not None:
        try:
            Policy.parse(inline, resource_policy=False)
        except PolicyError as exc:
            raise MalformedPolicyDocumentException(str(exc)) from None
        documents.append(inline)
    if len(arns) > MAX_POLICY_ARNS:
        raise ValidationError(
            f"1 validation error detected: Value at 'policyArns' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_POLICY_ARNS}"
        )
    for arn in arns:
        document = _managed_policy(env, arn)
        if document is None:
            raise InvalidParameterValue(f"Policy {arn} does not exist or is not attachable.")
        documents.append(document)
    return tuple(documents)


def _managed_policy(env: ServiceEnv, arn: str) -> str | None:
    from overcast.services.iam import directory, storage

    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("policy/"):
        return None
    account = parts[4]
    return storage.read(env.store, lambda conn: directory.policy_document(conn, account, arn))


def session_tags(request: Mapping[str, Any]) -> dict[str, str]:
    tags = request.get("Tags") or []
    if len(tags) > MAX_SESSION_TAGS:
        raise ValidationError(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_SESSION_TAGS}"
        )
    out: dict[str, str] = {}
    seen: set[str] = set()
    for tag in tags:
        key = tag["Key"]
        if key.lower() in seen:
            raise InvalidParameterValue(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
        out[key] = tag["Value"]
    return out


def packed_size(policies: tuple[str, ...] | None, tags: Mapping[str, str]) -> int | None:
    """PackedPolicySize: the percentage of the allowed size the session policies and tags take
    (None when the request passed neither); PackedPolicyTooLarge past 100%."""
    if policies is None and not tags:
        return None
    size = sum(len(json.dumps(json.loads(p), separators=(",", ":"))) for p in policies or ())
    size += sum(len(k) + len(v) + 2 for k, v in tags.items())
    percent = max(1, math.ceil(size * 100 / _PACKED_LIMIT))
    if percent > 100:
        raise PackedPolicyTooLargeException(
            f"Packed policy consumes {percent}% of allotted space, please use smaller policy."
        )
    return percent


def check_trust(
    env: ServiceEnv,
    trust_policy: str | None,
    role_arn: str,
    principal: Principal,
    actions: list[str],
    context: Mapping[str, ContextValue],
    denied_message: str,
) -> None:
    """The role's trust policy must allow every action (sts:AssumeRole, sts:TagSession...).

    Under ``iam_mode`` ``audit`` a refusal is logged and the role assumed anyway; ``off`` does
    not evaluate trust policies at all."""
    mode = env.settings.iam_mode
    if mode == "off":
        return
    try:
        policy: Policy | None = Policy.parse(trust_policy or "", trust_policy=True)
    except PolicyError:
        policy = None
    for action in actions:
        request = RequestInfo(action, role_arn, principal, context)
        if policy is None or policy.evaluate(request) is not Decision.ALLOW:
            if mode == "audit":
                log.warning("audit: would deny %s on %s (trust policy)", action, role_arn)
                continue
            raise AccessDenied(denied_message)


def iso(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def issue(
    env: ServiceEnv,
    account: str,
    principal: PrincipalInfo | None,
    duration: int,
) -> tuple[Credential, dict[str, Any]]:
    """New temporary credentials for ``principal`` (None: the account's root), stored durably;
    with the ``Credentials`` output shape."""
    now = env.clock.now()
    expires = now + duration
    arn = principal.arn if principal is not None else f"arn:aws:iam::{account}:root"
    credential = Credential(
        access_key=sessions.key_id("ASIA"),
        secret_key=sessions.secret_key(),
        account_id=account,
        principal_arn=arn,
        session_token=sessions.session_token(),
        expires_at=expires,
        principal=principal,
    )
    sessions.Sessions.of(env).issue(credential)
    return credential, {
        "AccessKeyId": credential.access_key,
        "SecretAccessKey": credential.secret_key,
        "SessionToken": credential.session_token,
        "Expiration": iso(expires),
    }
