"""AWS's policy evaluation logic: every kind of policy that applies to one request, in one decision.

The order follows the IAM User Guide's "Policy evaluation logic" (determining whether a request
is allowed or denied within an account, and cross-account policy evaluation logic):

1. an explicit ``Deny`` in any policy (SCP, resource-based, identity-based, permissions
   boundary, session policy) denies;
2. service control policies (Organizations, when present) must allow;
3. within one account, a resource-based policy that allows the principal's own ARN (a user, a
   role session, a federated user) or everyone allows, whatever the identity policies, the
   boundary or session policies say; one that names the role (not the session) is still limited
   by the boundary and the session policies; one that names the account delegates to IAM;
4. identity-based policies must allow;
5. a permissions boundary, when set, must allow;
6. session policies, when the session has them, must allow;
7. across accounts, the resource's account must allow as well (its resource-based policy).

``Outcome`` says which rule decided and which statement (``StatementRef``) allowed or denied, so
a denial can be explained with AWS's own wording ("because no identity-based policy allows").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from overcast.iam.policy import Decision, Policy, Principal, RequestInfo


class PolicyKind(Enum):
    SCP = "service control policy"
    RESOURCE = "resource-based policy"
    IDENTITY = "identity-based policy"
    BOUNDARY = "permissions boundary"
    SESSION = "session policy"


@dataclass(frozen=True)
class NamedPolicy:
    """A parsed policy and what to call it in explanations (an ARN, "user/alice/inline")."""

    name: str
    policy: Policy


@dataclass(frozen=True)
class StatementRef:
    kind: PolicyKind
    policy: str
    index: int
    sid: str | None
    effect: str

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "policy": self.policy,
            "statement": self.index,
            "sid": self.sid,
            "effect": self.effect,
        }


@dataclass(frozen=True)
class Policies:
    """Every policy that applies to a request. ``None`` means the kind does not apply (no SCPs,
    no boundary, no session policies); an empty sequence allows nothing."""

    identity: Sequence[NamedPolicy] = ()
    boundary: NamedPolicy | None = None
    session: Sequence[NamedPolicy] | None = None
    scps: Sequence[NamedPolicy] | None = None
    resource: Sequence[NamedPolicy] = ()
    # The account owning the resource; None when it is the principal's (same account).
    resource_account: str | None = None


class Reason(Enum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    NO_SCP_ALLOW = "no service control policy allows"
    NO_IDENTITY_ALLOW = "no identity-based policy allows"
    NO_BOUNDARY_ALLOW = "no permissions boundary allows"
    NO_SESSION_ALLOW = "no session policy allows"
    NO_RESOURCE_ALLOW = "no resource-based policy allows"


@dataclass(frozen=True)
class Outcome:
    allowed: bool
    reason: Reason
    statement: StatementRef | None = None  # the deciding statement, when one decided
    matched: tuple[StatementRef, ...] = field(default=())  # every allow/deny that applied

    def because(self, action: str) -> str:
        """AWS's explanation clause for a denial ("because no identity-based policy allows the
        s3:GetObject action", "with an explicit deny in a resource-based policy")."""
        if self.reason is Reason.EXPLICIT_DENY and self.statement is not None:
            kind = self.statement.kind.value
            article = "an" if kind[0] in "aeiou" else "a"
            return f"with an explicit deny in {article} {kind}"
        return f"because {self.reason.value} the {action} action"


def _explain(
    kind: PolicyKind, policies: Sequence[NamedPolicy], request: RequestInfo
) -> tuple[StatementRef | None, StatementRef | None]:
    """The first explicit deny and the first allow among ``policies``."""
    allow: StatementRef | None = None
    for named in policies:
        decision, index = named.policy.explain(request)
        if index is None:
            continue
        statement = named.policy.statements[index]
        ref = StatementRef(kind, named.name, index, statement.sid, statement.effect)
        if decision is Decision.DENY:
            return ref, allow
        if allow is None:
            allow = ref
    return None, allow


def _direct_grant(named: NamedPolicy, index: int, who: Principal) -> bool:
    """Whether the resource policy's allowing statement names this exact principal (or
    everyone) rather than its role or its account, which are delegations (rule 3)."""
    spec = named.policy.statements[index].principal
    if spec is None:  # NotPrincipal: everyone but the ones named
        return True
    if spec.everyone or (who.service is not None):
        return True
    values = spec.values.get("AWS", ())
    return "*" in values or (who.arn is not None and who.arn in values)


def authorize(request: RequestInfo, policies: Policies) -> Outcome:
    """The decision for ``request`` under ``policies`` (see the module docstring)."""
    matched: list[StatementRef] = []

    def scan(kind: PolicyKind, group: Sequence[NamedPolicy]) -> StatementRef | None:
        """The kind's first allow; raises _Denied on an explicit deny."""
        if not group:
            return None
        deny, allow = _explain(kind, group, request)
        if deny is not None:
            raise _Denied(deny)
        if allow is not None:
            matched.append(allow)
        return allow

    try:
        scp_allow = scan(PolicyKind.SCP, policies.scps or ())
        resource_allow = scan(PolicyKind.RESOURCE, policies.resource)
        identity_allow = scan(PolicyKind.IDENTITY, policies.identity)
        boundary = policies.boundary
        boundary_allow = scan(PolicyKind.BOUNDARY, (boundary,) if boundary else ())
        session_allow = scan(PolicyKind.SESSION, policies.session or ())
    except _Denied as denied:
        return Outcome(False, Reason.EXPLICIT_DENY, denied.ref, (*matched, denied.ref))
    found = tuple(matched)

    def deny(reason: Reason) -> Outcome:
        return Outcome(False, reason, None, found)

    if policies.scps is not None and scp_allow is None:
        return deny(Reason.NO_SCP_ALLOW)
    same_account = policies.resource_account is None
    boundary_ok = boundary is None or boundary_allow is not None
    session_ok = policies.session is None or session_allow is not None
    if same_account and resource_allow is not None:
        named = next(p for p in policies.resource if p.name == resource_allow.policy)
        if _direct_grant(named, resource_allow.index, request.principal):
            return Outcome(True, Reason.ALLOWED, resource_allow, found)
        if _names_role(named, resource_allow.index, request.principal):
            if not boundary_ok:
                return deny(Reason.NO_BOUNDARY_ALLOW)
            if not session_ok:
                return deny(Reason.NO_SESSION_ALLOW)
            return Outcome(True, Reason.ALLOWED, resource_allow, found)
    if identity_allow is None:
        return deny(Reason.NO_IDENTITY_ALLOW)
    if not boundary_ok:
        return deny(Reason.NO_BOUNDARY_ALLOW)
    if not session_ok:
        return deny(Reason.NO_SESSION_ALLOW)
    if not same_account and resource_allow is None:
        return deny(Reason.NO_RESOURCE_ALLOW)
    return Outcome(True, Reason.ALLOWED, identity_allow, found)


class _Denied(Exception):
    def __init__(self, ref: StatementRef) -> None:
        self.ref = ref


def _names_role(named: NamedPolicy, index: int, who: Principal) -> bool:
    spec = named.policy.statements[index].principal
    if spec is None:
        return False
    values = spec.values.get("AWS", ())
    return any(alias in values for alias in who.aliases)
