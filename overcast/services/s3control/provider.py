"""S3 Control: the account-level Block Public Access configuration.

Stored as one document per account in the ``s3control/public_access_block`` collection, which
``overcast/services/s3/public_access.py`` reads when it decides whether something may be public.
The ``AccountId`` of a request (``x-amz-account-id`` header / host prefix) must be the caller's.
"""

from __future__ import annotations

from typing import Any

from overcast.errors import ServiceError
from overcast.gateway.context import RequestContext
from overcast.services.base import Provider
from overcast.services.s3.public_access import ACCOUNT_COLLECTION, ACCOUNT_DOC, normalize


class AccessDenied(ServiceError):
    status = 403
    message = "Access Denied"


class NoSuchPublicAccessBlockConfiguration(ServiceError):
    status = 404
    message = "The public access block configuration was not found"


class S3ControlProvider(Provider):
    service = "s3control"

    def _account(self, ctx: RequestContext, request: dict[str, Any]) -> str:
        account = request.get("AccountId") or ctx.account_id
        if account != ctx.account_id:
            raise AccessDenied()
        return account

    def put_public_access_block(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        account = self._account(ctx, request)
        config = normalize(request.get("PublicAccessBlockConfiguration"))
        self.env.store.collection(*ACCOUNT_COLLECTION).put(account, "", ACCOUNT_DOC, config)
        return {}

    def get_public_access_block(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        account = self._account(ctx, request)
        doc = self.env.store.collection(*ACCOUNT_COLLECTION).get(account, "", ACCOUNT_DOC)
        if doc is None:
            raise NoSuchPublicAccessBlockConfiguration(AccountId=account)
        return {"PublicAccessBlockConfiguration": normalize(doc)}

    def delete_public_access_block(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        account = self._account(ctx, request)
        self.env.store.collection(*ACCOUNT_COLLECTION).delete(account, "", ACCOUNT_DOC)
        return {}
