"""The expression tokenizer, shared by every expression kind.

Tokens are names (``status``), placeholders (``#n``, ``:v``), list indexes (digits), operators and
punctuation. A character that starts no token becomes a one-character ``bad`` token so that the
parser reports it the way DynamoDB does: ``Syntax error; token: "_", near: "AND __"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions.common import invalid

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<name>[A-Za-z][A-Za-z0-9_]*)
  | (?P<attrname>\#[A-Za-z0-9_]+)
  | (?P<value>:[A-Za-z0-9_]+)
  | (?P<number>[0-9]+)
  | (?P<op><>|<=|>=|[=<>(),.\[\]+\-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # name, attrname, value, number, op, bad, eof
    text: str
    start: int
    end: int

    def is_op(self, text: str) -> bool:
        return self.kind == "op" and self.text == text

    def is_keyword(self, word: str) -> bool:
        return self.kind == "name" and self.text.upper() == word


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``eof`` token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            tokens.append(Token("bad", text[pos], pos, pos + 1))
            pos += 1
            continue
        kind = match.lastgroup or "bad"
        if kind != "space":
            tokens.append(Token(kind, match.group(), match.start(), match.end()))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(text), len(text)))
    return tokens


class TokenStream:
    """A cursor over the tokens, producing DynamoDB's syntax errors."""

    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def accept_op(self, text: str) -> bool:
        if self.current.is_op(text):
            self.advance()
            return True
        return False

    def accept_keyword(self, word: str) -> bool:
        if self.current.is_keyword(word):
            self.advance()
            return True
        return False

    def expect_op(self, text: str) -> Token:
        if not self.current.is_op(text):
            raise self.syntax_error()
        return self.advance()

    def syntax_error(self, index: int | None = None) -> ValidationException:
        """``Syntax error; token: "<tok>", near: "<previous tok next>"`` at the given token."""
        i = self.pos if index is None else index
        token = self.tokens[i]
        start = self.tokens[i - 1].start if i > 0 else token.start
        after = self.tokens[i + 1] if i + 1 < len(self.tokens) else token
        end = after.end if after.kind != "eof" else token.end
        near = self.text[start:end]
        return invalid(self.kind, f'Syntax error; token: "{token.text}", near: "{near}"')
