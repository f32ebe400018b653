"""What every S3 operation group shares: bucket lookup, the region rule, access checks, owners.

Operation groups (``buckets.py``, ``objects.py``...) subclass ``S3Base``; ``provider.py`` combines
them. Only operation methods may be public: helpers start with ``_``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any

from overcast.errors import ServiceError
from overcast.gateway.auth.errors import AuthorizationQueryParametersError
from overcast.gateway.context import RequestContext
from overcast.gateway.routing import s3_bucket_from_host
from overcast.services.base import Provider, ServiceEnv
from overcast.services.s3 import store
from overcast.services.s3.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    NoSuchBucket,
    PermanentRedirect,
)
from overcast.services.s3.models import Bucket, ObjectVersion
from overcast.services.s3.ownership import acls_enabled
from overcast.services.s3.preconditions import check_expected_owner
from overcast.state import Store

_REMOVE: Any = object()  # _write_config's "remove the configuration" marker


def canonical_user_id(account_id: str) -> str:
    """S3's 64-hex canonical user id, derived from the account so it is stable."""
    return hashlib.sha256(f"overcast-canonical-{account_id}".encode()).hexdigest()


def owner_shape(account_id: str) -> dict[str, str]:
    return {"ID": canonical_user_id(account_id), "DisplayName": f"account-{account_id}"}


class S3Base(Provider):
    service = "s3"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        store.migrate(env.store)

    @property
    def _store(self) -> Store:
        return self.env.store

    def _now(self) -> float:
        return self.env.clock.now()

    def _bucket(self, conn: sqlite3.Connection, name: str) -> Bucket:
        bucket = store.get_bucket(conn, name)
        if bucket is None:
            raise NoSuchBucket(BucketName=name)
        return bucket

    def _check_region(self, ctx: RequestContext, bucket: Bucket) -> None:
        """A request signed for another region gets S3's answer (botocore follows both).

        A path-style request reaches the regional endpoint it was sent to, which redirects (301
        PermanentRedirect). A virtual-hosted one reaches the bucket's own region through DNS,
        which cannot verify a signature scoped to another region: 400, naming the region.
        """
        identity = ctx.identity
        if identity is None or identity.region is None or identity.region == bucket.region:
            return
        error: ServiceError
        if s3_bucket_from_host(ctx.request.host) != bucket.name:
            error = PermanentRedirect(
                Bucket=bucket.name, Endpoint=f"s3.{bucket.region}.amazonaws.com"
            )
        else:
            wrong = f"the region '{identity.region}' is wrong; expecting '{bucket.region}'"
            if "X-Amz-Credential" in ctx.request.query_params:
                error = AuthorizationQueryParametersError(
                    f"Error parsing the X-Amz-Credential parameter; {wrong}", Region=bucket.region
                )
            else:
                error = AuthorizationHeaderMalformed(
                    f"The authorization header is malformed; {wrong}", Region=bucket.region
                )
        error.headers["x-amz-bucket-region"] = bucket.region
        raise error

    def _authorize(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        action: str,
        *,
        key: str | None = None,
        obj: ObjectVersion | None = None,
    ) -> None:
        """Raise AccessDenied unless the caller may perform ``action`` (e.g. "s3:GetObject").

        The bucket owner's account may do anything; anyone else needs a grant from the bucket
        policy or an ACL (evaluated by ``access.py``'s ``_grants``). Reads of an object another
        account owns also pass ``_check_object_owner`` once the object is found.
        """
        identity = ctx.identity
        anonymous = identity is None or identity.access_key is None
        if not anonymous and ctx.account_id == bucket.account_id:
            return
        if self._grants(ctx, bucket, action, key=key, obj=obj):
            return
        raise AccessDenied()

    def _grants(
        self,
        ctx: RequestContext,
        bucket: Bucket,
        action: str,
        *,
        key: str | None = None,
        obj: ObjectVersion | None = None,
    ) -> bool:
        """Whether a bucket policy or ACL lets a non-owner do ``action``; access.py overrides."""
        return False

    def _check_object_owner(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection | None,
        bucket: Bucket,
        obj: ObjectVersion,
        action: str,
    ) -> None:
        """The object context of a read of ``obj`` that ``_authorize`` let through.

        With ACLs enabled, an object another account wrote (ObjectWriter, or BucketOwnerPreferred
        without bucket-owner-full-control) answers only to its owner and to its ACL's grants: a
        bucket policy's Allow and owning the bucket give nothing (its Deny already applied).
        Costs one dict lookup when the bucket owner owns the object, the usual case. ``conn``:
        the transaction the object was read in (None outside one)."""
        owner = obj.meta.get("owner")
        if owner is None or owner == bucket.account_id or not acls_enabled(bucket):
            return
        identity = ctx.identity
        if identity is not None and identity.access_key is not None and ctx.account_id == owner:
            return
        if not self._object_acl_grants(ctx, conn, bucket, obj, action):
            raise AccessDenied()

    def _object_acl_grants(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection | None,
        bucket: Bucket,
        obj: ObjectVersion,
        action: str,
    ) -> bool:
        """Whether the object's ACL lets the caller do ``action``; access.py overrides."""
        return False

    def _resource_policy(self, ctx: RequestContext, arn: str) -> tuple[str, str | None] | None:
        """The bucket's owner and policy, evaluated with the caller's identity policies by the
        gateway's IAM authorize step (None: no such bucket)."""
        name = arn.split(":::", 1)[-1].split("/", 1)[0]
        bucket = self._store.read(lambda conn: store.get_bucket(conn, name))
        return None if bucket is None else (bucket.account_id, bucket.config.get("policy"))

    def _resource_tags(self, ctx: RequestContext, arn: str) -> dict[str, str] | None:
        """A bucket's tags for ``aws:ResourceTag/*`` (IAM's authorize step, only when a policy
        reads that key); objects answer ``s3:ExistingObjectTag/*`` instead."""
        name = arn.split(":::", 1)[-1]
        if "/" in name:
            return None
        bucket = self._store.read(lambda conn: store.get_bucket(conn, name))
        return None if bucket is None else dict(bucket.config.get("tagging") or {})

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
        """The bucket, after the region rule and the access check: the usual preamble.

        ``any_region`` skips the region rule, for buckets named inside a request rather than
        addressed by it (a copy source)."""
        bucket = self._bucket(conn, name)
        if not any_region:
            self._check_region(ctx, bucket)
        self._authorize(ctx, bucket, action, key=key)
        return bucket

    # --- bucket sub-resources (CORS, website, policy...) stored in Bucket.config ----------------

    def _config_bucket(self, ctx: RequestContext, request: dict[str, Any], action: str) -> Bucket:
        """The bucket a Get<SubResource> request names, checked like any bucket operation."""
        bucket = self._store.read(lambda conn: self._access(ctx, conn, request["Bucket"], action))
        check_expected_owner(request, bucket.account_id)
        return bucket

    def _write_config(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        action: str,
        key: str,
        value: Any = _REMOVE,
    ) -> None:
        """Store ``value`` as the bucket's ``key`` configuration, or remove it (the default)."""

        def run(conn: sqlite3.Connection) -> None:
            bucket = self._access(ctx, conn, request["Bucket"], action)
            check_expected_owner(request, bucket.account_id)
            if value is _REMOVE:
                if bucket.config.pop(key, None) is None:
                    return  # deleting what is not there succeeds, as on S3
            else:
                bucket.config[key] = value
            store.update_bucket(conn, bucket)

        self._store.write(run)


def bucket_arn(name: str, key: str | None = None) -> str:
    return f"arn:aws:s3:::{name}" if key is None else f"arn:aws:s3:::{name}/{key}"


def meta_of(params: dict[str, Any]) -> dict[str, Any]:
    """The stored ``meta`` fields that PutObject/CreateMultipartUpload/CopyObject take."""
    fields = {
        "ContentType": "content_type",
        "ContentEncoding": "content_encoding",
        "ContentDisposition": "content_disposition",
        "ContentLanguage": "content_language",
        "CacheControl": "cache_control",
        "WebsiteRedirectLocation": "website_redirect",
    }
    meta: dict[str, Any] = {
        stored: params[member] for member, stored in fields.items() if params.get(member)
    }
    if params.get("Expires") is not None:
        from overcast.protocol.timestamps import RFC822, format_timestamp

        meta["expires"] = format_timestamp(params["Expires"], RFC822)
    if params.get("Metadata"):
        meta["user"] = dict(params["Metadata"])
    return meta
