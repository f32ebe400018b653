"""S3: ACLs, ownership, public access block, bucket policy, CORS, browser POST uploads.

The operations of those sub-resources live here, with the access decision itself
(``_authorize``/``_grants``): an explicit Deny in the bucket policy refuses anyone, the owner's
account included; the owner's account may otherwise do anything; other callers (other accounts,
anonymous ones) need an Allow from the bucket policy or a grant from an ACL, both subject to
Block Public Access and to Object Ownership (ACLs disabled grant nothing). An object another
account owns is read only by its owner and its ACL's grantees, the bucket owner's account included
(``common.py``'s ``_check_object_owner``, ``_object_acl_grants`` here).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar

from overcast.gateway.asgi import Receive
from overcast.gateway.context import RequestContext
from overcast.iam.policy import Decision, Principal, RequestInfo, principal_context
from overcast.protocol.http import HttpResponse
from overcast.services.s3 import acl as acls
from overcast.services.s3 import bucket_policy, cors, post_upload, public_access, store
from overcast.services.s3.common import S3Base, bucket_arn, canonical_user_id
from overcast.services.s3.errors import (
    AccessControlListNotSupported,
    AccessDenied,
    AccessForbidden,
    BadRequest,
    InvalidArgument,
    InvalidBucketAclWithBlockPublicAccessError,
    InvalidBucketAclWithObjectOwnership,
    InvalidRequest,
    MalformedXML,
    MethodNotAllowed,
    MissingSecurityHeader,
    NoSuchBucket,
    NoSuchBucketPolicy,
    NoSuchCORSConfiguration,
    NoSuchKey,
    NoSuchPublicAccessBlockConfiguration,
    NoSuchVersion,
    OwnershipControlsNotFoundError,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import NULL_VERSION, Bucket, ObjectVersion
from overcast.services.s3.ownership import ENFORCED, OWNERSHIP, acls_enabled, ownership
from overcast.services.s3.requester_pays import check_payer

T = TypeVar("T")
# The connection of the transaction an access check runs in: the checks read more state (an
# object's ACL, the account's Block Public Access) and a nested Store.read would open a second
# transaction on a connection that already has one.
_CONN: ContextVar[sqlite3.Connection | None] = ContextVar("s3_access_conn", default=None)

# The bucket owner's root can always manage the policy, even one that denies it (lockout rule).
_POLICY_ACTIONS = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})
_CREATE_OPERATIONS = ("PutObject", "CopyObject", "CreateMultipartUpload")
# Object actions no ACL permission names, judged by the one they read through.
_READ_AS = {
    "s3:GetObjectAttributes": "s3:GetObject",
    "s3:GetObjectVersionAttributes": "s3:GetObjectVersion",
}


def _is_anonymous(ctx: RequestContext) -> bool:
    return ctx.identity is None or ctx.identity.access_key is None


def _principal(ctx: RequestContext) -> Principal:
    if _is_anonymous(ctx):
        return Principal()
    identity = ctx.identity
    assert identity is not None
    arn = identity.principal_arn
    aliases: tuple[str, ...] = ()
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        aliases = (f"arn:{parts[1]}:iam::{parts[4]}:role/{role}",)
    return Principal(
        account=identity.account_id,
        arn=arn,
        canonical_id=canonical_user_id(identity.account_id),
        aliases=aliases,
    )


def _is_root(ctx: RequestContext) -> bool:
    return ctx.identity is not None and ctx.identity.principal_arn.endswith(":root")


def _object_of(
    conn: sqlite3.Connection, ctx: RequestContext, bucket: Bucket, key: str, action: str
) -> ObjectVersion | None:
    """The object version a request is about, for its ACL."""
    version_id = ctx.params.get("VersionId")
    if version_id and "Version" in action:
        return store.get_version(conn, bucket.name, key, version_id)
    return store.get_latest(conn, bucket.name, key)


class Access(S3Base):
    # --- the access decision --------------------------------------------------------------

    @contextmanager
    def _access_txn(self, conn: sqlite3.Connection | None) -> Iterator[None]:
        """Run the checks inside in ``conn``'s transaction (None: each opens its own read)."""
        token = _CONN.set(conn)
        try:
            yield
        finally:
            _CONN.reset(token)

    def _access_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = _CONN.get()
        return fn(conn) if conn is not None else self._store.read(fn)

    def _access(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection,
        name: str,
        action: str,
        *,
        key: str | None = None,
        any_region: bool = False,
    ) -> Bucket:
        with self._access_txn(conn):
            return super()._access(ctx, conn, name, action, key=key, any_region=any_region)

    def _bpa(self, bucket: Bucket) -> dict[str, bool]:
        return self._access_read(lambda conn: public_access.effective(self._store, bucket, conn))

    def _authorize(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        action: str,
        *,
        key: str | None = None,
        obj: ObjectVersion | None = None,
    ) -> None:
        owner = not _is_anonymous(ctx) and ctx.account_id == bucket.account_id
        if not owner and "request_payment" in bucket.config:
            check_payer(ctx, bucket)  # Requester Pays: others must agree to pay
        decision = self._policy_decision(ctx, bucket, action, key=key, obj=obj)
        if decision is Decision.DENY and not (
            owner and action in _POLICY_ACTIONS and _is_root(ctx)
        ):
            raise AccessDenied()
        if owner:
            return
        if decision is Decision.ALLOW and not self._restricted(bucket):
            return
        if self._acl_grants(ctx, bucket, action, key=key, obj=obj):
            return
        if self._absent_but_listable(ctx, bucket, action, key):
            return  # the read goes on to answer 404 NoSuchKey, as S3 does for a lister
        raise AccessDenied()

    def _absent_but_listable(
        self, ctx: RequestContext, bucket: Bucket, action: str, key: str | None
    ) -> bool:
        """A read of a missing object by someone granted s3:ListBucket: S3 tells them 404."""
        if key is None or action not in ("s3:GetObject", "s3:GetObjectVersion"):
            return False
        obj = self._access_read(lambda c: _object_of(c, ctx, bucket, key, action))
        if obj is not None and not obj.delete_marker:
            return False
        return self._grants(ctx, bucket, "s3:ListBucket")

    def _grants(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        action: str,
        *,
        key: str | None = None,
        obj: ObjectVersion | None = None,
    ) -> bool:
        decision = self._policy_decision(ctx, bucket, action, key=key, obj=obj)
        if decision is Decision.DENY:
            return False
        if decision is Decision.ALLOW and not self._restricted(bucket):
            return True
        return self._acl_grants(ctx, bucket, action, key=key, obj=obj)

    def _policy_decision(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        action: str,
        *,
        key: str | None,
        obj: ObjectVersion | None,
    ) -> Decision:
        text = bucket.config.get("policy")
        if not text:
            return Decision.NO_MATCH
        policy = bucket_policy.cached(text)
        if policy is None:
            return Decision.NO_MATCH
        principal = _principal(ctx)
        if obj is None and key is not None and "ExistingObjectTag" in text:
            # s3:ExistingObjectTag/<key> needs the object's tags: look it up only for such policies.
            obj = self._access_read(lambda c: _object_of(c, ctx, bucket, key, action))
        context = self._condition_context(ctx, bucket, principal, obj)
        if "aws:resourcetag/" in text.lower():  # the bucket's tags, for policies that read them
            tags = bucket.config.get("tagging") or {}
            context.update({f"aws:ResourceTag/{k}": v for k, v in tags.items()})
        request = RequestInfo(
            action=action,
            resource=bucket_arn(bucket.name, key),
            principal=principal,
            context=context,
        )
        return policy.evaluate(request)

    def _restricted(self, bucket: Bucket) -> bool:
        """RestrictPublicBuckets with a public policy: the policy grants no one outside the
        owner's account (AWS service principals aside)."""
        text = bucket.config.get("policy")
        policy = bucket_policy.cached(text) if text else None
        if policy is None or not bucket_policy.is_public(policy):
            return False
        return self._bpa(bucket)["RestrictPublicBuckets"]

    def _acl_grants(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        action: str,
        *,
        key: str | None,
        obj: ObjectVersion | None,
    ) -> bool:
        if not acls_enabled(bucket):
            return False
        settings = self._bpa(bucket)
        account = None if _is_anonymous(ctx) else ctx.account_id
        ignore = settings["IgnorePublicAcls"]
        if settings["RestrictPublicBuckets"] and self._restricted(bucket):
            return False
        if action in acls.OBJECT_ACL_ACTIONS:
            if obj is None and key is not None:
                obj = self._access_read(lambda c: _object_of(c, ctx, bucket, key, action))
            if obj is None or obj.delete_marker:
                return False
            owner = obj.meta.get("owner", bucket.account_id)
            acl = obj.meta.get("acl") or acls.default_acl(owner)
            return acls.permits(acl, action, account=account, on_object=True, ignore_public=ignore)
        acl = bucket.config.get("acl") or acls.default_acl(bucket.account_id)
        return acls.permits(acl, action, account=account, on_object=False, ignore_public=ignore)

    def _object_acl_grants(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection | None,
        bucket: Bucket,
        obj: ObjectVersion,
        action: str,
    ) -> bool:
        """The object ACL's answer for an object another account owns (``_check_object_owner``).

        Reads of the object's attributes need READ, as GetObjectAttributes documents. The bucket
        owner's account is not "public": RestrictPublicBuckets does not take its grants away."""
        action = _READ_AS.get(action, action)
        with self._access_txn(conn):
            if _is_anonymous(ctx) or ctx.account_id != bucket.account_id:
                return self._acl_grants(ctx, bucket, action, key=obj.key, obj=obj)
            acl = obj.meta.get("acl") or acls.default_acl(obj.meta["owner"])
            ignore = acls.is_public(acl) and self._bpa(bucket)["IgnorePublicAcls"]
            return acls.permits(
                acl, action, account=ctx.account_id, on_object=True, ignore_public=ignore
            )

    def _condition_context(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        principal: Principal,
        obj: ObjectVersion | None,
    ) -> dict[str, Any]:
        """The condition keys that cost nothing to derive from the request."""
        request = ctx.request
        headers = request.headers
        now = self._now()
        context: dict[str, Any] = principal_context(principal)
        context.update(
            {
                "aws:SourceIp": request.client_ip,
                "aws:SecureTransport": "true" if request.scheme == "https" else "false",
                "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "aws:EpochTime": str(int(now)),
                "aws:ResourceAccount": bucket.account_id,
                "s3:ResourceAccount": bucket.account_id,
                "aws:RequestedRegion": bucket.region,
            }
        )
        if "user-agent" in headers:
            context["aws:UserAgent"] = headers["user-agent"]
        if "referer" in headers:
            context["aws:Referer"] = headers["referer"]
        for name in (
            "x-amz-acl",
            "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-aws-kms-key-id",
            "x-amz-copy-source",
            "x-amz-metadata-directive",
            "x-amz-storage-class",
            "x-amz-content-sha256",
            "x-amz-grant-read",
            "x-amz-grant-write",
            "x-amz-grant-read-acp",
            "x-amz-grant-write-acp",
            "x-amz-grant-full-control",
            "x-amz-object-lock-mode",
            "x-amz-object-lock-retain-until-date",
            "x-amz-object-lock-legal-hold",
        ):
            if name in headers:
                context[f"s3:{name}"] = headers[name]
        params = ctx.params
        for member, key in (
            ("Prefix", "s3:prefix"),
            ("Delimiter", "s3:delimiter"),
            ("MaxKeys", "s3:max-keys"),
            ("VersionId", "s3:VersionId"),
        ):
            if params.get(member) is not None:
                context[key] = str(params[member])
        method = ctx.identity.method if ctx.identity else "anonymous"
        if method.startswith("sigv4"):
            context["s3:signatureversion"] = "AWS4-HMAC-SHA256"
        elif method.startswith("sigv2"):
            context["s3:signatureversion"] = "AWS"
        if method.endswith("-header"):
            context["s3:authType"] = "REST-HEADER"
        elif method.endswith("-query"):
            context["s3:authType"] = "REST-QUERY-STRING"
        context.update(bucket_policy.request_tag_context(ctx.operation_name, params))
        if obj is not None:
            for tag, value in (obj.meta.get("tags") or {}).items():
                context[f"s3:ExistingObjectTag/{tag}"] = value
        return context

    # --- ACLs -----------------------------------------------------------------------------

    def _known_accounts(self, ctx: RequestContext, *extra: str) -> list[str]:
        settings = self.env.settings
        accounts = [settings.default_account, ctx.account_id, *extra]
        accounts += [k.account_id for k in settings.static_keys]
        return list(dict.fromkeys(accounts))

    def _acl_from_request(
        self, ctx: RequestContext, request: dict[str, Any], owner: str
    ) -> dict[str, Any] | None:
        """The ACL that a create request (CreateBucket, PutObject, CopyObject,
        CreateMultipartUpload) asks for through ``ACL``/``Grant*`` members, in the stored form
        (``Bucket.config["acl"]`` / ``ObjectVersion.meta["acl"]``); None when it asks for none.

        Raises what S3 raises when the bucket cannot take that ACL: ACLs disabled by Object
        Ownership, or a public ACL while BlockPublicAcls is on."""
        if ctx.operation_name == "CreateBucket":
            return self._create_bucket_acl(ctx, request, owner)
        if not request.get("ACL") and not any(request.get(m) for m in acls.GRANT_MEMBERS):
            return None  # most writes ask for no ACL: spare them the bucket read
        name = request.get("Bucket", "")
        bucket = self._access_read(lambda c: store.get_bucket(c, name))
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        acl = acls.from_request(
            request,
            owner,
            bucket_owner=bucket.account_id,
            known=self._known_accounts(ctx, owner, bucket.account_id),
        )
        if acl is None:
            return None
        if not acls_enabled(bucket):
            # A bucket with ACLs disabled still takes the bucket owner's full control, which is
            # what cross-account writers send (bucket-owner-full-control) and what it has anyway.
            if request.get("ACL") in ("private", "bucket-owner-full-control"):
                return None
            if acls.owner_full_control_only(acl, bucket.account_id):
                return None
            raise AccessControlListNotSupported()
        if acls.is_public(acl) and self._bpa(bucket)["BlockPublicAcls"]:
            raise AccessDenied()
        return acl

    def _create_bucket_acl(
        self, ctx: RequestContext, request: dict[str, Any], owner: str
    ) -> dict[str, Any] | None:
        acl = acls.from_request(
            request, owner, bucket_owner=None, known=self._known_accounts(ctx, owner)
        )
        if acl is None:
            return None
        if request.get("ObjectOwnership", ENFORCED) == ENFORCED:
            if acls.owner_full_control_only(acl, owner):
                return None
            raise InvalidBucketAclWithObjectOwnership()
        # A new bucket starts with every Block Public Access setting on.
        if acls.is_public(acl):
            raise InvalidBucketAclWithBlockPublicAccessError()
        return acl

    def _put_acl_from_request(
        self, ctx: RequestContext, request: dict[str, Any], bucket: Bucket, owner: str
    ) -> dict[str, Any]:
        """The ACL of a PutBucketAcl/PutObjectAcl request (canned, headers or body)."""
        known = self._known_accounts(ctx, owner, bucket.account_id)
        has_headers = bool(request.get("ACL")) or any(request.get(m) for m in acls.GRANT_MEMBERS)
        body = request.get("AccessControlPolicy")
        if has_headers and body:
            raise InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed")
        if body:
            acl, owner_id = acls.from_body(body, owner, known)
            if owner_id != canonical_user_id(owner):
                raise AccessDenied()
            return acl
        bucket_owner = bucket.account_id if "Key" in request else None
        requested = acls.from_request(request, owner, bucket_owner=bucket_owner, known=known)
        if requested is None:
            raise MissingSecurityHeader(MissingHeaderName="x-amz-acl")
        return requested

    def _check_new_acl(self, bucket: Bucket, acl: dict[str, Any]) -> None:
        if acls.is_public(acl) and self._bpa(bucket)["BlockPublicAcls"]:
            raise AccessDenied()

    def put_bucket_acl(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], "s3:PutBucketAcl")
            if not acls_enabled(bucket):
                raise AccessControlListNotSupported()
            acl = self._put_acl_from_request(ctx, request, bucket, bucket.account_id)
            self._check_new_acl(bucket, acl)
            bucket.config["acl"] = acl
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_bucket_acl(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bucket = self._store.read(
            lambda conn: self._access(ctx, conn, request["Bucket"], "s3:GetBucketAcl")
        )
        acl = bucket.config.get("acl") if acls_enabled(bucket) else None
        return acls.to_output(acl, bucket.account_id)

    def _object_for_acl(
        self, conn: sqlite3.Connection, bucket: Bucket, key: str, version_id: str | None
    ) -> ObjectVersion:
        if version_id:
            obj = store.get_version(conn, bucket.name, key, version_id)
            if obj is None:
                if version_id != NULL_VERSION and len(version_id) != 32:
                    raise InvalidArgument(
                        "Invalid version id specified",
                        ArgumentName="versionId",
                        ArgumentValue=version_id,
                    )
                raise NoSuchVersion(Key=key, VersionId=version_id)
            if obj.delete_marker:
                error = MethodNotAllowed(Method="GET", ResourceType="DeleteMarker")
                error.headers["x-amz-delete-marker"] = "true"
                raise error
            return obj
        obj = store.get_latest(conn, bucket.name, key)
        if obj is None or obj.delete_marker:
            raise NoSuchKey(Key=key)
        return obj

    def put_object_acl(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> None:
            bucket = self._bucket(conn, request["Bucket"])
            self._check_region(ctx, bucket)
            key = request["Key"]
            obj = self._object_for_acl(conn, bucket, key, request.get("VersionId"))
            action = "s3:PutObjectVersionAcl" if request.get("VersionId") else "s3:PutObjectAcl"
            with self._access_txn(conn):
                self._authorize(ctx, bucket, action, key=key, obj=obj)
            self._check_object_owner(ctx, conn, bucket, obj, action)
            if not acls_enabled(bucket):
                raise AccessControlListNotSupported()
            owner = obj.meta.get("owner", bucket.account_id)
            acl = self._put_acl_from_request(ctx, request, bucket, owner)
            self._check_new_acl(bucket, acl)
            obj.meta["acl"] = acl
            store.update_object_meta(conn, obj)
            object_event(ctx, conn, self.env, bucket, key, "ObjectAcl:Put", obj)

        self._store.write(run)
        return {}

    def get_object_acl(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            bucket = self._bucket(conn, request["Bucket"])
            self._check_region(ctx, bucket)
            key = request["Key"]
            obj = self._object_for_acl(conn, bucket, key, request.get("VersionId"))
            action = "s3:GetObjectVersionAcl" if request.get("VersionId") else "s3:GetObjectAcl"
            with self._access_txn(conn):
                self._authorize(ctx, bucket, action, key=key, obj=obj)
            self._check_object_owner(ctx, conn, bucket, obj, action)
            if not acls_enabled(bucket):
                return acls.to_output(None, bucket.account_id)
            owner = obj.meta.get("owner", bucket.account_id)
            return acls.to_output(obj.meta.get("acl"), owner)

        return self._store.read(run)

    # --- Object Ownership ------------------------------------------------------------------

    def put_bucket_ownership_controls(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        rules = (request.get("OwnershipControls") or {}).get("Rules") or []
        if len(rules) != 1 or rules[0].get("ObjectOwnership") not in OWNERSHIP:
            raise MalformedXML()
        value = rules[0]["ObjectOwnership"]

        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], "s3:PutBucketOwnershipControls")
            # ACLs that grant others must be removed before ACLs can be disabled.
            current = bucket.config.get("acl") if acls_enabled(bucket) else None
            if value == ENFORCED and not acls.owner_full_control_only(current, bucket.account_id):
                raise InvalidBucketAclWithObjectOwnership()
            bucket.config["ownership"] = value
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_bucket_ownership_controls(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._store.read(
            lambda conn: self._access(ctx, conn, request["Bucket"], "s3:GetBucketOwnershipControls")
        )
        if "ownership" in bucket.config and bucket.config["ownership"] is None:
            raise OwnershipControlsNotFoundError(BucketName=bucket.name)
        return {"OwnershipControls": {"Rules": [{"ObjectOwnership": ownership(bucket)}]}}

    def delete_bucket_ownership_controls(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], "s3:PutBucketOwnershipControls")
            bucket.config["ownership"] = None
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    # --- Block Public Access (bucket level) -------------------------------------------------

    def put_public_access_block(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        config = request.get("PublicAccessBlockConfiguration")
        if config is None:
            raise MalformedXML()

        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], "s3:PutBucketPublicAccessBlock")
            bucket.config[public_access.KEY] = public_access.normalize(config)
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_public_access_block(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._store.read(
            lambda conn: self._access(ctx, conn, request["Bucket"], "s3:GetBucketPublicAccessBlock")
        )
        setting = public_access.bucket_setting(bucket)
        if setting is None:
            raise NoSuchPublicAccessBlockConfiguration(BucketName=bucket.name)
        return {"PublicAccessBlockConfiguration": setting}

    def delete_public_access_block(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], "s3:PutBucketPublicAccessBlock")
            bucket.config[public_access.KEY] = None
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    # --- bucket policy ----------------------------------------------------------------------

    def _policy_bucket(
        self, ctx: RequestContext, conn: sqlite3.Connection, name: str, action: str
    ) -> Bucket:
        """Only the owner's account manages a bucket policy: others get 405 when a policy lets
        them, as S3 answers, else AccessDenied."""
        bucket = self._bucket(conn, name)
        self._check_region(ctx, bucket)
        with self._access_txn(conn):
            self._authorize(ctx, bucket, action)
        if _is_anonymous(ctx) or ctx.account_id != bucket.account_id:
            raise MethodNotAllowed(Method=ctx.request.method, ResourceType="BUCKETPOLICY")
        return bucket

    def put_bucket_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        text = request.get("Policy") or ""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")

        def run(conn: sqlite3.Connection) -> None:
            bucket = self._policy_bucket(ctx, conn, request["Bucket"], "s3:PutBucketPolicy")
            policy = bucket_policy.parse(text, bucket.name)
            if bucket_policy.is_public(policy) and self._bpa(bucket)["BlockPublicPolicy"]:
                who = ctx.identity.principal_arn if ctx.identity else "anonymous"
                resource = bucket_arn(bucket.name)
                raise AccessDenied(
                    f"User: {who} is not authorized to perform: s3:PutBucketPolicy on resource: "
                    f'"{resource}" because public policies are blocked by the BlockPublicPolicy '
                    "block public access setting."
                )
            bucket.config["policy"] = text
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_bucket_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bucket = self._store.read(
            lambda conn: self._policy_bucket(ctx, conn, request["Bucket"], "s3:GetBucketPolicy")
        )
        text = bucket.config.get("policy")
        if not text:
            raise NoSuchBucketPolicy(BucketName=bucket.name)
        return {"Policy": text}

    def delete_bucket_policy(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> None:
            bucket = self._policy_bucket(ctx, conn, request["Bucket"], "s3:DeleteBucketPolicy")
            bucket.config.pop("policy", None)
            store.update_bucket(conn, bucket)

        self._store.write(run)
        return {}

    def get_bucket_policy_status(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._store.read(
            lambda conn: self._access(ctx, conn, request["Bucket"], "s3:GetBucketPolicyStatus")
        )
        text = bucket.config.get("policy")
        policy = bucket_policy.cached(text) if text else None
        if policy is None:
            raise NoSuchBucketPolicy(BucketName=bucket.name)
        return {"PolicyStatus": {"IsPublic": bucket_policy.is_public(policy)}}

    # --- CORS -------------------------------------------------------------------------------

    def put_bucket_cors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        rules = cors.validate(request.get("CORSConfiguration"))
        self._write_config(ctx, request, "s3:PutBucketCORS", "cors", rules)
        return {}

    def get_bucket_cors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetBucketCORS")
        rules = bucket.config.get("cors")
        if not rules:
            raise NoSuchCORSConfiguration(BucketName=bucket.name)
        return {"CORSRules": rules}

    def delete_bucket_cors(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._write_config(ctx, request, "s3:PutBucketCORS", "cors")
        return {}

    async def _preflight(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Answer a CORS preflight (OPTIONS); None for other requests."""
        request = ctx.request
        if request.method != "OPTIONS":
            return None
        name, _, key = request.decoded_path.lstrip("/").partition("/")
        if not name:
            raise BadRequest("Insufficient information. Origin request header needed.")
        origin = request.headers.get("origin")
        if not origin:
            raise BadRequest("Insufficient information. Origin request header needed.")
        method = request.headers.get("access-control-request-method")
        if not method:
            raise BadRequest(f"Invalid Access-Control-Request-Method: {method}")
        bucket = self._store.read(lambda c: store.get_bucket(c, name))
        resource_type = "OBJECT" if key else "BUCKET"
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        rules = bucket.config.get("cors")
        if not rules:
            raise AccessForbidden(
                "CORSResponse: CORS is not enabled for this bucket.",
                Method=method,
                ResourceType=resource_type,
            )
        wanted = cors.requested_headers(request.headers.get("access-control-request-headers"))
        rule = cors.match(rules, origin, method, wanted)
        if rule is None:
            raise AccessForbidden(
                "CORSResponse: This CORS request is not allowed. This is usually because the "
                "evalution of Origin, request method / Access-Control-Request-Method or "
                "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
                Method=method,
                ResourceType=resource_type,
            )
        headers = cors.response_headers(rule, origin, preflight=True, request_headers=wanted)
        headers.set("x-amz-request-id", ctx.request_id)
        headers.set("Content-Length", "0")
        return HttpResponse(status=200, headers=headers, body=b"")

    def _cors_response_headers(self, ctx: RequestContext, response: HttpResponse) -> None:
        """Add Access-Control-* headers when the bucket's CORS rules match the request."""
        request = ctx.request
        origin = request.headers.get("origin")
        if not origin or request.method == "OPTIONS":
            return
        name = request.decoded_path.lstrip("/").partition("/")[0]
        if not name:
            return
        try:
            bucket = self._store.read(lambda c: store.get_bucket(c, name))
        except Exception:  # a response is never failed by its CORS decoration
            return
        rules = bucket.config.get("cors") if bucket is not None else None
        if not rules:
            return
        rule = cors.match(rules, origin, request.method)
        if rule is None:
            return
        for header, value in cors.response_headers(rule, origin, preflight=False).items():
            response.headers.set(header, value)

    # --- browser POST uploads --------------------------------------------------------------

    async def _post_upload(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Handle a browser POST upload (multipart/form-data); None for other requests."""
        request = ctx.request
        if request.method != "POST":
            return None
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return None
        name, _, key = request.decoded_path.lstrip("/").partition("/")
        if not name or key:
            return None
        return await post_upload.handle(self, ctx, name, receive)
