"""The EC2 query response serializer.

EC2 answers ``<OpResponse xmlns=ns><requestId>id</requestId>members</OpResponse>`` (no result
wrapper, lists as ``<item>`` elements from the model's locationNames) and errors as
``<Response><Errors><Error><Code><Message></Error></Errors><RequestID></RequestID></Response>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from overcast.protocol.dialects import dialect_for
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import BaseResponseSerializer, resolve_error
from overcast.protocol.serializers.query import XmlErrorFields, xmlns_attr
from overcast.protocol.serializers.xml import escape

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

    from overcast.errors import ServiceError


class Ec2Serializer(BaseResponseSerializer, XmlErrorFields):
    protocol = "ec2"
    content_type = "text/xml;charset=UTF-8"

    def __init__(self) -> None:
        XmlErrorFields.__init__(self)

    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse:
        service_model = operation.service_model
        name = operation.name
        out = [
            f"<{name}Response{xmlns_attr(service_model)}>"
            f"<requestId>{escape(request_id)}</requestId>"
        ]
        shape = operation.output_shape
        if shape is not None:
            self.writer(dialect_for(service_model)).children(shape)(result, out)
        out.append(f"</{name}Response>")
        headers = Headers([("Content-Type", self.content_type)])
        return self.finish(200, headers, "".join(out).encode("utf-8"))

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        info = resolve_error(error, service_model)
        out = [f"<Response><Errors><Error><Code>{escape(info.query_code)}</Code>"]
        if error.error_message:
            out.append(f"<Message>{escape(error.error_message)}</Message>")
        writer = self.writer(dialect_for(service_model))
        self.write_fields(writer, info.shape, error.fields, out)
        out.append(f"</Error></Errors><RequestID>{escape(request_id)}</RequestID></Response>")
        headers = Headers([("Content-Type", self.content_type)])
        self.error_headers(headers, error)
        return self.finish(info.status, headers, "".join(out).encode("utf-8"))
