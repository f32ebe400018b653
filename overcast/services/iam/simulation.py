"""Policy simulation: SimulatePrincipalPolicy and SimulateCustomPolicy, answered by the engine.

Every (action, resource) pair is decided by ``overcast.iam.evaluation.authorize`` (the same logic
that enforces requests), with the caller's policies, an optional permissions boundary and an
optional resource policy; the statements that matched are reported as AWS reports them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.iam import Policy, PolicyError, Principal, RequestInfo
from overcast.iam.evaluation import NamedPolicy, Outcome, Policies, PolicyKind, Reason, authorize
from overcast.iam.policy import principal_context
from overcast.services.iam import storage
from overcast.services.iam.common import IamBase, page
from overcast.services.iam.directory import policy_document
from overcast.services.iam.errors import (
    InvalidInput,
    MalformedPolicyDocument,
    NoSuchEntity,
    no_such,
)

Doc = dict[str, Any]
_SOURCE_TYPE = {
    PolicyKind.IDENTITY: "IAM Policy",
    PolicyKind.BOUNDARY: "PermissionsBoundaryPolicy",
    PolicyKind.RESOURCE: "Resource Policy",
    PolicyKind.SESSION: "IAM Policy",
    PolicyKind.SCP: "Organizations Policy",
}


def _parse(text: str, *, resource: bool = False) -> Policy:
    try:
        return Policy.parse(text, resource_policy=resource)
    except PolicyError as exc:
        raise MalformedPolicyDocument(str(exc)) from None


def _inputs(texts: list[str], prefix: str) -> list[NamedPolicy]:
    return [NamedPolicy(f"{prefix}.{i}", _parse(t)) for i, t in enumerate(texts, start=1)]


def _context(entries: list[Doc]) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {}
    for entry in entries:
        values = [str(v) for v in entry.get("ContextKeyValues") or []]
        kind = str(entry.get("ContextKeyType") or "string")
        context[entry["ContextKeyName"]] = values if kind.endswith("List") else (values or [""])[0]
    return context


def _condition_keys(policies: list[NamedPolicy]) -> list[str]:
    keys: dict[str, None] = {}
    for named in policies:
        for statement in named.policy.statements:
            for condition in statement.conditions:
                keys.setdefault(condition.key, None)
    return list(keys)


def _named_entity_policies(
    conn: sqlite3.Connection, account: str, kind: str, doc: Doc, name: str
) -> list[NamedPolicy]:
    found = [
        NamedPolicy(policy_name, _parse(text))
        for policy_name, text in (doc.get("InlinePolicies") or {}).items()
    ]
    for arn in storage.attached(conn, account, kind, name):
        text = policy_document(conn, account, arn)
        if text is not None:
            found.append(NamedPolicy(arn.rsplit("/", 1)[-1], _parse(text)))
    return found


def principal_policies(
    conn: sqlite3.Connection, arn: str
) -> tuple[str, list[NamedPolicy], NamedPolicy | None]:
    """``(account, identity policies, boundary)`` of a user, group or role ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        raise InvalidInput(f"Invalid ARN: {arn}")
    account, resource = parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    if kind not in (storage.USER, storage.GROUP, storage.ROLE) or not name:
        raise InvalidInput(f"Invalid ARN: {arn}")
    doc = storage.get(conn, account, kind, name)
    if doc is None or doc["Arn"] != arn:
        raise no_such(kind, name)
    policies = _named_entity_policies(conn, account, kind, doc, name)
    if kind == storage.USER:
        for group_key in storage.groups_of(conn, account, name):
            group = storage.get(conn, account, storage.GROUP, group_key)
            if group is not None:
                policies += _named_entity_policies(conn, account, storage.GROUP, group, group_key)
    boundary = None
    boundary_arn = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary_arn:
        text = policy_document(conn, account, boundary_arn)
        if text is not None:
            boundary = NamedPolicy(boundary_arn.rsplit("/", 1)[-1], _parse(text))
    return account, policies, boundary


def _result(
    action: str, resource: str, outcome: Outcome, boundary: bool, missing: list[str]
) -> Doc:
    if outcome.allowed:
        decision = "allowed"
    elif outcome.reason is Reason.EXPLICIT_DENY:
        decision = "explicitDeny"
    else:
        decision = "implicitDeny"
    refs = [outcome.statement] if outcome.reason is Reason.EXPLICIT_DENY else list(outcome.matched)
    result: Doc = {
        "EvalActionName": action,
        "EvalResourceName": resource,
        "EvalDecision": decision,
        "MatchedStatements": [
            {"SourcePolicyId": ref.policy, "SourcePolicyType": _SOURCE_TYPE[ref.kind]}
            for ref in refs
            if ref is not None
        ],
        "MissingContextValues": missing,
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": True},
        "EvalDecisionDetails": {},
        "ResourceSpecificResults": [],
    }
    if boundary:
        result["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": outcome.reason is not Reason.NO_BOUNDARY_ALLOW
            and not (
                outcome.reason is Reason.EXPLICIT_DENY
                and outcome.statement is not None
                and outcome.statement.kind is PolicyKind.BOUNDARY
            )
        }
    return result


class Simulation(IamBase):
    def simulate_principal_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        source = request["PolicySourceArn"]
        account, identity, boundary = self._read(lambda conn: principal_policies(conn, source))
        if account != ctx.account_id:
            raise NoSuchEntity(f"The entity {source} cannot be found.")
        identity += _inputs(request.get("PolicyInputList") or [], "PolicyInputList")
        boundaries = _inputs(request.get("PermissionsBoundaryPolicyInputList") or [],
                             "PermissionsBoundaryPolicyInputList")  # fmt: skip
        if boundaries:
            boundary = boundaries[0]
        caller = request.get("CallerArn") or source
        return self._simulate(ctx, request, identity, boundary, caller)

    def simulate_custom_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        identity = _inputs(request["PolicyInputList"], "PolicyInputList")
        boundaries = _inputs(request.get("PermissionsBoundaryPolicyInputList") or [],
                             "PermissionsBoundaryPolicyInputList")  # fmt: skip
        caller = request.get("CallerArn") or f"arn:aws:iam::{ctx.account_id}:root"
        return self._simulate(ctx, request, identity, boundaries[0] if boundaries else None, caller)

    def _simulate(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        identity: list[NamedPolicy],
        boundary: NamedPolicy | None,
        caller: str,
    ) -> dict[str, Any]:
        resource_policy = None
        if request.get("ResourcePolicy"):
            resource_policy = NamedPolicy(
                "ResourcePolicy", _parse(request["ResourcePolicy"], resource=True)
            )
        account = caller.split(":")[4] if caller.count(":") >= 5 else ctx.account_id
        owner = request.get("ResourceOwner")
        owner_account = owner.split(":")[4] if owner and owner.count(":") >= 5 else None
        principal = Principal(account=account or ctx.account_id, arn=caller)
        context = {**principal_context(principal), **_context(request.get("ContextEntries") or [])}
        everything = identity + ([boundary] if boundary else [])
        everything += [resource_policy] if resource_policy else []
        missing = [k for k in _condition_keys(everything) if k not in context]
        policies = Policies(
            identity=identity,
            boundary=boundary,
            resource=[resource_policy] if resource_policy else [],
            resource_account=owner_account if owner_account not in (None, account) else None,
        )
        results = []
        for action in request["ActionNames"]:
            for resource in request.get("ResourceArns") or ["*"]:
                info = RequestInfo(action, resource, principal, context)
                outcome = authorize(info, policies)
                results.append(_result(action, resource, outcome, boundary is not None, missing))
        keyed = [(f"{i:08d}", r) for i, r in enumerate(results)]
        out = page(keyed, request, lambda r: r[0], "EvaluationResults")
        out["EvaluationResults"] = [r for _, r in out["EvaluationResults"]]
        return out

    # -- context keys --------------------------------------------------------------------------

    def get_context_keys_for_custom_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return {"ContextKeyNames": _condition_keys(_inputs(request["PolicyInputList"], "p"))}

    def get_context_keys_for_principal_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        source = request["PolicySourceArn"]
        _, identity, _ = self._read(lambda conn: principal_policies(conn, source))
        identity += _inputs(request.get("PolicyInputList") or [], "p")
        return {"ContextKeyNames": _condition_keys(identity)}
