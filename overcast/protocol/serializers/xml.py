"""The XML body writer shared by the query, ec2 and rest-xml serializers.

``XmlWriter`` compiles, once per shape, a small function that appends a value's XML text to a
list of strings (joined once at the end: much faster than building an ElementTree). It honours
every XML trait of the models: ``locationName``, flattened lists and maps, ``xmlNamespace``
(default or prefixed), ``xmlAttribute`` members, per-shape ``timestampFormat`` and base64 blobs.
Members bound to HTTP headers or the status code are left to the rest layer.

Compilation is lazy per structure, so recursive shapes compile one level at a time, and keyed
by the shape object: botocore caches member shapes, so an operation's tree compiles once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from overcast.protocol.serializers.base import b64, float_text, timestamp_formatter
from overcast.protocol.timestamps import ISO8601

if TYPE_CHECKING:
    from botocore.model import ListShape, MapShape, Shape, StructureShape

# Appends the XML of one value (its element, or elements when flattened) to ``out``.
Emit = Callable[[Any, list[str]], None]
# Appends the child elements of a structure value, without the enclosing element.
Children = Callable[[Mapping[str, Any], list[str]], None]
# The xmlAttribute members of a structure value as ' name="value"' text.
AttributeText = Callable[[Mapping[str, Any]], str]

_REST_LOCATIONS = frozenset({"header", "headers", "statusCode"})
_NO_NAMES: Mapping[str, Mapping[str, Any]] = {}


def escape(text: str) -> str:
    """XML-escape text (quotes too: S3 writes ETags as &quot;...&quot;)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:  # a raw CR would be normalised away by XML parsers
        text = text.replace("\r", "&#xD;")
    return text


def xmlns(shape: Shape) -> str:
    """The namespace declaration a shape puts on its element ('' if none)."""
    ns = shape.serialization.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{escape(ns)}"'
    prefix = ns.get("prefix")
    attr = f"xmlns:{prefix}" if prefix else "xmlns"
    return f' {attr}="{escape(ns.get("uri", ""))}"'


class XmlWriter:
    """Compiles and caches per-shape XML emitters for one protocol's conventions."""

    def __init__(
        self, timestamp_format: str = ISO8601, names: Mapping[str, Mapping[str, Any]] = _NO_NAMES
    ) -> None:
        self._timestamp_format = timestamp_format
        self._names = names  # per-shape-name XML traits the model lacks (see dialects.py)
        self._emitters: dict[tuple[int, str, str], tuple[Shape, Emit]] = {}
        self._children: dict[int, tuple[Shape, Children, AttributeText | None]] = {}

    # --- public ---------------------------------------------------------------------------

    def element(self, shape: Shape, name: str, extra_ns: str = "") -> Emit:
        """The emitter writing ``value`` as element(s) ``name`` (``extra_ns``: xmlns to add)."""
        key = (id(shape), name, extra_ns)
        hit = self._emitters.get(key)
        if hit is not None:
            return hit[1]
        emit = self._compile(shape, name, extra_ns)
        self._emitters[key] = (shape, emit)  # keeps the shape alive so its id stays unique
        return emit

    def children(self, shape: StructureShape) -> Children:
        """The writer of a structure's member elements (for wrappers the protocol builds)."""
        return self._structure_plan(shape)[0]

    def render(self, shape: Shape, name: str, value: Any, extra_ns: str = "") -> str:
        out: list[str] = []
        self.element(shape, name, extra_ns)(value, out)
        return "".join(out)

    # --- compilation ----------------------------------------------------------------------

    def _trait(self, shape: Shape, key: str) -> Any:
        names = self._names.get(shape.name)
        return names.get(key) if names else None

    def member_name(self, shape: Shape, default: str) -> str:
        return shape.serialization.get("name") or self._trait(shape, "name") or default

    def _flattened(self, shape: Shape) -> bool:
        return bool(shape.serialization.get("flattened") or self._trait(shape, "flattened"))

    def _compile(self, shape: Shape, name: str, extra_ns: str) -> Emit:
        kind = shape.type_name
        if kind == "structure":
            return self._compile_structure(shape, name, extra_ns)
        if kind == "list":
            return self._compile_list(shape, name, extra_ns)  # type: ignore[arg-type]
        if kind == "map":
            return self._compile_map(shape, name, extra_ns)  # type: ignore[arg-type]
        text = self.scalar_text(shape)
        open_tag, close_tag = f"<{name}{xmlns(shape)}{extra_ns}>", f"</{name}>"
        if text is _string_text:

            def emit_string(value: Any, out: list[str]) -> None:
                if type(value) is not str:
                    value = _coerce(value)
                # Inlined escape check: most strings need none, and this is the hot path.
                if "&" in value or "<" in value or ">" in value or '"' in value or "\r" in value:
                    value = escape(value)
                out.append(open_tag + value + close_tag)

            return emit_string

        def emit_scalar(value: Any, out: list[str]) -> None:
            out.append(open_tag + text(value) + close_tag)

        return emit_scalar

    def scalar_text(self, shape: Shape) -> Callable[[Any], str]:
        """The function turning a scalar value of ``shape`` into escaped XML text."""
        kind = shape.type_name
        if kind == "boolean":
            return _bool_text
        if kind in ("integer", "long", "short", "byte"):
            return str
        if kind in ("float", "double"):
            return float_text
        if kind == "timestamp":
            fmt = shape.serialization.get("timestampFormat") or self._timestamp_format
            formatter = timestamp_formatter(fmt)
            return lambda v: str(formatter(v))
        if kind == "blob":
            return b64
        return _string_text

    def _structure_plan(self, shape: StructureShape) -> tuple[Children, AttributeText | None]:
        hit = self._children.get(id(shape))
        if hit is not None:
            return hit[1], hit[2]
        members: dict[str, Emit] = {}
        attributes: list[tuple[str, str, Callable[[Any], str]]] = []
        for member_name, member in shape.members.items():
            ser = member.serialization
            if ser.get("location") in _REST_LOCATIONS:
                continue
            if ser.get("xmlAttribute"):
                attr_name = ser.get("name", member_name)
                attributes.append((member_name, attr_name, self.scalar_text(member)))
                continue
            # Structure emitters build their own plan on first use, so this never recurses.
            members[member_name] = self.element(member, self.member_name(member, member_name))

        def write_children(value: Mapping[str, Any], out: list[str]) -> None:
            # Walk the value, not the model: values are sparse (an EC2 Instance has 60+
            # members), and providers build them in the documented order.
            for key, item in value.items():
                if item is not None:
                    emit = members.get(key)
                    if emit is not None:
                        emit(item, out)

        def attribute_text(value: Mapping[str, Any]) -> str:
            parts = ""
            for key, attr_name, text in attributes:
                item = value.get(key)
                if item is not None:
                    parts += f' {attr_name}="{text(item)}"'
            return parts

        attrs = attribute_text if attributes else None
        self._children[id(shape)] = (shape, write_children, attrs)
        return write_children, attrs

    def _compile_structure(self, shape: StructureShape, name: str, extra_ns: str) -> Emit:
        open_tag = f"<{name}{xmlns(shape)}{extra_ns}>"
        close_tag = f"</{name}>"
        plan: list[Any] = []  # [children writer, attribute writer], filled on first use

        def emit_structure(value: Mapping[str, Any], out: list[str]) -> None:
            if not plan:
                plan.extend(self._structure_plan(shape))
            attribute_text = plan[1]
            if attribute_text is None:
                out.append(open_tag)
            else:
                out.append(f"{open_tag[:-1]}{attribute_text(value)}>")
            plan[0](value, out)
            out.append(close_tag)

        return emit_structure

    def _compile_list(self, shape: ListShape, name: str, extra_ns: str) -> Emit:
        member = shape.member
        member_name = member.serialization.get("name") or self._trait(shape, "member")
        if self._flattened(shape):
            item_emit = self.element(member, member_name or name)

            def emit_flat_list(value: list[Any], out: list[str]) -> None:
                for item in value:
                    if item is not None:
                        item_emit(item, out)

            return emit_flat_list
        item_emit = self.element(member, member_name or "member")
        open_tag, close_tag = f"<{name}{xmlns(shape)}{extra_ns}>", f"</{name}>"

        def emit_list(value: list[Any], out: list[str]) -> None:
            out.append(open_tag)
            for item in value:
                if item is not None:
                    item_emit(item, out)
            out.append(close_tag)

        return emit_list

    def _compile_map(self, shape: MapShape, name: str, extra_ns: str) -> Emit:
        key_name = self.member_name(shape.key, self._trait(shape, "key") or "key")
        value_name = self.member_name(shape.value, self._trait(shape, "value") or "value")
        key_emit = self.element(shape.key, key_name)
        value_emit = self.element(shape.value, value_name)
        ns = xmlns(shape) + extra_ns
        if self._flattened(shape):
            open_entry, close_entry = f"<{name}{ns}>", f"</{name}>"
            open_map = close_map = ""
        else:
            open_entry, close_entry = "<entry>", "</entry>"
            open_map, close_map = f"<{name}{ns}>", f"</{name}>"

        def emit_map(value: Mapping[Any, Any], out: list[str]) -> None:
            if open_map:
                out.append(open_map)
            for k, v in value.items():
                if v is None:
                    continue
                out.append(open_entry)
                key_emit(k, out)
                value_emit(v, out)
                out.append(close_entry)
            if close_map:
                out.append(close_map)

        return emit_map


def _bool_text(value: Any) -> str:
    if isinstance(value, str):
        return value.lower()
    return "true" if value else "false"


def _coerce(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value if isinstance(value, str) else str(value)


def _string_text(value: Any) -> str:
    return escape(_coerce(value))


def plain_elements(fields: Mapping[str, Any], out: list[str]) -> None:
    """Unmodeled extra fields (an error's members when the model has no shape) as text."""
    for key, value in fields.items():
        if value is not None:
            out.append(f"<{key}>{_string_text(value)}</{key}>")
