"""The one object that travels through the request pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from overcast.ids import partition_of
from overcast.protocol.http import HttpRequest

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

    from overcast.gateway.asgi import AsgiBodyStream
    from overcast.gateway.auth import Identity
    from overcast.protocol.models import ServiceInfo
    from overcast.services.base import ServiceEnv


@dataclass
class RequestContext:
    request: HttpRequest
    request_id: str
    env: ServiceEnv
    started: float  # perf_counter at arrival, for the access log
    service: ServiceInfo | None = None
    service_model: ServiceModel | None = None
    protocol: str | None = None
    operation: OperationModel | None = None
    operation_name: str | None = None  # as asked for, even when unknown
    identity: Identity | None = None
    region: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    error_code: str | None = None
    # Whether the request body was consumed: whole (body_read) or as a stream (body_stream).
    body_read: bool = False
    body_stream: AsgiBodyStream | None = None

    @property
    def account_id(self) -> str:
        return self.identity.account_id if self.identity else self.env.settings.default_account

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    def base_url(self, service: str | None = None) -> str:
        """This server's URL as the client should call it back (``gateway.urls``)."""
        from overcast.gateway.urls import base_url

        return base_url(self, service)
