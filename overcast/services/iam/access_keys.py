"""Access keys (two per user, AKIA ids, 40-character secrets) and login profiles (passwords)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import string
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import IamBase, new_id, page, require
from overcast.services.iam.errors import (
    EntityAlreadyExists,
    InvalidInput,
    InvalidUserType,
    LimitExceeded,
    NoSuchEntity,
)
from overcast.services.iam.passwords import check_password

Doc = dict[str, Any]
MAX_KEYS = 2
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_secret() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)
    return f"{salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    salt, _, digest = stored.partition("$")
    return hmac.compare_digest(hash_password(password, bytes.fromhex(salt)), stored) and bool(
        digest
    )


def caller_user(ctx: RequestContext) -> str | None:
    """The IAM user name the request is signed as, or None (root, a role session)."""
    arn = ctx.identity.principal_arn if ctx.identity else ""
    return arn.rsplit("/", 1)[-1] if ":user/" in arn else None


def _user_name(ctx: RequestContext, request: dict[str, Any]) -> str:
    name = request.get("UserName") or caller_user(ctx)
    if not name:
        raise InvalidInput("Must specify userName when calling with non-User credentials")
    return str(name)


def _key_not_found(key_id: str) -> NoSuchEntity:
    return NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")


class AccessKeys(IamBase):
    def create_access_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)

        def write(conn: sqlite3.Connection) -> Doc:
            user = require(conn, ctx, storage.USER, name, "user")
            if len(storage.keys_of(conn, ctx.account_id, name)) >= MAX_KEYS:
                raise LimitExceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS}")
            doc = {
                "UserName": user["UserName"],
                "AccessKeyId": new_id("AKIA")[:20],
                "Status": "Active",
                "SecretAccessKey": new_secret(),
                "CreateDate": self._now(),
            }
            storage.insert_key(conn, ctx.account_id, name, doc)
            return doc

        return {"AccessKey": self._write(write)}

    def list_access_keys(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, storage.USER, name, "user")
            return storage.keys_of(conn, ctx.account_id, name)

        keys = [
            {k: d[k] for k in ("UserName", "AccessKeyId", "Status", "CreateDate")}
            for d in self._read(read)
        ]
        return page(keys, request, lambda k: k["AccessKeyId"], "AccessKeyMetadata")

    def _own_key(
        self, conn: sqlite3.Connection, ctx: RequestContext, name: str, key_id: str
    ) -> Doc:
        require(conn, ctx, storage.USER, name, "user")
        found = storage.get_key(conn, key_id)
        if found is None or found[0] != ctx.account_id:
            raise _key_not_found(key_id)
        if found[1]["UserName"].lower() != name.lower():
            raise _key_not_found(key_id)
        return found[1]

    def update_access_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)
        key_id = request["AccessKeyId"]
        status = request["Status"]
        if status not in ("Active", "Inactive"):
            raise InvalidInput(f"Invalid status {status}")

        def write(conn: sqlite3.Connection) -> None:
            doc = self._own_key(conn, ctx, name, key_id)
            doc["Status"] = status
            storage.update_key(conn, doc)

        self._write(write)
        return {}

    def delete_access_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)
        key_id = request["AccessKeyId"]

        def write(conn: sqlite3.Connection) -> None:
            self._own_key(conn, ctx, name, key_id)
            storage.delete_key(conn, key_id)

        self._write(write)
        return {}

    def get_access_key_last_used(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        key_id = request["AccessKeyId"]
        found = self._read(lambda conn: storage.get_key(conn, key_id))
        if found is None or found[0] != ctx.account_id:
            raise _key_not_found(key_id)
        doc = found[1]
        used = doc.get("LastUsed") or {"ServiceName": "N/A", "Region": "N/A"}
        return {"UserName": doc["UserName"], "AccessKeyLastUsed": used}

    # -- login profiles ------------------------------------------------------------------------

    def create_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)
        password = request.get("Password")
        if not password:
            raise InvalidInput("Password is required to create a login profile.")
        reset = bool(request.get("PasswordResetRequired"))

        def write(conn: sqlite3.Connection) -> Doc:
            user = require(conn, ctx, storage.USER, name, "user")
            check_password(conn, ctx.account_id, password)
            doc = {
                "UserName": user["UserName"],
                "CreateDate": self._now(),
                "PasswordResetRequired": reset,
                "PasswordHash": hash_password(password),
                "PasswordLastChanged": self._now(),
            }
            if not storage.insert(conn, ctx.account_id, storage.LOGIN_PROFILE, name, doc):
                raise EntityAlreadyExists(
                    f"Login Profile for user {user['UserName']} already exists."
                )
            return doc

        doc = self._write(write)
        return {"LoginProfile": _profile_view(doc)}

    def get_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)
        doc = self._read(lambda conn: self._profile(conn, ctx, name))
        return {"LoginProfile": _profile_view(doc)}

    def _profile(self, conn: sqlite3.Connection, ctx: RequestContext, name: str) -> Doc:
        require(conn, ctx, storage.USER, name, "user")
        doc = storage.get(conn, ctx.account_id, storage.LOGIN_PROFILE, name)
        if doc is None:
            raise NoSuchEntity(f"Login Profile for User {name} cannot be found.")
        return doc

    def update_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)

        def write(conn: sqlite3.Connection) -> None:
            doc = self._profile(conn, ctx, name)
            if request.get("Password"):
                check_password(conn, ctx.account_id, request["Password"])
                doc["PasswordHash"] = hash_password(request["Password"])
                doc["PasswordLastChanged"] = self._now()
            if request.get("PasswordResetRequired") is not None:
                doc["PasswordResetRequired"] = bool(request["PasswordResetRequired"])
            storage.put(conn, ctx.account_id, storage.LOGIN_PROFILE, name, doc)

        self._write(write)
        return {}

    def delete_login_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)

        def write(conn: sqlite3.Connection) -> None:
            self._profile(conn, ctx, name)
            storage.delete(conn, ctx.account_id, storage.LOGIN_PROFILE, name)

        self._write(write)
        return {}

    def change_password(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = caller_user(ctx)
        if name is None:
            raise InvalidUserType("Only IAM users can change their own password.")

        def write(conn: sqlite3.Connection) -> None:
            doc = self._profile(conn, ctx, name)
            if not password_matches(request["OldPassword"], doc["PasswordHash"]):
                raise InvalidInput("The old password was incorrect.")
            check_password(conn, ctx.account_id, request["NewPassword"])
            doc["PasswordHash"] = hash_password(request["NewPassword"])
            doc["PasswordLastChanged"] = self._now()
            doc["PasswordResetRequired"] = False
            storage.put(conn, ctx.account_id, storage.LOGIN_PROFILE, name, doc)

        self._write(write)
        return {}


def _profile_view(doc: Doc) -> Doc:
    return {k: doc[k] for k in ("UserName", "CreateDate", "PasswordResetRequired")}
