"""Access keys the authenticator knows the secret of, and the store it asks for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Credential:
    """One access key with its secret and the principal it acts as."""

    access_key: str
    secret_key: str
    account_id: str
    principal_arn: str
    session_token: str | None = None
    expires_at: float | None = None  # epoch seconds (STS temporary credentials)


class CredentialStore(Protocol):
    """Where the authenticator looks access keys up (IAM and STS provide their own)."""

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
