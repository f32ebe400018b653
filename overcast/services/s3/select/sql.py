"""Parser of the S3 Select SQL subset: ``parse(text) -> Query``.

    SELECT (* | item [, item]...) FROM S3Object[path] [[AS] alias] [WHERE cond] [LIMIT n]

Expressions: literals (strings, numbers, TRUE/FALSE/NULL), paths (``s._1``, ``s.name``,
``s."Name"``, ``s.a[0].b``), arithmetic (+ - * / %), ``||``, comparisons (= != <> < > <= >=),
AND/OR/NOT, [NOT] LIKE ... [ESCAPE], [NOT] BETWEEN, [NOT] IN (...), IS [NOT] NULL/MISSING,
CAST(x AS type), CASE, the aggregates COUNT/SUM/AVG/MIN/MAX and the scalar functions
``evaluate.FUNCTIONS`` knows. Errors are S3's Parse* errors with line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from overcast.services.s3.select import ast
from overcast.services.s3.select.errors import (
    ParseExpectedKeyword,
    ParseExpectedTokenType,
    ParseInvalidTypeParam,
    ParseUnexpectedToken,
    ParseUnsupportedSyntax,
    UnsupportedSyntax,
)

KEYWORDS = frozenset(
    {
        "SELECT", "FROM", "WHERE", "LIMIT", "AS", "AND", "OR", "NOT", "LIKE", "ESCAPE",
        "BETWEEN", "IN", "IS", "NULL", "MISSING", "TRUE", "FALSE", "CAST", "CASE", "WHEN",
        "THEN", "ELSE", "END", "FOR", "LEADING", "TRAILING", "BOTH",
        "GROUP", "ORDER", "BY", "HAVING", "JOIN", "UNION", "DISTINCT",
    }
)  # fmt: skip
AGGREGATES = frozenset({"COUNT", "SUM", "AVG", "MIN", "MAX"})
TYPES = {
    "INT": "INT", "INTEGER": "INT", "BIGINT": "INT", "SMALLINT": "INT",
    "FLOAT": "FLOAT", "REAL": "FLOAT", "DOUBLE": "FLOAT", "DECIMAL": "DECIMAL",
    "NUMERIC": "DECIMAL", "STRING": "STRING", "VARCHAR": "STRING", "CHAR": "STRING",
    "BOOL": "BOOL", "BOOLEAN": "BOOL", "TIMESTAMP": "TIMESTAMP",
}  # fmt: skip
_COMPARISONS = ("=", "!=", "<>", "<", ">", "<=", ">=")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||<=|>=|<>|!=|[-+*/%=<>(),.\[\]])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # number, string, quoted, name, op, eof
    text: str
    value: object
    line: int
    column: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "name" else self.text


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        column = pos - line_start + 1
        if match is None:
            raise ParseUnexpectedToken(
                f"Unexpected token found {text[pos]!r} at line {line}, column {column}."
            )
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "ws":
            newlines = raw.count("\n")
            if newlines:
                line += newlines
                line_start = pos + raw.rfind("\n") + 1
        elif kind == "number":
            value: object = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token(kind, raw, value, line, column))
        elif kind == "string":
            tokens.append(Token(kind, raw, raw[1:-1].replace("''", "'"), line, column))
        elif kind == "quoted":
            tokens.append(Token(kind, raw, raw[1:-1].replace('""', '"'), line, column))
        else:
            tokens.append(Token(kind, raw, raw, line, column))
        pos = match.end()
    tokens.append(Token("eof", "", None, line, len(text) - line_start + 1))
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.aggregates = 0

    # --- token helpers --------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def at(self, *words: str) -> bool:
        tok = self.tok
        return (tok.kind == "name" and tok.upper in words) or (
            tok.kind == "op" and tok.text in words
        )

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.pos += 1
            return True
        return False

    def expect(self, word: str) -> Token:
        if not self.at(word):
            tok = self.tok
            if word.isalpha():
                raise ParseExpectedKeyword(
                    f"Did not find the expected keyword {word} at line {tok.line}, column "
                    f"{tok.column}."
                )
            raise ParseExpectedTokenType(
                f"Did not find the expected token {word!r} at line {tok.line}, column {tok.column}."
            )
        return self.advance()

    def unexpected(self) -> ParseUnexpectedToken:
        tok = self.tok
        shown = "end of input" if tok.kind == "eof" else tok.text
        return ParseUnexpectedToken(
            f"Unexpected token found {shown} at line {tok.line}, column {tok.column}."
        )

    def identifier(self) -> tuple[str, bool]:
        tok = self.tok
        if tok.kind == "quoted":
            self.advance()
            return str(tok.value), True
        if tok.kind == "name" and tok.upper not in KEYWORDS:
            self.advance()
            return tok.text, False
        raise self.unexpected()

    # --- the query ------------------------------------------------------------------------

    def query(self) -> ast.Query:
        self.expect("SELECT")
        if self.at("DISTINCT"):
            raise UnsupportedSyntax("DISTINCT is not supported in S3 Select.")
        items: tuple[ast.Item, ...] | None
        star_alias = False
        if self.accept("*"):
            items = None
        else:
            items = tuple(self.items())
            if (
                len(items) == 1
                and isinstance(items[0].expr, ast.Path)
                and items[0].expr.steps[-1].wildcard
            ):
                items, star_alias = None, True
        self.expect("FROM")
        source = self.source()
        alias = None
        if self.accept("AS") or (
            self.tok.kind in ("name", "quoted") and self.tok.upper not in KEYWORDS
        ):
            alias = self.identifier()[0]
        where = None
        if self.accept("WHERE"):
            before = self.aggregates
            where = self.expr()
            if self.aggregates != before:
                raise ParseUnsupportedSyntax("Aggregate functions are not allowed in WHERE.")
        limit = None
        if self.accept("LIMIT"):
            tok = self.advance()
            if tok.kind != "number" or not isinstance(tok.value, int):
                self.pos -= 1
                raise self.unexpected()
            limit = tok.value
        if self.at("GROUP", "ORDER", "HAVING", "JOIN", "UNION"):
            raise UnsupportedSyntax(f"{self.tok.upper} is not supported in S3 Select.")
        if self.tok.kind != "eof":
            raise self.unexpected()
        return ast.Query(items, source, alias, where, limit, self.aggregates, star_alias)

    def items(self) -> list[ast.Item]:
        out = []
        while True:
            expr = self.expr()
            alias = None
            if (
                self.accept("AS")
                or self.tok.kind in ("quoted",)
                or (self.tok.kind == "name" and self.tok.upper not in KEYWORDS)
            ):
                alias = self.identifier()[0]
            out.append(ast.Item(expr, alias))
            if not self.accept(","):
                return out

    def source(self) -> tuple[ast.Step, ...]:
        tok = self.tok
        if tok.kind != "name" or tok.upper != "S3OBJECT":
            raise ParseUnexpectedToken(
                f"Unexpected token found {tok.text or 'end of input'} at line {tok.line}, "
                f"column {tok.column}. The FROM clause must name S3Object."
            )
        self.advance()
        return self.path_steps()

    def path_steps(self) -> tuple[ast.Step, ...]:
        steps: list[ast.Step] = []
        while True:
            if self.accept("."):
                if self.accept("*"):
                    steps.append(ast.Step(wildcard=True))
                else:
                    name, quoted = self.identifier()
                    steps.append(ast.Step(name=name, quoted=quoted))
            elif self.accept("["):
                tok = self.advance()
                if tok.kind == "op" and tok.text == "*":
                    steps.append(ast.Step(wildcard=True))
                elif tok.kind == "number" and isinstance(tok.value, int):
                    steps.append(ast.Step(index=tok.value))
                elif tok.kind == "string":
                    steps.append(ast.Step(name=str(tok.value), quoted=True))
                else:
                    self.pos -= 1
                    raise self.unexpected()
                self.expect("]")
            else:
                return tuple(steps)

    # --- expressions ----------------------------------------------------------------------

    def expr(self) -> ast.Node:
        left = self.conjunction()
        while self.accept("OR"):
            left = ast.Binary("OR", left, self.conjunction())
        return left

    def conjunction(self) -> ast.Node:
        left = self.negation()
        while self.accept("AND"):
            left = ast.Binary("AND", left, self.negation())
        return left

    def negation(self) -> ast.Node:
        if self.accept("NOT"):
            return ast.Unary("NOT", self.negation())
        return self.predicate()

    def predicate(self) -> ast.Node:
        left = self.concat()
        if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            op = self.advance().text
            return ast.Binary("!=" if op == "<>" else op, left, self.concat())
        if self.accept("IS"):
            negated = self.accept("NOT")
            if self.accept("NULL"):
                return ast.Is(left, "NULL", negated)
            if self.accept("MISSING"):
                return ast.Is(left, "MISSING", negated)
            raise self.unexpected()
        negated = self.accept("NOT")
        if self.accept("LIKE"):
            pattern = self.concat()
            escape = self.concat() if self.accept("ESCAPE") else None
            return ast.Like(left, pattern, escape, negated)
        if self.accept("BETWEEN"):
            low = self.concat()
            self.expect("AND")
            return ast.Between(left, low, self.concat(), negated)
        if self.accept("IN"):
            self.expect("(")
            options = [self.expr()]
            while self.accept(","):
                options.append(self.expr())
            self.expect(")")
            return ast.In(left, tuple(options), negated)
        if negated:
            self.pos -= 1
            raise self.unexpected()
        return left

    def concat(self) -> ast.Node:
        left = self.additive()
        while self.accept("||"):
            left = ast.Binary("||", left, self.additive())
        return left

    def additive(self) -> ast.Node:
        left = self.multiplicative()
        while self.at("+", "-"):
            op = self.advance().text
            left = ast.Binary(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> ast.Node:
        left = self.unary()
        while self.at("*", "/", "%"):
            op = self.advance().text
            left = ast.Binary(op, left, self.unary())
        return left

    def unary(self) -> ast.Node:
        if self.accept("-"):
            return ast.Unary("-", self.unary())
        if self.accept("+"):
            return self.unary()
        return self.primary()

    def primary(self) -> ast.Node:
        tok = self.tok
        if tok.kind in ("number", "string"):
            self.advance()
            return ast.Literal(tok.value)
        if tok.kind == "op" and tok.text == "(":
            self.advance()
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind == "quoted":
            return self.path()
        if tok.kind != "name":
            raise self.unexpected()
        word = tok.upper
        if word in ("TRUE", "FALSE"):
            self.advance()
            return ast.Literal(word == "TRUE")
        if word == "NULL":
            self.advance()
            return ast.Literal(None)
        if word == "MISSING":
            self.advance()
            from overcast.services.s3.select.values import MISSING

            return ast.Literal(MISSING)
        if word == "CAST":
            return self.cast()
        if word == "CASE":
            return self.case()
        if word in KEYWORDS:
            raise self.unexpected()
        if self.tokens[self.pos + 1].kind == "op" and self.tokens[self.pos + 1].text == "(":
            return self.call()
        return self.path()

    def path(self) -> ast.Node:
        name, quoted = self.identifier()
        return ast.Path((ast.Step(name=name, quoted=quoted), *self.path_steps()))

    def cast(self) -> ast.Node:
        self.advance()
        self.expect("(")
        value = self.expr()
        self.expect("AS")
        tok = self.advance()
        type_name = TYPES.get(tok.upper) if tok.kind == "name" else None
        if type_name is None:
            raise ParseInvalidTypeParam(
                f"Invalid type {tok.text or 'end of input'} at line {tok.line}, column "
                f"{tok.column}."
            )
        if self.accept("("):  # DECIMAL(10, 2), VARCHAR(20): precision is ignored
            while not self.accept(")"):
                if self.advance().kind == "eof":
                    raise self.unexpected()
        self.expect(")")
        return ast.Cast(value, type_name)

    def case(self) -> ast.Node:
        self.advance()
        subject = None if self.at("WHEN") else self.expr()
        branches = []
        while self.accept("WHEN"):
            cond = self.expr()
            self.expect("THEN")
            branches.append((cond, self.expr()))
        if not branches:
            raise self.unexpected()
        default = self.expr() if self.accept("ELSE") else None
        self.expect("END")
        return ast.Case(subject, tuple(branches), default)

    def call(self) -> ast.Node:
        name = self.advance().upper
        self.expect("(")
        if name in AGGREGATES:
            if name == "COUNT" and self.accept("*"):
                arg = None
            else:
                before = self.aggregates
                arg = self.expr()
                if self.aggregates != before:
                    raise ParseUnsupportedSyntax("Aggregate functions cannot be nested.")
            self.expect(")")
            slot = self.aggregates
            self.aggregates += 1
            return ast.Aggregate(name, arg, slot)
        if name == "SUBSTRING":
            return self.substring()
        if name == "TRIM":
            return self.trim()
        if name == "EXTRACT":
            part = self.advance().upper
            self.expect("FROM")
            value = self.expr()
            self.expect(")")
            return ast.Call("EXTRACT", (ast.Literal(part), value))
        args: list[ast.Node] = []
        if not self.accept(")"):
            args.append(self.call_arg(name))
            while self.accept(","):
                args.append(self.call_arg(name))
            self.expect(")")
        return ast.Call(name, tuple(args))

    def call_arg(self, name: str) -> ast.Node:
        # DATE_ADD(day, 1, ts) / DATE_DIFF(day, a, b) name their date part bare.
        if name in ("DATE_ADD", "DATE_DIFF") and self.tok.kind == "name":
            nxt = self.tokens[self.pos + 1]
            if nxt.kind == "op" and nxt.text == ",":
                return ast.Literal(self.advance().upper)
        return self.expr()

    def substring(self) -> ast.Node:
        value = self.expr()
        if self.accept("FROM"):
            start = self.expr()
            length = self.expr() if self.accept("FOR") else None
        else:
            self.expect(",")
            start = self.expr()
            length = self.expr() if self.accept(",") else None
        self.expect(")")
        args = (value, start) if length is None else (value, start, length)
        return ast.Call("SUBSTRING", args)

    def trim(self) -> ast.Node:
        where = "BOTH"
        if self.at("LEADING", "TRAILING", "BOTH"):
            where = self.advance().upper
        chars: ast.Node = ast.Literal(" ")
        first = None if self.at("FROM") else self.expr()
        if self.accept("FROM"):
            if first is not None:
                chars = first
            value = self.expr()
        else:
            if first is None:
                raise self.unexpected()
            value = first
        self.expect(")")
        return ast.Call("TRIM", (ast.Literal(where), chars, value))


def parse(text: str) -> ast.Query:
    try:
        return Parser(text).query()
    except RecursionError:
        raise UnsupportedSyntax("The SQL expression is nested too deeply.") from None
