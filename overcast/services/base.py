"""What every service provider is given: the shared state, clock, event bus and settings.

Providers are plain classes whose methods are named after the operations in snake_case
(``send_message``) and take ``(ctx, request)``: the ``RequestContext`` (account, region, identity)
and the input dict. They return the output dict or raise a ``ServiceError``. Methods may be
``async def`` when they wait (long polling) or stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from overcast.clock import Clock
    from overcast.events import EventBus
    from overcast.gateway.auth import CredentialStore
    from overcast.services.registry import ServiceRegistry
    from overcast.settings import Settings
    from overcast.state import Store


@dataclass
class ServiceEnv:
    settings: Settings
    store: Store
    clock: Clock
    events: EventBus
    registry: ServiceRegistry
    # Access keys whose signatures are verified (``--credentials`` now, IAM's keys later).
    credentials: CredentialStore


class Provider:
    """Base of service providers: holds the environment; subclasses add operation methods."""

    #: botocore's service name this provider implements ("sts", "cloudwatch"...).
    service: str = ""

    def __init__(self, env: ServiceEnv) -> None:
        self.env = env

    def reset(self) -> None:
        """Drop in-memory caches after the store was wiped (``/_overcast/reset``)."""

    # Optional hooks the gateway calls when a provider defines them:
    #
    #   async def intercept(self, ctx, receive) -> HttpResponse | None
    #       before operation matching, for requests outside the model (S3's CORS preflight,
    #       browser POST uploads, website endpoints); None lets the request go on.
    #   def decorate_response(self, ctx, response) -> None
    #       on every response of the service, errors included (S3's CORS headers).
