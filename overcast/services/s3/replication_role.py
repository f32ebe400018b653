"""Whether S3 may replicate for a bucket: the replication role and the destination's policy.

As on AWS, S3 replicates as the configuration's IAM role: the role must exist in the source
bucket owner's account and its trust policy must let ``s3.amazonaws.com`` assume it
(``sts:AssumeRole``), else replication fails with ``AssumeRoleNotPermitted``. The destination
bucket's policy is evaluated for the role's session: an explicit Deny refuses; a destination in
another account must also Allow the action (``s3:ReplicateObject``, ``s3:ReplicateDelete``,
``s3:ReplicateTags``, ``s3:ObjectOwnerOverrideToBucketOwner``), else ``DstPutObjectNotPermitted``.

``settings.iam_mode`` applies as to every other IAM check: ``off`` skips these checks, ``audit``
logs what would fail and replicates anyway.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from overcast.iam import Decision, Policy, PolicyError, Principal, RequestInfo
from overcast.iam.policy import principal_context
from overcast.services.s3 import bucket_policy
from overcast.services.s3.common import bucket_arn
from overcast.services.s3.models import Bucket

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.iam.directory import Directory

log = logging.getLogger("overcast.s3")

S3_PRINCIPAL = "s3.amazonaws.com"
SESSION_NAME = "s3-replication"


def _session(role_arn: str, account: str) -> Principal:
    """The assumed-role session S3 acts as (policies naming the role ARN match it)."""
    name = role_arn.rsplit("/", 1)[-1]
    return Principal(
        account=account,
        arn=f"arn:aws:sts::{account}:assumed-role/{name}/{SESSION_NAME}",
        aliases=(role_arn,),
    )


def _refused(env: ServiceEnv, what: str) -> bool:
    """True when a failed check should stop replication (``enforce``); ``audit`` logs it."""
    if env.settings.iam_mode == "audit":
        log.warning("audit: replication would fail: %s", what)
        return False
    return True


def assume(
    env: ServiceEnv, directory: Directory, role_arn: str, bucket: Bucket
) -> Principal | None:
    """The session S3 replicates ``bucket`` as, or None when S3 cannot assume ``role_arn``."""
    parts = role_arn.split(":", 5)
    account = parts[4] if len(parts) == 6 else bucket.account_id
    session = _session(role_arn, account)
    if env.settings.iam_mode == "off":
        return session
    record = directory.principal(role_arn) if role_arn.startswith("arn:aws:iam::") else None
    problem = None
    if record is None or record.kind != "role":
        problem = f"role {role_arn} does not exist"
    elif record.account_id != bucket.account_id:
        problem = f"role {role_arn} is not in the bucket owner's account"
    else:
        try:
            trust: Policy | None = Policy.parse(record.trust_policy or "", trust_policy=True)
        except PolicyError:
            trust = None
        request = RequestInfo(
            action="sts:AssumeRole",
            resource=role_arn,
            principal=Principal(service=S3_PRINCIPAL),
            context={
                "aws:SourceAccount": bucket.account_id,
                "aws:SourceArn": bucket_arn(bucket.name),
            },
        )
        if trust is None or trust.evaluate(request) is not Decision.ALLOW:
            problem = f"the trust policy of {role_arn} does not let {S3_PRINCIPAL} assume it"
    if problem is not None and _refused(env, problem):
        return None
    return session


def destination_allows(
    env: ServiceEnv,
    session: Principal,
    source: Bucket,
    target: Bucket,
    key: str,
    actions: tuple[str, ...],
) -> bool:
    """Whether ``target``'s bucket policy lets the replication session do ``actions`` on
    ``key``: no explicit Deny, and an Allow when the destination is another account's."""
    if env.settings.iam_mode == "off":
        return True
    text = target.config.get("policy")
    policy = bucket_policy.cached(text) if text else None
    cross_account = target.account_id != source.account_id
    for action in actions:
        decision = Decision.NO_MATCH
        if policy is not None:
            request = RequestInfo(
                action=action,
                resource=bucket_arn(target.name, key),
                principal=session,
                context=principal_context(session),
            )
            decision = policy.evaluate(request)
        if decision is Decision.DENY or (cross_account and decision is not Decision.ALLOW):
            what = f"the policy of bucket {target.name} does not allow {action}"
            if _refused(env, what):
                return False
    return True
