"""Encoded authorization failure messages (EC2-style denials) and their decoding.

AWS hides the details of some denials behind an opaque message that only
``sts:DecodeAuthorizationMessage`` reveals. Ours are Fernet tokens (authenticated encryption)
under a key kept in the ``sts``/``keys`` collection, so a message decodes after a restart and a
forged or altered one is rejected (``InvalidAuthorizationMessageException``).
"""

from __future__ import annotations

import json
import threading
import weakref
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken

if TYPE_CHECKING:
    from overcast.state import Store

_KEYS = ("sts", "keys")
_ID = "authorization-messages"
_fernets: weakref.WeakKeyDictionary[Store, Fernet] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _fernet(store: Store) -> Fernet:
    with _lock:
        found = _fernets.get(store)
        if found is not None:
            return found
        keys = store.collection(*_KEYS)
        doc = keys.get("", "", _ID)
        if doc is None:
            doc = {"key": Fernet.generate_key().decode()}
            if not keys.insert("", "", _ID, doc):
                doc = keys.get("", "", _ID) or doc
        fernet = _fernets[store] = Fernet(doc["key"].encode())

        def forget() -> None:  # the key lives in the store: a reset makes a new one
            _fernets.pop(store, None)

        store.on_reset(forget)
        return fernet


def encode(store: Store, decoded: dict[str, Any]) -> str:
    return _fernet(store).encrypt(json.dumps(decoded, separators=(",", ":")).encode()).decode()


def decode(store: Store, message: str) -> str | None:
    """The decoded JSON text, or None when the message is not one of ours."""
    try:
        return _fernet(store).decrypt(message.strip().encode()).decode()
    except (InvalidToken, ValueError):
        return None


def failure(
    *,
    allowed: bool,
    explicit_deny: bool,
    principal_id: str,
    principal_arn: str,
    action: str,
    resource: str,
    matched: list[dict[str, Any]],
    context: dict[str, Any],
) -> dict[str, Any]:
    """The decoded message's document, shaped as AWS's."""
    return {
        "allowed": allowed,
        "explicitDeny": explicit_deny,
        "matchedStatements": {"items": matched},
        "failures": {"items": []},
        "context": {
            "principal": {"id": principal_id, "arn": principal_arn},
            "action": action,
            "resource": resource,
            "conditions": {
                "items": [
                    {
                        "key": key,
                        "values": {
                            "items": [
                                {"value": v}
                                for v in (value if isinstance(value, list) else [value])
                            ]
                        },
                    }
                    for key, value in sorted(context.items())
                ]
            },
        },
    }
