"""The authorize step of the pipeline: IAM policy enforcement for IAM principals.

Requests signed with keys from IAM (users) or STS (role sessions, federated users, session
tokens of users) are evaluated with the one policy engine (``overcast.iam.evaluation``): their
identity policies, permissions boundary and session policies, together with the resource-based
policy of the resource when the service has one (S3 bucket policies, SQS queue policies, SNS
topic policies, role trust policies for ``sts:AssumeRole``), which a provider hands over through
its ``_resource_policy(ctx, arn) -> (owner account, document | None) | None`` hook. KMS key
policies and Lambda resource policies plug into the same hook once those services exist.

Root callers (static ``--credentials`` keys, unknown keys mapped to the default account, STS
credentials of a root) carry no ``PrincipalInfo`` and pass at the cost of one attribute test.

``settings.iam_mode``: ``enforce`` answers the service's own AccessDenied shape; ``audit`` lets
the request through and logs the would-be denial; ``off`` evaluates nothing. Every evaluated
request is remembered (the last ``KEEP`` of them) for ``GET /_overcast/iam/decisions``, with the
statement that allowed or denied it.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from overcast.iam.matching import LowerKeys

if TYPE_CHECKING:
    from overcast.errors import ServiceError
    from overcast.gateway.app import Gateway
    from overcast.gateway.auth.credentials import PrincipalInfo
    from overcast.gateway.context import RequestContext
    from overcast.iam.evaluation import NamedPolicy, Outcome, Policies
    from overcast.iam.matching import ContextValue
    from overcast.iam.policy import Policy, Principal
    from overcast.iam.requests import Check
    from overcast.services.base import ServiceEnv
    from overcast.services.iam.directory import PrincipalRecord
    from overcast.state import Store

log = logging.getLogger("overcast.iam")

KEEP = 1000  # decisions remembered for the decisions endpoint
# Condition keys that cost a lookup: added only for principals whose policies mention them.
LAZY_KEYS = ("aws:resourcetag/", "iam:resourcetag/", "dynamodb:leadingkeys")
# Services whose resource policies can also deny a caller its identity policies allow, so the
# resource policy is read even then (S3 applies its bucket policy's denies itself).
_ALWAYS_RESOURCE = frozenset({"sqs", "sns"})

_authorizers: weakref.WeakKeyDictionary[Store, Authorizer] = weakref.WeakKeyDictionary()
_last: Authorizer | None = None  # the one cloud of a server process: no dictionary lookup
_lock = threading.Lock()


def authorize(ctx: RequestContext) -> None:
    """Raise the service's AccessDenied unless the request's IAM principal may make it."""
    identity = ctx.identity
    if identity is None or identity.principal is None:
        return  # root or unknown key: not enforced (the fast path)
    if ctx.env.settings.iam_mode == "off":
        return
    authorizer_of(ctx.env).check(ctx, identity.principal)


def authorize_operation(ctx: RequestContext, operation: str, params: dict[str, Any]) -> None:
    """``authorize`` for a request a provider answers before operation matching (S3's browser
    POST upload is PutObject): the checks of ``operation`` with ``params``."""
    identity = ctx.identity
    if identity is None or identity.principal is None or ctx.env.settings.iam_mode == "off":
        return
    authorizer_of(ctx.env).check(ctx, identity.principal, operation, params)


_engine: tuple[Any, Any, Any, Any] | None = None


def _load_engine() -> tuple[Any, Any, Any, Any]:
    """The engine's entry points, imported at the first IAM principal's request (not at startup,
    not on every request)."""
    global _engine
    from overcast.iam.evaluation import authorize as evaluate
    from overcast.iam.policy import RequestInfo
    from overcast.iam.requests import Target, checks

    _engine = (evaluate, RequestInfo, Target, checks)
    return _engine


def authorizer_of(env: ServiceEnv) -> Authorizer:
    last = _last
    if last is not None and last.env is env:
        return last
    return _authorizer_for(env)


def _authorizer_for(env: ServiceEnv) -> Authorizer:
    global _last
    with _lock:
        found = _authorizers.get(env.store)
        if found is None:
            found = _authorizers[env.store] = Authorizer(env)
        _last = found
        return found


@lru_cache(maxsize=4096)
def _parse(document: str, resource_policy: bool) -> Policy | None:
    from overcast.iam.policy import Policy, PolicyError

    try:
        return Policy.parse(document, resource_policy=resource_policy)
    except PolicyError:
        pass
    if not resource_policy:
        return None
    try:  # a role's trust policy (sts:AssumeRole's resource policy) names no Resource
        return Policy.parse(document, trust_policy=True)
    except PolicyError:
        return None


@lru_cache(maxsize=1)
def _allow_all() -> Policy:
    from overcast.iam.policy import Policy

    return Policy.parse(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
        resource_policy=False,
    )


def _named(name: str, document: str | None, *, resource: bool = False) -> NamedPolicy | None:
    from overcast.iam.evaluation import NamedPolicy

    if not document:
        return None
    policy = _parse(document, resource)
    if policy is None:
        if not resource:  # IAM validated it when stored: an engine gap, logged, grants nothing
            log.warning("identity policy %s could not be parsed; it is ignored", name)
            return None
        # A resource policy stored with only a JSON check (an SQS queue's Policy attribute):
        # dropping it would drop its Deny statements too, so it denies everything instead.
        log.warning("resource policy %s could not be parsed; it denies every request", name)
        return NamedPolicy(f"{name} (unparseable: denies all)", _deny_all())
    return NamedPolicy(name, policy)


@lru_cache(maxsize=1)
def _deny_all() -> Policy:
    from overcast.iam.policy import Policy

    return Policy.parse(
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*",'
        '"Resource":"*"}]}',
        resource_policy=True,
    )


@dataclass(frozen=True)
class _PolicySet:
    generation: int  # IAM's generation when read
    policies: Policies
    needs: frozenset[str]  # the LAZY_KEYS the policies mention
    keys: tuple[str, ...]  # the (lower-cased) context keys the policies read


class Authorizer:
    """Policy enforcement for one cloud (one store): caches and the decision log."""

    def __init__(self, env: ServiceEnv) -> None:
        from overcast.services.iam.directory import Directory

        self.env = env
        from overcast.services.iam import storage

        self.directory = Directory(env)
        self._generation = storage.generation  # changes after every IAM write
        self.decisions: deque[tuple[Any, ...]] = deque(maxlen=KEEP)
        env.store.on_reset(self._forget)
        self._policies: dict[tuple[Any, ...], _PolicySet] = {}
        self._allowed: dict[tuple[Any, ...], tuple[PrincipalInfo, Outcome]] = {}
        self._scp_hook: Any = _UNRESOLVED
        self._principals: dict[int, tuple[PrincipalInfo, Principal, dict[str, ContextValue]]] = {}

    # --- the policies of a principal ------------------------------------------------------

    def policies(self, principal: PrincipalInfo) -> Policies:
        """Identity policies, boundary and session policies, parsed once per IAM generation."""
        return self._policy_set(principal).policies

    def _policy_set(self, principal: PrincipalInfo) -> _PolicySet:
        """The policies, which costly condition keys they mention (``LAZY_KEYS``), and whether
        their decisions depend on the request's context at all."""
        session = principal.session
        key = (principal.source_arn, session.policies if session else None)
        generation = self._generation(self.env.store)
        cached = self._policies.get(key)
        if cached is not None and cached.generation == generation:
            return cached
        from overcast.iam.evaluation import NamedPolicy, Policies

        record = self.directory.principal(principal.source_arn)
        identity: list[NamedPolicy] = []
        boundary = None
        if principal.source_arn.endswith(":root"):
            # A root's federated users: the root may do anything, their session policy limits.
            identity.append(NamedPolicy(principal.source_arn, _allow_all()))
        elif record is not None:
            names = _policy_names(self.env, record)
            for index, document in enumerate(record.policies):
                label = names.get(document) or f"{record.arn} policy #{index + 1}"
                named = _named(label, document)
                if named is not None:
                    identity.append(named)
            boundary = _named(f"{record.arn} permissions boundary", record.permissions_boundary)
        session_policies = None
        if session is not None and session.policies is not None:
            session_policies = [
                p
                for i, doc in enumerate(session.policies)
                if (p := _named(f"session policy #{i + 1}", doc)) is not None
            ]
        policies = Policies(identity=identity, boundary=boundary, session=session_policies)
        texts = [*(record.policies if record else ()), *(session.policies or () if session else ())]
        if record is not None and record.permissions_boundary:
            texts.append(record.permissions_boundary)
        lowered = " ".join(texts).lower()
        needs = frozenset(k for k in LAZY_KEYS if k in lowered)
        every = [*identity, *([boundary] if boundary else []), *(session_policies or [])]
        read = {
            condition.key.lower()
            for policy in every
            for statement in policy.policy.statements
            for condition in statement.conditions
        }
        read.update(m.group(1).strip().lower() for m in _VARIABLE.finditer(" ".join(texts)))
        if len(self._policies) > 4096:
            self._policies.clear()
        found = self._policies[key] = _PolicySet(generation, policies, needs, tuple(sorted(read)))
        return found

    # --- one request ----------------------------------------------------------------------

    def check(
        self,
        ctx: RequestContext,
        principal: PrincipalInfo,
        operation: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Raise unless the request (or ``operation`` with ``params``, when given) is allowed."""
        evaluate, RequestInfo, Target, checks = _engine or _load_engine()
        assert ctx.service is not None
        if operation is None:
            assert ctx.operation is not None
            operation = ctx.operation.name
        service = ctx.service.name
        if principal.kind == "user" and principal.session is None and ctx.identity is not None:
            self.directory.record_key_used(ctx.identity.access_key or "", service, ctx.region)
        account = ctx.account_id
        target = Target(
            account,
            ctx.region,
            ctx.partition,
            principal.arn,
            self._iam_arn(account) if service == "iam" else None,
        )
        params = ctx.params if params is None else params
        found = checks(service, operation, params, target)
        if not found:
            return
        policy_set = self._policy_set(principal)
        policies, needs, read = policy_set.policies, policy_set.needs, policy_set.keys
        scps = self._service_control_policies(account)
        if scps is not None:
            policies = replace(policies, scps=scps)
        mode = self.env.settings.iam_mode
        # The same checks with the same values of the keys the policies read get the same
        # answer: an allow is remembered per credential and IAM generation. Policies that read
        # no key are looked up before the request's context is even built.
        memoize = scps is None and service not in _ALWAYS_RESOURCE
        memo = None
        if memoize and not read and not needs:
            memo = (id(principal), policy_set.generation, *((c.action, c.resource) for c in found))
            if self._remembered(memo, principal, found, mode):
                return
        who, principal_keys = self._principal_parts(account, principal)
        base = self._request_keys(ctx, principal, principal_keys)
        if needs:
            seen: dict[str, Mapping[str, str]] = {}  # tags per resource (batches repeat one)
            found = [
                self._lazy_keys(ctx, operation, params, item, needs, i, seen)
                for i, item in enumerate(found)
            ]
        contexts = [base if not item.context else _merged(base, item.context) for item in found]
        if memoize and memo is None:
            memo = (
                id(principal),
                policy_set.generation,
                *(
                    (item.action, item.resource, *_values(context, read))
                    for item, context in zip(found, contexts, strict=True)
                ),
            )
            if self._remembered(memo, principal, found, mode):
                return
        hook = getattr(self.env.registry.provider(service), "_resource_policy", None)
        outcome: Outcome | None = None
        denied: Check | None = None
        for item, context in zip(found, contexts, strict=True):
            request = RequestInfo(item.action, item.resource, who, context)
            outcome = evaluate(request, policies)
            if hook is not None and (not outcome.allowed or service in _ALWAYS_RESOURCE):
                outcome = self._with_resource_policy(ctx, hook, request, policies) or outcome
                memo = None  # the resource's policy may change without IAM knowing
            if not outcome.allowed:
                denied = item
                break
        assert outcome is not None
        # Materialized only when the decisions endpoint is read: appending costs next to nothing.
        self.decisions.append((self.env.clock.now(), principal.arn, found, outcome, denied, mode))
        if denied is None:
            if memo is not None:
                if len(self._allowed) > 10_000:
                    self._allowed.clear()
                self._allowed[memo] = (principal, outcome)
            return
        if mode == "audit":
            log.warning(
                "audit: would deny %s %s on %s (%s)",
                principal.arn,
                denied.action,
                denied.resource,
                outcome.because(denied.action),
            )
            return
        raise self._error(ctx, principal, denied, outcome, base)

    def _remembered(
        self, memo: tuple[Any, ...], principal: PrincipalInfo, found: list[Check], mode: str
    ) -> bool:
        hit = self._allowed.get(memo)
        if hit is None or hit[0] is not principal:
            return False
        self.decisions.append((self.env.clock.now(), principal.arn, found, hit[1], None, mode))
        return True

    def _service_control_policies(self, account: str) -> list[NamedPolicy] | None:
        """The SCPs that apply to ``account``: the Organizations hook. None (no organization,
        or no Organizations service yet) leaves SCPs out of the evaluation; an Organizations
        provider answers ``_service_control_policies(account) -> [(name, document)] | None``."""
        hook = self._scp_hook
        if hook is _UNRESOLVED:
            organizations = self.env.registry.provider("organizations")
            hook = self._scp_hook = getattr(organizations, "_service_control_policies", None)
        if hook is None:
            return None
        found = hook(account)
        if found is None:
            return None
        return [p for name, doc in found if (p := _named(name, doc)) is not None]

    def _lazy_keys(
        self,
        ctx: RequestContext,
        operation: str,
        params: dict[str, Any],
        item: Check,
        needs: frozenset[str],
        index: int,
        seen: dict[str, Mapping[str, str]],
    ) -> Check:
        """``item`` with the condition keys that cost a lookup, when a policy mentions them:
        the resource's tags (``aws:ResourceTag/*``) and DynamoDB's ``dynamodb:LeadingKeys``."""
        from overcast.iam import resources

        extra: dict[str, ContextValue] = {}
        if "aws:resourcetag/" in needs or "iam:resourcetag/" in needs:
            tags = seen.get(item.resource)
            if tags is None:
                tags = seen[item.resource] = (
                    resources.tags(ctx, self.directory, item.resource) or {}
                )
            extra.update({f"aws:ResourceTag/{k}": v for k, v in tags.items()})
            if item.resource.split(":", 3)[2:3] in (["iam"], ["sts"]):
                extra.update({f"iam:ResourceTag/{k}": v for k, v in tags.items()})
        if "dynamodb:leadingkeys" in needs and ctx.service and ctx.service.name == "dynamodb":
            leading = resources.leading_keys(ctx, operation, params, index)
            if leading is not None:
                extra["dynamodb:LeadingKeys"] = leading
        if not extra:
            return item
        return item._replace(context={**item.context, **extra})

    def _with_resource_policy(
        self, ctx: RequestContext, hook: Any, request: Any, policies: Policies
    ) -> Outcome | None:
        """The decision with the resource's own policy in the evaluation (None: no such
        resource, the identity decision stands)."""
        from overcast.iam.evaluation import authorize as evaluate

        owned = hook(ctx, request.resource)
        if owned is None:
            return None
        owner, document = owned
        if document and "aws:resourcetag/" in document.lower():
            # A resource policy reading the resource's own tags: looked up for it (the identity
            # policies' mentions decide the lookup otherwise, ``_lazy_keys``).
            from overcast.iam import resources

            tags = resources.tags(ctx, self.directory, request.resource) or {}
            extra = {f"aws:resourcetag/{k.lower()}": v for k, v in tags.items()}
            request = replace(request, context=LowerKeys({**request.context, **extra}))
        resource = _named(f"{request.resource} resource policy", document, resource=True)
        with_resource = replace(
            policies,
            resource=(resource,) if resource is not None else (),
            resource_account=None if owner == ctx.account_id else owner,
        )
        return evaluate(request, with_resource)

    def _iam_arn(self, account: str) -> Any:
        def resolve(kind: str, name: str) -> str | None:
            record = None
            if kind == "user":
                record = self.directory.user(account, name)
            elif kind == "role":
                record = self.directory.role(account, name)
            return None if record is None else record.arn

        return resolve

    def context(self, ctx: RequestContext, principal: PrincipalInfo) -> dict[str, ContextValue]:
        """The global condition keys of the request (IAM User Guide, "AWS global condition
        context keys")."""
        _, keys = self._principal_parts(ctx.account_id, principal)
        return self._request_keys(ctx, principal, keys)

    def evaluate_as(
        self,
        principal: PrincipalInfo,
        check: Check,
        resource_policy: tuple[str, str | None] | None = None,
    ) -> Outcome:
        """The decision for ``principal`` doing ``check`` outside any API request: a service
        acting as a role (S3 replication as its configuration's role). One evaluation of the
        principal's identity policies, boundary, session policies and the SCPs with the
        resource's policy (``(owner account, document)``), under the principal's global keys
        and the clock's; nothing is memoized. Logged for the decisions endpoint like a request."""
        evaluate, RequestInfo, _, _ = _engine or _load_engine()
        account = principal.arn.split(":", 5)[4]
        policies = self._policy_set(principal).policies
        scps = self._service_control_policies(account)
        if scps is not None:
            policies = replace(policies, scps=scps)
        if resource_policy is not None:
            owner, document = resource_policy
            named = _named(f"{check.resource} resource policy", document, resource=True)
            policies = replace(
                policies,
                resource=(named,) if named is not None else (),
                resource_account=None if owner == account else owner,
            )
        now = self.env.clock.now()
        context = LowerKeys(_principal_keys(account, principal))
        context["aws:currenttime"] = _seconds(now)
        context["aws:epochtime"] = str(int(now))
        context.update((k.lower(), v) for k, v in check.context.items())
        who = engine_principal(account, principal)
        request = RequestInfo(check.action, check.resource, who, context)
        outcome: Outcome = evaluate(request, policies)
        denied = None if outcome.allowed else check
        mode = self.env.settings.iam_mode
        self.decisions.append((now, principal.arn, [check], outcome, denied, mode))
        return outcome

    def _principal_parts(
        self, account: str, principal: PrincipalInfo
    ) -> tuple[Principal, dict[str, ContextValue]]:
        """The engine's principal and the principal's condition keys, computed once per
        credential (credentials keep their ``PrincipalInfo`` object while IAM is unchanged)."""
        cached = self._principals.get(id(principal))
        if cached is not None and cached[0] is principal:
            return cached[1], cached[2]
        keys = _principal_keys(account, principal)
        who = engine_principal(account, principal)
        if len(self._principals) > 4096:
            self._principals.clear()
        self._principals[id(principal)] = (principal, who, keys)
        return who, keys

    def _request_keys(
        self, ctx: RequestContext, principal: PrincipalInfo, keys: dict[str, ContextValue]
    ) -> LowerKeys:
        now = self.env.clock.now()
        request = ctx.request
        # Keys lower-cased once (condition keys ignore case): the engine looks them up as is.
        context = LowerKeys(keys)
        context["aws:sourceip"] = request.client_ip
        context["aws:securetransport"] = "true" if request.scheme == "https" else "false"
        context["aws:currenttime"] = _seconds(now)
        context["aws:epochtime"] = str(int(now))
        context["aws:requestedregion"] = ctx.region
        agent = request.headers.get("user-agent")
        if agent is not None:
            context["aws:useragent"] = agent
        session = principal.session
        if session is not None and session.mfa and session.mfa_authenticated_at is not None:
            context["aws:multifactorauthage"] = str(int(now - session.mfa_authenticated_at))
        return context

    # --- outcome --------------------------------------------------------------------------

    def _forget(self) -> None:
        """``/_overcast/reset``: the decisions and remembered allows go with the state."""
        self.decisions.clear()
        self._allowed.clear()

    def recent(self) -> list[dict[str, Any]]:
        """The remembered decisions, newest first, as the decisions endpoint shows them."""
        return [_describe(*entry) for entry in reversed(self.decisions)]

    def _error(
        self,
        ctx: RequestContext,
        principal: PrincipalInfo,
        denied: Check,
        outcome: Outcome,
        context: dict[str, ContextValue],
    ) -> ServiceError:
        from overcast import errors

        service = ctx.service.name if ctx.service else ""
        message = (
            f"User: {principal.arn} is not authorized to perform: {denied.action} on resource: "
            f"{denied.resource} {outcome.because(denied.action)}"
        )
        if service == "s3":
            from overcast.services.s3.errors import AccessDenied as S3AccessDenied

            return S3AccessDenied(message)
        if service == "sqs":
            from overcast.services.sqs.errors import AccessDenied as SqsAccessDenied

            return SqsAccessDenied(message)
        if service == "sns":
            from overcast.services.sns.errors import AuthorizationErrorException

            return AuthorizationErrorException(message)
        if service == "ec2":
            return self._encoded(ctx, principal, denied, outcome, context)
        if ctx.protocol in ("json", "rest-json", "smithy-rpc-v2-cbor"):
            return errors.AccessDeniedException(message)
        return errors.AccessDenied(message)

    def _encoded(
        self,
        ctx: RequestContext,
        principal: PrincipalInfo,
        denied: Check,
        outcome: Outcome,
        context: dict[str, ContextValue],
    ) -> ServiceError:
        """EC2's denial: the details only ``sts:DecodeAuthorizationMessage`` reveals."""
        from overcast import errors
        from overcast.iam.evaluation import Reason
        from overcast.services.sts import messages

        document = messages.failure(
            allowed=False,
            explicit_deny=outcome.reason is Reason.EXPLICIT_DENY,
            principal_id=principal.user_id,
            principal_arn=principal.arn,
            action=denied.action,
            resource=denied.resource,
            matched=[ref.describe() for ref in outcome.matched],
            context=dict(context),
        )
        encoded = messages.encode(self.env.store, document)
        error = errors.error_class("UnauthorizedOperation", 403)
        return error(
            "You are not authorized to perform this operation. "
            f"Encoded authorization failure message: {encoded}"
        )


def _policy_names(env: ServiceEnv, record: PrincipalRecord) -> dict[str, str]:
    """What to call each of a user's or role's policy documents in explanations: the managed
    policy's ARN, or ``<entity ARN> inline policy <name>`` (read once per IAM generation)."""
    from overcast.services.iam import directory, storage

    account = record.account_id

    def read(conn: Any) -> dict[str, str]:
        names: dict[str, str] = {}
        entities = [(record.kind, record.name, record.arn)]
        if record.kind == "user":
            for group in storage.groups_of(conn, account, record.name):
                doc = storage.get(conn, account, storage.GROUP, group)
                if doc is not None:
                    entities.append((storage.GROUP, group, doc.get("Arn", group)))
        for kind, name, arn in entities:
            doc = storage.get(conn, account, kind, name) or {}
            for policy_name, text in (doc.get("InlinePolicies") or {}).items():
                names.setdefault(text, f"{arn} inline policy {policy_name}")
            for policy_arn in storage.attached(conn, account, kind, name):
                text = directory.policy_document(conn, account, policy_arn)
                if text is not None:
                    names.setdefault(text, policy_arn)
        return names

    return storage.read(env.store, read)


_UNRESOLVED: Any = object()
_VARIABLE = re.compile(r"\$\{([^},]+)")


def _principal_keys(account: str, principal: PrincipalInfo) -> dict[str, ContextValue]:
    """The principal's global condition keys, lower-cased (IAM User Guide, "AWS global
    condition context keys")."""
    session = principal.session
    keys: dict[str, ContextValue] = {
        "aws:PrincipalAccount": account,
        "aws:PrincipalArn": principal.source_arn
        if principal.kind == "assumed-role"
        else principal.arn,
        "aws:PrincipalType": _PRINCIPAL_TYPES[principal.kind],
        "aws:userid": principal.user_id,
        "aws:ViaAWSService": "false",
        "aws:PrincipalIsAWSService": "false",
    }
    if principal.kind == "user":
        keys["aws:username"] = principal.name
    for key, value in principal.tags.items():
        keys[f"aws:PrincipalTag/{key}"] = value
    if session is not None:
        keys["aws:MultiFactorAuthPresent"] = "true" if session.mfa else "false"
        keys["aws:TokenIssueTime"] = _seconds(session.issued_at)
        if session.source_identity:
            keys["aws:SourceIdentity"] = session.source_identity
        if session.federated_provider:
            keys["aws:FederatedProvider"] = session.federated_provider
        keys.update(session.web_identity)
    return {key.lower(): value for key, value in keys.items()}


def _merged(base: LowerKeys, extra: Mapping[str, ContextValue]) -> LowerKeys:
    context = LowerKeys(base)
    context.update((k.lower(), v) for k, v in extra.items())
    return context


def _values(context: LowerKeys, keys: tuple[str, ...]) -> tuple[Any, ...]:
    """The values of ``keys`` in ``context``, hashable (multi-valued keys as tuples)."""
    out = []
    for key in keys:
        value = context.get(key)
        out.append(tuple(value) if isinstance(value, list) else value)
    return tuple(out)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@lru_cache(maxsize=64)
def _whole_seconds(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seconds(epoch: float) -> str:
    """ISO 8601 to the second (aws:CurrentTime), formatted once per second."""
    return _whole_seconds(int(epoch))


def _describe(
    when: float,
    principal: str,
    found: list[Check],
    outcome: Outcome,
    denied: Check | None,
    mode: str,
) -> dict[str, Any]:
    decision = "allow" if denied is None else ("audit-deny" if mode == "audit" else "deny")
    return {
        "time": _iso(when),
        "principal": principal,
        "action": denied.action if denied is not None else found[0].action,
        "actions": sorted({c.action for c in found}),
        "resources": [c.resource for c in found],
        "decision": decision,
        "reason": outcome.reason.value,
        "explanation": None if denied is None else outcome.because(denied.action),
        "statement": outcome.statement.describe() if outcome.statement else None,
        "matched": [ref.describe() for ref in outcome.matched],
    }


_PRINCIPAL_TYPES = {
    "user": "User",
    "assumed-role": "AssumedRole",
    "federated-user": "FederatedUser",
}


def request_principal(ctx: RequestContext) -> Principal:
    """The caller as a service's own resource-policy check should match it (a role session
    also answers to its role's ARN, as in the gateway's evaluation)."""
    from overcast.iam.policy import Principal

    identity = ctx.identity
    if identity is not None and identity.principal is not None:
        return engine_principal(ctx.account_id, identity.principal)
    return Principal(account=ctx.account_id, arn=identity.principal_arn if identity else None)


def engine_principal(account: str, principal: PrincipalInfo) -> Principal:
    """The principal as resource policies match it (a role session also answers to its role)."""
    from overcast.iam.policy import Principal
    from overcast.services.s3.common import canonical_user_id

    aliases = (principal.source_arn,) if principal.kind == "assumed-role" else ()
    return Principal(
        account=account,
        arn=principal.arn,
        canonical_id=canonical_user_id(account),
        aliases=aliases,
    )


# --- GET /_overcast/iam/decisions -------------------------------------------------------------


async def decisions_endpoint(gw: Gateway, body: bytes) -> tuple[int, Any]:
    """The most recent decisions, newest first (``?limit=N``, default 100)."""
    from urllib.parse import parse_qs

    from overcast.gateway.internal import QUERY

    query = parse_qs(QUERY.get())
    try:
        limit = int(query.get("limit", ["100"])[0])
    except ValueError:
        return 400, {"error": "limit must be an integer"}
    items = authorizer_of(gw.env).recent()
    principal = query.get("principal", [None])[0]
    if principal:
        items = [d for d in items if d["principal"] == principal]
    return 200, {"mode": gw.env.settings.iam_mode, "decisions": items[: max(0, limit)]}
