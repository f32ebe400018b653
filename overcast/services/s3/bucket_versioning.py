"""S3 bucket versioning state: Put/GetBucketVersioning.

A bucket starts unversioned (``Bucket.versioning == ""``), and once enabled only moves between
Enabled and Suspended. MFA Delete is kept in ``Bucket.config["mfa_delete"]`` ("Enabled" or
"Disabled") once it has been set; changing it takes the ``x-amz-mfa`` header, as in S3.
"""

from __future__ import annotations

from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.s3 import store
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import (
    AccessDenied,
    InvalidBucketState,
    InvalidRequest,
    MalformedXML,
    S3Error,
)
from overcast.services.s3.models import Bucket
from overcast.services.s3.preconditions import check_expected_owner

_STATUSES = ("Enabled", "Suspended")
_MFA_STATUSES = ("Enabled", "Disabled")


class IllegalVersioningConfigurationException(S3Error):
    # Here rather than in errors.py: only PutBucketVersioning raises it.
    message = "The Versioning element must be specified"


def _check_mfa_header(mfa: str | None) -> None:
    """``x-amz-mfa`` is "<device serial> <code>"; S3 refuses requests that need it without it."""
    if mfa is None:
        raise AccessDenied("Mfa Authentication must be used for this request")
    parts = mfa.split(" ")
    if len(parts) != 2 or not all(parts):
        raise InvalidRequest("Invalid MFA header")


def check_mfa_delete(bucket: Bucket, mfa: str | None, *, deletes_versions: bool) -> None:
    """With MFA Delete on, permanently deleting versions (not adding a delete marker) takes
    ``x-amz-mfa``; a malformed token fails the request whatever it deletes."""
    if mfa is not None:
        _check_mfa_header(mfa)
    elif deletes_versions and bucket.config.get("mfa_delete") == "Enabled":
        _check_mfa_header(None)


class BucketVersioning(S3Base):
    def put_bucket_versioning(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]
        config = request.get("VersioningConfiguration") or {}
        status = config.get("Status")
        mfa_delete = config.get("MFADelete")

        def put(conn: Any) -> None:
            bucket = self._access(ctx, conn, name, "s3:PutBucketVersioning")
            check_expected_owner(request, bucket.account_id)
            # Checked once the bucket is known: a missing bucket answers NoSuchBucket first.
            if not status:  # absent or empty
                raise IllegalVersioningConfigurationException()
            if status not in _STATUSES:
                raise MalformedXML()
            if mfa_delete is not None and mfa_delete not in _MFA_STATUSES:
                raise MalformedXML()
            current_mfa = bucket.config.get("mfa_delete", "Disabled")
            # Turning MFA Delete on or off, or changing the versioning state while it is on,
            # takes an MFA token.
            if (mfa_delete is not None and mfa_delete != current_mfa) or (
                current_mfa == "Enabled" and status != bucket.versioning
            ):
                _check_mfa_header(request.get("MFA"))
            if status == "Suspended" and bucket.object_lock:
                raise InvalidBucketState(
                    "An Object Lock configuration is present on this bucket, so the versioning "
                    "state cannot be changed."
                )
            if status == "Suspended" and bucket.config.get("replication"):
                raise InvalidBucketState(
                    "A replication configuration is present on this bucket, so you cannot change "
                    "the versioning state. To change the versioning state, first delete the "
                    "replication configuration."
                )
            bucket.versioning = status
            if mfa_delete is not None:
                bucket.config["mfa_delete"] = mfa_delete
            store.update_bucket(conn, bucket)

        self._store.write(put)
        return {}

    def get_bucket_versioning(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Bucket"]

        def get(conn: Any) -> dict[str, Any]:
            bucket = self._access(ctx, conn, name, "s3:GetBucketVersioning")
            check_expected_owner(request, bucket.account_id)
            out: dict[str, Any] = {}
            if bucket.versioning:
                out["Status"] = bucket.versioning
            if "mfa_delete" in bucket.config:
                out["MFADelete"] = bucket.config["mfa_delete"]
            return out

        return self._store.read(get)
