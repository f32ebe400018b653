"""Smaller account features: STS token preferences, service-last-accessed reports, and which
policies grant access to a service."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.iam import Policy
from overcast.services.iam import storage
from overcast.services.iam.common import IamBase
from overcast.services.iam.directory import policy_document
from overcast.services.iam.errors import InvalidInput, NoSuchEntity

Doc = dict[str, Any]
STS_PREFERENCES = "sts-preferences"
JOBS = "last-accessed-jobs"


def _entity(conn: sqlite3.Connection, arn: str) -> tuple[str, str, str, Doc]:
    """``(account, kind, name, doc)`` of a user, group, role or managed policy ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        raise InvalidInput(f"Invalid ARN: {arn}")
    account, resource = parts[4], parts[5]
    kind = resource.split("/", 1)[0]
    name = resource.rsplit("/", 1)[-1]
    if kind not in (storage.USER, storage.GROUP, storage.ROLE, storage.POLICY):
        raise InvalidInput(f"Invalid ARN: {arn}")
    doc = storage.get(conn, account, kind, name)
    if doc is None or doc["Arn"] != arn:
        raise NoSuchEntity(f"The entity {arn} cannot be found.")
    return account, kind, name, doc


def _namespaces(text: str) -> set[str]:
    """Service prefixes an identity policy's Allow statements name (wildcard actions: "*")."""
    found: set[str] = set()
    for statement in Policy.parse(text, resource_policy=False).statements:
        if statement.effect != "Allow":
            continue
        for action in statement.actions:
            found.add("*" if action == "*" else action.split(":", 1)[0].lower())
    return found


def _granting(conn: sqlite3.Connection, account: str, kind: str, name: str, doc: Doc) -> list[Doc]:
    """Every policy of the entity (inline and managed, and a user's groups') with its text."""
    found: list[Doc] = []
    owners = [(kind, name, doc)]
    if kind == storage.USER:
        for key in storage.groups_of(conn, account, name):
            group = storage.get(conn, account, storage.GROUP, key)
            if group is not None:
                owners.append((storage.GROUP, group["GroupName"], group))
    for owner_kind, owner_name, owner in owners:
        for policy_name, text in (owner.get("InlinePolicies") or {}).items():
            entry = {"PolicyName": policy_name, "PolicyType": "INLINE", "Text": text}
            if owner_kind != kind:
                entry.update(EntityType=owner_kind.upper(), EntityName=owner_name)
            found.append(entry)
        for arn in storage.attached(conn, account, owner_kind, owner_name):
            text = policy_document(conn, account, arn)
            if text is not None:
                entry = {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyType": "MANAGED",
                         "PolicyArn": arn, "Text": text}  # fmt: skip
                if owner_kind != kind:
                    entry.update(EntityType=owner_kind.upper(), EntityName=owner_name)
                found.append(entry)
    return found


class Misc(IamBase):
    def set_security_token_service_preferences(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        version = request["GlobalEndpointTokenVersion"]
        if version not in ("v1Token", "v2Token"):
            raise InvalidInput(f"Invalid GlobalEndpointTokenVersion: {version}")
        self._write(lambda conn: storage.put(
            conn, ctx.account_id, storage.ACCOUNT, STS_PREFERENCES, {"Version": version}
        ))  # fmt: skip
        return {}

    def list_policies_granting_service_access(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["Arn"]
        wanted = [n.lower() for n in request["ServiceNamespaces"]]

        def read(conn: sqlite3.Connection) -> list[Doc]:
            account, kind, name, doc = _entity(conn, arn)
            if kind == storage.POLICY:
                raise InvalidInput(f"Invalid ARN: {arn}")
            return _granting(conn, account, kind, name, doc)

        policies = self._read(read)
        out = []
        for namespace in wanted:
            granting = [
                {k: v for k, v in p.items() if k != "Text"}
                for p in policies
                if namespace in _namespaces(p["Text"]) or "*" in _namespaces(p["Text"])
            ]
            out.append({"ServiceNamespace": namespace, "Policies": granting})
        return {"PoliciesGrantingServiceAccess": out, "IsTruncated": False}

    # -- service last accessed: reports without access data ------------------------------------

    def generate_service_last_accessed_details(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["Arn"]
        now = self._now()

        def write(conn: sqlite3.Connection) -> str:
            account, kind, name, doc = _entity(conn, arn)
            texts = (
                [policy_document(conn, account, arn) or ""]
                if kind == storage.POLICY
                else [p["Text"] for p in _granting(conn, account, kind, name, doc)]
            )
            namespaces = sorted({n for t in texts if t for n in _namespaces(t)} - {"*"})
            job_id = str(uuid.uuid4())
            jobs = storage.get(conn, ctx.account_id, storage.ACCOUNT, JOBS) or {}
            granularity = request.get("Granularity") or "SERVICE_LEVEL"
            jobs[job_id] = {"Created": now, "Namespaces": namespaces, "Granularity": granularity}
            storage.put(conn, ctx.account_id, storage.ACCOUNT, JOBS, jobs)
            return job_id

        return {"JobId": self._write(write)}

    def _job(self, ctx: RequestContext, job_id: str) -> Doc:
        jobs = self._read(lambda conn: storage.get(conn, ctx.account_id, storage.ACCOUNT, JOBS))
        if not jobs or job_id not in jobs:
            raise NoSuchEntity(f"The job with id {job_id} cannot be found.")
        return dict(jobs[job_id])

    def get_service_last_accessed_details(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        job = self._job(ctx, request["JobId"])
        services = [
            {"ServiceName": n, "ServiceNamespace": n, "TotalAuthenticatedEntities": 0}
            for n in job["Namespaces"]
        ]
        return {
            "JobStatus": "COMPLETED", "JobType": job["Granularity"],
            "JobCreationDate": job["Created"], "JobCompletionDate": job["Created"],
            "ServicesLastAccessed": services, "IsTruncated": False,
        }  # fmt: skip

    def get_service_last_accessed_details_with_entities(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        job = self._job(ctx, request["JobId"])
        return {
            "JobStatus": "COMPLETED", "JobCreationDate": job["Created"],
            "JobCompletionDate": job["Created"], "EntityDetailsList": [], "IsTruncated": False,
        }  # fmt: skip
