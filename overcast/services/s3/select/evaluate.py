"""Running a parsed query over records: ``Evaluator.run(records)`` yields output rows, each a
list of (column name, value) pairs, in input order (one row for an aggregate query).

A record is a ``CsvRecord`` (fields by position ``_1``.. and, with a header, by name) or a JSON
value. SQL logic is three-valued: a WHERE condition keeps a record only when it is TRUE.
"""

from __future__ import annotations

import datetime
import decimal
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from overcast.services.s3.select import ast
from overcast.services.s3.select.errors import (
    DivideByZero,
    EvaluatorInvalidArguments,
    IllegalSqlFunctionArgument,
    InvalidDataType,
    UnsupportedFunction,
)
from overcast.services.s3.select.values import (
    MISSING,
    as_number,
    cast,
    compare,
    is_absent,
    parse_timestamp,
    to_string,
)

Row = list[tuple[str, Any]]
_POSITIONAL = re.compile(r"^_(\d+)$")


@dataclass(slots=True)
class CsvRecord:
    values: list[str]
    header: dict[str, int] | None  # exact names -> position
    folded: dict[str, int] | None  # lower-cased names -> position

    def field(self, name: str, quoted: bool) -> Any:
        match = _POSITIONAL.match(name)
        if match is not None:
            position = int(match.group(1)) - 1
            return self.values[position] if 0 <= position < len(self.values) else MISSING
        if self.header is None or self.folded is None:
            return MISSING
        index = self.header.get(name) if quoted else self.folded.get(name.lower())
        if index is None and not quoted:
            index = self.header.get(name)
        if index is None or index >= len(self.values):
            return MISSING
        return self.values[index]

    def named(self) -> Row:
        names = sorted(self.header, key=self.header.__getitem__) if self.header else []
        out: Row = []
        for i, value in enumerate(self.values):
            out.append((names[i] if i < len(names) else f"_{i + 1}", value))
        return out


def _step(current: Any, step: ast.Step) -> Any:
    if isinstance(current, CsvRecord):
        return current.field(step.name, step.quoted) if step.name is not None else MISSING
    if step.index is not None:
        if isinstance(current, list) and -len(current) <= step.index < len(current):
            return current[step.index] if step.index >= 0 else MISSING
        return MISSING
    if isinstance(current, dict) and step.name is not None:
        if step.name in current:
            return current[step.name]
        if not step.quoted:
            lowered = step.name.lower()
            for key, value in current.items():
                if key.lower() == lowered:
                    return value
        return MISSING
    return MISSING


def item_name(item: ast.Item, position: int) -> str:
    if item.alias is not None:
        return item.alias
    expr = item.expr
    if isinstance(expr, ast.Path):
        last = expr.steps[-1]
        if last.name is not None and len(expr.steps) > 1:
            return last.name
        if last.name is not None and len(expr.steps) == 1:
            return last.name
    return f"_{position}"


def _aggregates(node: Any) -> Iterator[ast.Aggregate]:
    if isinstance(node, ast.Aggregate):
        yield node
        return
    if isinstance(node, ast.Node):
        for name in getattr(node, "__slots__", ()):
            yield from _aggregates(getattr(node, name))
    elif isinstance(node, tuple):
        for element in node:
            yield from _aggregates(element)


class Evaluator:
    def __init__(self, query: ast.Query, now: float) -> None:
        self.query = query
        # UTCNOW() is the query's start on env.clock, so tests that move the clock see it move.
        self.now = datetime.datetime.fromtimestamp(now, datetime.UTC)
        self.alias = (query.alias or "").lower()
        self._results: list[Any] = []

    # --- the query ------------------------------------------------------------------------

    def run(self, records: Iterable[Any]) -> Iterator[Row]:
        query = self.query
        if query.aggregates:
            yield self._aggregate_rows(records)
            return
        emitted = 0
        if query.limit is not None and query.limit <= 0:
            return
        for record in records:
            if query.where is not None and self.eval(query.where, record) is not True:
                continue
            yield self._project(record)
            emitted += 1
            if query.limit is not None and emitted >= query.limit:
                return

    def _project(self, record: Any) -> Row:
        items = self.query.items
        if items is None:
            if isinstance(record, CsvRecord):
                return record.named()
            return [("", record)]  # a whole JSON value
        return [
            (item_name(item, i), self.eval(item.expr, record)) for i, item in enumerate(items, 1)
        ]

    def _aggregate_rows(self, records: Iterable[Any]) -> Row:
        items = self.query.items or ()
        nodes = [a for item in items for a in _aggregates(item.expr)]
        state: list[Any] = [None] * self.query.aggregates
        counts = [0] * self.query.aggregates
        for record in records:
            if self.query.where is not None and self.eval(self.query.where, record) is not True:
                continue
            for node in nodes:
                if node.arg is None:
                    counts[node.slot] += 1
                    continue
                value = self.eval(node.arg, record)
                if is_absent(value):
                    continue
                counts[node.slot] += 1
                state[node.slot] = _accumulate(node.name, state[node.slot], value)
        results: list[Any] = []
        for slot in range(self.query.aggregates):
            node = next(n for n in nodes if n.slot == slot)
            value = state[slot]
            if node.name == "COUNT":
                results.append(counts[slot])
            elif node.name == "AVG":
                results.append(None if not counts[slot] else _divide_exact(value, counts[slot]))
            else:
                results.append(value)
        self._results = results
        return [(item_name(item, i), self.eval(item.expr, None)) for i, item in enumerate(items, 1)]

    # --- expressions ----------------------------------------------------------------------

    def eval(self, node: ast.Node, record: Any) -> Any:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node, record)

    def _literal(self, node: ast.Literal, record: Any) -> Any:
        return node.value

    def _aggregate(self, node: ast.Aggregate, record: Any) -> Any:
        return self._results[node.slot]

    def _path(self, node: ast.Path, record: Any) -> Any:
        steps = node.steps
        first = steps[0]
        current = record
        if (
            first.name is not None
            and not first.quoted
            and first.name.lower()
            in (
                self.alias or "\0",
                "s3object",
            )
        ):
            steps = steps[1:]
        for step in steps:
            if step.wildcard:
                return current
            current = _step(current, step)
            if current is MISSING:
                return MISSING
        return current

    def _unary(self, node: ast.Unary, record: Any) -> Any:
        value = self.eval(node.operand, record)
        if node.op == "NOT":
            truth = _truth(value)
            return None if truth is None else not truth
        if is_absent(value):
            return value
        number = as_number(value)
        if number is None:
            raise InvalidDataType()
        return -number

    def _binary(self, node: ast.Binary, record: Any) -> Any:
        op = node.op
        if op == "AND":
            left = _truth(self.eval(node.left, record))
            if left is False:
                return False
            right = _truth(self.eval(node.right, record))
            if right is False:
                return False
            return None if left is None or right is None else True
        if op == "OR":
            left = _truth(self.eval(node.left, record))
            if left is True:
                return True
            right = _truth(self.eval(node.right, record))
            if right is True:
                return True
            return None if left is None or right is None else False
        left, right = self.eval(node.left, record), self.eval(node.right, record)
        if op == "||":
            if is_absent(left) or is_absent(right):
                return None
            return to_string(left) + to_string(right)
        if op in ("=", "!=", "<", ">", "<=", ">="):
            order = compare(left, right)
            if order is None:
                return None
            return {
                "=": order == 0, "!=": order != 0, "<": order < 0,
                ">": order > 0, "<=": order <= 0, ">=": order >= 0,
            }[op]  # fmt: skip
        if is_absent(left) or is_absent(right):
            return None
        a: Any = as_number(left)
        b: Any = as_number(right)
        if a is None or b is None:
            raise InvalidDataType()
        if isinstance(a, decimal.Decimal) != isinstance(b, decimal.Decimal):
            a, b = decimal.Decimal(str(a)), decimal.Decimal(str(b))
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
            raise DivideByZero()
        if op == "/":
            if isinstance(a, int) and isinstance(b, int):
                quotient = abs(a) // abs(b)
                return quotient if (a >= 0) == (b >= 0) else -quotient
            return a / b
        return a - b * int(a / b) if isinstance(a, int) and isinstance(b, int) else a % b

    def _like(self, node: ast.Like, record: Any) -> Any:
        value = self.eval(node.value, record)
        pattern = self.eval(node.pattern, record)
        escape = self.eval(node.escape, record) if node.escape is not None else None
        if is_absent(value) or is_absent(pattern):
            return None
        matched = _like_regex(to_string(pattern), escape).fullmatch(to_string(value)) is not None
        return matched != node.negated

    def _between(self, node: ast.Between, record: Any) -> Any:
        value = self.eval(node.value, record)
        low = compare(value, self.eval(node.low, record))
        high = compare(value, self.eval(node.high, record))
        if low is None or high is None:
            return None
        return (low >= 0 and high <= 0) != node.negated

    def _in(self, node: ast.In, record: Any) -> Any:
        value = self.eval(node.value, record)
        if is_absent(value):
            return None
        unknown = False
        for option in node.options:
            order = compare(value, self.eval(option, record))
            if order == 0:
                return not node.negated
            if order is None:
                unknown = True
        return None if unknown else node.negated

    def _is(self, node: ast.Is, record: Any) -> Any:
        value = self.eval(node.value, record)
        hit = value is MISSING if node.what == "MISSING" else is_absent(value)
        return hit != node.negated

    def _cast(self, node: ast.Cast, record: Any) -> Any:
        return cast(self.eval(node.value, record), node.type_name)

    def _case(self, node: ast.Case, record: Any) -> Any:
        subject = self.eval(node.subject, record) if node.subject is not None else None
        for cond, result in node.branches:
            if node.subject is not None:
                hit = compare(subject, self.eval(cond, record)) == 0
            else:
                hit = _truth(self.eval(cond, record)) is True
            if hit:
                return self.eval(result, record)
        return self.eval(node.default, record) if node.default is not None else None

    def _call(self, node: ast.Call, record: Any) -> Any:
        if node.name not in FUNCTIONS:
            raise UnsupportedFunction(f"Encountered an unsupported SQL function: {node.name}.")
        args = [self.eval(arg, record) for arg in node.args]
        if not _arity_ok(node.name, len(args)):
            return _bad_arity(node.name)
        if node.name == "UTCNOW":
            return self.now
        return FUNCTIONS[node.name](*args)


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _accumulate(name: str, current: Any, value: Any) -> Any:
    if name == "COUNT":
        return None
    if name in ("SUM", "AVG"):
        number = as_number(value)
        if number is None:
            raise InvalidDataType()
        if current is None:
            return number
        if isinstance(current, decimal.Decimal) != isinstance(number, decimal.Decimal):
            return decimal.Decimal(str(current)) + decimal.Decimal(str(number))
        return current + number
    if current is None:
        return value
    order = compare(value, current)
    if order is None:
        return current
    return value if (order < 0) == (name == "MIN") and order != 0 else current


def _divide_exact(total: Any, count: int) -> Any:
    if isinstance(total, decimal.Decimal):
        return total / count
    return total / count


_LIKE_CACHE: dict[tuple[str, Any], re.Pattern[str]] = {}


def _like_regex(pattern: str, escape: Any) -> re.Pattern[str]:
    key = (pattern, escape)
    cached = _LIKE_CACHE.get(key)
    if cached is not None:
        return cached
    if escape is not None and (not isinstance(escape, str) or len(escape) != 1):
        raise IllegalSqlFunctionArgument("The ESCAPE character must be a single character.")
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if escape is not None and c == escape and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    compiled = re.compile("".join(out), re.DOTALL)
    if len(_LIKE_CACHE) < 256:
        _LIKE_CACHE[key] = compiled
    return compiled


# --- scalar functions ------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if is_absent(value) else to_string(value)


def _lower(value: Any) -> Any:
    text = _text(value)
    return None if text is None else text.lower()


def _upper(value: Any) -> Any:
    text = _text(value)
    return None if text is None else text.upper()


def _char_length(value: Any) -> Any:
    text = _text(value)
    return None if text is None else len(text)


def _trim(where: str, chars: Any, value: Any) -> Any:
    text, strip = _text(value), _text(chars)
    if text is None or strip is None:
        return None
    if where == "LEADING":
        return text.lstrip(strip)
    if where == "TRAILING":
        return text.rstrip(strip)
    return text.strip(strip)


def _substring(value: Any, start: Any, length: Any = MISSING) -> Any:
    text = _text(value)
    first = as_number(start)
    if text is None or first is None:
        return None
    begin = int(first) - 1  # SQL positions start at 1; before the start shortens the length
    if length is MISSING:
        return text[max(begin, 0) :]
    count = as_number(length)
    if count is None or count < 0:
        raise IllegalSqlFunctionArgument("SUBSTRING's length must not be negative.")
    end = begin + int(count)
    return text[max(begin, 0) : max(end, 0)]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not is_absent(value):
            return value
    return None


def _nullif(a: Any, b: Any) -> Any:
    return None if compare(a, b) == 0 else a


def _to_timestamp(value: Any) -> Any:
    text = _text(value)
    return None if text is None else parse_timestamp(text)


def _to_string(value: Any, fmt: Any = MISSING) -> Any:
    if is_absent(value):
        return None
    if isinstance(value, datetime.datetime) and isinstance(fmt, str):
        table = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
        out = fmt
        for token, code in table.items():
            out = out.replace(token, code)
        return value.strftime(out)
    return to_string(value)


_PARTS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")


def _as_time(value: Any) -> datetime.datetime | None:
    if is_absent(value):
        return None
    if isinstance(value, datetime.datetime):
        return value
    return parse_timestamp(to_string(value))


def _extract(part: str, value: Any) -> Any:
    moment = _as_time(value)
    if moment is None:
        return None
    if part == "TIMEZONE_HOUR":
        offset = moment.utcoffset() or datetime.timedelta()
        return int(offset.total_seconds() // 3600)
    if part == "TIMEZONE_MINUTE":
        offset = moment.utcoffset() or datetime.timedelta()
        return int(offset.total_seconds() % 3600 // 60)
    if part not in _PARTS:
        raise IllegalSqlFunctionArgument(f"Invalid date part {part}.")
    return getattr(moment, part.lower())


def _date_add(part: str, amount: Any, value: Any) -> Any:
    moment, count = _as_time(value), as_number(amount)
    if moment is None or count is None:
        return None
    n = int(count)
    if part in ("YEAR", "MONTH"):
        months = moment.month - 1 + n * (12 if part == "YEAR" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        return moment.replace(year=year, month=month)
    seconds = {"DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}.get(part)
    if seconds is None:
        raise IllegalSqlFunctionArgument(f"Invalid date part {part}.")
    return moment + datetime.timedelta(seconds=n * seconds)


def _date_diff(part: str, a: Any, b: Any) -> Any:
    start, end = _as_time(a), _as_time(b)
    if start is None or end is None:
        return None
    if part == "YEAR":
        return end.year - start.year
    if part == "MONTH":
        return (end.year - start.year) * 12 + end.month - start.month
    seconds = {"DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}.get(part)
    if seconds is None:
        raise IllegalSqlFunctionArgument(f"Invalid date part {part}.")
    return int((end - start).total_seconds() // seconds)


FUNCTIONS: dict[str, Any] = {
    "LOWER": _lower,
    "UPPER": _upper,
    "CHAR_LENGTH": _char_length,
    "CHARACTER_LENGTH": _char_length,
    "TRIM": _trim,
    "SUBSTRING": _substring,
    "COALESCE": _coalesce,
    "NULLIF": _nullif,
    "UTCNOW": None,  # Evaluator.now: the clock is the request's, not this module's
    "TO_TIMESTAMP": _to_timestamp,
    "TO_STRING": _to_string,
    "EXTRACT": _extract,
    "DATE_ADD": _date_add,
    "DATE_DIFF": _date_diff,
}
_ARITY: dict[str, tuple[int, int]] = {
    "LOWER": (1, 1), "UPPER": (1, 1), "CHAR_LENGTH": (1, 1), "CHARACTER_LENGTH": (1, 1),
    "TRIM": (3, 3), "SUBSTRING": (2, 3), "COALESCE": (1, 99), "NULLIF": (2, 2),
    "UTCNOW": (0, 0), "TO_TIMESTAMP": (1, 1), "TO_STRING": (1, 2), "EXTRACT": (2, 2),
    "DATE_ADD": (3, 3), "DATE_DIFF": (3, 3),
}  # fmt: skip


def _arity_ok(name: str, count: int) -> bool:
    low, high = _ARITY.get(name, (0, 99))
    return low <= count <= high


def _bad_arity(name: str) -> Any:
    raise EvaluatorInvalidArguments(
        f"Incorrect number of arguments in the function call in the SQL expression: {name}."
    )
