"""S3: static website hosting."""

from __future__ import annotations

from overcast.gateway.asgi import Receive
from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.services.s3.common import S3Base


class Website(S3Base):
    async def _website_request(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Serve a request to a website endpoint host; None when the host is not one."""
        return None
