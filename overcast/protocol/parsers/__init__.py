"""Request parsers: an HTTP request of a known operation to the operation's input dict.

One parser per wire protocol, built once and shared (they are stateless apart from per-operation
caches)::

    params = get_parser("rest-xml").parse(request, operation_model, uri_params)

Values follow the model: dicts, lists, str, int, float, bool, aware UTC datetimes, bytes (a
``BodyStream`` for a streaming input payload); absent members are absent. Malformed input raises
the protocol's ``ServiceError`` (SerializationException, MalformedXML, InvalidParameterValue...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from overcast.protocol.parsers.base import InvalidRequest, MalformedQueryString, MalformedXML
from overcast.protocol.parsers.cbor import CborRequestParser
from overcast.protocol.parsers.json import JsonRequestParser
from overcast.protocol.parsers.query import QueryRequestParser
from overcast.protocol.parsers.rest_json import RestJsonRequestParser
from overcast.protocol.parsers.rest_xml import RestXmlRequestParser

if TYPE_CHECKING:
    from botocore.model import OperationModel

    from overcast.protocol.http import HttpRequest

__all__ = [
    "InvalidRequest",
    "MalformedQueryString",
    "MalformedXML",
    "RequestParser",
    "get_parser",
]


class RequestParser(Protocol):
    def parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: dict[str, str] | None = None,
    ) -> dict[str, Any]: ...


_PARSERS: dict[str, RequestParser] = {
    "query": QueryRequestParser(),
    "ec2": QueryRequestParser(ec2=True),
    "json": JsonRequestParser(),
    "rest-json": RestJsonRequestParser(),
    "rest-xml": RestXmlRequestParser(),
    "smithy-rpc-v2-cbor": CborRequestParser(),
}


def get_parser(protocol: str) -> RequestParser:
    """The shared parser of a wire protocol; KeyError for an unknown protocol."""
    return _PARSERS[protocol]
