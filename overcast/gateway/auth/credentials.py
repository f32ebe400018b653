"""Access keys the authenticator knows the secret of, and the chain it asks for them.

``CredentialChain.lookup`` tries, in order: the static ``--credentials`` keys, STS temporary
credentials (``ASIA...``, kept by ``overcast.services.sts.sessions``), then IAM users' access keys
(``AKIA...``, through IAM's directory). A key none of them knows is None: the authenticator maps
it to the default account's root without checking its signature, as before IAM existed. A key
IAM deleted is not unknown: it answers a ``Deleted`` credential, which the authenticator refuses
(``InvalidClientTokenId``; S3 ``InvalidAccessKeyId``) as AWS does, so revoking a key revokes it.

A credential created through IAM or STS carries its ``PrincipalInfo``: the user, role session or
federated user it acts as, which the authorize step (``overcast.gateway.authorize``) evaluates
policies for. Static keys act as their account's root (no ``PrincipalInfo``): never enforced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from overcast.errors import ServiceError

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.iam.directory import Directory


@dataclass(frozen=True)
class SessionInfo:
    """What an STS session adds to its principal (AssumeRole*, GetSessionToken,
    GetFederationToken)."""

    kind: str  # "assumed-role" | "federated-user" | "session-token"
    name: str  # the role session name / federated user name ("" for session-token)
    issued_at: float
    expires_at: float
    # Session policies (inline document and the PolicyArns' documents), None when none was
    # passed: then the session has its principal's permissions, not their intersection.
    policies: tuple[str, ...] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None
    mfa: bool = False
    mfa_authenticated_at: float | None = None
    chained: bool = False  # a role session assumed with another role session's credentials
    federated_provider: str | None = None  # OIDC/SAML provider ARN (AssumeRoleWith*)
    web_identity: Mapping[str, str] = field(default_factory=dict)  # token claims, as keys


@dataclass(frozen=True)
class PrincipalInfo:
    """An IAM principal a credential acts as."""

    kind: str  # "user" | "assumed-role" | "federated-user"
    arn: str  # the caller's ARN (a session ARN for role sessions)
    user_id: str  # "AIDA...", "AROA...:session", "<account>:<name>"
    name: str  # user name, role name, federated user name
    # The IAM user or role whose identity policies apply (for a federated user: its creator).
    source_arn: str
    tags: Mapping[str, str] = field(default_factory=dict)  # aws:PrincipalTag/*
    session: SessionInfo | None = None


@dataclass(frozen=True)
class Credential:
    """One access key with its secret and the principal it acts as."""

    access_key: str
    secret_key: str = field(repr=False)  # never in logs or tracebacks
    account_id: str
    principal_arn: str
    session_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # epoch seconds (STS temporary credentials)
    # IAM keys may be "Inactive" (or "Deleted", a tombstone): they then authenticate nothing
    status: str = "Active"
    principal: PrincipalInfo | None = None  # None: the account's root, never enforced


class InvalidAccessKeyId(ServiceError):
    """S3's answer to an access key it does not accept (IAM's Inactive keys)."""

    status = 403
    message = "The AWS Access Key Id you provided does not exist in our records."


class CredentialStore(Protocol):
    """Where the authenticator looks access keys up."""

    def lookup(self, access_key: str) -> Credential | None: ...


class StaticCredentials:
    """A ``CredentialStore`` over an in-memory dict."""

    def __init__(self, credentials: Iterable[Credential] = ()) -> None:
        self._by_key: dict[str, Credential] = {c.access_key: c for c in credentials}

    def add(self, credential: Credential) -> None:
        self._by_key[credential.access_key] = credential

    def remove(self, access_key: str) -> None:
        self._by_key.pop(access_key, None)

    def lookup(self, access_key: str) -> Credential | None:
        return self._by_key.get(access_key)


class CredentialChain(StaticCredentials):
    """Static keys, then STS temporary credentials, then IAM access keys (module docstring).

    ``bind(env)`` attaches the state the STS and IAM lookups read; until then (unit tests of
    the authenticator) only static keys are known.
    """

    def __init__(self, credentials: Iterable[Credential] = ()) -> None:
        super().__init__(credentials)
        self._env: ServiceEnv | None = None
        self._sessions: CredentialStore | None = None
        self._directory: Directory | None = None
        self._iam_keys: dict[str, tuple[object, object, Credential]] = {}

    def bind(self, env: ServiceEnv) -> None:
        self._env = env

    def lookup(self, access_key: str) -> Credential | None:
        found = self._by_key.get(access_key)
        if found is not None or self._env is None or len(access_key) < 16:
            return found
        prefix = access_key[:4]
        if prefix == "ASIA":
            return self._sts().lookup(access_key)
        if prefix == "AKIA":
            return self._iam_key(access_key)
        return None

    def _sts(self) -> CredentialStore:
        if self._sessions is None:
            from overcast.services.sts.sessions import Sessions

            assert self._env is not None
            self._sessions = Sessions.of(self._env)
        return self._sessions

    def _iam(self) -> Directory:
        if self._directory is None:
            from overcast.services.iam.directory import Directory

            assert self._env is not None
            self._directory = Directory(self._env)
        return self._directory

    def _iam_key(self, access_key: str) -> Credential | None:
        directory = self._directory or self._iam()
        record = directory.access_key(access_key)
        if record is None:
            account = directory.deleted_key(access_key)
            if account is None:
                return None
            return Credential(
                access_key, "", account, f"arn:aws:iam::{account}:root", status="Deleted"
            )
        user = directory.user(record.account_id, record.user_name)
        # The directory answers the same record objects until IAM changes: so does this, and
        # what is derived from a credential (the authorize step's caches) stays valid with it.
        cached = self._iam_keys.get(access_key)
        if cached is not None and cached[0] is record and cached[1] is user:
            return cached[2]
        principal = PrincipalInfo(
            kind="user",
            arn=record.user_arn,
            user_id=record.user_id,
            name=record.user_name,
            source_arn=record.user_arn,
            tags=dict(user.tags) if user is not None else {},
        )
        credential = Credential(
            access_key=access_key,
            secret_key=record.secret,
            account_id=record.account_id,
            principal_arn=record.user_arn,
            status=record.status,
            principal=principal,
        )
        if len(self._iam_keys) > 10_000:
            self._iam_keys.clear()
        self._iam_keys[access_key] = (record, user, credential)
        return credential
