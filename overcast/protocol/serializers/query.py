"""The awsQuery response serializer (STS, IAM, SNS, CloudFormation... and SQS's old protocol).

A response is ``<OpResponse xmlns=ns><OpResult>members</OpResult><ResponseMetadata><RequestId>
</RequestId></ResponseMetadata></OpResponse>``, the result element named by the output shape's
``resultWrapper``. An error is ``<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>
<Message>...</Error><RequestId></ErrorResponse>`` with the query code (the error shape's
``error.code`` trait when modeled).

The same serializer answers query requests to awsQueryCompatible JSON services (SQS): their
output shapes have no ``resultWrapper``, so the shape's name wraps the result, and the XML names
and namespace their old query model had come from the service's dialect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from overcast.protocol.dialects import ServiceDialect, dialect_for
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import BaseResponseSerializer, resolve_error
from overcast.protocol.serializers.xml import XmlWriter, escape, plain_elements

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, StructureShape

    from overcast.errors import ServiceError


def xmlns_attr(service_model: ServiceModel) -> str:
    """The ``xmlns="..."`` of a query service's answers ('' when the model gives no hint)."""
    meta = service_model.metadata
    ns = meta.get("xmlNamespace") or dialect_for(service_model).query_namespace
    if not ns and meta.get("endpointPrefix"):
        ns = f"https://{meta['endpointPrefix']}.amazonaws.com/doc/{meta.get('apiVersion')}/"
    return f' xmlns="{escape(ns)}"' if ns else ""


class XmlErrorFields:
    """Writes an error's extra fields as the members of its error shape."""

    def __init__(self) -> None:
        self._writers: dict[int, XmlWriter] = {}

    def writer(self, dialect: ServiceDialect) -> XmlWriter:
        writer = self._writers.get(id(dialect))
        if writer is None:
            writer = self._writers[id(dialect)] = XmlWriter(names=dialect.xml_names)
        return writer

    def write_fields(
        self,
        writer: XmlWriter,
        shape: StructureShape | None,
        fields: dict[str, Any],
        out: list[str],
    ) -> None:
        # The message is written by the caller as <Message>; never twice.
        fields = {k: v for k, v in fields.items() if k.lower() != "message"}
        if not fields:
            return
        if shape is None:
            plain_elements(fields, out)
            return
        writer.children(shape)(fields, out)
        plain_elements({k: v for k, v in fields.items() if k not in shape.members}, out)


class QuerySerializer(BaseResponseSerializer, XmlErrorFields):
    protocol = "query"
    content_type = "text/xml"

    def __init__(self) -> None:
        XmlErrorFields.__init__(self)

    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse:
        service_model = operation.service_model
        writer = self.writer(dialect_for(service_model))
        name = operation.name
        out = [f"<{name}Response{xmlns_attr(service_model)}>"]
        shape = operation.output_shape
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper")
            if wrapper is None and service_model.protocol != "query":
                wrapper = shape.name  # an awsQueryCompatible JSON model: no resultWrapper
            if wrapper:
                out.append(f"<{wrapper}>")
                writer.children(shape)(result, out)
                out.append(f"</{wrapper}>")
            else:
                writer.children(shape)(result, out)
        out.append(
            f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
            f"</{name}Response>"
        )
        headers = Headers([("Content-Type", self.content_type)])
        self.request_id_headers(headers, service_model, request_id)
        return self.finish(200, headers, "".join(out).encode("utf-8"))

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        info = resolve_error(error, service_model)
        writer = self.writer(dialect_for(service_model))
        out = [
            f"<ErrorResponse{xmlns_attr(service_model)}><Error>"
            f"<Type>{info.fault}</Type><Code>{escape(info.query_code)}</Code>"
        ]
        if error.error_message:
            out.append(f"<Message>{escape(error.error_message)}</Message>")
        self.write_fields(writer, info.shape, error.fields, out)
        out.append(f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
        headers = Headers([("Content-Type", self.content_type)])
        self.request_id_headers(headers, service_model, request_id)
        self.error_headers(headers, error)
        return self.finish(info.status, headers, "".join(out).encode("utf-8"))
