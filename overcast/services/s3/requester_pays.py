"""Requester Pays: PutBucketRequestPayment / GetBucketRequestPayment, and the rule that a
caller other than the bucket owner must acknowledge the charge with
``x-amz-request-payer: requester`` (else 403 AccessDenied, anonymous callers included).

The setting lives in ``Bucket.config["request_payment"]`` ("Requester"; absent means
BucketOwner), so the check costs nothing on buckets without it (the bucket is already read).
Requests charged to the requester answer ``x-amz-request-charged: requester``.
"""

from __future__ import annotations

from typing import Any

from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import AccessDenied, MalformedXML
from overcast.services.s3.models import Bucket

CONFIG_KEY = "request_payment"
_CHARGED = "__s3_request_charged"


def check_payer(ctx: RequestContext, bucket: Bucket) -> None:
    """For a Requester Pays bucket: refuse a non-owner that did not agree to pay."""
    if bucket.config.get(CONFIG_KEY) != "Requester":
        return
    identity = ctx.identity
    anonymous = identity is None or identity.access_key is None
    if not anonymous and ctx.account_id == bucket.account_id:
        return
    if anonymous or ctx.request.headers.get("x-amz-request-payer", "").lower() != "requester":
        raise AccessDenied()
    ctx.params[_CHARGED] = True


class RequesterPays(S3Base):
    def put_bucket_request_payment(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        payer = (request.get("RequestPaymentConfiguration") or {}).get("Payer")
        if payer not in ("Requester", "BucketOwner"):
            raise MalformedXML()
        value = "Requester" if payer == "Requester" else None
        if value is None:
            self._write_config(ctx, request, "s3:PutBucketRequestPayment", CONFIG_KEY)
        else:
            self._write_config(ctx, request, "s3:PutBucketRequestPayment", CONFIG_KEY, value)
        return {}

    def get_bucket_request_payment(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetBucketRequestPayment")
        return {"Payer": bucket.config.get(CONFIG_KEY) or "BucketOwner"}

    def _request_charged(self, ctx: RequestContext, response: HttpResponse) -> None:
        if ctx.params.get(_CHARGED) and response.status < 300:
            response.headers.set("x-amz-request-charged", "requester")
