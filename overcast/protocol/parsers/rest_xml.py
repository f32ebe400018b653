"""rest-xml: the rest binding with an XML body (S3, Route 53, CloudFront).

XML converters take an ``Element`` and return the value; namespaces are ignored (tags compared
by local name), ``flattened`` lists and maps repeat their element in the parent,
``xmlAttribute`` members are read from the element's attributes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError, fromstring

from overcast.errors import error_class
from overcast.protocol.dialects import dialect_for
from overcast.protocol.parsers.base import (
    BadScalar,
    Converter,
    InvalidRequest,
    MalformedXML,
    Memo,
    b64_to_bytes,
    text_scalar,
)
from overcast.protocol.parsers.rest import RestRequestParser

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from overcast.errors import ServiceError

_ABSENT = object()
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def local_name(tag: str) -> str:
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


def _attribute_key(wire: str) -> str:
    prefix, sep, name = wire.partition(":")
    if sep and prefix == "xsi":
        return _XSI + name
    return wire


def _children_by_tag(element: Element) -> dict[str, list[Element]]:
    out: dict[str, list[Element]] = {}
    for child in element:
        tag = child.tag
        if type(tag) is str:  # skip comments / processing instructions
            out.setdefault(local_name(tag), []).append(child)
    return out


def compile_xml(shape: Shape, memo: Memo) -> Converter:
    """Converter from an element holding a ``shape`` value to the Python value (or _ABSENT)."""
    return memo.get(shape, lambda s: _build(s, memo))


def xml_structure(members: dict[str, Shape], memo: Memo) -> Converter:
    plain: list[tuple[str, str, str, Converter]] = []
    repeated: list[tuple[tuple[str, ...], str, Converter]] = []
    attributes: list[tuple[str, str, Any]] = []
    for name, member in members.items():
        ser = member.serialization
        wire = ser.get("name", name)
        if ser.get("xmlAttribute"):
            attributes.append((_attribute_key(wire), name, text_scalar(member)))
        elif member.type_name in ("list", "map") and ser.get("flattened"):
            names = [wire]
            if member.type_name == "list":
                item_name = member.member.serialization.get("name")
                if item_name and item_name != wire:
                    names.append(item_name)
            repeated.append((tuple(names), name, _flattened(member, memo)))
        else:
            # botocore folds a shape-level xmlName into the member's name; Smithy uses it only
            # for a top-level element, so the member name is accepted too.
            plain.append((wire, name, name, compile_xml(member, memo)))

    def convert_structure(element: Element) -> Any:
        children = _children_by_tag(element)
        out: dict[str, Any] = {}
        for wire, name, alt, conv in plain:
            found = children.get(wire) or children.get(alt)
            if found:
                value = conv(found[0])
                if value is not _ABSENT:
                    out[name] = value
        for names, name, conv in repeated:
            elements = [e for n in names for e in children.get(n, ())]
            if elements:
                out[name] = conv(elements)
        if attributes:
            attrib = element.attrib
            for key, name, text_conv in attributes:
                text = attrib.get(key)
                if text is not None:
                    out[name] = text_conv(text)
        return out

    return convert_structure


def _flattened(shape: Shape, memo: Memo) -> Converter:
    """Converter over the list of repeated sibling elements of a flattened list or map."""
    if shape.type_name == "list":
        item = compile_xml(shape.member, memo)
        return lambda elements: [v for v in map(item, elements) if v is not _ABSENT]
    entry = _map_entry(shape, memo)
    return lambda elements: dict(kv for kv in map(entry, elements) if kv is not None)


def _map_entry(shape: Shape, memo: Memo) -> Converter:
    key_name = shape.key.serialization.get("name", "key")
    value_name = shape.value.serialization.get("name", "value")
    key_conv = compile_xml(shape.key, memo)
    value_conv = compile_xml(shape.value, memo)

    def convert_entry(entry: Element) -> tuple[Any, Any] | None:
        key_el = value_el = None
        for child in entry:
            tag = local_name(child.tag) if type(child.tag) is str else ""
            if tag == key_name:
                key_el = child
            elif tag == value_name:
                value_el = child
        if key_el is None or value_el is None:
            return None
        key, value = key_conv(key_el), value_conv(value_el)
        return None if key is _ABSENT or value is _ABSENT else (key, value)

    return convert_entry


def _build(shape: Shape, memo: Memo) -> Converter:
    kind = shape.type_name
    if kind == "structure":
        return xml_structure(shape.members, memo)
    if kind == "list":
        item = compile_xml(shape.member, memo)
        return lambda element: [
            v for v in (item(c) for c in element if type(c.tag) is str) if v is not _ABSENT
        ]
    if kind == "map":
        entry = _map_entry(shape, memo)
        return lambda element: dict(
            kv for kv in (entry(c) for c in element if type(c.tag) is str) if kv is not None
        )
    if kind == "string":
        return lambda element: element.text or ""
    if kind == "blob":
        return lambda element: b64_to_bytes((element.text or "").strip())
    scalar = text_scalar(shape)

    def convert_scalar(element: Element) -> Any:
        text = (element.text or "").strip()
        return scalar(text) if text else _ABSENT

    return convert_scalar


def parse_xml(body: bytes) -> Element:
    try:
        return fromstring(body)
    except (ParseError, ValueError):
        raise MalformedXML() from None


class RestXmlRequestParser(RestRequestParser):
    def compile_body(self, shape: Shape, members: dict[str, Shape], memo: Memo) -> Converter:
        return xml_structure(members, memo)

    def compile_payload(self, member: Shape, memo: Memo) -> Converter:
        if member.type_name == "structure":
            # The root element is the payload itself; its name is not checked (AWS does not).
            return xml_structure(member.members, memo)
        return compile_xml(member, memo)

    def decode_body(self, body: bytes, kind: str) -> Any:
        if not body or body.isspace():
            return None
        return parse_xml(body)

    def value_error(self, exc: BadScalar, operation: OperationModel) -> ServiceError:
        known = dialect_for(operation.service_model).query_value_errors.get(exc.wire_name or "")
        if known is None:
            return InvalidRequest(str(exc))
        code, message = known
        return error_class(code)(message, ArgumentName=exc.wire_name, ArgumentValue=exc.text)

    def body_error(self, exc: BadScalar) -> ServiceError:
        return MalformedXML()
