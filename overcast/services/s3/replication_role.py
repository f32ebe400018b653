"""Whether S3 may replicate for a bucket: the role it acts as, and what that role may do.

As on AWS ("Setting up permissions for live replication"), S3 replicates as the configuration's
IAM role. The role must exist in the source bucket owner's account and its trust policy must let
``s3.amazonaws.com`` assume it (``sts:AssumeRole``), else ``AssumeRoleNotPermitted``. Its session
must then be allowed every action the operation needs (``Need``): the reads of the source
bucket and version, the writes of the replica. Each is one evaluation by the shared engine
(``Authorizer.evaluate_as``): the role's inline and attached policies, its permissions boundary
and the SCPs, with the policy of the bucket the action is on. Within one account either the
role's policies or the bucket policy may allow; a destination owned by another account must
allow as well; an explicit Deny anywhere refuses. A refused action fails replication with the
reason AWS reports for it. Nothing is cached here: IAM's and the buckets' current documents
are read for every version (the engine's parsed-policy cache follows IAM's generation).

``settings.iam_mode`` applies as to every IAM check (the gateway's, STS trust policies): ``off``
evaluates nothing (the role need not even exist), ``audit`` logs what would fail and replicates
anyway.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple

from overcast.gateway.auth.credentials import PrincipalInfo, SessionInfo
from overcast.gateway.authorize import authorizer_of
from overcast.iam import Decision, Policy, PolicyError, Principal, RequestInfo
from overcast.services.s3.common import bucket_arn
from overcast.services.s3.models import Bucket

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.iam.directory import Directory

log = logging.getLogger("overcast.s3")

S3_PRINCIPAL = "s3.amazonaws.com"
SESSION_NAME = "s3-replication"
SESSION_SECONDS = 3600
ASSUME_ROLE_NOT_PERMITTED = "AssumeRoleNotPermitted"


class Need(NamedTuple):
    """One action the replication role must be allowed, on what, and AWS's failure reason."""

    action: str
    on: str  # "source-bucket", "source" (the source version) or "destination" (the replica)
    reason: str


# The source bucket's configuration and listing: AWS documents no failure reason of their own
# for these two, so they answer the closest ones (the configuration cannot be read; the
# source's metadata cannot be looked up).
_SOURCE_BUCKET = (
    Need("s3:GetReplicationConfiguration", "source-bucket", "SrcBucketReplicationConfigMissing"),
    Need("s3:ListBucket", "source-bucket", "SrcHeadObjectNotPermitted"),
)
_READ_VERSION = Need("s3:GetObjectVersionForReplication", "source", "SrcGetObjectNotPermitted")
_READ_ACL = Need("s3:GetObjectVersionAcl", "source", "SrcGetAclNotPermitted")
_READ_TAGS = Need("s3:GetObjectVersionTagging", "source", "SrcGetTaggingNotPermitted")
_WRITE_TAGS = Need("s3:ReplicateTags", "destination", "DstPutTaggingNotPermitted")

MARKER_NEEDS = (*_SOURCE_BUCKET, Need("s3:ReplicateDelete", "destination", "DstDelObjNotPermitted"))
TAG_CHANGE_NEEDS = (*_SOURCE_BUCKET, _READ_TAGS, _WRITE_TAGS)


def version_needs(tagged: bool, owner_override: bool) -> tuple[Need, ...]:
    """What replicating a new version takes: its tags only when it has some, the owner
    override only when the rule translates ownership (``AccessControlTranslation``)."""
    needs = [*_SOURCE_BUCKET, _READ_VERSION, _READ_ACL]
    if tagged:
        needs.append(_READ_TAGS)
    needs.append(Need("s3:ReplicateObject", "destination", "DstPutObjectNotPermitted"))
    if owner_override:
        needs.append(
            Need("s3:ObjectOwnerOverrideToBucketOwner", "destination", "DstPutObjectNotPermitted")
        )
    if tagged:
        needs.append(_WRITE_TAGS)
    return tuple(needs)


def _refused(env: ServiceEnv, what: str) -> bool:
    """True when a failed check should stop replication (``enforce``); ``audit`` logs it."""
    if env.settings.iam_mode == "audit":
        log.warning("audit: replication would fail: %s", what)
        return False
    return True


def _session(
    env: ServiceEnv, role_arn: str, account: str, role_id: str, tags: dict[str, str]
) -> PrincipalInfo:
    """The assumed-role session S3 acts as (policies naming the role ARN match it)."""
    name = role_arn.rsplit("/", 1)[-1]
    now = env.clock.now()
    return PrincipalInfo(
        kind="assumed-role",
        arn=f"arn:aws:sts::{account}:assumed-role/{name}/{SESSION_NAME}",
        user_id=f"{role_id}:{SESSION_NAME}",
        name=name,
        source_arn=role_arn,
        tags=tags,
        session=SessionInfo(
            kind="assumed-role",
            name=SESSION_NAME,
            issued_at=now,
            expires_at=now + SESSION_SECONDS,
        ),
    )


def assume(
    env: ServiceEnv, directory: Directory, role_arn: str, bucket: Bucket
) -> PrincipalInfo | None:
    """The session S3 replicates ``bucket`` as, or None when S3 cannot assume ``role_arn``."""
    parts = role_arn.split(":", 5)
    account = parts[4] if len(parts) == 6 else bucket.account_id
    if env.settings.iam_mode == "off":
        return _session(env, role_arn, account, role_arn.rsplit("/", 1)[-1], {})
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
    if record is None:  # audit: the role is missing, its session is evaluated all the same
        return _session(env, role_arn, account, role_arn.rsplit("/", 1)[-1], {})
    return _session(env, role_arn, account, record.id, dict(record.tags))


def refusal(
    env: ServiceEnv,
    session: PrincipalInfo,
    source: Bucket,
    target: Bucket,
    key: str,
    version_id: str,
    needs: tuple[Need, ...],
) -> str | None:
    """AWS's failure reason for the first of ``needs`` the session may not do on ``key``
    (``version_id`` of ``source``, its replica in ``target``), or None when all are allowed."""
    if env.settings.iam_mode == "off":
        return None
    from overcast.iam.requests import Check  # the request mapping, loaded when first needed

    authorizer = authorizer_of(env)
    for need in needs:
        if need.on == "destination":
            bucket, resource, context = target, bucket_arn(target.name, key), {}
        elif need.on == "source":
            bucket, resource = source, bucket_arn(source.name, key)
            context = {"s3:VersionId": version_id}
        else:
            bucket, resource, context = source, bucket_arn(source.name), {}
        check = Check(need.action, resource, context)
        policy = (bucket.account_id, bucket.config.get("policy"))
        outcome = authorizer.evaluate_as(session, check, policy)
        if outcome.allowed:
            continue
        what = f"{session.arn} may not {need.action} on {resource} ({outcome.because(need.action)})"
        if _refused(env, what):
            return need.reason
    return None
