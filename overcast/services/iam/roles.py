"""Roles: trust policies, session duration, tags, boundaries and service-linked roles."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import catalogue, storage
from overcast.services.iam.common import (
    IamBase,
    check_name,
    check_path,
    encode_document,
    iam_arn,
    merge_tags,
    new_id,
    page,
    parse_trust_policy,
    public,
    remove_tags,
    require,
    tags_page,
)
from overcast.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidInput,
    NoSuchEntity,
    UnmodifiableEntity,
)
from overcast.services.iam.policies import check_boundary

Doc = dict[str, Any]
_SLR_PATH = "/aws-service-role/"

# Service-linked role names and the AWS managed policy each gets, as AWS names them; other
# services get "AWSServiceRoleFor" + their capitalised first name label and no policy.
_SERVICE_LINKED: dict[str, tuple[str, str]] = {
    "autoscaling.amazonaws.com": ("AutoScaling", "AutoScalingServiceRolePolicy"),
    "ecs.amazonaws.com": ("ECS", "AmazonECSServiceRolePolicy"),
    "elasticloadbalancing.amazonaws.com": (
        "ElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy",
    ),
    "rds.amazonaws.com": ("RDS", "AmazonRDSServiceRolePolicy"),
    "elasticbeanstalk.amazonaws.com": ("ElasticBeanstalk", "AWSElasticBeanstalkServiceRolePolicy"),
    "spot.amazonaws.com": ("EC2Spot", "AWSEC2SpotServiceRolePolicy"),
    "es.amazonaws.com": ("AmazonElasticsearchService", "AmazonElasticsearchServiceRolePolicy"),
    "opensearchservice.amazonaws.com": (
        "AmazonOpenSearchService", "AmazonOpenSearchServiceRolePolicy",
    ),
    "eks.amazonaws.com": ("AmazonEKS", "AmazonEKSServiceRolePolicy"),
    "organizations.amazonaws.com": ("Organizations", "AWSOrganizationsServiceTrustPolicy"),
}  # fmt: skip


def role_view(doc: Doc, *, full: bool = True) -> Doc:
    view = public(doc, "AssumeRolePolicyDocument")
    view["AssumeRolePolicyDocument"] = encode_document(doc["AssumeRolePolicyDocument"])
    if not view.get("Description"):
        view.pop("Description", None)
    if not full:
        for member in ("Tags", "PermissionsBoundary", "RoleLastUsed"):
            view.pop(member, None)
    elif not view.get("Tags"):
        view.pop("Tags", None)
    return view


def _trust_for_service(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"],
        }],
    })  # fmt: skip


def _protected(doc: Doc) -> bool:
    return str(doc["Path"]).startswith(_SLR_PATH)


def _unmodifiable(name: str) -> UnmodifiableEntity:
    return UnmodifiableEntity(
        f"Cannot perform the operation on the protected role '{name}' - this role is only"
        " modifiable by AWS"
    )


class Roles(IamBase):
    def create_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        path = request.get("Path") or "/"
        check_name(name, "roleName")
        check_path(path)
        if path.startswith(_SLR_PATH):
            raise InvalidInput(
                "Path prefix /aws-service-role/ is reserved for service-linked roles."
            )
        trust = request["AssumeRolePolicyDocument"]
        parse_trust_policy(trust)
        doc = self._new_role(ctx, name, path, trust, request)

        def write(conn: sqlite3.Connection) -> None:
            boundary = request.get("PermissionsBoundary")
            if boundary:
                doc["PermissionsBoundary"] = check_boundary(conn, ctx, boundary)
            if not storage.insert(conn, ctx.account_id, storage.ROLE, name, doc):
                raise EntityAlreadyExists(f"Role with name {name} already exists.")

        self._write(write)
        return {"Role": role_view(doc)}

    def _new_role(
        self, ctx: RequestContext, name: str, path: str, trust: str, request: dict[str, Any]
    ) -> Doc:
        return {
            "RoleName": name,
            "RoleId": new_id("AROA"),
            "Arn": iam_arn(ctx, "role", path, name),
            "Path": path,
            "CreateDate": self._now(),
            "AssumeRolePolicyDocument": trust,
            "Description": request.get("Description") or "",
            "MaxSessionDuration": int(request.get("MaxSessionDuration") or 3600),
            "Tags": merge_tags([], request.get("Tags") or []),
            "RoleLastUsed": {},
            "InlinePolicies": {},
        }

    def get_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        doc = self._read(lambda conn: require(conn, ctx, storage.ROLE, name, "role"))
        return {"Role": role_view(doc)}

    def list_roles(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        prefix = request.get("PathPrefix") or "/"
        roles = self._read(lambda conn: storage.all_of(conn, ctx.account_id, storage.ROLE))
        chosen = [role_view(r, full=False) for r in roles if r["Path"].startswith(prefix)]
        return page(chosen, request, lambda r: r["RoleName"].lower(), "Roles")

    def update_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def change(doc: Doc) -> None:
            if "Description" in request:
                doc["Description"] = request["Description"] or ""
            if request.get("MaxSessionDuration"):
                doc["MaxSessionDuration"] = int(request["MaxSessionDuration"])

        self._edit_role(ctx, request["RoleName"], change)
        return {}

    def update_role_description(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._edit_role(
            ctx, request["RoleName"], lambda d: d.update(Description=request["Description"])
        )
        return {"Role": role_view(doc)}

    def update_assume_role_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        text = request["PolicyDocument"]
        parse_trust_policy(text)
        self._edit_role(
            ctx, request["RoleName"], lambda d: d.update(AssumeRolePolicyDocument=text),
            protect=True,
        )  # fmt: skip
        return {}

    def delete_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.ROLE, name, "role")
            if _protected(doc):
                raise _unmodifiable(doc["RoleName"])
            self._check_role_deletable(conn, ctx, doc)
            storage.delete(conn, ctx.account_id, storage.ROLE, name)

        self._write(write)
        return {}

    def _check_role_deletable(
        self, conn: sqlite3.Connection, ctx: RequestContext, doc: Doc
    ) -> None:
        account, name = ctx.account_id, doc["RoleName"]
        for profile in storage.all_of(conn, account, storage.INSTANCE_PROFILE):
            if any(r.lower() == name.lower() for r in profile["RoleNames"]):
                raise DeleteConflict(
                    "Cannot delete entity, must remove roles from instance profile first."
                )
        if doc.get("InlinePolicies"):
            raise DeleteConflict("Cannot delete entity, must delete policies first.")
        if storage.attached(conn, account, storage.ROLE, name):
            raise DeleteConflict("Cannot delete entity, must detach all policies first.")

    def _edit_role(
        self, ctx: RequestContext, name: str, change: Callable[[Doc], Any], protect: bool = False
    ) -> Doc:
        def write(conn: sqlite3.Connection) -> Doc:
            doc = require(conn, ctx, storage.ROLE, name, "role")
            if protect and _protected(doc):
                raise _unmodifiable(doc["RoleName"])
            change(doc)
            storage.put(conn, ctx.account_id, storage.ROLE, name, doc)
            return doc

        return self._write(write)

    # -- tags and boundaries -------------------------------------------------------------------

    def tag_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._edit_role(
            ctx,
            request["RoleName"],
            lambda d: d.update(Tags=merge_tags(d["Tags"], request["Tags"])),
        )
        return {}

    def untag_role(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        keys = request["TagKeys"]
        self._edit_role(
            ctx, request["RoleName"], lambda d: d.update(Tags=remove_tags(d["Tags"], keys))
        )
        return {}

    def list_role_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["RoleName"]
        doc = self._read(lambda conn: require(conn, ctx, storage.ROLE, name, "role"))
        return tags_page(doc, request)

    def put_role_permissions_boundary(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["RoleName"]

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, storage.ROLE, name, "role")
            if _protected(doc):
                raise _unmodifiable(doc["RoleName"])
            doc["PermissionsBoundary"] = check_boundary(conn, ctx, request["PermissionsBoundary"])
            storage.put(conn, ctx.account_id, storage.ROLE, name, doc)

        self._write(write)
        return {}

    def delete_role_permissions_boundary(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        self._edit_role(
            ctx, request["RoleName"], lambda d: d.pop("PermissionsBoundary", None), protect=True
        )
        return {}

    # -- service-linked roles ------------------------------------------------------------------

    def create_service_linked_role(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        service = request["AWSServiceName"]
        suffix = request.get("CustomSuffix")
        known = _SERVICE_LINKED.get(service)
        if known is None and not service.endswith(".amazonaws.com"):
            raise InvalidInput(f"Invalid service name: {service}")
        label = known[0] if known else service.split(".", 1)[0].capitalize()
        name = f"AWSServiceRoleFor{label}" + (f"_{suffix}" if suffix else "")
        path = f"{_SLR_PATH}{service}/"
        doc = self._new_role(ctx, name, path, _trust_for_service(service), request)
        policy_arn = f"arn:aws:iam::aws:policy/aws-service-role/{known[1]}" if known else None

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.ROLE, name, doc):
                raise InvalidInput(
                    f"Service role name {name} has been taken in this account, please try a "
                    "different suffix."
                )
            if policy_arn and catalogue.get(policy_arn) is not None:
                storage.attach(conn, ctx.account_id, storage.ROLE, name, policy_arn)

        self._write(write)
        return {"Role": role_view(doc)}

    def delete_service_linked_role(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["RoleName"]

        def write(conn: sqlite3.Connection) -> str:
            doc = require(conn, ctx, storage.ROLE, name, "role")
            if not _protected(doc):
                raise InvalidInput(f"The role {doc['RoleName']} is not a service-linked role.")
            task = f"task{doc['Path']}{doc['RoleName']}/{uuid.uuid4()}"
            storage.detach_all(conn, ctx.account_id, storage.ROLE, name)
            storage.delete(conn, ctx.account_id, storage.ROLE, name)
            tasks = storage.get(conn, ctx.account_id, storage.ACCOUNT, "slr-deletions") or {}
            tasks[task] = "SUCCEEDED"
            storage.put(conn, ctx.account_id, storage.ACCOUNT, "slr-deletions", tasks)
            return task

        return {"DeletionTaskId": self._write(write)}

    def get_service_linked_role_deletion_status(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        task = request["DeletionTaskId"]
        tasks = self._read(
            lambda conn: storage.get(conn, ctx.account_id, storage.ACCOUNT, "slr-deletions")
        )
        if not tasks or task not in tasks:
            raise NoSuchEntity(f"Deletion task {task} cannot be found.")
        return {"Status": tasks[task]}
