"""STS: who is calling, and temporary credentials for roles, users and federated users.

AssumeRole checks the role's trust policy with the policy engine (principal, ``sts:ExternalId``,
``aws:MultiFactorAuthPresent``, session tags need ``sts:TagSession``, a source identity
``sts:SetSourceIdentity``); the caller's own identity policies were already checked by the
gateway's authorize step, with the trust policy as the role's resource-based policy
(``_resource_policy``). Session policies (``Policy``, ``PolicyArns``) are stored with the
session and intersect its permissions at every request. Role chaining (a role session assuming
a role) is limited to one hour and carries the transitive session tags and the source identity.

Root callers (unknown keys, ``--credentials`` keys) are not enforced, so they may assume any
existing role without a trust check, as they could before IAM existed.
"""

from __future__ import annotations

from typing import Any

from overcast.gateway.auth.credentials import PrincipalInfo, SessionInfo
from overcast.gateway.authorize import engine_principal
from overcast.gateway.context import RequestContext
from overcast.iam.matching import ContextValue
from overcast.services.base import Provider, ServiceEnv
from overcast.services.iam.directory import Directory, PrincipalRecord
from overcast.services.sts import common, messages
from overcast.services.sts.errors import (
    AccessDenied,
    InvalidAuthorizationMessageException,
    ValidationError,
)
from overcast.services.sts.federation import FederationMixin

_CHAIN_LIMIT = 3600
_ROOT_SESSION_LIMIT = 3600


class StsProvider(FederationMixin, Provider):
    service = "sts"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        self.directory = Directory(env)

    # --- who ------------------------------------------------------------------------------

    def get_caller_identity(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = ctx.identity
        account = ctx.account_id
        principal = identity.principal if identity else None
        if principal is not None:
            return {"UserId": principal.user_id, "Account": account, "Arn": principal.arn}
        if identity is None or identity.principal_arn.endswith(":root"):
            # For an account's root user AWS answers the account id as the UserId.
            return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}
        arn = identity.principal_arn
        return {"UserId": identity.access_key or account, "Account": account, "Arn": arn}

    def get_access_key_info(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        key = request["AccessKeyId"]
        found = self.env.credentials.lookup(key)
        return {"Account": found.account_id if found else self.env.settings.default_account}

    def decode_authorization_message(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        decoded = messages.decode(self.env.store, request["EncodedMessage"])
        if decoded is None:
            raise InvalidAuthorizationMessageException(
                "Message is not valid, cannot decode the authorization message."
            )
        return {"DecodedMessage": decoded}

    # --- roles ----------------------------------------------------------------------------

    def _role(self, ctx: RequestContext, role_arn: str, denied: str) -> PrincipalRecord:
        record = self.directory.principal(role_arn)
        if record is None or record.kind != "role":
            raise AccessDenied(denied)
        return record

    def assume_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = ctx.identity
        caller = identity.principal if identity else None
        caller_arn = caller.arn if caller else f"arn:aws:iam::{ctx.account_id}:root"
        role_arn = request["RoleArn"]
        denied = (
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: "
            f"{role_arn}"
        )
        role = self._role(ctx, role_arn, denied)
        caller_session = caller.session if caller else None
        chained = caller is not None and caller.kind == "assumed-role"
        duration = int(request.get("DurationSeconds") or 3600)
        if chained and duration > _CHAIN_LIMIT:
            raise ValidationError(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
            )
        if duration > role.max_session_duration:
            raise ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        policies = common.session_policies(self.env, self.directory, request)
        tags = common.session_tags(request)
        transitive = tuple(request.get("TransitiveTagKeys") or ())
        lowered = {k.lower() for k in tags}
        for key in transitive:
            if key.lower() not in lowered:
                raise common.InvalidParameterValue(
                    "The specified transitive tag key must be included in the requested tags."
                )
        inherited: dict[str, str] = {}
        if caller_session is not None and chained:
            inherited = {
                k: v
                for k, v in caller_session.tags.items()
                if k in caller_session.transitive_tag_keys
            }
            transitive = tuple(dict.fromkeys((*caller_session.transitive_tag_keys, *transitive)))
        all_tags = {**tags, **inherited}
        mfa = bool(caller_session and caller_session.mfa)
        mfa_at = caller_session.mfa_authenticated_at if caller_session else None
        if request.get("SerialNumber"):
            self._check_mfa(request["SerialNumber"], request.get("TokenCode"))
            mfa, mfa_at = True, self.env.clock.now()
        source_identity = caller_session.source_identity if caller_session else None
        requested_source = request.get("SourceIdentity")
        if source_identity and requested_source and requested_source != source_identity:
            raise AccessDenied(denied)
        source_identity = source_identity or requested_source
        if caller is not None:
            self._check_trust_for(
                ctx, caller, role, request, all_tags, transitive, mfa, requested_source, denied
            )
        name = request["RoleSessionName"]
        partition = ctx.partition
        session_arn = f"arn:{partition}:sts::{role.account_id}:assumed-role/{role.name}/{name}"
        now = self.env.clock.now()
        packed = common.packed_size(policies, tags)
        principal = PrincipalInfo(
            kind="assumed-role",
            arn=session_arn,
            user_id=f"{role.id}:{name}",
            name=role.name,
            source_arn=role.arn,
            tags={**role.tags, **all_tags},
            session=SessionInfo(
                kind="assumed-role",
                name=name,
                issued_at=now,
                expires_at=now + duration,
                policies=policies,
                tags=all_tags,
                transitive_tag_keys=transitive,
                source_identity=source_identity,
                mfa=mfa,
                mfa_authenticated_at=mfa_at,
                chained=chained,
            ),
        )
        _, credentials = common.issue(self.env, role.account_id, principal, duration)
        out: dict[str, Any] = {
            "Credentials": credentials,
            "AssumedRoleUser": {"AssumedRoleId": principal.user_id, "Arn": session_arn},
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        if source_identity:
            out["SourceIdentity"] = source_identity
        return out

    def _check_trust_for(
        self,
        ctx: RequestContext,
        caller: PrincipalInfo,
        role: PrincipalRecord,
        request: dict[str, Any],
        tags: dict[str, str],
        transitive: tuple[str, ...],
        mfa: bool,
        source_identity: str | None,
        denied: str,
    ) -> None:
        from overcast.gateway.authorize import authorizer_of

        context: dict[str, ContextValue] = dict(authorizer_of(self.env).context(ctx, caller))
        context["aws:MultiFactorAuthPresent"] = "true" if mfa else "false"
        context["sts:RoleSessionName"] = request["RoleSessionName"]
        if request.get("ExternalId") is not None:
            context["sts:ExternalId"] = request["ExternalId"]
        if source_identity:
            context["sts:SourceIdentity"] = source_identity
        for key, value in tags.items():
            context[f"aws:RequestTag/{key}"] = value
        if tags:
            context["aws:TagKeys"] = list(tags)
        if transitive:
            context["sts:TransitiveTagKeys"] = list(transitive)
        actions = ["sts:AssumeRole"]
        if tags:
            actions.append("sts:TagSession")
        if source_identity:
            actions.append("sts:SetSourceIdentity")
        who = engine_principal(ctx.account_id, caller)
        common.check_trust(self.env, role.trust_policy, role.arn, who, actions, context, denied)

    def _check_mfa(self, serial: str, code: str | None) -> None:
        if not code or not self.directory.verify_totp(serial, code):
            raise AccessDenied(
                "MultiFactorAuthentication failed with invalid MFA one time pass code."
            )

    def _resource_policy(self, ctx: RequestContext, arn: str) -> tuple[str, str | None] | None:
        """A role's trust policy is its resource-based policy (the gateway's authorize step)."""
        record = self.directory.principal(arn)
        if record is None or record.kind != "role":
            return None
        return record.account_id, record.trust_policy

    # --- users ----------------------------------------------------------------------------

    def get_session_token(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = ctx.identity
        caller = identity.principal if identity else None
        if caller is not None and caller.session is not None:
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        duration = int(request.get("DurationSeconds") or 43200)
        if caller is None:
            duration = min(duration, _ROOT_SESSION_LIMIT)
        mfa, mfa_at = False, None
        if request.get("SerialNumber"):
            self._check_mfa(request["SerialNumber"], request.get("TokenCode"))
            mfa, mfa_at = True, self.env.clock.now()
        now = self.env.clock.now()
        principal = None
        if caller is not None:
            principal = PrincipalInfo(
                kind="user",
                arn=caller.arn,
                user_id=caller.user_id,
                name=caller.name,
                source_arn=caller.source_arn,
                tags=caller.tags,
                session=SessionInfo(
                    kind="session-token",
                    name="",
                    issued_at=now,
                    expires_at=now + duration,
                    mfa=mfa,
                    mfa_authenticated_at=mfa_at,
                ),
            )
        _, credentials = common.issue(self.env, ctx.account_id, principal, duration)
        return {"Credentials": credentials}

    def get_federation_token(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        identity = ctx.identity
        caller = identity.principal if identity else None
        if caller is not None and caller.session is not None:
            raise AccessDenied("Cannot call GetFederationToken with session credentials")
        duration = int(request.get("DurationSeconds") or 43200)
        if caller is None:
            duration = min(duration, _ROOT_SESSION_LIMIT)
        policies = common.session_policies(self.env, self.directory, request)
        tags = common.session_tags(request)
        packed = common.packed_size(policies, tags)
        name = request["Name"]
        account = ctx.account_id
        arn = f"arn:{ctx.partition}:sts::{account}:federated-user/{name}"
        now = self.env.clock.now()
        source = caller.arn if caller else f"arn:{ctx.partition}:iam::{account}:root"
        principal = PrincipalInfo(
            kind="federated-user",
            arn=arn,
            user_id=f"{account}:{name}",
            name=name,
            source_arn=source,
            tags={**(caller.tags if caller else {}), **tags},
            session=SessionInfo(
                kind="federated-user",
                name=name,
                issued_at=now,
                expires_at=now + duration,
                # Without a policy the federated user may do nothing: an empty intersection.
                policies=policies if policies is not None else (),
                tags=tags,
            ),
        )
        _, credentials = common.issue(self.env, account, principal, duration)
        out: dict[str, Any] = {
            "Credentials": credentials,
            "FederatedUser": {"FederatedUserId": principal.user_id, "Arn": arn},
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        return out
