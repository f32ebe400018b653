"""UpdateExpression: parsing SET/REMOVE/ADD/DELETE and applying them to an item.

Grammar::

    update     := section+            -- each of SET, REMOVE, ADD, DELETE at most once
    section    := "SET" path "=" value ("," path "=" value)*
                | "REMOVE" path ("," path)*
                | "ADD" path ":value" ("," path ":value")*
                | "DELETE" path ":value" ("," path ":value")*
    value      := operand (("+" | "-") operand)?
    operand    := path | ":value" | "if_not_exists" "(" path "," operand ")"
                | "list_append" "(" operand "," operand ")"

Every right-hand side reads the item as it was before the update; the actions then apply in
section order. Paths of one update may not overlap (``a`` and ``a.b``) or conflict (``a[0]`` and
``a.b``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions.common import LONG_TYPE_NAMES, Usage
from overcast.services.dynamodb.expressions.operands import (
    WRONG_TYPE,
    Arithmetic,
    IfNotExists,
    ListAppend,
    Operand,
    PathOperand,
    ValueOperand,
)
from overcast.services.dynamodb.expressions.parser import (
    CONDITION_FUNCTIONS,
    UPDATE_FUNCTIONS,
    Parser,
    value_type,
)
from overcast.services.dynamodb.expressions.paths import DocPath, Value, check_overlaps, resolve
from overcast.services.dynamodb.expressions.projection import Projection

SECTIONS = ("SET", "REMOVE", "ADD", "DELETE")
INVALID_PATH = "The document path provided in the update expression is invalid for update"
Item = dict[str, Value]


@dataclass(frozen=True)
class Action:
    section: str  # SET, REMOVE, ADD or DELETE
    path: DocPath
    operand: Operand | None = None  # the value of SET, ADD and DELETE


class Update:
    """A parsed UpdateExpression: ``apply(item)`` answers the updated copy."""

    def __init__(self, actions: list[Action], *, mismatch: str = WRONG_TYPE) -> None:
        self.actions = actions
        # What a value of the wrong type answers: the legacy AttributeUpdates word it apart.
        self.mismatch = mismatch

    @property
    def projection(self) -> Projection:
        """The written paths as a projection: ReturnValues UPDATED_OLD/UPDATED_NEW cut the old
        or new item with it."""
        return Projection([action.path for action in self.actions])

    @property
    def paths(self) -> set[str]:
        """The top-level attributes the update writes (for the caller's key-attribute check)."""
        return {str(action.path[0]) for action in self.actions}

    def apply(self, item: Mapping[str, Value]) -> Item:
        before = dict(item)
        after: Item = copy.deepcopy(before)
        sets = [
            (a.path, a.operand.evaluate(before))
            for a in self.actions
            if a.section == "SET" and a.operand
        ]
        for path, value in sets:
            if value is None:
                raise ValidationException(
                    "The provided expression refers to an attribute that does not exist in the item"
                )
            assign(after, path, value)
        removals = [a.path for a in self.actions if a.section == "REMOVE"]
        # Later list elements first, so that earlier indexes still name the original elements.
        for path in sorted(removals, key=_removal_order, reverse=True):
            remove(after, path)
        for action in self.actions:
            if action.section in ("ADD", "DELETE") and action.operand is not None:
                value = action.operand.evaluate(before)
                assert value is not None
                try:
                    if action.section == "ADD":
                        add(after, action.path, value)
                    else:
                        delete(after, action.path, value)
                except ValidationException as error:
                    if error.error_message != WRONG_TYPE:
                        raise
                    raise ValidationException(self.mismatch) from None
        return after


def _removal_order(path: DocPath) -> list[tuple[int, Any]]:
    return [(1, step) if isinstance(step, int) else (0, step) for step in path]


def _parent(item: Item, path: DocPath) -> Value | None:
    return resolve(item, path[:-1])


def assign(item: Item, path: DocPath, value: Value) -> None:
    """SET: replace or create the value at ``path``; an index past a list's end appends."""
    if len(path) == 1:
        item[str(path[0])] = value
        return
    parent, step = _parent(item, path), path[-1]
    if parent is not None and isinstance(step, int) and "L" in parent:
        if step < len(parent["L"]):
            parent["L"][step] = value
        else:
            parent["L"].append(value)
    elif parent is not None and isinstance(step, str) and "M" in parent:
        parent["M"][step] = value
    else:
        raise ValidationException(INVALID_PATH)


def _container(item: Item, path: DocPath) -> Value | None:
    """The list or map that holds ``path``'s last step (None for a top-level attribute);
    a missing or mistyped container makes the path invalid for update."""
    if len(path) == 1:
        return None
    parent, step = _parent(item, path), path[-1]
    if parent is None or ("L" if isinstance(step, int) else "M") not in parent:
        raise ValidationException(INVALID_PATH)
    return parent


def remove(item: Item, path: DocPath) -> None:
    """REMOVE: drop the value at ``path``; a missing value (in an existing container) is no
    error."""
    parent, step = _container(item, path), path[-1]
    if parent is None:
        item.pop(str(step), None)
    elif isinstance(step, int):
        if step < len(parent["L"]):
            del parent["L"][step]
    else:
        parent["M"].pop(step, None)


def _union(kind: str, existing: list[Any], extra: list[Any]) -> list[Any]:
    result = list(existing)
    element = kind[0]
    for member in extra:
        if not any(av.equals({element: m}, {element: member}) for m in result):
            result.append(member)
    return result


def add(item: Item, path: DocPath, value: Value) -> None:
    """ADD: a number is added to a number, a set joined to a set of its type (and, for the
    legacy AttributeUpdates, a list appended to a list)."""
    existing = resolve(item, path)
    kind = value_type(value)
    if existing is None:
        assign(item, path, value)
    elif kind == "L" and "L" in existing:
        assign(item, path, {"L": [*existing["L"], *value["L"]]})
    elif kind == "N" and "N" in existing:
        total = av.arithmetic("+", av.number(existing), av.number(value))
        assign(item, path, {"N": av.format_number(total)})
    elif kind in av.SET_TYPES and kind in existing:
        assign(item, path, {kind: _union(kind, existing[kind], value[kind])})
    else:
        raise ValidationException(WRONG_TYPE)


def delete(item: Item, path: DocPath, value: Value) -> None:
    """DELETE: remove members from a set; a set left empty disappears."""
    _container(item, path)
    existing = resolve(item, path)
    if existing is None:
        return
    kind = value_type(value)
    if kind not in existing:
        raise ValidationException(WRONG_TYPE)
    element = kind[0]
    kept = [
        m
        for m in existing[kind]
        if not any(av.equals({element: m}, {element: d}) for d in value[kind])
    ]
    if kept:
        assign(item, path, {kind: kept})
    else:
        remove(item, path)


class UpdateParser(Parser):
    keywords = Parser.keywords | {"SET", "REMOVE", "ADD", "DELETE"}

    def parse_update(self) -> Update:
        stream = self.stream
        seen: set[str] = set()
        actions: list[Action] = []
        while True:
            token = stream.current
            section = token.text.upper() if token.kind == "name" else ""
            if section not in SECTIONS:
                raise stream.syntax_error()
            stream.advance()
            self.action = len(actions)
            actions.append(self.parse_action(section))
            while stream.accept_op(","):
                self.action = len(actions)
                actions.append(self.parse_action(section))
            # A repeated section is noticed once its actions were read.
            if section in seen:
                self.defer(
                    f'The "{section}" section can only be used once in an update expression;',
                    stage=1,
                )
            seen.add(section)
            if stream.current.kind == "eof":
                break
        # DynamoDB's order: names and functions, undefined #names, overlapping paths, then the
        # values and their types.
        self.raise_deferred(1)
        self.raise_deferred(2, last_action_first=True)
        check_overlaps(self.kind, [action.path for action in actions])
        self.raise_deferred(3, last_action_first=True)
        return Update(actions)

    def parse_action(self, section: str) -> Action:
        path = self.parse_path()
        if section == "REMOVE":
            return Action(section, path)
        if section == "SET":
            self.stream.expect_op("=")
            return Action(section, path, self.parse_set_value())
        token = self.stream.current
        if token.kind != "value":
            raise self.stream.syntax_error()
        self.stream.advance()
        operand = ValueOperand(token.text, self.value_of(token))
        allowed = ("N", *av.SET_TYPES) if section == "ADD" else av.SET_TYPES
        kind = value_type(operand.value)
        if kind not in allowed and token.text in self.values:
            self.defer(
                "Incorrect operand type for operator or function; "
                f"operator: {section}, operand type: {LONG_TYPE_NAMES[kind]}, "
                f"typeSet: ALLOWED_FOR_{section}_OPERAND"
            )
        return Action(section, path, operand)

    def parse_set_value(self) -> Operand:
        left = self.parse_operand()
        for op in ("+", "-"):
            if self.stream.accept_op(op):
                self.count_operator()
                right = self.parse_operand()
                self.check_literal_type(op, left, ("N",))
                self.check_literal_type(op, right, ("N",))
                return Arithmetic(op, left, right)
        return left

    def parse_function_operand(self) -> Operand:
        """if_not_exists(path, operand) and list_append(operand, operand)."""
        name = self.stream.advance().text
        self.count_operator()
        if name not in UPDATE_FUNCTIONS:
            known = name == "size" or name in CONDITION_FUNCTIONS
            self.defer(
                f"The function is not allowed in an update expression; function: {name}"
                if known
                else f"Invalid function name; function: {name}",
                stage=1,
            )
        args = self.parse_arguments()
        if name not in UPDATE_FUNCTIONS:
            return args[0]
        self.check_arity(name, args, 2, stage=3)
        if len(args) != 2:
            return args[0]
        if name == "if_not_exists":
            self.require_path(name, args[0])
            self.check_distinct(name, args[0], args[1:])
            first = args[0] if isinstance(args[0], PathOperand) else PathOperand(("",))
            return IfNotExists(first, args[1])
        self.check_literal_type(name, args[0], ("L",))
        self.check_literal_type(name, args[1], ("L",))
        return ListAppend(args[0], args[1])


def parse_update(
    text: Any,
    names: Mapping[str, str] | None,
    values: Mapping[str, Value] | None,
    usage: Usage,
) -> Update:
    return UpdateParser(text, "UpdateExpression", names, values, usage).parse_update()
