"""The query and ec2 protocols: form-encoded ``Name.member.1.Sub=value`` parameters.

Parameters (query string and form body together) are first folded into a tree on their dotted
key parts, then the operation's compiled converters walk the tree. The two protocols differ only
in names: query lists are ``Name.member.N`` (``Name.N`` when flattened) and maps
``Name.entry.N.key``; ec2 lists are always ``Name.N`` and member names are capitalised
(``queryName`` first, then ``locationName``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from overcast.errors import InvalidParameterValue
from overcast.protocol.dialects import dialect_for
from overcast.protocol.parsers.base import (
    BadScalar,
    MalformedQueryString,
    Memo,
    OperationCache,
    host_prefix_pattern,
    request_body,
    text_scalar,
)
from overcast.protocol.parsers.json import fill_host_labels, host_label_members

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from overcast.protocol.http import HttpRequest

# A tree node: dotted key part -> child node; the parameter's own value sits under ``_VALUE``.
Node = dict[str | None, Any]
NodeConverter = Callable[[Node], Any]
_VALUE = None
_ABSENT = object()


def form_items(request: HttpRequest) -> list[tuple[str, str]]:
    """Query-string plus form-body parameters of a query/ec2 request, decoded once per request
    (routing reads ``Action`` from them, then the parser reads the rest)."""
    cached = request.__dict__.get("_overcast_form_items")
    if cached is not None:
        return cached
    items = list(request.query_items) if request.query else []
    # A form body has no other use for Content-Encoding: gzip than request compression.
    body = request_body(request, True, MalformedQueryString)
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedQueryString("The request body is not valid UTF-8.") from None
        items.extend(parse_qsl(text, keep_blank_values=True))
    request.__dict__["_overcast_form_items"] = items
    return items


def build_tree(items: list[tuple[str, str]]) -> Node:
    root: Node = {}
    for key, value in items:
        node = root
        for part in key.split("."):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[_VALUE] = value
    return root


def _indexed(node: Node) -> list[Node]:
    """Children keyed 1, 2, 3... in numeric order (gaps tolerated)."""
    numbered = [(int(k), v) for k, v in node.items() if k is not None and k.isdigit()]
    numbered.sort(key=lambda kv: kv[0])
    return [v for _, v in numbered]


class _Compiler:
    """Builds node converters for one protocol flavour (query or ec2).

    ``names`` are a service dialect's wire names for list and map shapes (see
    ``overcast.protocol.dialects``): SQS's old query clients send ``Attribute.1.Name`` and
    ``AttributeName.1`` where its current model says ``Attributes`` and ``AttributeNames``. Both
    spellings are accepted, the dialect's first.
    """

    def __init__(self, ec2: bool, names: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.ec2 = ec2
        self.names = names or {}
        self.memo = Memo()

    def member_names(self, name: str, member: Shape) -> tuple[str, ...]:
        """The parameter names a member may arrive under, preferred first."""
        ser = member.serialization
        if self.ec2:
            if "queryName" in ser:
                return (ser["queryName"],)
            wire = ser.get("name", name)
            return (wire[:1].upper() + wire[1:],)
        wire = ser.get("name", name)
        legacy = self.names.get(member.name)
        if legacy is not None:
            alias = legacy.get("member") if member.type_name == "list" else legacy.get("name")
            if alias and alias != wire:
                return (alias, wire)
        if member.type_name == "list" and ser.get("flattened"):
            # Smithy names a flattened list after the member reference; botocore sends the
            # list member's locationName instead. Accept both.
            item = member.member.serialization.get("name")
            if item and item != wire:
                return (wire, item)
        return (wire,)

    def compile(self, shape: Shape) -> NodeConverter:
        return self.memo.get(shape, self._build)

    def _build(self, shape: Shape) -> NodeConverter:
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        scalar = text_scalar(shape)

        def convert_scalar(node: Node) -> Any:
            text = node.get(_VALUE)
            return _ABSENT if text is None else scalar(text)

        return convert_scalar

    def _structure(self, shape: Shape) -> NodeConverter:
        members = [
            (self.member_names(name, m), name, self.compile(m)) for name, m in shape.members.items()
        ]

        def convert_structure(node: Node) -> Any:
            out: dict[str, Any] = {}
            for wires, name, conv in members:
                child = node.get(wires[0])
                if child is None and len(wires) > 1:
                    child = node.get(wires[1])
                if child is not None:
                    value = conv(child)
                    if value is not _ABSENT:
                        out[name] = value
            return out

        return convert_structure

    def _list(self, shape: Shape) -> NodeConverter:
        item = self.compile(shape.member)
        flattened = self.ec2 or bool(shape.serialization.get("flattened"))
        member_key = shape.member.serialization.get("name", "member")

        def convert_list(node: Node) -> Any:
            container = node if flattened else node.get(member_key, node)
            entries = _indexed(container)
            if not entries:
                # "Name=" is how the query protocol sends an empty list.
                return [] if node.get(_VALUE) == "" else _ABSENT
            out = []
            for entry in entries:
                value = item(entry)
                if value is not _ABSENT:
                    out.append(value)
            return out

        return convert_list

    def _map(self, shape: Shape) -> NodeConverter:
        key_conv = self.compile(shape.key)
        value_conv = self.compile(shape.value)
        flattened = bool(shape.serialization.get("flattened"))
        legacy = self.names.get(shape.name, {})
        key_names = _names(legacy.get("key"), shape.key.serialization.get("name", "key"))
        value_names = _names(legacy.get("value"), shape.value.serialization.get("name", "value"))

        def convert_map(node: Node) -> Any:
            container = node if flattened else node.get("entry", node)
            out: dict[Any, Any] = {}
            for entry in _indexed(container):
                k = _first(entry, key_names)
                v = _first(entry, value_names)
                if k is None or v is None:
                    continue
                key = key_conv(k)
                value = value_conv(v)
                if key is not _ABSENT and value is not _ABSENT:
                    out[key] = value
            if not out and node.get(_VALUE) != "":
                return _ABSENT
            return out

        return convert_map


def _names(legacy: str | None, name: str) -> tuple[str, ...]:
    return (legacy, name) if legacy and legacy != name else (name,)


def _first(node: Node, names: tuple[str, ...]) -> Node | None:
    for name in names:
        child = node.get(name)
        if child is not None:
            return child
    return None


class _QueryPlan:
    __slots__ = ("host_labels", "host_pattern", "tree_convert")

    def __init__(self, operation: OperationModel, ec2: bool) -> None:
        shape = operation.input_shape
        self.tree_convert: NodeConverter | None = (
            None
            if shape is None
            else _Compiler(ec2, dialect_for(operation.service_model).xml_names).compile(shape)
        )
        self.host_pattern = host_prefix_pattern(operation)
        self.host_labels = host_label_members(operation)


class QueryRequestParser:
    """query (and, with ``ec2=True``, ec2) request parameters to the operation's input."""

    def __init__(self, ec2: bool = False) -> None:
        self._plans: OperationCache[_QueryPlan] = OperationCache(lambda op: _QueryPlan(op, ec2))

    def parse(
        self,
        request: HttpRequest,
        operation: OperationModel,
        uri_params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        plan = self._plans.get(operation)
        if plan.tree_convert is None:
            return {}
        tree = build_tree(form_items(request))
        try:
            params = plan.tree_convert(tree)
        except BadScalar as exc:
            raise InvalidParameterValue(str(exc)) from None
        fill_host_labels(params, request, plan.host_pattern, plan.host_labels)
        return params
