"""A recursive-descent parser for DynamoDB's PartiQL dialect.

No maintained Python PartiQL library parses DynamoDB's dialect (``INSERT INTO "t" VALUE {...}``,
``"t"."index"``, ``?`` parameters, ``<<...>>`` sets), so this is a small hand-written one. It
covers what DynamoDB accepts::

    SELECT * | path [, path...] FROM table ["." index] [WHERE cond] [ORDER BY path [ASC|DESC]]
    INSERT INTO table VALUE {'k': value, ...}
    UPDATE table SET path = value [, ...] | REMOVE path [...] ... WHERE cond [RETURNING ...]
    FROM table WHERE cond SET ... | REMOVE ... [RETURNING ...]     -- the FROM-first UPDATE
    DELETE FROM table WHERE cond [RETURNING ALL OLD *]
    EXISTS(SELECT * FROM table WHERE cond)          -- ExecuteTransaction condition checks

Values are literals ('text', 12.5, TRUE, NULL, {'map': ...}, [list], <<set>>) or ``?``
parameters, numbered left to right. The result is an AST of dataclasses that ``translate.py``
turns into DynamoDB expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from overcast.services.dynamodb.errors import ValidationException

# -- AST -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    parts: tuple[str | int, ...]  # first is an attribute name; str: map key, int: list index

    @property
    def result_name(self) -> str:
        """The name a projected path comes back under: its last name with the list indexes
        that follow it (``a.b`` -> ``b``, ``tags[0]`` -> ``tags[0]``)."""
        last = max(i for i, part in enumerate(self.parts) if isinstance(part, str))
        return str(self.parts[last]) + "".join(f"[{i}]" for i in self.parts[last + 1 :])


@dataclass(frozen=True)
class Param:
    index: int


@dataclass(frozen=True)
class Literal:
    kind: str  # "S", "N", "BOOL", "NULL", "MISSING"
    value: Any


@dataclass(frozen=True)
class MapValue:
    entries: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ListValue:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class SetValue:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Call:
    name: str  # lower-case function name
    args: tuple[Any, ...]
    # "line:column:length" of the name and of each argument's first token, for AWS's
    # positioned messages (not part of the call's identity).
    at: str = field(default="", compare=False)
    arg_at: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Arith:
    op: str  # "+" or "-"
    left: Any
    right: Any


@dataclass(frozen=True)
class Compare:
    op: str  # "=", "<>", "<", "<=", ">", ">="
    left: Any
    right: Any


@dataclass(frozen=True)
class Between:
    operand: Any
    low: Any
    high: Any


@dataclass(frozen=True)
class In:
    operand: Any
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Is:
    operand: Any
    what: str  # "MISSING" or "NULL"
    negated: bool


@dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclass(frozen=True)
class Or:
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


@dataclass
class Select:
    table: str
    index: str | None
    projection: list[Path] | None  # None: *
    where: Any = None
    order: list[tuple[Path, bool]] = field(default_factory=list)  # (path, descending)


@dataclass
class Insert:
    table: str
    value: Any


@dataclass
class Update:
    table: str
    sets: list[tuple[Path, Any]]
    removes: list[Path]
    where: Any
    returning: str | None = None  # ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW
    index: str | None = None  # refused when run ("not supported on an index")


@dataclass
class Delete:
    table: str
    where: Any
    returning: str | None = None
    index: str | None = None  # refused when run


@dataclass
class Exists:
    select: Select


Statement = Select | Insert | Update | Delete | Exists

# -- lexer ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<op><<|>>|<>|!=|<=|>=|[=<>?(){}\[\],.:*+\-;])
    """,
    re.VERBOSE | re.DOTALL,
)

KEYWORDS = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "INSERT",
        "INTO",
        "VALUE",
        "UPDATE",
        "SET",
        "REMOVE",
        "DELETE",
        "RETURNING",
        "ALL",
        "MODIFIED",
        "OLD",
        "NEW",
        "BETWEEN",
        "IN",
        "IS",
        "MISSING",
        "NULL",
        "TRUE",
        "FALSE",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "EXISTS",
    ]
)


@dataclass(frozen=True)
class Token:
    kind: str  # "string", "qident", "number", "ident", "kw", "op", "end"
    text: str
    pos: int


def syntax_error(detail: str) -> ValidationException:
    return ValidationException(f"Statement wasn't well formed, can't be processed: {detail}")


_INT32 = 2**31 - 1


def _readable_number(text: str) -> bool:
    """Whether the literal's exponent and scale fit 32-bit integers, as DynamoDB's parser
    needs (``1e2147483648`` and ``1.5e-2147483647`` cannot be read)."""
    mantissa, _, exponent = text.lower().partition("e")
    exp = int(exponent) if exponent else 0
    decimals = len(mantissa.partition(".")[2])
    return abs(exp) <= _INT32 and abs(decimals - exp) <= _INT32


LEFTOVER = "Unexpected token after expression"

# Functions a condition may call, and those a SET value may (anything else is
# "Unrecognized function").
CONDITION_FUNCTIONS = frozenset(
    {"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains",
     "size"}
)  # fmt: skip
SET_FUNCTIONS = frozenset({"list_append", "if_not_exists", "set_add", "set_delete"})
# Type names ``x IS <type>`` tests, as DynamoDB attribute types.
IS_TYPES = {
    "STRING": "S", "NUMBER": "N", "INT": "N", "INTEGER": "N", "DECIMAL": "N", "FLOAT": "N",
    "DOUBLE": "N", "BOOL": "BOOL", "BOOLEAN": "BOOL", "BLOB": "B", "BINARY": "B",
    "LIST": "L", "MAP": "M", "STRUCT": "M", "TUPLE": "M",
}  # fmt: skip
# Reserved words that cannot follow a dot unquoted in a path.
DOT_RESERVED = frozenset(
    {"INNER", "OUTER", "JOIN", "LEFT", "RIGHT", "CROSS", "FULL", "NATURAL", "UNION",
     "INTERSECT", "EXCEPT", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "SELECT", "FROM",
     "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "MISSING", "TRUE", "FALSE", "VALUE"}
)  # fmt: skip


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # AWS answers what it cannot even tokenize with the bare envelope
            raise syntax_error("")
        kind = m.lastgroup
        assert kind is not None
        value = m.group()
        if kind == "ident" and value.upper() in KEYWORDS:
            tokens.append(Token("kw", value.upper(), pos))
        elif kind == "number" and not _readable_number(value):
            raise syntax_error("")
        elif kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = m.end()
    tokens.append(Token("end", "", pos))
    return tokens


# -- parser --------------------------------------------------------------------------------------

_COMPARE = {"=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_RETURNING = {
    ("ALL", "OLD"): "ALL_OLD",
    ("MODIFIED", "OLD"): "UPDATED_OLD",
    ("ALL", "NEW"): "ALL_NEW",
    ("MODIFIED", "NEW"): "UPDATED_NEW",
}


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.params = 0

    def where(self, tok: Token) -> str:
        """``line:column:length`` of a token, counted from 1 as AWS's messages do."""
        line = self.text.count("\n", 0, tok.pos) + 1
        column = tok.pos - (self.text.rfind("\n", 0, tok.pos) + 1) + 1
        return f"{line}:{column}:{len(tok.text)}"

    # -- token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (text is None or tok.text == text)

    def at_kw(self, *words: str) -> bool:
        return self.tok.kind == "kw" and self.tok.text in words

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        if self.at(kind, text):
            return self.next()
        return None

    def expect(self, kind: str, text: str | None = None) -> Token:
        tok = self.accept(kind, text)
        if tok is None:
            raise self.unexpected()
        return tok

    def unexpected(self) -> ValidationException:
        tok = self.tok
        if tok.kind == "end":
            return syntax_error("Unexpected end of statement")
        what = "keyword" if tok.kind == "kw" else "token"
        return syntax_error(f"Unexpected {what}: {tok.text}")

    # -- statements

    def statement(self) -> Statement:
        if self.accept("kw", "SELECT"):
            stmt: Statement = self.select_rest()
        elif self.accept("kw", "INSERT"):
            stmt = self.insert_rest()
        elif self.accept("kw", "UPDATE"):
            stmt = self.update_rest()
        elif self.accept("kw", "DELETE"):
            stmt = self.delete_rest()
        elif self.accept("kw", "FROM"):
            stmt = self.from_first_update_rest()
        elif self.accept("kw", "EXISTS"):
            self.expect("op", "(")
            self.expect("kw", "SELECT")
            stmt = Exists(self.select_rest())
            self.expect("op", ")")
        else:  # AWS's words for a statement that starts with anything else
            raise syntax_error("Expected data manipulation")
        self.accept("op", ";")
        if self.tok.kind == "ident" and self.tok.text.upper() == "LIMIT":
            raise ValidationException("Unsupported clause: LIMIT")
        if not self.at("end"):
            raise syntax_error(LEFTOVER)
        return stmt

    def name(self) -> str:
        tok = self.tok
        if tok.kind == "qident":
            self.i += 1
            return tok.text[1:-1].replace('""', '"')
        if tok.kind == "ident":
            self.i += 1
            return tok.text
        raise self.unexpected()

    def table_ref(self) -> tuple[str, str | None]:
        """``table`` or ``table.index``, with AWS's errors for other paths."""
        table = self.path_component()
        index = None
        if self.accept("op", "."):
            index = self.path_component()
            if self.at("op", "."):
                raise ValidationException(
                    "A path may contain at most 2 components in the FROM clause"
                )
        return table, index

    def no_alias(self) -> None:
        """A table alias (``FROM t x``, ``FROM t AS x``) is refused in AWS's words."""
        tok = self.tok
        if tok.kind == "qident" or (tok.kind == "ident" and tok.text.upper() != "LIMIT"):
            raise ValidationException("Aliasing is not supported")

    def path_component(self) -> str:
        name = self.name()
        if not name:
            raise ValidationException("Path component cannot be an empty string")
        return name

    def select_rest(self) -> Select:
        projection: list[Path] | None
        if self.accept("op", "*"):
            projection = None
        else:
            projection = [self.projected()]
            while self.accept("op", ","):
                projection.append(self.projected())
        self.expect("kw", "FROM")
        table, index = self.table_ref()
        self.no_alias()
        if projection is not None:
            _check_identifiers(projection)
        stmt = Select(table, index, projection)
        if self.accept("kw", "WHERE"):
            stmt.where = self.condition()
        if self.accept("kw", "ORDER"):
            self.expect("kw", "BY")
            while True:
                path = self.path()
                desc = False
                if self.accept("kw", "DESC"):
                    desc = True
                else:
                    self.accept("kw", "ASC")
                stmt.order.append((path, desc))
                if not self.accept("op", ","):
                    break
        return stmt

    def insert_rest(self) -> Insert:
        self.expect("kw", "INTO")
        table, index = self.table_ref()
        if index is not None:
            raise syntax_error("FROM clause may only contain a single table name")
        if not self.at_kw("VALUE"):
            raise syntax_error(LEFTOVER)
        self.expect("kw", "VALUE")
        value = self.value()
        return Insert(table, value)

    def update_rest(self) -> Update:
        table, index = self.table_ref()
        self.no_alias()
        stmt = Update(table, [], [], None, index=index)
        self.update_clauses(stmt)
        self.expect("kw", "WHERE")
        stmt.where = self.condition()
        stmt.returning = self.returning()
        return stmt

    def from_first_update_rest(self) -> Update:
        """PartiQL's FROM-first UPDATE: ``FROM t WHERE ... SET ... | REMOVE ...``."""
        table, index = self.table_ref()
        self.no_alias()
        self.expect("kw", "WHERE")
        stmt = Update(table, [], [], self.condition(), index=index)
        self.update_clauses(stmt)
        stmt.returning = self.returning()
        return stmt

    def update_clauses(self, stmt: Update) -> None:
        """One or more SET/REMOVE clauses, each with a comma-separated list."""
        while self.at_kw("SET", "REMOVE"):
            if self.next().text == "SET":
                while True:
                    path = self.path()
                    self.expect("op", "=")
                    stmt.sets.append((path, self.set_value()))
                    if not self.accept("op", ","):
                        break
            else:
                while True:
                    stmt.removes.append(self.path())
                    if not self.accept("op", ","):
                        break
        if not stmt.sets and not stmt.removes:
            raise self.unexpected()

    def delete_rest(self) -> Delete:
        self.expect("kw", "FROM")
        table, index = self.table_ref()
        self.no_alias()
        self.expect("kw", "WHERE")
        stmt = Delete(table, self.condition(), index=index)
        stmt.returning = self.returning()
        if stmt.returning not in (None, "ALL_OLD"):
            words = {v: f"{a} {b}" for (a, b), v in _RETURNING.items()}[stmt.returning]
            raise ValidationException(
                f"Invalid returning clause: RETURNING {words} *. Only RETURNING ALL OLD * is "
                "allowed in DELETE statements."
            )
        return stmt

    def returning(self) -> str | None:
        if not self.accept("kw", "RETURNING"):
            return None
        which = self.expect("kw").text
        age = self.expect("kw").text
        self.expect("op", "*")
        kind = _RETURNING.get((which, age))
        if kind is None:
            raise syntax_error(f"Unexpected keyword: {which} {age}")
        return kind

    # -- conditions

    def condition(self) -> Any:
        left = self.conjunction()
        while self.accept("kw", "OR"):
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.negation()
        while self.accept("kw", "AND"):
            left = And(left, self.negation())
        return left

    def negation(self) -> Any:
        if self.accept("kw", "NOT"):
            return Not(self.negation())
        return self.predicate()

    def predicate(self) -> Any:
        if self.at_kw("EXISTS"):  # only a statement of its own in a transaction
            raise ValidationException(f"Unrecognized function: exists at {self.where(self.tok)}")
        if self.at("op", "("):
            # A parenthesised condition (operands never start with "(").
            self.next()
            inner = self.condition()
            self.expect("op", ")")
            return inner
        left = self.operand()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARE:
            self.next()
            return Compare(_COMPARE[tok.text], left, self.operand())
        if self.accept("kw", "BETWEEN"):
            low = self.operand()
            self.expect("kw", "AND")
            return Between(left, low, self.operand())
        negated_in = self.at_kw("NOT") and self.tokens[self.i + 1].text == "IN"
        if negated_in:
            self.next()
        if self.accept("kw", "IN"):
            closer = "]" if self.accept("op", "[") else ")" if self.accept("op", "(") else None
            if closer is None:
                raise self.unexpected()
            values = [self.operand()]
            while self.accept("op", ","):
                values.append(self.operand())
            self.expect("op", closer)
            node: Any = In(left, tuple(values))
            return Not(node) if negated_in else node
        if self.accept("kw", "IS"):
            negated = bool(self.accept("kw", "NOT"))
            tok = self.next()
            what = tok.text.upper()
            if what not in ("MISSING", "NULL") and what not in IS_TYPES:
                raise syntax_error(f"Unexpected token: {tok.text}")
            return Is(left, what, negated)
        if isinstance(left, Call):
            return left
        raise self.unexpected()

    def operand(self) -> Any:
        tok = self.tok
        if tok.kind in ("ident", "qident"):
            if tok.kind == "ident" and self.tokens[self.i + 1].text == "(":
                return self.call()
            return self.path()
        return self.value()

    def call(self, allowed: frozenset[str] = CONDITION_FUNCTIONS) -> Call:
        name_tok = self.next()
        name = name_tok.text.lower()
        if name not in allowed:
            raise ValidationException(f"Unrecognized function: {name} at {self.where(name_tok)}")
        self.expect("op", "(")
        args: list[Any] = []
        arg_at: list[str] = []
        if not self.at("op", ")"):
            arg_at.append(self.where(self.tok))
            args.append(self.set_operand() if allowed is SET_FUNCTIONS else self.operand())
            while self.accept("op", ","):
                arg_at.append(self.where(self.tok))
                args.append(self.set_operand() if allowed is SET_FUNCTIONS else self.operand())
        self.expect("op", ")")
        return Call(name, tuple(args), self.where(name_tok), tuple(arg_at))

    def set_operand(self) -> Any:
        """An operand inside a SET value's function (paths, values, nested functions)."""
        tok = self.tok
        if tok.kind == "ident" and self.tokens[self.i + 1].text == "(":
            return self.call(SET_FUNCTIONS)
        return self.operand()

    def set_value(self) -> Any:
        left = self.set_operand()
        while self.at("op", "+") or self.at("op", "-"):
            op = self.next().text
            left = Arith(op, left, self.set_operand())
        return left

    # -- paths and values

    def projected(self) -> Path:
        tok = self.tok
        if tok.kind == "ident" and self.tokens[self.i + 1].text == "(":
            raise ValidationException(f"Unexpected path component at {self.where(tok)}")
        return self.path()

    def path(self) -> Path:
        parts: list[str | int] = [self.name()]
        while True:
            if self.accept("op", "."):
                if self.tok.kind == "ident" and self.tok.text.upper() in DOT_RESERVED:
                    raise syntax_error("Invalid path dot component")
                parts.append(self.name())
            elif self.accept("op", "["):
                tok = self.next()
                if tok.kind == "number" and tok.text.isdigit():
                    parts.append(int(tok.text))
                elif tok.kind == "string":
                    parts.append(_unquote(tok.text))
                else:
                    raise syntax_error(f"Unexpected token: {tok.text}")
                self.expect("op", "]")
            else:
                return Path(tuple(parts))

    def value(self) -> Any:
        tok = self.next()
        if tok.kind == "string":
            return Literal("S", _unquote(tok.text))
        if tok.kind == "number":
            return Literal("N", tok.text)
        if tok.kind == "op":
            if tok.text == "?":
                self.params += 1
                return Param(self.params - 1)
            if tok.text == "-" and self.at("number"):
                return Literal("N", "-" + self.next().text)
            if tok.text == "{":
                return self.map_rest()
            if tok.text == "[":
                return ListValue(tuple(self.items_until("]")))
            if tok.text == "<<":
                return SetValue(tuple(self.items_until(">>")))
        if tok.kind == "kw":
            if tok.text in ("TRUE", "FALSE"):
                return Literal("BOOL", tok.text == "TRUE")
            if tok.text == "NULL":
                return Literal("NULL", True)
            if tok.text == "MISSING":
                return Literal("MISSING", None)
        self.i -= 1
        raise self.unexpected()

    def items_until(self, closer: str) -> list[Any]:
        items: list[Any] = []
        if self.accept("op", closer):
            return items
        items.append(self.value())
        while self.accept("op", ","):
            items.append(self.value())
        self.expect("op", closer)
        return items

    def map_rest(self) -> MapValue:
        entries: list[tuple[str, Any]] = []
        if self.accept("op", "}"):
            return MapValue(())
        while True:
            key = self.next()
            if key.kind not in ("string", "qident"):
                raise syntax_error(f"Unexpected token: {key.text}")
            self.expect("op", ":")
            if self.tok.kind == "ident" and self.tokens[self.i + 1].text == "(":
                raise ValidationException(
                    f"Unsupported data type: {self.tok.text.lower()} under key root at "
                    f"{self.where(self.tok)}"
                )
            entries.append((_unquote(key.text), self.value()))
            if not self.accept("op", ","):
                break
        self.expect("op", "}")
        return MapValue(tuple(entries))


def _check_identifiers(projection: list[Path]) -> None:
    """Rows name each projected path by its last name: two alike cannot both come back."""
    seen: set[str] = set()
    for path in projection:
        name = path.result_name
        if name in seen:
            raise ValidationException(f"Duplicate identifiers in select clause: {name}")
        seen.add(name)


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


def parse(text: str) -> tuple[Statement, int]:
    """The statement's AST and how many ``?`` parameters it has."""
    parser = Parser(text)
    stmt = parser.statement()
    return stmt, parser.params
