"""Managed policies: the account's own (with up to five versions) and AWS's read-only catalogue."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from overcast.errors import AccessDenied
from overcast.gateway.context import RequestContext
from overcast.services.iam import catalogue, storage
from overcast.services.iam.catalogue import AwsPolicy
from overcast.services.iam.common import (
    MANAGED_POLICY_SIZE,
    IamBase,
    check_name,
    check_path,
    check_policy_arn,
    encode_document,
    iam_arn,
    merge_tags,
    new_id,
    page,
    parse_identity_policy,
    remove_tags,
    tags_page,
)
from overcast.services.iam.errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
)

Doc = dict[str, Any]
MAX_VERSIONS = 5


def not_attachable(arn: str) -> NoSuchEntity:
    return NoSuchEntity(f"Policy {arn} does not exist or is not attachable.")


def local_policy(conn: sqlite3.Connection, ctx: RequestContext, arn: str) -> Doc | None:
    """The account's managed policy with this ARN, or None."""
    doc = storage.get(conn, ctx.account_id, storage.POLICY, arn.rsplit("/", 1)[-1])
    return doc if doc is not None and doc["Arn"] == arn else None


def policy_exists(conn: sqlite3.Connection, ctx: RequestContext, arn: str) -> bool:
    if catalogue.is_aws_policy(arn):
        return catalogue.get(arn) is not None
    return local_policy(conn, ctx, arn) is not None


def check_boundary(conn: sqlite3.Connection, ctx: RequestContext, arn: str) -> Doc:
    """A PermissionsBoundary member: the policy must exist (AWS's or the account's)."""
    check_policy_arn(arn)
    if not policy_exists(conn, ctx, arn):
        raise InvalidInput(
            f"ARN {arn} is not valid. The specified value for permissions boundary is invalid."
            if catalogue.is_aws_policy(arn)
            else f"Scope ARN: {arn} does not exist or is not attachable."
        )
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def _boundary_uses(conn: sqlite3.Connection, account: str) -> dict[str, int]:
    uses: dict[str, int] = {}
    for kind in (storage.USER, storage.ROLE):
        for doc in storage.all_of(conn, account, kind):
            arn = (doc.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if arn:
                uses[arn] = uses.get(arn, 0) + 1
    return uses


def _local_view(doc: Doc, attachments: int, boundary_uses: int, full: bool) -> Doc:
    view = {
        k: doc[k]
        for k in ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "CreateDate",
                  "UpdateDate")
    }  # fmt: skip
    view.update(
        AttachmentCount=attachments, PermissionsBoundaryUsageCount=boundary_uses, IsAttachable=True
    )
    if full:
        if doc.get("Description"):
            view["Description"] = doc["Description"]
        if doc.get("Tags"):
            view["Tags"] = doc["Tags"]
    return view


def _aws_view(policy: AwsPolicy, attachments: int, boundary_uses: int) -> Doc:
    return {
        "PolicyName": policy.name, "PolicyId": policy.policy_id, "Arn": policy.arn,
        "Path": policy.path, "DefaultVersionId": policy.default_version,
        "AttachmentCount": attachments, "PermissionsBoundaryUsageCount": boundary_uses,
        "IsAttachable": True, "CreateDate": policy.created, "UpdateDate": policy.updated,
    }  # fmt: skip


class Policies(IamBase):
    def create_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["PolicyName"]
        path = request.get("Path") or "/"
        check_name(name, "policyName")
        check_path(path)
        text = request["PolicyDocument"]
        parse_identity_policy(text, "PolicySize", MANAGED_POLICY_SIZE)
        now = self._now()
        doc: Doc = {
            "PolicyName": name,
            "PolicyId": new_id("ANPA"),
            "Arn": iam_arn(ctx, "policy", path, name),
            "Path": path,
            "DefaultVersionId": "v1",
            "Description": request.get("Description") or "",
            "CreateDate": now,
            "UpdateDate": now,
            "Tags": merge_tags([], request.get("Tags") or []),
            "Versions": [{"VersionId": "v1", "Document": text, "CreateDate": now}],
            "NextVersion": 2,
        }

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.POLICY, name, doc):
                raise EntityAlreadyExists(
                    f"A policy called {name} already exists. Duplicate names are not allowed."
                )

        self._write(write)
        return {"Policy": _local_view(doc, 0, 0, full=True)}

    def get_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        check_policy_arn(arn)

        def read(conn: sqlite3.Connection) -> Doc:
            attachments = len(storage.entities_for(conn, ctx.account_id, arn))
            uses = _boundary_uses(conn, ctx.account_id).get(arn, 0)
            if catalogue.is_aws_policy(arn):
                aws = catalogue.get(arn)
                if aws is None:
                    raise NoSuchEntity(f"Policy {arn} was not found.")
                return _aws_view(aws, attachments, uses)
            doc = local_policy(conn, ctx, arn)
            if doc is None:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            return _local_view(doc, attachments, uses, full=True)

        return {"Policy": self._read(read)}

    def list_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        scope = request.get("Scope") or "All"
        prefix = request.get("PathPrefix") or "/"
        only_attached = bool(request.get("OnlyAttached"))
        usage = request.get("PolicyUsageFilter")

        def read(conn: sqlite3.Connection) -> list[Doc]:
            account = ctx.account_id
            counts = storage.attachment_counts(conn, account)
            uses = _boundary_uses(conn, account)
            views: list[Doc] = []
            if scope in ("All", "AWS"):
                for aws in catalogue.all_policies():
                    views.append(_aws_view(aws, counts.get(aws.arn, 0), uses.get(aws.arn, 0)))
            if scope in ("All", "Local"):
                for doc in storage.all_of(conn, account, storage.POLICY):
                    arn = doc["Arn"]
                    views.append(_local_view(doc, counts.get(arn, 0), uses.get(arn, 0), False))
            return views

        views = [v for v in self._read(read) if v["Path"].startswith(prefix)]
        if usage == "PermissionsBoundary":
            views = [v for v in views if v["PermissionsBoundaryUsageCount"]]
        elif only_attached:
            views = [v for v in views if v["AttachmentCount"]]
        views.sort(key=lambda v: (v["PolicyName"].lower(), v["Arn"]))
        return page(views, request, lambda v: f"{v['PolicyName'].lower()}\0{v['Arn']}", "Policies")

    def delete_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        check_policy_arn(arn)

        def write(conn: sqlite3.Connection) -> None:
            doc = self._own_policy(conn, ctx, arn, "DeletePolicy")
            if storage.entities_for(conn, ctx.account_id, arn):
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            if len(doc["Versions"]) > 1:
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must"
                    " delete the policy's versions. The default version is deleted with the"
                    " policy."
                )
            storage.delete(conn, ctx.account_id, storage.POLICY, doc["PolicyName"])

        self._write(write)
        return {}

    def _own_policy(
        self, conn: sqlite3.Connection, ctx: RequestContext, arn: str, operation: str
    ) -> Doc:
        """A policy the account may change; AWS's own are read-only."""
        if catalogue.is_aws_policy(arn):
            caller = ctx.identity.principal_arn if ctx.identity else "root"
            raise AccessDenied(
                f"User: {caller} is not authorized to perform: iam:{operation} on resource: "
                f"policy {arn}"
            )
        doc = local_policy(conn, ctx, arn)
        if doc is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return doc

    # -- versions ------------------------------------------------------------------------------

    def create_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        check_policy_arn(arn)
        text = request["PolicyDocument"]
        parse_identity_policy(text, "PolicySize", MANAGED_POLICY_SIZE)
        now = self._now()
        default = bool(request.get("SetAsDefault"))

        def write(conn: sqlite3.Connection) -> Doc:
            doc = self._own_policy(conn, ctx, arn, "CreatePolicyVersion")
            if len(doc["Versions"]) >= MAX_VERSIONS:
                raise LimitExceeded(
                    "A managed policy can have up to 5 versions. Before you create a new version,"
                    " you must delete an existing version."
                )
            version_id = f"v{doc['NextVersion']}"
            doc["NextVersion"] += 1
            doc["Versions"].append({"VersionId": version_id, "Document": text, "CreateDate": now})
            if default:
                doc["DefaultVersionId"] = version_id
            doc["UpdateDate"] = now
            storage.put(conn, ctx.account_id, storage.POLICY, doc["PolicyName"], doc)
            return {"VersionId": version_id, "IsDefaultVersion": default, "CreateDate": now}

        return {"PolicyVersion": self._write(write)}

    def get_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        version_id = request["VersionId"]
        check_policy_arn(arn)
        missing = NoSuchEntity(
            f"Policy {arn} version {version_id} does not exist or is not attachable."
        )
        versions = self._versions(ctx, arn, missing)
        for version in versions:
            if version["VersionId"] == version_id:
                return {"PolicyVersion": version}
        raise missing

    def list_policy_versions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        check_policy_arn(arn)
        versions = self._versions(ctx, arn, NoSuchEntity(f"Policy {arn} was not found."))
        listed = [{k: v for k, v in ver.items() if k != "Document"} for ver in versions]
        listed.sort(key=lambda v: -int(v["VersionId"][1:]))
        return page(
            listed, request, lambda v: f"{100000 - int(v['VersionId'][1:]):06d}", "Versions"
        )

    def _versions(self, ctx: RequestContext, arn: str, missing: NoSuchEntity) -> list[Doc]:
        """Every version, documents URL-encoded (AWS's catalogue: its default version only)."""
        if catalogue.is_aws_policy(arn):
            aws = catalogue.get(arn)
            if aws is None:
                raise missing
            return [{
                "Document": encode_document(aws.document_text), "VersionId": aws.default_version,
                "IsDefaultVersion": True, "CreateDate": aws.updated,
            }]  # fmt: skip
        doc = self._read(lambda conn: local_policy(conn, ctx, arn))
        if doc is None:
            raise missing
        return [
            {
                "Document": encode_document(v["Document"]),
                "VersionId": v["VersionId"],
                "IsDefaultVersion": v["VersionId"] == doc["DefaultVersionId"],
                "CreateDate": v["CreateDate"],
            }
            for v in doc["Versions"]
        ]

    def delete_policy_version(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        version_id = request["VersionId"]
        check_policy_arn(arn)

        def write(conn: sqlite3.Connection) -> None:
            doc = self._own_policy(conn, ctx, arn, "DeletePolicyVersion")
            if version_id == doc["DefaultVersionId"]:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            kept = [v for v in doc["Versions"] if v["VersionId"] != version_id]
            if len(kept) == len(doc["Versions"]):
                raise NoSuchEntity(
                    f"Policy {arn} version {version_id} does not exist or is not attachable."
                )
            doc["Versions"] = kept
            storage.put(conn, ctx.account_id, storage.POLICY, doc["PolicyName"], doc)

        self._write(write)
        return {}

    def set_default_policy_version(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["PolicyArn"]
        version_id = request["VersionId"]
        check_policy_arn(arn)

        def write(conn: sqlite3.Connection) -> None:
            doc = self._own_policy(conn, ctx, arn, "SetDefaultPolicyVersion")
            if not any(v["VersionId"] == version_id for v in doc["Versions"]):
                raise NoSuchEntity(
                    f"Policy {arn} version {version_id} does not exist or is not attachable."
                )
            doc["DefaultVersionId"] = version_id
            doc["UpdateDate"] = self._now()
            storage.put(conn, ctx.account_id, storage.POLICY, doc["PolicyName"], doc)

        self._write(write)
        return {}

    # -- tags and entities ---------------------------------------------------------------------

    def tag_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._edit_tags(ctx, request["PolicyArn"], lambda t: merge_tags(t, request["Tags"]))
        return {}

    def untag_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._edit_tags(ctx, request["PolicyArn"], lambda t: remove_tags(t, request["TagKeys"]))
        return {}

    def _edit_tags(self, ctx: RequestContext, arn: str, change: Any) -> None:
        check_policy_arn(arn)

        def write(conn: sqlite3.Connection) -> None:
            doc = self._own_policy(conn, ctx, arn, "TagPolicy")
            doc["Tags"] = change(doc.get("Tags") or [])
            storage.put(conn, ctx.account_id, storage.POLICY, doc["PolicyName"], doc)

        self._write(write)

    def list_policy_tags(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["PolicyArn"]
        check_policy_arn(arn)
        if catalogue.is_aws_policy(arn):
            if catalogue.get(arn) is None:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            return {"Tags": [], "IsTruncated": False}
        doc = self._read(lambda conn: local_policy(conn, ctx, arn))
        if doc is None:
            raise NoSuchEntity(f"Policy {arn} was not found.")
        return tags_page(doc, request)

    def list_entities_for_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["PolicyArn"]
        check_policy_arn(arn)
        wanted = request.get("EntityFilter")
        prefix = request.get("PathPrefix") or "/"

        def read(conn: sqlite3.Connection) -> list[tuple[str, Doc]]:
            if not policy_exists(conn, ctx, arn):
                raise NoSuchEntity(f"Policy {arn} was not found.")
            found = []
            for kind, key in storage.entities_for(conn, ctx.account_id, arn):
                doc = storage.get(conn, ctx.account_id, kind, key)
                if doc is not None:
                    found.append((kind, doc))
            return found

        entities = self._read(read)
        groups, users, roles = [], [], []
        for kind, doc in entities:
            if not doc["Path"].startswith(prefix):
                continue
            if kind == storage.GROUP and wanted in (None, "Group", "LocalManagedPolicy"):
                groups.append({"GroupName": doc["GroupName"], "GroupId": doc["GroupId"]})
            elif kind == storage.USER and wanted in (None, "User", "LocalManagedPolicy"):
                users.append({"UserName": doc["UserName"], "UserId": doc["UserId"]})
            elif kind == storage.ROLE and wanted in (None, "Role", "LocalManagedPolicy"):
                roles.append({"RoleName": doc["RoleName"], "RoleId": doc["RoleId"]})
        rows = [("g", g) for g in groups] + [("u", u) for u in users] + [("r", r) for r in roles]
        result = page(rows, request, lambda r: f"{r[0]}{json.dumps(r[1], sort_keys=True)}", "Rows")
        chosen = result.pop("Rows")
        result["PolicyGroups"] = [r for t, r in chosen if t == "g"]
        result["PolicyUsers"] = [r for t, r in chosen if t == "u"]
        result["PolicyRoles"] = [r for t, r in chosen if t == "r"]
        return result
