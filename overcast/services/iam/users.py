"""Users: create, get, list, update, delete, tags and permissions boundaries."""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import (
    IamBase,
    check_name,
    check_new_name_and_path,
    check_path,
    iam_arn,
    merge_tags,
    move,
    new_id,
    page,
    public,
    remove_tags,
    require,
    tags_page,
)
from overcast.services.iam.errors import DeleteConflict, EntityAlreadyExists
from overcast.services.iam.policies import check_boundary
from overcast.services.iam.user_credentials import KINDS, owned_by

Doc = dict[str, Any]


def user_view(doc: Doc) -> Doc:
    return public(doc)


def _delete_conflict(conn: sqlite3.Connection, account: str, name: str, doc: Doc) -> str | None:
    """What still hangs on the user, in the order AWS reports it."""
    if storage.get(conn, account, storage.LOGIN_PROFILE, name) is not None:
        return "Cannot delete entity, must delete login profile first."
    if storage.keys_of(conn, account, name):
        return "Cannot delete entity, must delete access keys first."
    if doc.get("InlinePolicies"):
        return "Cannot delete entity, must delete policies first."
    if storage.attached(conn, account, storage.USER, name):
        return "Cannot delete entity, must detach all policies first."
    if storage.groups_of(conn, account, name):
        return "Cannot delete entity, must remove users from group first."
    devices = storage.all_of(conn, account, storage.MFA)
    if any(d.get("UserName", "").lower() == name.lower() for d in devices):
        return "Cannot delete entity, must delete MFA device first."
    # SSH keys, signing certificates and service credentials: AWS's generic wording.
    if any(owned_by(conn, account, kind, name) for kind in KINDS):
        return "Cannot delete entity, must remove referenced objects first."
    return None


class Users(IamBase):
    def create_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        path = request.get("Path") or "/"
        check_name(name, "userName")
        check_path(path)
        tags = merge_tags([], request.get("Tags") or [])
        doc: Doc = {
            "UserName": name,
            "UserId": new_id("AIDA"),
            "Arn": iam_arn(ctx, "user", path, name),
            "Path": path,
            "CreateDate": self._now(),
            "Tags": tags,
            "InlinePolicies": {},
        }

        def write(conn: sqlite3.Connection) -> None:
            boundary = request.get("PermissionsBoundary")
            if boundary:
                doc["PermissionsBoundary"] = check_boundary(conn, ctx, boundary)
            if not storage.insert(conn, ctx.account_id, storage.USER, name, doc):
                raise EntityAlreadyExists(f"User with name {name} already exists.")

        self._write(write)
        return {"User": user_view(doc)}

    def get_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("UserName")
        if not name:
            name = self._caller_user_name(ctx)
            if name is None:
                # The account's root user: AWS answers its id and ARN, without name or path.
                account = ctx.account_id
                root = {"UserId": account, "Arn": f"arn:aws:iam::{account}:root", "CreateDate": 0.0}
                return {"User": root}
        doc = self._read(lambda conn: require(conn, ctx, storage.USER, name, "user"))
        return {"User": user_view(doc)}

    def _caller_user_name(self, ctx: RequestContext) -> str | None:
        arn = ctx.identity.principal_arn if ctx.identity else ""
        if ":user/" in arn:
            return arn.rsplit("/", 1)[-1]
        return None

    def list_users(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        prefix = request.get("PathPrefix") or "/"
        users = self._read(lambda conn: storage.all_of(conn, ctx.account_id, storage.USER))
        # Like AWS, the listing leaves out each user's tags and permissions boundary.
        chosen = [
            public(u, "Tags", "PermissionsBoundary") for u in users if u["Path"].startswith(prefix)
        ]
        return page(chosen, request, lambda u: u["UserName"].lower(), "Users")

    def update_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        new_name = request.get("NewUserName")
        check_new_name_and_path(request, "NewUserName", "newUserName")

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.USER, name, "user")
            taken = f"User with name {new_name} already exists."
            target = move(
                conn, ctx, storage.USER, doc, name, new_name, request.get("NewPath"), taken
            )
            storage.rename_entity(conn, ctx.account_id, storage.USER, name, target)
            _rename_user_relations(conn, ctx.account_id, name, target, doc["Arn"])

        self._write(write)
        return {}

    def delete_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.USER, name, "user")
            conflict = _delete_conflict(conn, ctx.account_id, name, doc)
            if conflict:
                raise DeleteConflict(conflict)
            storage.delete(conn, ctx.account_id, storage.USER, name)

        self._write(write)
        return {}

    # -- tags ----------------------------------------------------------------------------------

    def tag_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._edit_user(ctx, request["UserName"], lambda d: _set_tags(d, request["Tags"]))
        return {}

    def untag_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._edit_user(
            ctx,
            request["UserName"],
            lambda d: d.update(Tags=remove_tags(d["Tags"], request["TagKeys"])),
        )
        return {}

    def list_user_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        doc = self._read(lambda conn: require(conn, ctx, storage.USER, name, "user"))
        return tags_page(doc, request)

    # -- permissions boundary ------------------------------------------------------------------

    def put_user_permissions_boundary(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["UserName"]

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.USER, name, "user")
            doc["PermissionsBoundary"] = check_boundary(conn, ctx, request["PermissionsBoundary"])
            storage.put(conn, ctx.account_id, storage.USER, name, doc)

        self._write(write)
        return {}

    def delete_user_permissions_boundary(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        self._edit_user(ctx, request["UserName"], lambda d: d.pop("PermissionsBoundary", None))
        return {}

    def _edit_user(self, ctx: RequestContext, name: str, change: Any) -> None:
        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.USER, name, "user")
            change(doc)
            storage.put(conn, ctx.account_id, storage.USER, name, doc)

        self._write(write)


def _set_tags(doc: Doc, tags: list[Doc]) -> None:
    doc["Tags"] = merge_tags(doc.get("Tags") or [], tags)


def _rename_user_relations(
    conn: sqlite3.Connection, account: str, old: str, new: str, arn: str
) -> None:
    """Carry the new name and ARN to what names the user (keys, login profile, credentials)."""
    for key in storage.keys_of(conn, account, new):
        key["UserName"] = new
        storage.update_key(conn, key)
    profile = storage.get(conn, account, storage.LOGIN_PROFILE, old)
    if profile is not None:
        storage.delete(conn, account, storage.LOGIN_PROFILE, old)
        profile["UserName"] = new
        storage.put(conn, account, storage.LOGIN_PROFILE, new, profile)
    for kind in (*KINDS, storage.MFA):
        for doc in storage.all_of(conn, account, kind):
            if str(doc.get("UserName", "")).lower() != old.lower():
                continue
            doc["UserName"] = new
            if kind == storage.MFA:
                doc["UserArn"] = arn
                storage.put(conn, account, kind, doc["Name"], doc)
            else:
                storage.put(conn, account, kind, _credential_id(doc), doc)


def _credential_id(doc: Doc) -> str:
    for member in ("CertificateId", "SSHPublicKeyId", "ServiceSpecificCredentialId"):
        if member in doc:
            return str(doc[member])
    raise KeyError("credential without an id")
