"""Instance profiles: containers of (at most) one role for EC2 instances."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import (
    IamBase,
    check_name,
    check_path,
    iam_arn,
    merge_tags,
    new_id,
    page,
    remove_tags,
    require,
    tags_page,
)
from overcast.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    LimitExceeded,
    no_such,
)
from overcast.services.iam.roles import role_view

Doc = dict[str, Any]
MAX_ROLES = 1


def _profile(conn: sqlite3.Connection, ctx: RequestContext, name: str) -> Doc:
    missing = f"Instance Profile {name} cannot be found."
    return require(conn, ctx, storage.INSTANCE_PROFILE, name, "", missing)


def _view(conn: sqlite3.Connection, ctx: RequestContext, doc: Doc, tags: bool = True) -> Doc:
    roles = []
    for name in doc["RoleNames"]:
        role = storage.get(conn, ctx.account_id, storage.ROLE, name)
        if role is not None:
            roles.append(role_view(role, full=False))
    view = {k: v for k, v in doc.items() if k not in ("RoleNames", "Tags")}
    view["Roles"] = roles
    if tags and doc.get("Tags"):
        view["Tags"] = doc["Tags"]
    return view


class InstanceProfiles(IamBase):
    def create_instance_profile(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        path = request.get("Path") or "/"
        check_name(name, "instanceProfileName")
        check_path(path)
        doc: Doc = {
            "InstanceProfileName": name,
            "InstanceProfileId": new_id("AIPA"),
            "Arn": iam_arn(ctx, "instance-profile", path, name),
            "Path": path,
            "CreateDate": self._now(),
            "RoleNames": [],
            "Tags": merge_tags([], request.get("Tags") or []),
        }

        def write(conn: sqlite3.Connection) -> Doc:
            if not storage.insert(conn, ctx.account_id, storage.INSTANCE_PROFILE, name, doc):
                raise EntityAlreadyExists(f"Instance Profile {name} already exists.")
            return _view(conn, ctx, doc)

        return {"InstanceProfile": self._write(write)}

    def get_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        return {"InstanceProfile": self._read(lambda c: _view(c, ctx, _profile(c, ctx, name)))}

    def list_instance_profiles(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        prefix = request.get("PathPrefix") or "/"

        def read(conn: sqlite3.Connection) -> list[Doc]:
            profiles = storage.all_of(conn, ctx.account_id, storage.INSTANCE_PROFILE)
            return [
                _view(conn, ctx, p, tags=False) for p in profiles if p["Path"].startswith(prefix)
            ]

        return page(
            self._read(read),
            request,
            lambda p: p["InstanceProfileName"].lower(),
            "InstanceProfiles",
        )

    def list_instance_profiles_for_role(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        role = request["RoleName"]

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, storage.ROLE, role, "role")
            profiles = storage.all_of(conn, ctx.account_id, storage.INSTANCE_PROFILE)
            return [
                _view(conn, ctx, p, tags=False)
                for p in profiles
                if any(r.lower() == role.lower() for r in p["RoleNames"])
            ]

        return page(
            self._read(read),
            request,
            lambda p: p["InstanceProfileName"].lower(),
            "InstanceProfiles",
        )

    def delete_instance_profile(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["InstanceProfileName"]

        def write(conn: sqlite3.Connection) -> None:
            doc = _profile(conn, ctx, name)
            if doc["RoleNames"]:
                raise DeleteConflict(
                    "Cannot delete entity, must remove roles from instance profile first."
                )
            storage.delete(conn, ctx.account_id, storage.INSTANCE_PROFILE, name)

        self._write(write)
        return {}

    def add_role_to_instance_profile(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, role = request["InstanceProfileName"], request["RoleName"]

        def change(conn: sqlite3.Connection, doc: Doc) -> None:
            found = require(conn, ctx, storage.ROLE, role, "role")
            if any(r.lower() == role.lower() for r in doc["RoleNames"]):
                raise EntityAlreadyExists(
                    f"Role {found['RoleName']} is already in instance profile."
                )
            if len(doc["RoleNames"]) >= MAX_ROLES:
                raise LimitExceeded(
                    f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {MAX_ROLES}"
                )
            doc["RoleNames"].append(found["RoleName"])

        self._edit_profile(ctx, name, change)
        return {}

    def remove_role_from_instance_profile(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, role = request["InstanceProfileName"], request["RoleName"]

        def change(conn: sqlite3.Connection, doc: Doc) -> None:
            require(conn, ctx, storage.ROLE, role, "role")
            kept = [r for r in doc["RoleNames"] if r.lower() != role.lower()]
            if len(kept) == len(doc["RoleNames"]):
                raise no_such("role", role)
            doc["RoleNames"] = kept

        self._edit_profile(ctx, name, change)
        return {}

    def tag_instance_profile(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        tags = request["Tags"]
        self._edit_profile(ctx, request["InstanceProfileName"],
                   lambda _c, d: d.update(Tags=merge_tags(d["Tags"], tags)))  # fmt: skip
        return {}

    def untag_instance_profile(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        keys = request["TagKeys"]
        self._edit_profile(ctx, request["InstanceProfileName"],
                   lambda _c, d: d.update(Tags=remove_tags(d["Tags"], keys)))  # fmt: skip
        return {}

    def list_instance_profile_tags(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["InstanceProfileName"]
        return tags_page(self._read(lambda c: _profile(c, ctx, name)), request)

    def _edit_profile(
        self, ctx: RequestContext, name: str, change: Callable[[sqlite3.Connection, Doc], Any]
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            doc = _profile(conn, ctx, name)
            change(conn, doc)
            storage.put(conn, ctx.account_id, storage.INSTANCE_PROFILE, name, doc)

        self._write(write)
