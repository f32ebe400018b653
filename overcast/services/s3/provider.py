"""S3: the operation groups, and the requests S3 answers outside its model.

Each group is a module of its own; the provider is their union. Hooks with one slot each in the
gateway (``intercept``, ``decorate_response``) dispatch to the groups explicitly here.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from overcast.gateway.asgi import Receive
from overcast.gateway.context import RequestContext
from overcast.protocol.http import HttpResponse
from overcast.services.s3.access import Access
from overcast.services.s3.access_logging import AccessLogging
from overcast.services.s3.bucket_configs import BucketConfigs
from overcast.services.s3.bucket_defaults import BucketDefaults
from overcast.services.s3.buckets import Buckets
from overcast.services.s3.encryption import Encryption
from overcast.services.s3.errors import InvalidURI
from overcast.services.s3.events_out import EventDelivery
from overcast.services.s3.lifecycle_worker import LifecycleWorker
from overcast.services.s3.listing import Listing
from overcast.services.s3.multipart import Multipart
from overcast.services.s3.object_lock import ObjectLock
from overcast.services.s3.objects import Objects
from overcast.services.s3.replication_worker import ReplicationWorker
from overcast.services.s3.requester_pays import RequesterPays
from overcast.services.s3.restore import Restore
from overcast.services.s3.restore_events import RestoreEvents
from overcast.services.s3.select_object import SelectObject
from overcast.services.s3.website import Website


class S3Provider(
    Buckets,
    Listing,
    Objects,
    Multipart,
    Restore,
    ObjectLock,
    LifecycleWorker,
    Encryption,
    RequesterPays,
    Access,
    Website,
    EventDelivery,
    RestoreEvents,
    AccessLogging,
    ReplicationWorker,
    SelectObject,
    BucketConfigs,
    BucketDefaults,
):
    """The union of S3's operation groups.

    ``BucketDefaults`` (the "not configured" answers of sub-resources S3 part 2 will implement)
    comes last so that any group implementing one of those operations takes precedence.
    """

    service = "s3"

    async def intercept(self, ctx: RequestContext, receive: Receive) -> HttpResponse | None:
        """Website endpoints, CORS preflight and browser POST uploads; None for the rest."""
        self._label_intercepted(ctx)  # for the server access log
        if "%" in ctx.request.path:
            check_uri(ctx.request.path)
        for handler in (self._website_request, self._preflight, self._post_upload):
            response = await handler(ctx, receive)
            if response is not None:
                return response
        return None

    def decorate_response(self, ctx: RequestContext, response: HttpResponse) -> None:
        self._partial_content(ctx, response)
        self._cors_response_headers(ctx, response)
        self._restore_status(ctx, response)
        self._request_charged(ctx, response)
        self._log_access(ctx, response)


def check_uri(path: str) -> None:
    """S3 refuses a path whose percent-escapes are not UTF-8 (``/b/%AE%8A-``): InvalidURI, not a
    key made of replacement characters."""
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidURI() from None
