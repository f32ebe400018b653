"""Server-side input validation, as AWS does it before an operation runs.

``validate(params, operation, protocol)`` checks required members, and (except for ec2) length,
range and enum constraints, raising one error that lists every violation in AWS's wording::

    1 validation error detected: Value null at 'queueName' failed to satisfy constraint:
    Member must not be null

json-family services answer ``ValidationException``; query services ``MissingParameter`` for a
missing top-level parameter and ``ValidationError`` otherwise; ec2 only checks required members.
rest-xml services (S3, Route 53...) have their own per-service errors, so nothing is checked
here. Patterns are not checked (the models use Java regex dialects), nor enums for a service
whose dialect says it answers them itself (``ServiceDialect.validate_enums``). Validators are
compiled once per operation and skip every subtree that carries no constraint.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from overcast.errors import MissingParameter, ServiceError, ValidationException
from overcast.protocol.dialects import ValidationMessage, dialect_for

if TYPE_CHECKING:
    from collections.abc import Mapping

    from botocore.model import OperationModel, Shape

Errors = list[tuple[str, Any, str]]  # (path, value, constraint)
Check = Callable[[Any, str, Errors], None]

_CONSTRAINED = frozenset({"json", "rest-json", "smithy-rpc-v2-cbor", "query"})
_NUMBERS = frozenset({"integer", "long", "short", "byte", "float", "double"})


class ValidationError(ServiceError):
    """query protocol: an input value violates a model constraint."""

    status = 400


def validate(params: dict[str, Any], operation: OperationModel, protocol: str) -> None:
    """Raise the protocol's validation error if ``params`` break the operation's constraints."""
    if protocol == "rest-xml":
        return
    plan = _plan(operation, protocol)
    if plan is None:
        return
    errors: Errors = []
    plan(params, "", errors)
    if not errors:
        return
    if protocol in ("query", "ec2"):
        top_missing = next((p for p, v, _ in errors if v is None and "." not in p), None)
        if top_missing is not None:
            wire = _wire_names(operation).get(top_missing, top_missing)
            raise MissingParameter(f"The request must contain the parameter {wire}.")
        raise ValidationError(_message(_texts(errors)))
    own = dialect_for(operation.service_model).validation_messages
    texts = _texts(errors) if not own else _own_texts(errors, own, operation.name, params)
    if isinstance(texts, str):
        raise ValidationException(texts)
    raise ValidationException(_message(texts))


def _texts(errors: Errors) -> list[str]:
    return [
        f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}"
        for path, value, constraint in errors
    ]


def _own_texts(
    errors: Errors, own: tuple[ValidationMessage, ...], operation: str, params: dict[str, Any]
) -> list[str] | str:
    """The errors with the service's own wordings applied (a str: one that stands alone)."""
    texts: list[str] = []
    for path, value, constraint in errors:
        text = None
        for rule in own:
            if operation not in rule.operations or not constraint.startswith(rule.constraint):
                continue
            found = rule.path.fullmatch(path)
            if found is None:
                continue
            top = params.get(_member_name(path.split(".", 1)[0], params))
            text = rule.message.format(value=_java(value), top=_java(top), **found.groupdict())
            if rule.alone:
                return text
            break
        if text is None:
            text = f"Value {_render(value)} at '{path}' failed to satisfy constraint: {constraint}"
        if text not in texts:  # one report per rule, however many map entries break it
            texts.append(text)
    return texts


def _member_name(label: str, params: dict[str, Any]) -> str:
    return next((name for name in params if _path_name(name) == label), label)


def _message(texts: list[str]) -> str:
    count = len(texts)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(texts)


def _render(value: Any) -> str:
    return "null" if value is None else f"'{_java(value)}'"


def _java(value: Any) -> str:
    """A value as AWS's Java services echo it: ``{k=v, ...}``, ``[a, b]``, ``true``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_java(v) for v in value) + "]"
    return str(value)


def _wire_names(operation: OperationModel) -> dict[str, str]:
    """Error path of each top-level member -> the name the client sent it under."""
    shape = operation.input_shape
    if shape is None:
        return {}
    return {
        _path_name(name): m.serialization.get("queryName") or m.serialization.get("name", name)
        for name, m in shape.members.items()
    }


def _path_name(name: str) -> str:
    # AWS reports member paths in lowerCamelCase ("QueueName" -> "queueName").
    return name[:1].lower() + name[1:]


# --- Compilation ----------------------------------------------------------------------------

_plans: dict[str, weakref.WeakKeyDictionary[OperationModel, Check | None]] = {}
_MISSING = object()


def _plan(operation: OperationModel, protocol: str) -> Check | None:
    cache = _plans.setdefault(protocol, weakref.WeakKeyDictionary())
    plan = cache.get(operation, _MISSING)
    if plan is _MISSING:
        shape = operation.input_shape
        dialect = dialect_for(operation.service_model)
        compiler = _Compiler(protocol in _CONSTRAINED, dialect.validate_enums, dialect.enum_orders)
        plan = None if shape is None else compiler.compile(shape)
        cache[operation] = plan
    return plan  # type: ignore[return-value]


class _Compiler:
    def __init__(
        self, constraints: bool, enums: bool = True, enum_orders: Mapping[str, Any] | None = None
    ) -> None:
        self.constraints = constraints  # length/range/enum too, not only required members
        self.enums = enums  # the model's enums (off where the service answers them itself)
        self.enum_orders = enum_orders or {}  # shape name -> values in the service's order
        self.memo: dict[str, Check | None] = {}
        self.pending: dict[str, list[Check]] = {}

    def compile(self, shape: Shape) -> Check | None:
        kind = shape.type_name
        if kind not in ("structure", "list", "map"):
            return self._scalar(shape)
        key = shape.name
        if key in self.memo:
            return self.memo[key]
        if key in self.pending:
            cell = self.pending[key]
            return lambda value, path, errors: cell[0](value, path, errors) if cell else None
        cell: list[Check] = []
        self.pending[key] = cell
        build = {"structure": self._structure, "list": self._list, "map": self._map}[kind]
        check = build(shape)
        if check is not None:
            cell.append(check)
        else:
            cell.append(lambda value, path, errors: None)
        del self.pending[key]
        self.memo[key] = check
        return check

    def _bounds(self, shape: Shape) -> tuple[Any, Any]:
        if not self.constraints:
            return None, None
        return shape.metadata.get("min"), shape.metadata.get("max")

    def _scalar(self, shape: Shape) -> Check | None:
        if not self.constraints:
            return None
        kind = shape.type_name
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        enum = shape.metadata.get("enum") if kind == "string" and self.enums else None
        if kind in ("string", "blob"):
            if low is None and high is None and not enum:
                return None
            allowed = frozenset(enum) if enum else None
            listed = self.enum_orders.get(shape.name, enum or ())
            enum_text = f"Member must satisfy enum value set: [{', '.join(listed)}]"

            def check_text(value: Any, path: str, errors: Errors) -> None:
                if not isinstance(value, str | bytes):
                    return  # a stream: its length is not known yet
                size = len(value)
                if low is not None and size < low:
                    errors.append(
                        (path, value, f"Member must have length greater than or equal to {low}")
                    )
                elif high is not None and size > high:
                    errors.append(
                        (path, value, f"Member must have length less than or equal to {high}")
                    )
                if allowed is not None and value not in allowed:
                    errors.append((path, value, enum_text))

            return check_text
        if kind in _NUMBERS and (low is not None or high is not None):

            def check_number(value: Any, path: str, errors: Errors) -> None:
                if low is not None and value < low:
                    errors.append(
                        (path, value, f"Member must have value greater than or equal to {low}")
                    )
                elif high is not None and value > high:
                    errors.append(
                        (path, value, f"Member must have value less than or equal to {high}")
                    )

            return check_number
        return None

    def _structure(self, shape: Shape) -> Check | None:
        required = tuple(
            (name, _path_name(name))
            for name in shape.required_members
            if name in shape.members
            # The client fills idempotency tokens; AWS generates one when it is missing.
            and not shape.members[name].metadata.get("idempotencyToken")
        )
        members = []
        for name, member in shape.members.items():
            check = self.compile(member)
            if check is not None:
                members.append((name, _path_name(name), check))
        if not required and not members:
            return None

        def check_structure(value: Any, path: str, errors: Errors) -> None:
            if not isinstance(value, dict):
                return
            prefix = f"{path}." if path else ""
            for name, label in required:
                if value.get(name) is None:
                    errors.append((prefix + label, None, "Member must not be null"))
            for name, label, check in members:
                item = value.get(name)
                if item is not None:
                    check(item, prefix + label, errors)

        return check_structure

    def _list(self, shape: Shape) -> Check | None:
        low, high = self._bounds(shape)
        item_check = self.compile(shape.member)
        if low is None and high is None and item_check is None:
            return None

        def check_list(value: Any, path: str, errors: Errors) -> None:
            if not isinstance(value, list):
                return
            _check_size(value, path, errors, low, high)
            if item_check is not None:
                for i, item in enumerate(value, 1):
                    if item is not None:
                        item_check(item, f"{path}.{i}.member", errors)

        return check_list

    def _map(self, shape: Shape) -> Check | None:
        low, high = self._bounds(shape)
        key_check = self.compile(shape.key)
        value_check = self.compile(shape.value)
        if low is None and high is None and key_check is None and value_check is None:
            return None

        def check_map(value: Any, path: str, errors: Errors) -> None:
            if not isinstance(value, dict):
                return
            _check_size(value, path, errors, low, high)
            for k, v in value.items():
                if key_check is not None:
                    key_check(k, f"{path}.key", errors)
                if value_check is not None and v is not None:
                    value_check(v, f"{path}.{k}.member", errors)

        return check_map


def _check_size(value: Any, path: str, errors: Errors, low: Any, high: Any) -> None:
    size = len(value)
    if low is not None and size < low:
        errors.append((path, value, f"Member must have length greater than or equal to {low}"))
    elif high is not None and size > high:
        errors.append((path, value, f"Member must have length less than or equal to {high}"))
