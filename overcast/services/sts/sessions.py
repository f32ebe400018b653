"""STS temporary credentials: issued, stored durably, looked up on every request signed with one.

Each credential is one document of the ``sts``/``credentials`` collection keyed by its access
key id (STS is global: account and region are ""), so a server restarted on the same data
directory still accepts the credentials it issued. Lookups are served from memory after the
first; expired credentials stay findable (the authenticator answers ``ExpiredToken`` for them,
as AWS does, rather than an unknown key). A day after they expired, issuing sweeps them down
to a tombstone (the key id and its expiry, no secret, no principal): an expired key must never
become an unknown key, which the authenticator would map to the default account's root.
"""

from __future__ import annotations

import base64
import secrets
import threading
import weakref
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from overcast.gateway.auth.credentials import Credential, PrincipalInfo, SessionInfo

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.state import Collection, Store

COLLECTION = ("sts", "credentials")
_KEEP_EXPIRED = 86400.0  # seconds an expired credential is still recognised (ExpiredToken)
_SWEEP_EVERY = 3600.0
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_by_store: weakref.WeakKeyDictionary[Store, Sessions] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def key_id(prefix: str) -> str:
    """An AWS-shaped id: 4-letter prefix + 16 base32 characters (AKIA..., ASIA..., AROA...)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def secret_key() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode()


def session_token() -> str:
    # Real tokens are several hundred characters of base64; clients only pass them back.
    return "FwoGZXIvYXdzE" + base64.b64encode(secrets.token_bytes(180)).decode()


class Sessions:
    """The temporary credentials of one store (``Sessions.of(env)``)."""

    def __init__(self, env: ServiceEnv) -> None:
        self._env = env
        self._cache: dict[str, Credential | None] = {}
        self._swept = 0.0
        env.store.on_reset(self._cache.clear)

    @classmethod
    def of(cls, env: ServiceEnv) -> Sessions:
        with _lock:
            found = _by_store.get(env.store)
            if found is None:
                found = _by_store[env.store] = cls(env)
            return found

    @property
    def _docs(self) -> Collection:
        return self._env.store.collection(*COLLECTION)

    def issue(self, credential: Credential) -> None:
        """Store ``credential`` (commits before returning), sweeping long-expired ones."""
        now = self._env.clock.now()
        self._docs.put("", "", credential.access_key, _to_doc(credential))
        self._cache[credential.access_key] = credential
        self._sweep(now)

    def lookup(self, access_key: str) -> Credential | None:
        if access_key in self._cache:
            return self._cache[access_key]
        doc = self._docs.get("", "", access_key)
        credential = None if doc is None else _from_doc(doc)
        self._cache[access_key] = credential
        return credential

    def _sweep(self, now: float) -> None:
        if now - self._swept < _SWEEP_EVERY:
            return
        self._swept = now
        for key, doc in list(self._docs.all("", "")):
            if doc.get("secret_key") and doc.get("expires_at", now) + _KEEP_EXPIRED < now:
                self._docs.put("", "", key, _tombstone(doc))
                self._cache.pop(key, None)


def _tombstone(doc: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a long-expired credential: enough to answer ExpiredToken (and its
    account, for GetAccessKeyInfo)."""
    return {
        "access_key": doc["access_key"],
        "secret_key": "",
        "account_id": doc.get("account_id", ""),
        "principal_arn": doc.get("principal_arn", ""),
        "expires_at": doc["expires_at"],
    }


def _to_doc(credential: Credential) -> dict[str, Any]:
    return asdict(credential)


def _from_doc(doc: dict[str, Any]) -> Credential:
    principal = doc.get("principal")
    info = None
    if principal is not None:
        session = principal.get("session")
        if session is not None:
            for name in ("policies", "transitive_tag_keys"):
                if session.get(name) is not None:
                    session[name] = tuple(session[name])
        info = PrincipalInfo(
            **{**principal, "session": SessionInfo(**session) if session is not None else None}
        )
    return Credential(**{**doc, "principal": info})
