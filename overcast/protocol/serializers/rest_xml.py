"""The rest-xml response serializer (S3, Route 53, CloudFront).

The body's root element is named by the payload member (its locationName or shape name) or, for
outputs without a payload, by the output shape's locationName, the service dialect's root name
for the operation (S3's ``ListBucketResult``) or the shape name; it carries the shape's
xmlNamespace or the dialect's default one. Errors are S3's bare ``<Error>...<RequestId><HostId>
</Error>`` or the ``<ErrorResponse><Error><Type><Code><Message></Error><RequestId>`` envelope of
the other rest-xml services.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from overcast.protocol.dialects import dialect_for
from overcast.protocol.http import Headers, HttpResponse
from overcast.protocol.serializers.base import host_id, resolve_error
from overcast.protocol.serializers.events import EventCodec, EventStreamEncoder
from overcast.protocol.serializers.query import XmlErrorFields
from overcast.protocol.serializers.rest import RestSerializer
from overcast.protocol.serializers.xml import escape

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

    from overcast.errors import ServiceError


_namespaces: weakref.WeakKeyDictionary[ServiceModel, str] = weakref.WeakKeyDictionary()


def service_namespace(service_model: ServiceModel) -> str:
    """The XML namespace of a rest-xml service's documents ('' if unknown).

    Models put it only on request shapes (``CreateBucketConfiguration``,
    ``CreateHostedZoneRequest``); answers carry the same one.
    """
    ns = _namespaces.get(service_model)
    if ns is None:
        ns = dialect_for(service_model).xml_namespace or service_model.metadata.get(
            "xmlNamespace", ""
        )
        if not ns:
            for name in service_model.operation_names:
                shape = service_model.operation_model(name).input_shape
                found = _request_namespace(shape) if shape is not None else None
                if found:
                    ns = found
                    break
        _namespaces[service_model] = ns = ns if isinstance(ns, str) else ns.get("uri", "")
    return ns


def _request_namespace(shape: StructureShape) -> str | None:
    payload = shape.serialization.get("payload")
    target = shape.members[payload] if payload else shape
    ns = target.serialization.get("xmlNamespace")
    if isinstance(ns, dict) and not ns.get("prefix"):
        return ns.get("uri")
    return ns if isinstance(ns, str) else None


def _default_ns(shape: Shape, service_model: ServiceModel) -> str:
    """The xmlns a root element adds when its shape declares none."""
    if shape.serialization.get("xmlNamespace"):
        return ""
    ns = service_namespace(service_model)
    return f' xmlns="{escape(ns)}"' if ns else ""


class RestXmlSerializer(RestSerializer, XmlErrorFields):
    protocol = "rest-xml"
    content_type = "application/xml"

    def __init__(self) -> None:
        RestSerializer.__init__(self)
        XmlErrorFields.__init__(self)
        self._event_encoders: dict[int, EventStreamEncoder] = {}

    def event_encoder(self, operation: OperationModel) -> EventStreamEncoder:
        # One per dialect: the element names of a service's documents are dialect data.
        dialect = dialect_for(operation.service_model)
        encoder = self._event_encoders.get(id(dialect))
        if encoder is None:
            writer = self.writer(dialect)

            def document(shape: Shape, value: Any, root: str) -> bytes:
                # S3 writes event documents in no namespace: <Stats xmlns="">.
                return writer.render(shape, root, value, ' xmlns=""').encode("utf-8")

            encoder = EventStreamEncoder(EventCodec("text/xml", document))
            self._event_encoders[id(dialect)] = encoder
        return encoder

    def encode_document(
        self, operation: OperationModel, shape: StructureShape, value: Mapping[str, Any]
    ) -> bytes:
        dialect = dialect_for(operation.service_model)
        writer = self.writer(dialect)
        name = operation.name
        root = shape.serialization.get("name") or dialect.xml_roots.get(name) or shape.name
        ns = _default_ns(shape, operation.service_model)
        if name in dialect.xml_text_roots:
            # The root element is the one member itself (S3 GetBucketLocation).
            member_name = next(iter(self.plan(shape).body_members))
            member = shape.members[member_name]
            if value.get(member_name) is None:
                return f"<{root}{ns}/>".encode()
            return writer.render(member, root, value[member_name], ns).encode("utf-8")
        return writer.render(shape, root, value, ns).encode("utf-8")

    def encode_payload(
        self, operation: OperationModel, member: str, shape: Shape, value: Any
    ) -> bytes:
        dialect = dialect_for(operation.service_model)
        root = shape.serialization.get("name") or shape.name
        ns = _default_ns(shape, operation.service_model)
        return self.writer(dialect).render(shape, root, value, ns).encode("utf-8")

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse:
        info = resolve_error(error, service_model)
        dialect = dialect_for(service_model)
        headers = Headers([("Content-Type", self.content_type)])
        self.request_id_headers(headers, service_model, request_id)
        fields = self.error_fields(info.shape, error.fields, headers)
        self.error_headers(headers, error)
        out: list[str] = []
        if dialect.bare_xml_errors:
            out.append(f"<Error><Code>{escape(info.query_code)}</Code>")
        else:
            out.append(
                f"<ErrorResponse{_ns_attr(service_model)}><Error><Type>{info.fault}</Type>"
                f"<Code>{escape(info.query_code)}</Code>"
            )
        if error.error_message:
            out.append(f"<Message>{escape(error.error_message)}</Message>")
        self.write_fields(self.writer(dialect), info.shape, fields, out)
        rid = escape(request_id)
        if dialect.bare_xml_errors:
            out.append(
                f"<RequestId>{rid}</RequestId><HostId>{host_id(request_id)}</HostId></Error>"
            )
        else:
            out.append(f"</Error><RequestId>{rid}</RequestId></ErrorResponse>")
        return self.respond(operation, info.status, headers, "".join(out).encode("utf-8"))


def _ns_attr(service_model: ServiceModel) -> str:
    ns = service_namespace(service_model)
    return f' xmlns="{escape(ns)}"' if ns else ""
