"""S3: ACLs, ownership, public access block, bucket policy, CORS, browser POST uploads."""

from __future__ import annotations

from typing import Any

from overcast.gateway.asgi import Receive
from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.services.s3.common import S3Base


class Access(S3Base):
    async def _preflight(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Answer a CORS preflight (OPTIONS); None for other requests."""
        return None

    async def _post_upload(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Handle a browser POST upload (multipart/form-data); None for other requests."""
        return None

    def _cors_response_headers(self, ctx: RequestContext, response: HttpResponse) -> None:
        """Add Access-Control-* headers when the bucket's CORS rules match the request."""

    def _acl_from_request(
        self, ctx: RequestContext, request: dict[str, Any], owner: str
    ) -> dict[str, Any] | None:
        """The ACL that a create request (CreateBucket, PutObject, CopyObject,
        CreateMultipartUpload) asks for through ``ACL``/``Grant*`` members, in the stored form
        (``Bucket.config["acl"]`` / ``ObjectVersion.meta["acl"]``); None when it asks for none."""
        return None
