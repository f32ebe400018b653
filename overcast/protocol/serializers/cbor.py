"""The Smithy RPC v2 CBOR response serializer (CloudWatch, GameLift, Snowball...).

The output structure is one CBOR map; timestamps are tag 1 epoch seconds, blobs byte strings,
floats real floats (NaN and the infinities included). Every answer carries
``smithy-protocol: rpc-v2-cbor``. Event-stream outputs are an ``initial-response`` event then
the events, their documents in CBOR (``events.py``). Errors are a map with ``__type`` and
``message``; an awsQueryCompatible service adds ``x-amzn-query-error`` as the JSON protocol does.
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

import cbor2

from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import (
    BaseResponseSerializer,
    as_bytes,
    resolve_error,
    to_float,
)
from overcast.protocol.serializers.events import EventCodec, EventStreamEncoder
from overcast.protocol.serializers.json import (
    Convert,
    ValueEncoder,
    error_document,
    event_stream_response,
    query_error_header,
)
from overcast.protocol.timestamps import to_datetime

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape

    from overcast.errors import ServiceError


class CborValueEncoder(ValueEncoder):
    """Values as cbor2 encodes them: datetimes (tag 1), bytes, floats."""

    def timestamp(self, shape: Shape) -> Convert:
        return to_datetime

    def blob(self, shape: Shape) -> Convert | None:
        return as_bytes

    def floating(self, shape: Shape) -> Convert | None:
        return to_float


def cbor_dumps(value: Any) -> bytes:
    return cbor2.dumps(value, datetime_as_timestamp=True, timezone=UTC)


class CborSerializer(BaseResponseSerializer):
    protocol = "smithy-rpc-v2-cbor"
    content_type = "application/cbor"

    def __init__(self) -> None:
        self.encoder = CborValueEncoder()
        self.events = EventStreamEncoder(EventCodec(self.content_type, self._event_document))

    def _event_document(self, shape: Shape, value: Any, root: str) -> bytes:
        return cbor_dumps(self.encoder.encode(shape, value))

    def _headers(self, request_id: str) -> Headers:
        return Headers(
            [
                ("Content-Type", self.content_type),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("x-amzn-RequestId", request_id),
            ]
        )

    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse:
        shape = operation.output_shape
        if shape is not None and operation.has_event_stream_output:
            response = event_stream_response(self.events, shape, result, request_id)
            response.headers.add("smithy-protocol", "rpc-v2-cbor")
            return response
        body = b"" if shape is None else cbor_dumps(self.encoder.encode(shape, result))
        return self.finish(200, self._headers(request_id), body)

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        info = resolve_error(error, service_model)
        doc = {"__type": info.code, **error_document(self.encoder, info, error, "message")}
        headers = self._headers(request_id)
        query_error_header(headers, info, service_model)
        self.error_headers(headers, error)
        return self.finish(info.status, headers, cbor_dumps(doc))
