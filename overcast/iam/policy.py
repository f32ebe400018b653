"""IAM policy documents: parsing, validation and evaluation.

``Policy.parse`` turns JSON text into statements or raises ``PolicyError`` with AWS's message
(services wrap it in their own error: S3's ``MalformedPolicy``, IAM's
``MalformedPolicyDocument``). ``Policy.evaluate`` answers one request: an explicit ``Deny``
wins over any ``Allow``; no matching statement is an implicit deny (``Decision.NO_MATCH``), which
lets a caller fall back to other grants (S3 ACLs) as AWS does. ``evaluate`` combines several
policies the same way.

Matching follows the IAM reference: ``Action``/``NotAction`` case-insensitive with wildcards;
``Resource``/``NotResource`` case-sensitive with wildcards and policy variables (version
2012-10-17 only); ``Principal``/``NotPrincipal`` by account, ARN, canonical user, service or
federated provider; conditions as in ``conditions.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from overcast.iam.conditions import Condition, evaluate_condition, parse_block
from overcast.iam.matching import (
    ContextValue,
    MissingVariable,
    has_variables,
    lookup_in,
    match_substituted,
    substitute,
    wildcard_match,
)

VERSIONS = ("2008-10-17", "2012-10-17")
_STATEMENT_FIELDS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}
_PRINCIPAL_TYPES = ("AWS", "Service", "CanonicalUser", "Federated")
_ACCOUNT = re.compile(r"\d{12}")
_AWS_PRINCIPAL_ARN = re.compile(r"arn:aws[a-z-]*:(iam|sts)::(\d{12}):\S+")
_CANONICAL_ID = re.compile(r"[0-9a-fA-F]{64}")


class PolicyError(ValueError):
    """An invalid policy document; ``str(error)`` is AWS's message."""


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit Deny statement matched
    NO_MATCH = "no-match"  # implicit deny: no statement applies


@dataclass(frozen=True)
class Principal:
    """Who makes a request, as resource policies match it. ``account`` None means anonymous."""

    account: str | None = None
    arn: str | None = None  # "arn:aws:iam::<account>:root", a user's, an assumed role's...
    canonical_id: str | None = None
    service: str | None = None  # "cloudfront.amazonaws.com" for service principals
    federated: str | None = None
    # Other ARNs the principal answers to (an assumed-role session also matches its role).
    aliases: tuple[str, ...] = ()

    @property
    def anonymous(self) -> bool:
        return self.account is None and self.service is None


@dataclass(frozen=True)
class RequestInfo:
    """One request as policies see it."""

    action: str  # "s3:GetObject"
    resource: str  # "arn:aws:s3:::bucket/key"
    principal: Principal
    context: Mapping[str, ContextValue] = field(default_factory=dict)

    @cached_property
    def lookup(self) -> Callable[[str], ContextValue | None]:
        """Case-insensitive key lookup, built once for every statement of every policy."""
        return lookup_in(self.context)


@dataclass(frozen=True)
class PrincipalSpec:
    """A ``Principal``/``NotPrincipal`` element: ``everyone`` for ``"*"`` or ``{"AWS": "*"}``."""

    everyone: bool = False
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, who: Principal) -> bool:
        if self.everyone:
            return True
        for value in self.values.get("AWS", ()):
            if value == "*" and not who.anonymous:
                return True
            account = _account_of_root(value)
            if account is not None:
                if who.account == account:
                    return True
            elif who.arn is not None and (value == who.arn or value in who.aliases):
                return True
        if who.canonical_id is not None and who.canonical_id in self.values.get(
            "CanonicalUser", ()
        ):
            return True
        if who.service is not None:
            services = self.values.get("Service", ())
            if who.service in services or "*" in services:
                return True
        return who.federated is not None and who.federated in self.values.get("Federated", ())

    @property
    def public(self) -> bool:
        """Grants to everyone (``"*"`` or ``{"AWS": "*"}``)."""
        return self.everyone or "*" in self.values.get("AWS", ())


def _account_of_root(value: str) -> str | None:
    """The account an account principal names ("123456789012" or "arn:aws:iam::...:root")."""
    if _ACCOUNT.fullmatch(value):
        return value
    match = _AWS_PRINCIPAL_ARN.fullmatch(value)
    if match and match.group(1) == "iam" and value.endswith(":root"):
        return match.group(2)
    return None


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    sid: str | None = None
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()

    def applies(self, request: RequestInfo, *, variables: bool = True) -> bool:
        if self.principal is not None and not self.principal.matches(request.principal):
            return False
        if self.not_principal is not None and self.not_principal.matches(request.principal):
            return False
        if self.actions and not _any_action(self.actions, request.action):
            return False
        if self.not_actions and _any_action(self.not_actions, request.action):
            return False
        resource = request.resource
        if self.resources and not _any_resource(self.resources, resource, request, variables):
            return False
        if self.not_resources and _any_resource(self.not_resources, resource, request, variables):
            return False
        if not self.conditions:
            return True
        lookup = request.lookup
        return all(evaluate_condition(c, lookup) for c in self.conditions)


def _any_action(patterns: Iterable[str], action: str) -> bool:
    return any(wildcard_match(p, action, ignore_case=True) for p in patterns)


def _any_resource(
    patterns: Iterable[str], resource: str, request: RequestInfo, variables: bool
) -> bool:
    for pattern in patterns:
        if variables and has_variables(pattern):
            try:
                pattern = substitute(pattern, request.lookup, escape_wildcards=True)
            except MissingVariable:
                continue
            if match_substituted(pattern, resource):
                return True
        elif wildcard_match(pattern, resource):
            return True
    return False


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    version: str = "2008-10-17"
    id: str | None = None

    @classmethod
    def parse(
        cls,
        document: str | Mapping[str, Any],
        *,
        resource_policy: bool = True,
        trust_policy: bool = False,
    ) -> Policy:
        """Parse and validate a policy; ``PolicyError`` carries AWS's message.

        ``resource_policy``: statements must name a ``Principal`` (bucket, queue, key policies);
        otherwise they must not (identity policies). ``trust_policy``: a role's trust policy,
        a resource policy whose statements name no ``Resource`` (the role is the resource).
        """
        doc = _load(document) if isinstance(document, str) else document
        if not isinstance(doc, Mapping):
            raise PolicyError("Policies must be valid JSON and the first byte must be '{'")
        version = doc.get("Version", "2008-10-17")
        if version not in VERSIONS:
            raise PolicyError("The policy must contain a valid version string")
        for name in doc:
            if name not in ("Version", "Id", "Statement"):
                raise PolicyError(f"Unknown field {name}")
        if "Statement" not in doc:
            raise PolicyError("Missing required field Statement")
        raw = doc["Statement"]
        items = raw if isinstance(raw, list) else [raw]
        if not items:
            raise PolicyError("Could not parse the policy: Statement is empty!")
        statements = tuple(_statement(s, resource_policy, trust_policy) for s in items)
        if not resource_policy:
            _check_identity_policy(statements)
        policy_id = doc.get("Id")
        return cls(statements, version, policy_id if isinstance(policy_id, str) else None)

    def evaluate(self, request: RequestInfo) -> Decision:
        return self.explain(request)[0]

    def explain(self, request: RequestInfo) -> tuple[Decision, int | None]:
        """The decision and the index of the statement that made it (the first Deny that
        applies, else the first Allow; None when no statement applies)."""
        variables = self.version == "2012-10-17"
        allowed: int | None = None
        for index, statement in enumerate(self.statements):
            if statement.applies(request, variables=variables):
                if statement.effect == "Deny":
                    return Decision.DENY, index
                if allowed is None:
                    allowed = index
        return (Decision.NO_MATCH, None) if allowed is None else (Decision.ALLOW, allowed)


def evaluate(policies: Iterable[Policy], request: RequestInfo) -> Decision:
    """Explicit deny in any policy wins; else an allow in any; else no match."""
    result = Decision.NO_MATCH
    for policy in policies:
        decision = policy.evaluate(request)
        if decision is Decision.DENY:
            return decision
        if decision is Decision.ALLOW:
            result = decision
    return result


def principal_context(principal: Principal) -> dict[str, ContextValue]:
    """The global condition keys that describe the principal (aws:PrincipalArn, ...)."""
    context: dict[str, ContextValue] = {}
    if principal.anonymous:
        context["aws:PrincipalType"] = "Anonymous"
        return context
    if principal.service is not None:
        context["aws:PrincipalServiceName"] = principal.service
        context["aws:PrincipalType"] = "Service"
        return context
    if principal.account is not None:
        context["aws:PrincipalAccount"] = principal.account
    arn = principal.arn or ""
    if arn:
        context["aws:PrincipalArn"] = principal.aliases[0] if principal.aliases else arn
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    if resource == "root":
        context["aws:PrincipalType"] = "Account"
        context["aws:userid"] = principal.account or ""
    elif resource.startswith("user/"):
        context["aws:PrincipalType"] = "User"
        context["aws:username"] = resource.rsplit("/", 1)[-1]
    elif resource.startswith("assumed-role/"):
        context["aws:PrincipalType"] = "AssumedRole"
    return context


# --- parsing -------------------------------------------------------------------------------


def _load(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        raise PolicyError("Policies must be valid JSON and the first byte must be '{'")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError):
        raise PolicyError("This policy contains invalid Json") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key}")
        out[key] = value
    return out


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) for v in items):
        raise PolicyError("Syntax errors in policy.")
    return tuple(items)


def _principal(value: Any) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(value, Mapping) or not value:
        raise PolicyError("Invalid principal in policy")
    values: dict[str, tuple[str, ...]] = {}
    for kind, raw in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise PolicyError("Invalid principal in policy")
        try:
            items = _strings(raw)
        except PolicyError:
            raise PolicyError("Invalid principal in policy") from None
        for item in items:
            if not _valid_principal(kind, item):
                raise PolicyError("Invalid principal in policy")
        values[kind] = items
    everyone = values.get("AWS") == ("*",) and len(values) == 1
    return PrincipalSpec(everyone=everyone, values=values)


def _valid_principal(kind: str, value: str) -> bool:
    if kind == "AWS":
        if value == "*" or _ACCOUNT.fullmatch(value):
            return True
        return _AWS_PRINCIPAL_ARN.fullmatch(value) is not None
    if kind == "CanonicalUser":
        return bool(_CANONICAL_ID.fullmatch(value))
    if kind == "Service":
        return value == "*" or bool(re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com(\.cn)?", value))
    return bool(value)


def _statement(raw: Any, resource_policy: bool, trust_policy: bool = False) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError("Syntax errors in policy.")
    for name in raw:
        if name not in _STATEMENT_FIELDS:
            raise PolicyError(f"Unknown field {name}")
    if "Effect" not in raw:
        raise PolicyError("Missing required field Effect")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"Invalid effect: {effect}")
    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if resource_policy and not has_principal:
        raise PolicyError("Missing required field Principal")
    if not resource_policy and has_principal:
        raise PolicyError("Policy document should not specify a principal.")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError("Syntax errors in policy.")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError("Missing required field Action")
    if "Action" in raw and "NotAction" in raw:
        raise PolicyError("Syntax errors in policy.")
    if trust_policy:
        if "Resource" in raw or "NotResource" in raw:
            raise PolicyError("Has prohibited field Resource")
    elif "Resource" not in raw and "NotResource" not in raw:
        raise PolicyError("Missing required field Resource")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError("Syntax errors in policy.")
    try:
        conditions = tuple(parse_block(raw["Condition"])) if "Condition" in raw else ()
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError("Syntax errors in policy.")
    return Statement(
        effect=effect,
        sid=sid,
        principal=_principal(raw["Principal"]) if "Principal" in raw else None,
        not_principal=_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
        actions=_strings(raw["Action"]) if "Action" in raw else (),
        not_actions=_strings(raw["NotAction"]) if "NotAction" in raw else (),
        resources=_strings(raw["Resource"]) if "Resource" in raw else (),
        not_resources=_strings(raw["NotResource"]) if "NotResource" in raw else (),
        conditions=conditions,
    )


_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[a-zA-Z0-9-]+")


def _check_identity_policy(statements: tuple[Statement, ...]) -> None:
    """IAM's own checks of identity policies (CreatePolicy, PutUserPolicy...), with its messages."""
    sids: set[str] = set()
    for statement in statements:
        if statement.sid is not None:
            if not _SID.fullmatch(statement.sid):
                raise PolicyError(
                    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies "
                    "the regular expression [0-9A-Za-z]*"
                )
            if statement.sid and statement.sid in sids:
                raise PolicyError("Statement IDs (SID) in a single policy must be unique.")
            sids.add(statement.sid)
        for action in statement.actions or statement.not_actions:
            if action == "*":
                continue
            vendor, colon, _ = action.partition(":")
            if not colon or not vendor:
                raise PolicyError(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
                )
            if not _VENDOR.fullmatch(vendor):
                raise PolicyError(f"Vendor {vendor} is not valid")
        for resource in statement.resources or statement.not_resources:
            if resource == "*":
                continue
            parts = resource.split(":", 5)
            if len(parts) < 6 or parts[0] != "arn":
                raise PolicyError(f'Resource {resource} must be in ARN format or "*".')
            if "*" in parts[2] or "?" in parts[2]:
                raise PolicyError(
                    "Resource vendor must be fully qualified and cannot contain regexes."
                )
