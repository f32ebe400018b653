"""The IAM directory: who an access key is and which policies apply, for the gateway and STS.

Reads IAM's tables straight through ``env.store`` (the IAM provider need not be loaded). Answers
are cached per store and dropped whenever an IAM write commits (``storage.generation``), so a
lookup on the request path costs a dict hit. ``record_key_used`` buffers: it writes a key's
AccessKeyLastUsed at most once a minute, or when the service or region changes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from overcast.services.iam import catalogue, storage, totp

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv

T = TypeVar("T")
_MISSING = object()
_LAST_USED_EVERY = 60.0  # seconds between AccessKeyLastUsed writes for the same key and place
_TOTP_WINDOW = 1  # codes one step either side of now are accepted (clock drift)


@dataclass(frozen=True)
class AccessKeyRecord:
    access_key_id: str
    secret: str
    status: str  # "Active" / "Inactive"
    account_id: str
    user_name: str
    user_arn: str
    user_id: str


@dataclass(frozen=True)
class PrincipalRecord:
    arn: str
    id: str  # AIDA... for users, AROA... for roles
    name: str
    path: str
    account_id: str
    kind: str  # "user" / "role"
    tags: dict[str, str] = field(default_factory=dict)
    trust_policy: str | None = None  # roles: the AssumeRolePolicyDocument
    max_session_duration: int = 3600  # roles
    permissions_boundary: str | None = None  # the boundary policy's document
    # Every identity-policy document that applies: inline, attached managed (default version),
    # and for users their groups' inline and attached policies.
    policies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OidcProviderRecord:
    arn: str
    url: str
    client_ids: list[str]
    thumbprints: list[str]


@dataclass(frozen=True)
class SamlProviderRecord:
    arn: str
    name: str
    metadata_document: str


@dataclass(frozen=True)
class MfaDeviceRecord:
    serial: str
    user_arn: str | None  # None until the device is enabled for a user
    seed: str  # base32
    enabled: bool


def policy_document(conn: sqlite3.Connection, account: str, arn: str) -> str | None:
    """The default version's document of a managed policy (AWS's or the account's)."""
    if catalogue.is_aws_policy(arn):
        aws = catalogue.get(arn)
        return None if aws is None else aws.document_text
    doc = storage.get(conn, account, storage.POLICY, arn.rsplit("/", 1)[-1])
    if doc is None or doc["Arn"] != arn:
        return None
    for version in doc["Versions"]:
        if version["VersionId"] == doc["DefaultVersionId"]:
            return str(version["Document"])
    return None


def _tags(doc: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in doc.get("Tags") or []}


def _entity_policies(
    conn: sqlite3.Connection, account: str, kind: str, doc: dict[str, Any], name: str
) -> list[str]:
    found = list((doc.get("InlinePolicies") or {}).values())
    for arn in storage.attached(conn, account, kind, name):
        text = policy_document(conn, account, arn)
        if text is not None:
            found.append(text)
    return found


def _boundary(conn: sqlite3.Connection, account: str, doc: dict[str, Any]) -> str | None:
    boundary = doc.get("PermissionsBoundary")
    if not boundary:
        return None
    return policy_document(conn, account, boundary["PermissionsBoundaryArn"])


def load_user(conn: sqlite3.Connection, account: str, name: str) -> PrincipalRecord | None:
    doc = storage.get(conn, account, storage.USER, name)
    if doc is None:
        return None
    policies = _entity_policies(conn, account, storage.USER, doc, name)
    for group_key in storage.groups_of(conn, account, name):
        group = storage.get(conn, account, storage.GROUP, group_key)
        if group is not None:
            policies += _entity_policies(conn, account, storage.GROUP, group, group_key)
    return PrincipalRecord(
        arn=doc["Arn"], id=doc["UserId"], name=doc["UserName"], path=doc["Path"],
        account_id=account, kind="user", tags=_tags(doc),
        permissions_boundary=_boundary(conn, account, doc), policies=policies,
    )  # fmt: skip


def load_role(conn: sqlite3.Connection, account: str, name: str) -> PrincipalRecord | None:
    doc = storage.get(conn, account, storage.ROLE, name)
    if doc is None:
        return None
    return PrincipalRecord(
        arn=doc["Arn"], id=doc["RoleId"], name=doc["RoleName"], path=doc["Path"],
        account_id=account, kind="role", tags=_tags(doc),
        trust_policy=doc["AssumeRolePolicyDocument"],
        max_session_duration=int(doc.get("MaxSessionDuration", 3600)),
        permissions_boundary=_boundary(conn, account, doc),
        policies=_entity_policies(conn, account, storage.ROLE, doc, name),
    )  # fmt: skip


def _split_arn(arn: str) -> tuple[str, str, str] | None:
    """``(service, account, resource)`` of an ARN, or None."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[2], parts[4], parts[5]


class Directory:
    """Read-only view of IAM for other components; see the module docstring."""

    def __init__(self, env: ServiceEnv) -> None:
        self.env = env
        self._store = env.store
        self._lock = threading.Lock()
        self._gen = storage.generation_cell(env.store)
        self._generation = -1
        self._cache: dict[tuple[str, ...], Any] = {}
        self._key_writes: dict[str, tuple[float, str, str]] = {}

    def _cached(self, key: tuple[str, ...], load: Callable[[sqlite3.Connection], T]) -> T:
        gen = self._gen[0]
        if gen == self._generation:  # the fast path: no lock, one dict lookup
            hit = self._cache.get(key, _MISSING)
            if hit is not _MISSING:
                return hit  # type: ignore[no-any-return]
        with self._lock:
            if gen != self._generation:
                self._cache.clear()
                self._generation = gen
        value = storage.read(self._store, load)
        with self._lock:
            if self._generation == gen:
                self._cache[key] = value
        return value

    # -- access keys ---------------------------------------------------------------------------

    def access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        def load(conn: sqlite3.Connection) -> AccessKeyRecord | None:
            found = storage.get_key(conn, access_key_id)
            if found is None:
                return None
            account, doc = found
            user = storage.get(conn, account, storage.USER, doc["UserName"])
            if user is None:
                return None
            return AccessKeyRecord(
                access_key_id=access_key_id, secret=doc["SecretAccessKey"], status=doc["Status"],
                account_id=account, user_name=user["UserName"], user_arn=user["Arn"],
                user_id=user["UserId"],
            )  # fmt: skip

        return self._cached(("key", access_key_id), load)

    def deleted_key(self, access_key_id: str) -> str | None:
        """The account of a key that was IAM's and is gone: deleted, or its user is (AWS
        deletes a user only without keys; a row left without its user is refused all the
        same). None for keys IAM never had."""

        def load(conn: sqlite3.Connection) -> str | None:
            account = storage.deleted_key_account(conn, access_key_id)
            if account is not None:
                return account
            orphan = storage.get_key(conn, access_key_id)
            return None if orphan is None else orphan[0]

        return self._cached(("deleted-key", access_key_id), load)

    def record_key_used(self, access_key_id: str, service: str, region: str) -> None:
        now = self.env.clock.now()
        last = self._key_writes.get(access_key_id)
        if last is not None and last[1:] == (service, region) and now - last[0] < _LAST_USED_EVERY:
            return
        self._key_writes[access_key_id] = (now, service, region)
        storage.migrate(self._store)
        # Not a directory change: no generation bump, cached answers stay valid.
        self._store.write(
            lambda conn: storage.record_key_use(conn, access_key_id, now, service, region)
        )

    def record_role_used(self, account_id: str, name: str, region: str) -> None:
        """RoleLastUsed (GetRole) after a session of the role was created; buffered likewise."""
        now = self.env.clock.now()
        key = f"role:{account_id}:{name.lower()}"
        last = self._key_writes.get(key)
        if last is not None and last[2] == region and now - last[0] < _LAST_USED_EVERY:
            return
        self._key_writes[key] = (now, "", region)

        def write(conn: sqlite3.Connection) -> None:
            doc = storage.get(conn, account_id, storage.ROLE, name)
            if doc is not None:
                doc["RoleLastUsed"] = {"LastUsedDate": now, "Region": region}
                storage.put(conn, account_id, storage.ROLE, name, doc)

        storage.migrate(self._store)
        self._store.write(write)  # not a directory change: no generation bump

    # -- principals ----------------------------------------------------------------------------

    def user(self, account_id: str, name: str) -> PrincipalRecord | None:
        return self._cached(
            ("user", account_id, name.lower()), lambda c: load_user(c, account_id, name)
        )

    def role(self, account_id: str, name: str) -> PrincipalRecord | None:
        return self._cached(
            ("role", account_id, name.lower()), lambda c: load_role(c, account_id, name)
        )

    def principal(self, arn: str) -> PrincipalRecord | None:
        """A user or role by ARN (an assumed-role session ARN names its role)."""
        parts = _split_arn(arn)
        if parts is None:
            return None
        service, account, resource = parts
        kind, _, rest = resource.partition("/")
        if service == "sts" and kind == "assumed-role":
            return self.role(account, rest.split("/", 1)[0])
        if service != "iam" or not rest:
            return None
        name = rest.rsplit("/", 1)[-1]
        record = self.user(account, name) if kind == "user" else None
        if kind == "role":
            record = self.role(account, name)
        return record if record is not None and record.arn == arn else None

    # -- identity providers --------------------------------------------------------------------

    def oidc_provider(self, account_id: str, arn: str) -> OidcProviderRecord | None:
        def load(conn: sqlite3.Connection) -> OidcProviderRecord | None:
            doc = storage.get(conn, account_id, storage.OIDC, arn.split(":oidc-provider/", 1)[-1])
            if doc is None or doc["Arn"] != arn:
                return None
            return OidcProviderRecord(
                arn=arn, url=doc["Url"], client_ids=list(doc["ClientIDList"]),
                thumbprints=list(doc["ThumbprintList"]),
            )  # fmt: skip

        return self._cached(("oidc", account_id, arn), load)

    def saml_provider(self, account_id: str, arn: str) -> SamlProviderRecord | None:
        def load(conn: sqlite3.Connection) -> SamlProviderRecord | None:
            doc = storage.get(conn, account_id, storage.SAML, arn.split(":saml-provider/", 1)[-1])
            if doc is None or doc["Arn"] != arn:
                return None
            return SamlProviderRecord(
                arn=arn, name=doc["Name"], metadata_document=doc["SAMLMetadataDocument"]
            )

        return self._cached(("saml", account_id, arn), load)

    # -- MFA -----------------------------------------------------------------------------------

    def mfa_device(self, serial_number: str) -> MfaDeviceRecord | None:
        parts = _split_arn(serial_number)
        if parts is None or parts[0] != "iam" or not parts[2].startswith("mfa/"):
            return None
        account = parts[1]
        name = parts[2].rsplit("/", 1)[-1]

        def load(conn: sqlite3.Connection) -> MfaDeviceRecord | None:
            doc = storage.get(conn, account, storage.MFA, name)
            if doc is None or doc["SerialNumber"] != serial_number:
                return None
            return MfaDeviceRecord(
                serial=serial_number, user_arn=doc.get("UserArn"), seed=doc["Seed"],
                enabled=bool(doc.get("UserArn")),
            )  # fmt: skip

        return self._cached(("mfa", serial_number), load)

    def verify_totp(self, serial_number: str, code: str) -> bool:
        """Whether ``code`` is the device's current TOTP code (one step of drift allowed)."""
        device = self.mfa_device(serial_number)
        if device is None or not device.enabled:
            return False
        now = self.env.clock.now()
        return totp.find_step(device.seed, code, now, _TOTP_WINDOW) is not None
