"""PartiQL ASTs to DynamoDB requests: the statement becomes the GetItem, Query, Scan, PutItem,
UpdateItem or DeleteItem request that does the same work, with its conditions written as
DynamoDB expressions (placeholders for every name and value), so that items are read, written
and conditions evaluated by the one code path the item operations use.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.partiql.parser import (
    IS_TYPES,
    And,
    Arith,
    Between,
    Call,
    Compare,
    Delete,
    In,
    Insert,
    Is,
    ListValue,
    Literal,
    MapValue,
    Not,
    Or,
    Param,
    Path,
    Select,
    SetValue,
    Update,
)
from overcast.services.dynamodb.values import check_number, format_number

AttributeValue = dict[str, Any]

_PREDICATES = frozenset(
    {"begins_with", "contains", "attribute_type", "attribute_exists", "attribute_not_exists"}
)
_KEY_CONDITION_OPS = frozenset({"=", "<", "<=", ">", ">="})
NO_KEY_EQUALITY = "Where clause does not contain a mandatory equality on all key attributes"


@dataclass(frozen=True)
class KeySchema:
    hash_key: str
    range_key: str | None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    @classmethod
    def of(cls, key_schema: list[dict[str, str]]) -> KeySchema:
        hash_key = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
        range_key = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
        return cls(hash_key, range_key)


class Expressions:
    """Builds expression text with ``#n`` / ``:v`` placeholders and their maps."""

    def __init__(self, params: list[AttributeValue]) -> None:
        self.params = params
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValue] = {}
        self._name_of: dict[str, str] = {}

    def name(self, attr: str) -> str:
        ph = self._name_of.get(attr)
        if ph is None:
            ph = self._name_of[attr] = f"#n{len(self._name_of)}"
            self.names[ph] = attr
        return ph

    def value(self, av: AttributeValue) -> str:
        ph = f":v{len(self.values)}"
        self.values[ph] = av
        return ph

    def path(self, path: Path) -> str:
        out = self.name(str(path.parts[0]))
        for part in path.parts[1:]:
            out += f"[{part}]" if isinstance(part, int) else f".{self.name(part)}"
        return out

    def resolve(self, node: Any, where: str = "root") -> AttributeValue:
        """The AttributeValue of a value node (literal, parameter, map, list, set);
        ``where`` names its place for number errors (``root.x``, ``root[1]``)."""
        if isinstance(node, Param):
            return self.params[node.index]
        if isinstance(node, Literal):
            if node.kind == "MISSING":
                raise ValidationException("MISSING is not a value")
            if node.kind == "N":
                try:
                    number = check_number(Decimal(node.value))
                except ValidationException as exc:
                    raise ValidationException(f"{exc.error_message} under {where}") from exc
                return {"N": format_number(number)}
            return {node.kind: node.value}
        if isinstance(node, MapValue):
            return {"M": {k: self.resolve(v, f"{where}.{k}") for k, v in node.entries}}
        if isinstance(node, ListValue):
            return {"L": [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(node.items)]}
        if isinstance(node, SetValue):
            return _bag(node)
        raise ValidationException(f"Unsupported value in statement: {type(node).__name__}")

    def operand(self, node: Any) -> str:
        if isinstance(node, Path):
            return self.path(node)
        if isinstance(node, Call):
            if node.name != "size" or len(node.args) != 1:
                raise ValidationException(f"Unsupported function in this context: {node.name}")
            return f"size({self.operand(node.args[0])})"
        return self.value(self.resolve(node))

    def condition(self, node: Any) -> str:
        if isinstance(node, And):
            return f"({self.condition(node.left)}) AND ({self.condition(node.right)})"
        if isinstance(node, Or):
            return f"({self.condition(node.left)}) OR ({self.condition(node.right)})"
        if isinstance(node, Not):
            return f"NOT ({self.condition(node.operand)})"
        if isinstance(node, Compare):
            for side, other in ((node.right, node.left), (node.left, node.right)):
                # attribute_exists(x) = true: the function is itself the condition.
                if (
                    isinstance(other, Call)
                    and other.name in _PREDICATES
                    and isinstance(side, Literal)
                    and side.kind == "BOOL"
                    and node.op in ("=", "<>")
                ):
                    holds = side.value == (node.op == "=")
                    text = self.condition(other)
                    return text if holds else f"NOT ({text})"
                if isinstance(side, Literal) and side.kind == "MISSING":
                    if node.op not in ("=", "<>"):
                        raise ValidationException("MISSING can only be compared with = or <>")
                    fn = "attribute_not_exists" if node.op == "=" else "attribute_exists"
                    return f"{fn}({self.operand(other)})"
            return f"{self.operand(node.left)} {node.op} {self.operand(node.right)}"
        if isinstance(node, Between):
            return (
                f"{self.operand(node.operand)} BETWEEN {self.operand(node.low)} "
                f"AND {self.operand(node.high)}"
            )
        if isinstance(node, In):
            values = ", ".join(self.operand(v) for v in node.values)
            return f"{self.operand(node.operand)} IN ({values})"
        if isinstance(node, Is):
            target = self.operand(node.operand)
            if node.what == "MISSING":
                fn = "attribute_exists" if node.negated else "attribute_not_exists"
                return f"{fn}({target})"
            kind = "NULL" if node.what == "NULL" else IS_TYPES[node.what]
            text = f"attribute_type({target}, {self.value({'S': kind})})"
            return f"NOT ({text})" if node.negated else text
        if isinstance(node, Call):
            if node.name == "exists" and len(node.args) == 1:
                return f"attribute_exists({self.operand(node.args[0])})"
            if node.name not in _PREDICATES:
                raise ValidationException(f"Unsupported function in condition: {node.name}")
            if not node.args:  # an expression cannot even spell this one
                raise ValidationException(
                    "Incorrect number of operands for operator or function; operator or "
                    f"function: {node.name}, number of operands: 0"
                )
            args = ", ".join(self.operand(a) for a in node.args)
            return f"{node.name}({args})"
        raise ValidationException("Unsupported condition in WHERE clause")

    def attach(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            request["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            request["ExpressionAttributeValues"] = dict(self.values)
        return request


def project(item: dict[str, AttributeValue], paths: list[Path]) -> dict[str, AttributeValue]:
    """A SELECT's row: each projected path's value under its ``Path.result_name``, as PartiQL
    returns nested paths (not the nested document ProjectionExpression keeps)."""
    row: dict[str, AttributeValue] = {}
    for path in paths:
        value: Any = {"M": item}
        for part in path.parts:
            if isinstance(part, int):
                members = value.get("L") if isinstance(value, dict) else None
                value = members[part] if members is not None and part < len(members) else None
            else:
                members = value.get("M") if isinstance(value, dict) else None
                value = members.get(part) if members is not None else None
            if value is None:
                break
        if value is not None:
            row[path.result_name] = value
    return row


def _bag(node: SetValue) -> AttributeValue:
    """A ``<<...>>`` literal as a set, with DynamoDB's errors for what a set cannot hold."""
    if any(isinstance(v, Param) for v in node.items):
        raise ValidationException("Unsupported data type in Bag")
    if not node.items:
        raise ValidationException("Empty bags are not supported")
    kinds = {v.kind if isinstance(v, Literal) else "" for v in node.items}
    if len(kinds) != 1 or not kinds <= {"S", "N"}:
        raise ValidationException("DynamoDB only supports either numbers or strings in bags")
    kind = next(iter(kinds))
    members = [v.value for v in node.items]
    canonical = {Decimal(m) for m in members} if kind == "N" else set(members)
    if len(canonical) != len(members):
        raise ValidationException(
            "One or more parameter values were invalid: Input collection "
            f"[{', '.join(members)}] contains duplicates."
        )
    return {kind + "S": members}


def referenced_names(node: Any) -> list[str]:
    """The top-level attribute names a condition reads, in order of appearance."""
    out: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, Path):
            out.append(str(n.parts[0]))
        elif isinstance(n, And | Or):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Not):
            walk(n.operand)
        elif isinstance(n, Compare):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, Between):
            walk(n.operand)
            walk(n.low)
            walk(n.high)
        elif isinstance(n, In):
            walk(n.operand)
            for v in n.values:
                walk(v)
        elif isinstance(n, Is):
            walk(n.operand)
        elif isinstance(n, Call):
            for a in n.args:
                walk(a)

    walk(node)
    return list(dict.fromkeys(out))


_ORDERED = ("S", "N", "B")


def _static_type(node: Any, params: list[AttributeValue]) -> str | None:
    """The attribute type of a literal or parameter operand (None for paths and calls)."""
    if isinstance(node, Param):
        value = params[node.index] if node.index < len(params) else None
        return next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    if isinstance(node, Literal):
        return node.kind
    if isinstance(node, MapValue):
        return "M"
    if isinstance(node, ListValue):
        return "L"
    if isinstance(node, SetValue):
        return "SS"
    return None


def check_operand_types(node: Any, params: list[AttributeValue]) -> None:
    """Ordering comparisons take only S, N and B operands: a property of the statement that
    DynamoDB checks before it even looks the table up."""
    if node is None:
        return
    if isinstance(node, And | Or):
        check_operand_types(node.left, params)
        check_operand_types(node.right, params)
    elif isinstance(node, Not):
        check_operand_types(node.operand, params)
    elif isinstance(node, Compare | Between):
        op, operands = (
            (node.op, (node.left, node.right))
            if isinstance(node, Compare)
            else ("BETWEEN", (node.operand, node.low, node.high))
        )
        if op in ("=", "<>"):
            return
        for operand in operands:
            kind = _static_type(operand, params)
            if kind is not None and kind not in _ORDERED and kind != "MISSING":
                raise ValidationException(
                    "Incorrect operand type for operator or function; operator or function: "
                    f"{op}, operand type: {kind}"
                )


def keyed_filters(where: Any, hash_key: str) -> list[Any] | None:
    """The other top-level conjuncts of a read keyed on ``hash_key`` (equality or IN at the
    top level), or None when the read is not keyed (it scans)."""
    parts = conjuncts(where)
    for node in parts:
        keyed = _key_equality(node, (hash_key,)) is not None or (
            isinstance(node, In)
            and isinstance(node.operand, Path)
            and node.operand.parts == (hash_key,)
        )
        if keyed:
            return [n for n in parts if n is not node]
    return None


def conjuncts(node: Any) -> list[Any]:
    if node is None:
        return []
    if isinstance(node, And):
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def _join(parts: list[str]) -> str | None:
    return " AND ".join(f"({p})" for p in parts) if parts else None


def _key_equality(node: Any, names: tuple[str, ...]) -> tuple[str, Any] | None:
    """``(attr, value node)`` when ``node`` is ``attr = value`` for a key attribute."""
    if not isinstance(node, Compare) or node.op != "=":
        return None
    for path, value in ((node.left, node.right), (node.right, node.left)):
        if (
            isinstance(path, Path)
            and len(path.parts) == 1
            and path.parts[0] in names
            and isinstance(value, Literal | Param)
            and not (isinstance(value, Literal) and value.kind == "MISSING")
        ):
            return str(path.parts[0]), value
    return None


def split_key(
    where: Any, schema: KeySchema, ex: Expressions
) -> tuple[dict[str, AttributeValue], list[Any]]:
    """The item key from the WHERE's key equalities (all key attributes, else an error) and
    the remaining conjuncts."""
    key: dict[str, AttributeValue] = {}
    rest: list[Any] = []
    for node in conjuncts(where):
        found = _key_equality(node, schema.names)
        if found is not None and found[0] not in key:
            key[found[0]] = ex.resolve(found[1])
        else:
            rest.append(node)
    if set(key) != set(schema.names):
        raise ValidationException(NO_KEY_EQUALITY)
    return key, rest


@dataclass
class ReadPlan:
    operation: str  # "get_item", "query" or "scan"
    request: dict[str, Any]


def plan_select(
    stmt: Select,
    params: list[AttributeValue],
    table_schema: KeySchema,
    index_schema: KeySchema | None,
) -> ReadPlan:
    """The cheapest read that answers the SELECT: GetItem on a full key, Query on a partition
    key equality, else a Scan with the WHERE as filter."""
    ex = Expressions(params)
    base: dict[str, Any] = {"TableName": stmt.table}
    if stmt.index is not None:
        base["IndexName"] = stmt.index
    if stmt.projection is not None:
        # Only the top-level attributes are asked for (an LSI fetches what it does not
        # project from the table); ``project`` then names each path as PartiQL does.
        tops = dict.fromkeys(str(p.parts[0]) for p in stmt.projection)
        base["ProjectionExpression"] = ", ".join(ex.name(n) for n in tops)
    schema = index_schema or table_schema
    parts = conjuncts(stmt.where)
    hash_cond = next((n for n in parts if _key_equality(n, (schema.hash_key,)) is not None), None)
    if hash_cond is None:
        if stmt.order:
            raise ValidationException(
                "Must have WHERE clause in the statement when using ORDER BY clause."
            )
        if parts:
            base["FilterExpression"] = ex.condition(stmt.where)
        return ReadPlan("scan", ex.attach(base))
    rest = [n for n in parts if n is not hash_cond]
    if stmt.index is None and not stmt.order and schema.range_key is not None:
        range_eq = next((n for n in rest if _key_equality(n, (schema.range_key,))), None)
        if range_eq is not None and len(rest) == 1:
            key, _ = split_key(stmt.where, schema, ex)
            request = {"TableName": stmt.table, "Key": key}
            if "ProjectionExpression" in base:
                request["ProjectionExpression"] = base["ProjectionExpression"]
            return ReadPlan("get_item", ex.attach(request))
    if stmt.index is None and schema.range_key is None and not rest:
        key, _ = split_key(stmt.where, schema, ex)
        request = {"TableName": stmt.table, "Key": key}
        if "ProjectionExpression" in base:
            request["ProjectionExpression"] = base["ProjectionExpression"]
        return ReadPlan("get_item", ex.attach(request))
    range_cond = None
    if schema.range_key is not None:
        range_cond = next((n for n in rest if _is_range_condition(n, schema.range_key)), None)
        if range_cond is not None:
            rest = [n for n in rest if n is not range_cond]
    if not stmt.order and any(name in schema.names for n in rest for name in referenced_names(n)):
        # A Query filter cannot read key attributes; the Scan's filter can.
        if parts:
            base["FilterExpression"] = ex.condition(stmt.where)
        return ReadPlan("scan", ex.attach(base))
    key_parts = [ex.condition(hash_cond)]
    if range_cond is not None:
        key_parts.append(ex.condition(range_cond))
    base["KeyConditionExpression"] = " AND ".join(key_parts)
    if rest:
        base["FilterExpression"] = _join([ex.condition(n) for n in rest])
    if stmt.order:
        path, desc = stmt.order[0]
        if path.parts != (schema.range_key,) and path.parts != (schema.hash_key,):
            raise ValidationException(
                "Order by is only supported on the partition key and sort key attributes"
            )
        base["ScanIndexForward"] = not desc
    return ReadPlan("query", ex.attach(base))


def _is_range_condition(node: Any, range_key: str) -> bool:
    def is_key(n: Any) -> bool:
        return isinstance(n, Path) and n.parts == (range_key,)

    def is_value(n: Any) -> bool:
        return isinstance(n, Literal | Param)

    if isinstance(node, Compare) and node.op in _KEY_CONDITION_OPS:
        return (is_key(node.left) and is_value(node.right)) or (
            is_key(node.right) and is_value(node.left)
        )
    if isinstance(node, Between):
        return is_key(node.operand) and is_value(node.low) and is_value(node.high)
    if isinstance(node, Call) and node.name == "begins_with" and len(node.args) == 2:
        return is_key(node.args[0]) and is_value(node.args[1])
    return False


def plan_insert(stmt: Insert, params: list[AttributeValue], schema: KeySchema) -> dict[str, Any]:
    ex = Expressions(params)
    if isinstance(stmt.value, MapValue):  # each attribute of the item is "root"
        value = {"M": {k: ex.resolve(v) for k, v in stmt.value.entries}}
    else:
        value = ex.resolve(stmt.value)
    if "M" not in value:
        raise ValidationException("Unsupported value for INSERT: the VALUE must be a tuple")
    request: dict[str, Any] = {
        "TableName": stmt.table,
        "Item": value["M"],
        "ConditionExpression": f"attribute_not_exists({ex.name(schema.hash_key)})",
    }
    return ex.attach(request)


def plan_update(stmt: Update, params: list[AttributeValue], schema: KeySchema) -> dict[str, Any]:
    ex = Expressions(params)
    key, rest = split_key(stmt.where, schema, ex)
    sets: list[str] = []
    adds: list[str] = []
    deletes: list[str] = []
    removes = [ex.path(p) for p in stmt.removes]
    for path, value in stmt.sets:
        if path.parts[0] in schema.names and len(path.parts) == 1:
            raise ValidationException(
                "One or more parameter values were invalid: Cannot update attribute "
                f"{path.parts[0]}. This attribute is part of the key"
            )
        target = ex.path(path)
        if isinstance(value, Literal) and value.kind == "MISSING":
            removes.append(target)
        elif isinstance(value, Call) and value.name in ("set_add", "set_delete"):
            fn = value.name.upper()
            if len(value.args) != 2:
                raise ValidationException(f"{fn} must have exactly two arguments at {value.at}")
            if value.args[0] != path:
                raise ValidationException(
                    f"The first argument to {fn} must equal the assignment value at {value.at}"
                )
            if not isinstance(value.args[1], SetValue | Param):
                raise ValidationException(
                    f"The second argument to {fn} must be a value with type SET at "
                    f"{value.arg_at[0]}"
                )
            clause = f"{target} {ex.operand(value.args[1])}"
            (adds if value.name == "set_add" else deletes).append(clause)
        else:
            sets.append(f"{target} = {_set_value(ex, value)}")
    clauses = []
    for word, items in (("SET", sets), ("REMOVE", removes), ("ADD", adds), ("DELETE", deletes)):
        if items:
            clauses.append(f"{word} {', '.join(items)}")
    condition = [f"attribute_exists({ex.name(schema.hash_key)})"]
    condition += [ex.condition(n) for n in rest]
    request: dict[str, Any] = {
        "TableName": stmt.table,
        "Key": key,
        "UpdateExpression": " ".join(clauses),
        "ConditionExpression": _join(condition),
    }
    if stmt.returning:
        request["ReturnValues"] = stmt.returning
    return ex.attach(request)


def _set_value(ex: Expressions, node: Any) -> str:
    if isinstance(node, Arith):
        return f"{_set_value(ex, node.left)} {node.op} {_set_value(ex, node.right)}"
    if isinstance(node, Call):
        if node.name in ("list_append", "if_not_exists") and len(node.args) == 2:
            return f"{node.name}({_set_value(ex, node.args[0])}, {_set_value(ex, node.args[1])})"
        raise ValidationException(f"Unsupported function in SET: {node.name}")
    if isinstance(node, Path):
        return ex.path(node)
    return ex.value(ex.resolve(node))


def plan_delete(stmt: Delete, params: list[AttributeValue], schema: KeySchema) -> dict[str, Any]:
    ex = Expressions(params)
    key, rest = split_key(stmt.where, schema, ex)
    request: dict[str, Any] = {"TableName": stmt.table, "Key": key}
    if rest:
        # The other predicates guard an existing item; a missing one is a no-op, as on AWS.
        missing = f"attribute_not_exists({ex.name(schema.hash_key)})"
        request["ConditionExpression"] = f"{missing} OR {_join([ex.condition(n) for n in rest])}"
    if stmt.returning:
        request["ReturnValues"] = stmt.returning
    return ex.attach(request)


def plan_exists(stmt: Select, params: list[AttributeValue], schema: KeySchema) -> dict[str, Any]:
    """EXISTS(SELECT ...) in a transaction: a ConditionCheck that the item exists and matches."""
    if stmt.index is not None:
        raise ValidationException("EXISTS cannot read an index")
    ex = Expressions(params)
    key, rest = split_key(stmt.where, schema, ex)
    if not rest:
        raise ValidationException(
            "EXISTS() must contain a single item read with additional condition"
        )
    condition = [f"attribute_exists({ex.name(schema.hash_key)})"]
    condition += [ex.condition(n) for n in rest]
    return ex.attach({"TableName": stmt.table, "Key": key, "ConditionExpression": _join(condition)})
