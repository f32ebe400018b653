"""Account-wide settings and views: alias, password policy, summary, authorization details."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import catalogue, storage
from overcast.services.iam.common import (
    INLINE_POLICY_SIZE,
    MANAGED_POLICY_SIZE,
    TRUST_POLICY_SIZE,
    IamBase,
    encode_document,
    page,
    public,
)
from overcast.services.iam.entity_policies import MAX_ATTACHED
from overcast.services.iam.errors import EntityAlreadyExists, NoSuchEntity, ValidationError
from overcast.services.iam.passwords import DEFAULTS, POLICY_KEY
from overcast.services.iam.roles import role_view

Doc = dict[str, Any]
ALIAS_KEY = "alias"
_ALIAS = re.compile(r"^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$")

# AWS's default quotas, as GetAccountSummary reports them.
QUOTAS = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "RolesQuota": 1000,
    "PoliciesQuota": 1500,
    "ServerCertificatesQuota": 20,
    "InstanceProfilesQuota": 1000,
    "GroupsPerUserQuota": 10,
    "AttachedPoliciesPerUserQuota": MAX_ATTACHED,
    "AttachedPoliciesPerGroupQuota": MAX_ATTACHED,
    "AttachedPoliciesPerRoleQuota": MAX_ATTACHED,
    "PolicySizeQuota": MANAGED_POLICY_SIZE,
    "PolicyVersionsInUseQuota": 10000,
    "VersionsPerPolicyQuota": 5,
    "UserPolicySizeQuota": INLINE_POLICY_SIZE["user"],
    "GroupPolicySizeQuota": INLINE_POLICY_SIZE["group"],
    "RolePolicySizeQuota": INLINE_POLICY_SIZE["role"],
    "AccessKeysPerUserQuota": 2,
    "SigningCertificatesPerUserQuota": 2,
    "AssumeRolePolicySizeQuota": TRUST_POLICY_SIZE,
    "GlobalEndpointTokenVersion": 1,
}


def _inline_list(doc: Doc) -> list[Doc]:
    return [
        {"PolicyName": name, "PolicyDocument": encode_document(text)}
        for name, text in (doc.get("InlinePolicies") or {}).items()
    ]


def _attached(conn: sqlite3.Connection, account: str, kind: str, name: str) -> list[Doc]:
    found = []
    for arn in storage.attached(conn, account, kind, name):
        found.append({"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn})
    return found


class Account(IamBase):
    # -- alias ---------------------------------------------------------------------------------

    def create_account_alias(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        alias = request["AccountAlias"]
        if not _ALIAS.match(alias):
            raise ValidationError(
                f"1 validation error detected: Value '{alias}' at 'accountAlias' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                "^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
            )

        def write(conn: sqlite3.Connection) -> None:
            # Aliases are unique across every account (they name the sign-in URL).
            for account in storage.accounts(conn):
                doc = storage.get(conn, account, storage.ACCOUNT, ALIAS_KEY)
                if doc and doc["Alias"] == alias and account != ctx.account_id:
                    raise EntityAlreadyExists(f"The account alias {alias} already exists.")
            storage.put(conn, ctx.account_id, storage.ACCOUNT, ALIAS_KEY, {"Alias": alias})

        self._write(write)
        return {}

    def delete_account_alias(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        alias = request["AccountAlias"]

        def write(conn: sqlite3.Connection) -> None:
            doc = storage.get(conn, ctx.account_id, storage.ACCOUNT, ALIAS_KEY)
            if not doc or doc["Alias"] != alias:
                raise NoSuchEntity(f"The account alias {alias} does not exist.")
            storage.delete(conn, ctx.account_id, storage.ACCOUNT, ALIAS_KEY)

        self._write(write)
        return {}

    def list_account_aliases(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._read(lambda conn: storage.get(conn, ctx.account_id, storage.ACCOUNT, ALIAS_KEY))
        return {"AccountAliases": [doc["Alias"]] if doc else [], "IsTruncated": False}

    # -- password policy -----------------------------------------------------------------------

    def update_account_password_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        # Members left out take their defaults (AWS does not keep the previous values).
        policy = dict(DEFAULTS)
        policy.update({k: v for k, v in request.items() if v is not None})

        def write(conn: sqlite3.Connection) -> None:
            storage.put(conn, ctx.account_id, storage.ACCOUNT, POLICY_KEY, policy)

        self._write(write)
        return {}

    def get_account_password_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        policy = self._read(
            lambda conn: storage.get(conn, ctx.account_id, storage.ACCOUNT, POLICY_KEY)
        )
        if policy is None:
            raise NoSuchEntity(
                f"The Password Policy with domain name {ctx.account_id} cannot be found."
            )
        out = dict(policy)
        out["ExpirePasswords"] = bool(policy.get("MaxPasswordAge"))
        return {"PasswordPolicy": out}

    def delete_account_password_policy(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            if not storage.delete(conn, ctx.account_id, storage.ACCOUNT, POLICY_KEY):
                raise NoSuchEntity("The account policy with name PasswordPolicy cannot be found.")

        self._write(write)
        return {}

    # -- summary and authorization details -----------------------------------------------------

    def get_account_summary(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def read(conn: sqlite3.Connection) -> dict[str, int]:
            account = ctx.account_id
            devices = storage.all_of(conn, account, storage.MFA)
            policies = storage.all_of(conn, account, storage.POLICY)
            summary = {
                "Users": storage.count(conn, account, storage.USER),
                "Groups": storage.count(conn, account, storage.GROUP),
                "Roles": storage.count(conn, account, storage.ROLE),
                "Policies": len(policies),
                "PolicyVersionsInUse": sum(len(p["Versions"]) for p in policies),
                "ServerCertificates": storage.count(conn, account, storage.SERVER_CERT),
                "InstanceProfiles": storage.count(conn, account, storage.INSTANCE_PROFILE),
                "MFADevices": len(devices),
                "MFADevicesInUse": sum(1 for d in devices if d.get("UserName")),
                "Providers": storage.count(conn, account, storage.OIDC)
                + storage.count(conn, account, storage.SAML),
                "AccountMFAEnabled": 0,
                "AccountAccessKeysPresent": 0,
                "AccountSigningCertificatesPresent": 0,
            }
            sts = storage.get(conn, account, storage.ACCOUNT, "sts-preferences") or {}
            token_version = 2 if sts.get("Version") == "v2Token" else 1
            return {**summary, **QUOTAS, "GlobalEndpointTokenVersion": token_version}

        return {"SummaryMap": self._read(read)}

    def get_account_authorization_details(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        wanted = set(request.get("Filter") or [])

        def want(kind: str) -> bool:
            return not wanted or kind in wanted

        def read(conn: sqlite3.Connection) -> list[tuple[str, Doc]]:
            account = ctx.account_id
            rows: list[tuple[str, Doc]] = []
            if want("User"):
                for user in storage.all_of(conn, account, storage.USER):
                    name = user["UserName"]
                    detail = public(user)
                    detail["UserPolicyList"] = _inline_list(user)
                    detail["GroupList"] = [
                        g["GroupName"]
                        for key in storage.groups_of(conn, account, name)
                        if (g := storage.get(conn, account, storage.GROUP, key)) is not None
                    ]
                    detail["AttachedManagedPolicies"] = _attached(conn, account, storage.USER, name)
                    rows.append(("UserDetailList", detail))
            if want("Group"):
                for group in storage.all_of(conn, account, storage.GROUP):
                    detail = public(group)
                    detail["GroupPolicyList"] = _inline_list(group)
                    detail["AttachedManagedPolicies"] = _attached(
                        conn, account, storage.GROUP, group["GroupName"]
                    )
                    rows.append(("GroupDetailList", detail))
            if want("Role"):
                profiles = storage.all_of(conn, account, storage.INSTANCE_PROFILE)
                for role in storage.all_of(conn, account, storage.ROLE):
                    name = role["RoleName"]
                    detail = role_view(role)
                    detail["RolePolicyList"] = _inline_list(role)
                    detail["AttachedManagedPolicies"] = _attached(conn, account, storage.ROLE, name)
                    detail["InstanceProfileList"] = [
                        {**{k: v for k, v in p.items() if k not in ("RoleNames", "Tags")},
                         "Roles": [role_view(role, full=False)]}
                        for p in profiles
                        if any(r.lower() == name.lower() for r in p["RoleNames"])
                    ]  # fmt: skip
                    rows.append(("RoleDetailList", detail))
            counts = storage.attachment_counts(conn, account)
            if want("LocalManagedPolicy"):
                for policy in storage.all_of(conn, account, storage.POLICY):
                    rows.append(("Policies", _policy_detail(policy, counts.get(policy["Arn"], 0))))
            if want("AWSManagedPolicy"):
                for arn in sorted(a for a in counts if catalogue.is_aws_policy(a)):
                    aws = catalogue.get(arn)
                    if aws is not None:
                        rows.append(("Policies", _aws_detail(aws, counts[arn])))
            return rows

        rows = self._read(read)
        keyed = [(f"{i:08d}", kind, detail) for i, (kind, detail) in enumerate(rows)]
        result = page(keyed, request, lambda r: r[0], "Rows")
        for member in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
            result[member] = [d for _, kind, d in result["Rows"] if kind == member]
        del result["Rows"]
        return result


def _policy_detail(doc: Doc, attachments: int) -> Doc:
    detail = {
        k: doc[k]
        for k in ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "CreateDate",
                  "UpdateDate")
    }  # fmt: skip
    detail.update(AttachmentCount=attachments, PermissionsBoundaryUsageCount=0, IsAttachable=True)
    if doc.get("Description"):
        detail["Description"] = doc["Description"]
    detail["PolicyVersionList"] = [
        {"Document": encode_document(v["Document"]), "VersionId": v["VersionId"],
         "IsDefaultVersion": v["VersionId"] == doc["DefaultVersionId"],
         "CreateDate": v["CreateDate"]}
        for v in doc["Versions"]
    ]  # fmt: skip
    return detail


def _aws_detail(aws: catalogue.AwsPolicy, attachments: int) -> Doc:
    return {
        "PolicyName": aws.name, "PolicyId": aws.policy_id, "Arn": aws.arn, "Path": aws.path,
        "DefaultVersionId": aws.default_version, "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0, "IsAttachable": True, "CreateDate": aws.created,
        "UpdateDate": aws.updated,
        "PolicyVersionList": [{
            "Document": encode_document(aws.document_text), "VersionId": aws.default_version,
            "IsDefaultVersion": True, "CreateDate": aws.updated,
        }],
    }  # fmt: skip
