"""Response and error serializers, one per AWS wire protocol, driven by botocore's models.

``get_serializer(protocol)`` returns the shared serializer of a protocol ('query', 'ec2', 'json',
'rest-json', 'rest-xml', 'smithy-rpc-v2-cbor'). Its ``serialize`` turns an operation's output
dict into an ``HttpResponse``; ``serialize_error`` turns a ``ServiceError`` into the protocol's
error answer. Class tree::

    BaseResponseSerializer (base.py)
     +-- QuerySerializer (query.py)     ----+ XmlWriter (xml.py)
     +-- Ec2Serializer (ec2.py)         ----+
     +-- JsonSerializer (json.py)       ----+ ValueEncoder (json.py)
     +-- CborSerializer (cbor.py)       ----+ CborValueEncoder
     +-- RestSerializer (rest.py): status, headers, payload
          +-- RestJsonSerializer (rest_json.py)
          +-- RestXmlSerializer (rest_xml.py)

Service-specific answers (S3 root names, SQS over query) are data in ``dialects.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

    from overcast.errors import ServiceError
    from overcast.protocol.http import HttpResponse


class ResponseSerializer(Protocol):
    def serialize(
        self, result: dict[str, Any], operation: OperationModel, request_id: str
    ) -> HttpResponse: ...

    def serialize_error(
        self,
        error: ServiceError,
        service_model: ServiceModel,
        operation: OperationModel | None,
        request_id: str,
    ) -> HttpResponse: ...


_serializers: dict[str, ResponseSerializer] = {}


def _build(protocol: str) -> ResponseSerializer:
    # Imported on demand: the server starts without paying for every protocol.
    if protocol == "query":
        from overcast.protocol.serializers.query import QuerySerializer

        return QuerySerializer()
    if protocol == "ec2":
        from overcast.protocol.serializers.ec2 import Ec2Serializer

        return Ec2Serializer()
    if protocol == "json":
        from overcast.protocol.serializers.json import JsonSerializer

        return JsonSerializer()
    if protocol == "rest-json":
        from overcast.protocol.serializers.rest_json import RestJsonSerializer

        return RestJsonSerializer()
    if protocol == "rest-xml":
        from overcast.protocol.serializers.rest_xml import RestXmlSerializer

        return RestXmlSerializer()
    if protocol == "smithy-rpc-v2-cbor":
        from overcast.protocol.serializers.cbor import CborSerializer

        return CborSerializer()
    raise ValueError(f"unknown protocol: {protocol!r}")


def get_serializer(protocol: str) -> ResponseSerializer:
    """The (shared, thread-safe after warm-up) serializer of ``protocol``."""
    serializer = _serializers.get(protocol)
    if serializer is None:
        serializer = _serializers.setdefault(protocol, _build(protocol))
    return serializer


__all__ = ["ResponseSerializer", "get_serializer"]
