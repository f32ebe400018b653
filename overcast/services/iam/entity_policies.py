"""Policies of users, groups and roles: inline (Put/Get/Delete/List) and attached managed ones.

The three entity kinds behave alike, so each operation is one generic method called with the
kind; only AWS's member names and messages differ.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import catalogue, storage
from overcast.services.iam.common import (
    INLINE_POLICY_SIZE,
    IamBase,
    check_name,
    check_policy_arn,
    encode_document,
    page,
    parse_identity_policy,
    require,
)
from overcast.services.iam.errors import (
    LimitExceeded,
    NoSuchEntity,
    PolicyNotAttachable,
    UnmodifiableEntity,
)
from overcast.services.iam.policies import local_policy, not_attachable, policy_exists

Doc = dict[str, Any]
MAX_ATTACHED = 10  # managed policies per user, group or role (AWS's default quota)

_NAME_MEMBER = {storage.USER: "UserName", storage.GROUP: "GroupName", storage.ROLE: "RoleName"}
_QUOTA = {storage.USER: "PoliciesPerUser", storage.GROUP: "PoliciesPerGroup",
          storage.ROLE: "PoliciesPerRole"}  # fmt: skip


def _guard_service_linked(kind: str, doc: Doc) -> None:
    if kind == storage.ROLE and str(doc["Path"]).startswith("/aws-service-role/"):
        raise UnmodifiableEntity(
            f"Cannot perform the operation on the protected role '{doc['RoleName']}' - this role"
            " is only modifiable by AWS"
        )


class EntityPolicies(IamBase):
    # -- generic implementations ---------------------------------------------------------------

    def _put_inline(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> None:
        name = request[_NAME_MEMBER[kind]]
        policy_name = request["PolicyName"]
        check_name(policy_name, "policyName")
        text = request["PolicyDocument"]
        quota = INLINE_POLICY_SIZE[kind]
        parse_identity_policy(text)  # size: AWS's quota is on the sum of the entity's inline

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, kind, name, kind)
            _guard_service_linked(kind, doc)
            inline = doc.setdefault("InlinePolicies", {})
            inline[policy_name] = text
            total = sum(len("".join(t.split())) for t in inline.values())
            if total > quota:
                who = doc[_NAME_MEMBER[kind]]
                raise LimitExceeded(
                    f"Maximum policy size of {quota} bytes exceeded for {kind} {who}"
                )
            storage.put(conn, ctx.account_id, kind, name, doc)

        self._write(write)

    def _get_inline(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> Doc:
        name = request[_NAME_MEMBER[kind]]
        policy_name = request["PolicyName"]
        doc = self._read(lambda conn: require(conn, ctx, kind, name, kind))
        text = (doc.get("InlinePolicies") or {}).get(policy_name)
        if text is None:
            raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")
        return {
            _NAME_MEMBER[kind]: doc[_NAME_MEMBER[kind]],
            "PolicyName": policy_name,
            "PolicyDocument": encode_document(text),
        }

    def _delete_inline(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> None:
        name = request[_NAME_MEMBER[kind]]
        policy_name = request["PolicyName"]

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, kind, name, kind)
            _guard_service_linked(kind, doc)
            inline = doc.get("InlinePolicies") or {}
            if policy_name not in inline:
                raise NoSuchEntity(f"The {kind} policy with name {policy_name} cannot be found.")
            del inline[policy_name]
            storage.put(conn, ctx.account_id, kind, name, doc)

        self._write(write)

    def _list_inline(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> Doc:
        name = request[_NAME_MEMBER[kind]]
        doc = self._read(lambda conn: require(conn, ctx, kind, name, kind))
        names = sorted(doc.get("InlinePolicies") or {})
        return page(names, request, lambda n: n, "PolicyNames")

    def _attach(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> None:
        name = request[_NAME_MEMBER[kind]]
        arn = request["PolicyArn"]
        check_policy_arn(arn)

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, kind, name, kind)
            _guard_service_linked(kind, doc)
            if not policy_exists(conn, ctx, arn):
                raise not_attachable(arn)
            # AWS's service-role policies are for the service-linked roles AWS creates.
            if arn.startswith(f"{catalogue.AWS_POLICY_PREFIX}aws-service-role/"):
                raise PolicyNotAttachable("Cannot attach a Service Role Policy to a Customer Role.")
            if not storage.attach(conn, ctx.account_id, kind, name, arn):
                return
            if len(storage.attached(conn, ctx.account_id, kind, name)) > MAX_ATTACHED:
                raise LimitExceeded(f"Cannot exceed quota for {_QUOTA[kind]}: {MAX_ATTACHED}")

        self._write(write)

    def _detach(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> None:
        name = request[_NAME_MEMBER[kind]]
        arn = request["PolicyArn"]
        check_policy_arn(arn)

        def write(conn: sqlite3.Connection) -> None:
            doc = require(conn, ctx, kind, name, kind)
            _guard_service_linked(kind, doc)
            if not storage.detach(conn, ctx.account_id, kind, name, arn):
                raise NoSuchEntity(f"Policy {arn} was not found.")

        self._write(write)

    def _list_attached(self, ctx: RequestContext, kind: str, request: dict[str, Any]) -> Doc:
        name = request[_NAME_MEMBER[kind]]
        prefix = request.get("PathPrefix") or "/"

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, kind, name, kind)
            found = []
            for arn in storage.attached(conn, ctx.account_id, kind, name):
                if catalogue.is_aws_policy(arn):
                    aws = catalogue.get(arn)
                    path, policy_name = (aws.path, aws.name) if aws else ("/", arn)
                else:
                    local = local_policy(conn, ctx, arn)
                    if local is None:
                        continue
                    path, policy_name = local["Path"], local["PolicyName"]
                if path.startswith(prefix):
                    found.append({"PolicyName": policy_name, "PolicyArn": arn})
            return found

        attached = self._read(read)
        return page(attached, request, lambda p: p["PolicyArn"], "AttachedPolicies")

    # -- the operations ------------------------------------------------------------------------

    def put_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._put_inline(ctx, storage.USER, request)
        return {}

    def put_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._put_inline(ctx, storage.GROUP, request)
        return {}

    def put_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._put_inline(ctx, storage.ROLE, request)
        return {}

    def get_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._get_inline(ctx, storage.USER, request)

    def get_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._get_inline(ctx, storage.GROUP, request)

    def get_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._get_inline(ctx, storage.ROLE, request)

    def delete_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._delete_inline(ctx, storage.USER, request)
        return {}

    def delete_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._delete_inline(ctx, storage.GROUP, request)
        return {}

    def delete_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._delete_inline(ctx, storage.ROLE, request)
        return {}

    def list_user_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._list_inline(ctx, storage.USER, request)

    def list_group_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._list_inline(ctx, storage.GROUP, request)

    def list_role_policies(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return self._list_inline(ctx, storage.ROLE, request)

    def attach_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._attach(ctx, storage.USER, request)
        return {}

    def attach_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._attach(ctx, storage.GROUP, request)
        return {}

    def attach_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._attach(ctx, storage.ROLE, request)
        return {}

    def detach_user_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._detach(ctx, storage.USER, request)
        return {}

    def detach_group_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._detach(ctx, storage.GROUP, request)
        return {}

    def detach_role_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._detach(ctx, storage.ROLE, request)
        return {}

    def list_attached_user_policies(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_attached(ctx, storage.USER, request)

    def list_attached_group_policies(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_attached(ctx, storage.GROUP, request)

    def list_attached_role_policies(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        return self._list_attached(ctx, storage.ROLE, request)
