"""The rest-json response serializer (Lambda, API Gateway, EKS...).

Body members become a JSON object, a structure payload its own object; errors carry the code in
``x-amzn-ErrorType`` and a body with the message under the key the error shape names
(``message`` or ``Message``) plus the shape's other members.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import resolve_error
from overcast.protocol.serializers.events import EventCodec, EventStreamEncoder
from overcast.protocol.serializers.json import (
    ValueEncoder,
    dumps,
    error_document,
    query_error_header,
)
from overcast.protocol.serializers.rest import RestSerializer

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

    from overcast.errors import ServiceError


class RestJsonSerializer(RestSerializer):
    protocol = "rest-json"
    content_type = "application/json"

    def __init__(self) -> None:
        super().__init__()
        self.encoder = ValueEncoder()
        self.events = EventStreamEncoder(EventCodec(self.content_type, self._event_document))

    def _event_document(self, shape: Shape, value: Any, root: str) -> bytes:
        return dumps(self.encoder.encode(shape, value))

    def encode_document(
        self, operation: OperationModel, shape: StructureShape, value: Mapping[str, Any]
    ) -> bytes:
        return dumps(self.encoder.encode(shape, value))

    def event_encoder(self, operation: OperationModel) -> EventStreamEncoder:
        return self.events

    def encode_payload(
        self, operation: OperationModel, member: str, shape: Shape, value: Any
    ) -> bytes:
        return dumps(self.encoder.encode(shape, value))

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        info = resolve_error(error, service_model)
        headers = Headers([("Content-Type", self.content_type)])
        headers.add("x-amzn-RequestId", request_id)
        headers.add("x-amzn-ErrorType", info.code)
        query_error_header(headers, info, service_model)
        body_fields = self.error_fields(info.shape, error.fields, headers)
        self.error_headers(headers, error)
        if body_fields is not error.fields:
            error = _with_fields(error, body_fields)
        body = dumps(error_document(self.encoder, info, error, "message"))
        return self.respond(operation, info.status, headers, body)


def _with_fields(error: ServiceError, fields: dict[str, Any]) -> ServiceError:
    """A shallow copy of ``error`` with other extra fields (the header-bound ones removed)."""
    clone = type(error).__new__(type(error))
    clone.__dict__.update(error.__dict__)
    clone.fields = fields
    return clone
