"""Groups and their members."""

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
    move,
    new_id,
    page,
    public,
    require,
)
from overcast.services.iam.errors import DeleteConflict, EntityAlreadyExists

Doc = dict[str, Any]


class Groups(IamBase):
    def create_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]
        path = request.get("Path") or "/"
        check_name(name, "groupName")
        check_path(path)
        doc: Doc = {
            "GroupName": name,
            "GroupId": new_id("AGPA"),
            "Arn": iam_arn(ctx, "group", path, name),
            "Path": path,
            "CreateDate": self._now(),
            "InlinePolicies": {},
        }

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.GROUP, name, doc):
                raise EntityAlreadyExists(f"Group with name {name} already exists.")

        self._write(write)
        return {"Group": public(doc)}

    def get_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]

        def read(conn: sqlite3.Connection) -> tuple[Doc, list[Doc]]:
            group = require(conn, ctx, storage.GROUP, name, "group")
            users = []
            for key in storage.members_of(conn, ctx.account_id, name):
                user = storage.get(conn, ctx.account_id, storage.USER, key)
                if user is not None:
                    users.append(public(user, "Tags", "PermissionsBoundary"))
            return group, users

        group, users = self._read(read)
        result = page(users, request, lambda u: u["UserName"].lower(), "Users")
        result["Group"] = public(group)
        return result

    def list_groups(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        prefix = request.get("PathPrefix") or "/"
        groups = self._read(lambda conn: storage.all_of(conn, ctx.account_id, storage.GROUP))
        chosen = [public(g) for g in groups if g["Path"].startswith(prefix)]
        return page(chosen, request, lambda g: g["GroupName"].lower(), "Groups")

    def list_groups_for_user(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, storage.USER, name, "user")
            found = []
            for key in storage.groups_of(conn, ctx.account_id, name):
                group = storage.get(conn, ctx.account_id, storage.GROUP, key)
                if group is not None:
                    found.append(public(group))
            return found

        groups = self._read(read)
        return page(groups, request, lambda g: g["GroupName"].lower(), "Groups")

    def update_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]
        new_name = request.get("NewGroupName")
        check_new_name_and_path(request, "NewGroupName", "newGroupName")

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.GROUP, name, "group")
            taken = f"Group with name {new_name} already exists."
            new_path = request.get("NewPath")
            target = move(conn, ctx, storage.GROUP, doc, name, new_name, new_path, taken)
            storage.rename_entity(conn, ctx.account_id, storage.GROUP, name, target)

        self._write(write)
        return {}

    def delete_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GroupName"]

        def write(conn: sqlite3.Connection) -> None:
            account = ctx.account_id
            doc = require(conn, ctx, storage.GROUP, name, "group")
            if storage.members_of(conn, account, name):
                raise DeleteConflict("Cannot delete entity, must remove users from group first.")
            if doc.get("InlinePolicies"):
                raise DeleteConflict("Cannot delete entity, must delete policies first.")
            if storage.attached(conn, account, storage.GROUP, name):
                raise DeleteConflict("Cannot delete entity, must detach all policies first.")
            storage.delete(conn, account, storage.GROUP, name)

        self._write(write)
        return {}

    def add_user_to_group(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        group, user = request["GroupName"], request["UserName"]

        def write(conn: sqlite3.Connection) -> None:
            require(conn, ctx, storage.GROUP, group, "group")
            require(conn, ctx, storage.USER, user, "user")
            storage.add_member(conn, ctx.account_id, group, user)

        self._write(write)
        return {}

    def remove_user_from_group(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        group, user = request["GroupName"], request["UserName"]

        def write(conn: sqlite3.Connection) -> None:
            require(conn, ctx, storage.GROUP, group, "group")
            require(conn, ctx, storage.USER, user, "user")
            storage.remove_member(conn, ctx.account_id, group, user)

        self._write(write)
        return {}
