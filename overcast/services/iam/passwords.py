"""The account password policy: stored settings and the check every new password passes."""

from __future__ import annotations

import sqlite3
import string
from typing import Any

from overcast.services.iam import storage
from overcast.services.iam.errors import PasswordPolicyViolation

POLICY_KEY = "password-policy"
DEFAULTS: dict[str, Any] = {
    "MinimumPasswordLength": 6,
    "RequireSymbols": False,
    "RequireNumbers": False,
    "RequireUppercaseCharacters": False,
    "RequireLowercaseCharacters": False,
    "AllowUsersToChangePassword": False,
}
# What IAM counts as a symbol: ! @ # $ % ^ & * ( ) _ + - = [ ] { } | '
SYMBOLS = set("!@#$%^&*()_+-=[]{}|'")


def get_policy(conn: sqlite3.Connection, account: str) -> dict[str, Any] | None:
    return storage.get(conn, account, storage.ACCOUNT, POLICY_KEY)


def violations(policy: dict[str, Any], password: str) -> list[str]:
    found = []
    minimum = int(policy.get("MinimumPasswordLength", 6))
    if len(password) < minimum:
        found.append(f"Password should have at least {minimum} characters")
    if policy.get("RequireSymbols") and not any(c in SYMBOLS for c in password):
        found.append("Password should have at least one symbol")
    if policy.get("RequireNumbers") and not any(c in string.digits for c in password):
        found.append("Password should have at least one number")
    if policy.get("RequireUppercaseCharacters") and not any(c.isupper() for c in password):
        found.append("Password should have at least one uppercase letter")
    if policy.get("RequireLowercaseCharacters") and not any(c.islower() for c in password):
        found.append("Password should have at least one lowercase letter")
    return found


def check_password(conn: sqlite3.Connection, account: str, password: str) -> None:
    """PasswordPolicyViolation, listing every rule broken, when the account has a policy."""
    policy = get_policy(conn, account)
    if policy is None:
        return
    found = violations(policy, password)
    if found:
        raise PasswordPolicyViolation(
            "Password does not conform to the account password policy: " + "; ".join(found) + "."
        )
