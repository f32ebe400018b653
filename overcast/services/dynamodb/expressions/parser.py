"""The recursive-descent parser of condition expressions, document paths and operands.

Grammar (keywords case-insensitive and never attribute names; function names case-sensitive)::

    condition  := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | primary
    primary    := "(" condition ")"
                | function "(" operand ("," operand)* ")"          -- a boolean function
                | operand comparator operand
                | operand "BETWEEN" operand "AND" operand
                | operand "IN" "(" operand ("," operand)* ")"
    operand    := "(" operand ")" | path | ":value" | "size" "(" operand ")"
    path       := (name | "#name") ("." (name | "#name") | "[" digits "]")*

``(`` opens either a condition or a parenthesized operand; the parser tries the condition first
and reads the text again as a predicate when that fails (remembering where, so it never tries
twice). Syntax errors and redundant parentheses are raised at once; the other errors are kept
and raised once the whole expression parsed, in the order DynamoDB reports them (see
``defer``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from overcast.services.dynamodb import values as av
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions.common import (
    MAX_IN_OPERANDS,
    MAX_OPERATORS,
    MAX_PATH_DEPTH,
    Usage,
    check_size,
    invalid,
    is_reserved,
)
from overcast.services.dynamodb.expressions.conditions import (
    And,
    Between,
    Comparison,
    Condition,
    Function,
    In,
    Not,
    Or,
    Parenthesized,
)
from overcast.services.dynamodb.expressions.operands import (
    Operand,
    PathOperand,
    SizeOperand,
    ValueOperand,
)
from overcast.services.dynamodb.expressions.paths import DocPath, Step, Value, render
from overcast.services.dynamodb.expressions.tokens import Token, TokenStream

COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
#: Boolean functions and their operand counts; ``size`` is the one function that is an operand.
CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
ATTRIBUTE_TYPES = ("B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M")
ORDERED_TYPES = ("S", "N", "B")
SIZED_TYPES = ("S", "B", "SS", "NS", "BS", "L", "M")
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
#: Parentheses, NOTs and function calls nest at most this deep: a guard of ours (DynamoDB
#: publishes no such limit) that keeps recursion far from Python's limit.
MAX_NESTING = 100


def value_type(value: Value) -> str:
    return next(iter(value))


class Parser:
    """Shared parsing state: the token stream, the placeholder maps and the deferred error."""

    keywords: frozenset[str] = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN"})

    def __init__(
        self,
        text: Any,
        kind: str,
        names: Mapping[str, str] | None,
        values: Mapping[str, Value] | None,
        usage: Usage,
    ) -> None:
        if not isinstance(text, str):
            raise ValidationException(f"Invalid {kind}: The expression can not be empty;")
        check_size(kind, text)
        self.kind = kind
        self.stream = TokenStream(text, kind)
        self.names = names or {}
        self.values = values or {}
        self.usage = usage
        # Semantic errors found while parsing: (stage, order, action, error). DynamoDB reports
        # function names, reserved words and operand counts (stage 1) before undefined #names
        # (2) and the operands (3); ``action`` is the update action being parsed (updates check
        # theirs last to first).
        self.deferred: list[tuple[int, int, int, ValidationException]] = []
        self.action = 0
        self.operators = 0
        self.depth = 0
        # Token positions where "(" did not open a condition (so it is not tried twice).
        self.not_groups: set[int] = set()

    # --- errors ---------------------------------------------------------------------------------

    def defer(self, detail: str, stage: int = 3) -> None:
        """Remember a semantic error; the first one is raised once parsing succeeded."""
        entry = (stage, len(self.deferred), self.action, invalid(self.kind, detail))
        self.deferred.append(entry)

    def raise_deferred(self, *stages: int, last_action_first: bool = False) -> None:
        """Raise the first error kept for ``stages``, in written order (or, for an update's
        placeholder and operand checks, from the last action back to the first)."""
        found = [entry for entry in self.deferred if entry[0] in stages]
        if found:
            if last_action_first:
                raise min(found, key=lambda entry: (-entry[2], entry[1]))[3]
            raise min(found, key=lambda entry: entry[1])[3]

    def finish(self) -> None:
        """The end of the expression: trailing tokens are a syntax error, then the errors kept."""
        if self.stream.current.kind != "eof":
            raise self.stream.syntax_error()
        self.raise_deferred(1)
        # Outside updates, undefined names and the operand checks come in the order written.
        self.raise_deferred(2, 3)

    def count_operator(self) -> None:
        self.operators += 1
        if self.operators == MAX_OPERATORS + 1:
            self.defer(
                f"The expression contains too many operators; operator count: {self.operators}"
            )

    # --- placeholders, paths and operands -------------------------------------------------------

    def is_keyword(self, token: Token) -> bool:
        """The grammar's keywords are tokens of their own, never attribute names."""
        return token.kind == "name" and token.text.upper() in self.keywords

    def name_of(self, token: Token) -> str:
        """A path step from a bare name (reserved words refused) or a ``#placeholder``."""
        if token.kind == "attrname":
            self.usage.names.add(token.text)
            if token.text not in self.names:
                self.defer(
                    "An expression attribute name used in the document path is not defined; "
                    f"attribute name: {token.text}",
                    stage=2,
                )
                return token.text
            return self.names[token.text]
        if is_reserved(token.text):
            self.defer(
                f"Attribute name is a reserved keyword; reserved keyword: {token.text}", stage=1
            )
        return token.text

    def value_of(self, token: Token) -> Value:
        self.usage.values.add(token.text)
        value = self.values.get(token.text)
        if value is None:
            self.defer(
                "An expression attribute value used in expression is not defined; "
                f"attribute value: {token.text}"
            )
            return {"NULL": True}
        # Normally checked with the whole map first (validate_attribute_maps); the current
        # validation layer reports a bad value as it is, without naming its key.
        av.validate_value(value)
        return av.normalize(value)

    def parse_path(self) -> DocPath:
        stream = self.stream
        if stream.current.kind not in ("name", "attrname") or self.is_keyword(stream.current):
            raise stream.syntax_error()
        steps: list[Step] = [self.name_of(stream.advance())]
        while True:
            if stream.current.is_op("."):
                stream.advance()
                if stream.current.kind not in ("name", "attrname") or self.is_keyword(
                    stream.current
                ):
                    raise stream.syntax_error()
                steps.append(self.name_of(stream.advance()))
            elif stream.current.is_op("["):
                stream.advance()
                if stream.current.kind != "number":
                    raise stream.syntax_error()
                digits = stream.advance().text
                if len(digits) > 10 or int(digits) > 2**31 - 1:
                    self.defer(
                        f"List index is not within the allowable range; index: [{digits}]", stage=1
                    )
                steps.append(int(digits))
                stream.expect_op("]")
            else:
                break
        if len(steps) > MAX_PATH_DEPTH:
            self.defer(
                f"The document path has too many nesting levels; nesting levels: {len(steps)}"
            )
        return tuple(steps)

    def parse_arguments(self) -> list[Operand]:
        self.stream.expect_op("(")
        self.enter()
        args = [self.parse_operand()]
        while self.stream.accept_op(","):
            args.append(self.parse_operand())
        self.depth -= 1
        self.stream.expect_op(")")
        return args

    def enter(self) -> None:
        """One level deeper into parentheses, NOT or function arguments (bounded recursion)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise invalid(self.kind, "The expression has too many nested levels;")

    def parse_operand(self) -> Operand:
        return self.parse_grouped_operand()[0]

    def parse_grouped_operand(self) -> tuple[Operand, bool]:
        """An operand, and whether it was written in parentheses (``(a)``)."""
        stream = self.stream
        if not stream.current.is_op("("):
            return self.parse_plain_operand(), False
        stream.advance()
        self.enter()
        inner, grouped = self.parse_grouped_operand()
        self.depth -= 1
        stream.expect_op(")")
        if grouped:
            raise invalid(self.kind, "The expression has redundant parentheses;")
        return inner, True

    def parse_plain_operand(self) -> Operand:
        stream = self.stream
        token = stream.current
        if token.kind == "value":
            stream.advance()
            return ValueOperand(token.text, self.value_of(token))
        if token.kind == "name" and stream.peek().is_op("("):
            return self.parse_function_operand()
        if token.kind in ("name", "attrname"):
            return PathOperand(self.parse_path())
        raise stream.syntax_error()

    def parse_function_operand(self) -> Operand:
        """A function where an operand belongs: only ``size`` is one."""
        name = self.stream.advance().text
        self.count_operator()
        # The function's name and place are judged before its operands.
        if name in CONDITION_FUNCTIONS:
            self.defer(
                "The function is not allowed to be used this way in an expression; "
                f"function: {name}",
                stage=1,
            )
        elif name in UPDATE_FUNCTIONS:
            self.defer(
                f"The function is not allowed in a condition expression; function: {name}",
                stage=1,
            )
        elif name != "size":
            self.defer(f"Invalid function name; function: {name}", stage=1)
        args = self.parse_arguments()
        if name != "size":
            return args[0]
        self.check_arity(name, args, 1)
        self.check_literal_type(name, args[0], SIZED_TYPES)
        return SizeOperand(args[0])

    def check_arity(self, name: str, args: list[Operand], count: int, stage: int = 1) -> None:
        if len(args) != count:
            self.defer(
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}",
                stage=stage,
            )

    def require_path(self, name: str, operand: Operand) -> None:
        if not isinstance(operand, PathOperand):
            self.defer(
                f"Operator or function requires a document path; operator or function: {name}"
            )

    def check_literal_type(self, name: str, operand: Operand, allowed: tuple[str, ...]) -> None:
        """Operands whose type is known before evaluation: values, and size() (a number)."""
        if isinstance(operand, ValueOperand):
            known = value_type(operand.value)
        elif isinstance(operand, SizeOperand):
            known = "N"
        else:
            return
        if known not in allowed:
            self.defer(
                "Incorrect operand type for operator or function; "
                f"operator or function: {name}, operand type: {known}"
            )

    def check_distinct(self, name: str, first: Operand, others: list[Operand]) -> None:
        if isinstance(first, PathOperand) and any(o == first for o in others):
            self.defer(
                "The first operand must be distinct from the remaining operands for this "
                f"operator or function; operator: {name}, first operand: {render(first.path)}"
            )

    # --- conditions -----------------------------------------------------------------------------

    def parse_condition(self) -> Condition:
        condition = self.parse_or()
        self.finish()
        return condition

    def parse_or(self) -> Condition:
        left = self.parse_and()
        while self.stream.accept_keyword("OR"):
            self.count_operator()
            left = Or(left, self.parse_and())
        return left

    def parse_and(self) -> Condition:
        left = self.parse_not()
        while self.stream.accept_keyword("AND"):
            self.count_operator()
            left = And(left, self.parse_not())
        return left

    def parse_not(self) -> Condition:
        if self.stream.accept_keyword("NOT"):
            self.count_operator()
            self.enter()
            negated = Not(self.parse_not())
            self.depth -= 1
            return negated
        return self.parse_primary()

    def parse_primary(self) -> Condition:
        """A parenthesized condition, or a predicate. ``(`` may also open a parenthesized
        operand (``(a) = :v``): when the condition reading fails, or a comparator follows it,
        the text is read again as a predicate, and the reading that got further reports."""
        stream = self.stream
        start = stream.pos
        if stream.current.is_op("(") and start not in self.not_groups:
            saved = self.save()
            try:
                group = self.parse_group()
            except ValidationException as error:
                reached = stream.pos
                self.not_groups.add(start)
                self.restore(saved)
                try:
                    return self.parse_predicate()
                except ValidationException:
                    if stream.pos < reached:
                        raise error from None
                    raise
            if not self.continues_predicate():
                return group
            self.not_groups.add(start)
            self.restore(saved)
        return self.parse_predicate()

    def parse_group(self) -> Condition:
        stream = self.stream
        stream.expect_op("(")
        self.enter()
        inner = self.parse_or()
        self.depth -= 1
        stream.expect_op(")")
        # DynamoDB refuses "((a = :v))" except in key conditions, which it accepts.
        # DynamoDB notices this while parsing, before any later syntax error.
        if isinstance(inner, Parenthesized) and self.kind != "KeyConditionExpression":
            raise invalid(self.kind, "The expression has redundant parentheses;")
        return Parenthesized(inner)

    def continues_predicate(self) -> bool:
        current = self.stream.current
        return (current.kind == "op" and current.text in COMPARATORS) or any(
            current.is_keyword(word) for word in ("BETWEEN", "IN")
        )

    def at_condition_end(self) -> bool:
        current = self.stream.current
        return (
            current.kind == "eof"
            or current.is_op(")")
            or current.is_keyword("AND")
            or current.is_keyword("OR")
        )

    def save(self) -> tuple[int, int, set[str], set[str], int, int]:
        usage = self.usage
        return (
            self.stream.pos,
            len(self.deferred),
            set(usage.names),
            set(usage.values),
            self.operators,
            self.depth,
        )

    def restore(self, saved: tuple[int, int, set[str], set[str], int, int]) -> None:
        pos, deferred, names, values, operators, depth = saved
        self.stream.pos = pos
        del self.deferred[deferred:]
        self.usage.names.clear()
        self.usage.names.update(names)
        self.usage.values.clear()
        self.usage.values.update(values)
        self.operators = operators
        self.depth = depth

    def parse_predicate(self) -> Condition:
        stream = self.stream
        token = stream.current
        if token.kind == "name" and token.text in CONDITION_FUNCTIONS and stream.peek().is_op("("):
            function = self.parse_condition_function()
            if self.continues_predicate():
                raise invalid(
                    self.kind,
                    "The function is not allowed to be used this way in an expression; "
                    f"function: {token.text}",
                )
            return function
        called = token.kind == "name" and stream.peek().is_op("(")
        left = self.parse_operand()
        current = stream.current
        if current.kind == "op" and current.text in COMPARATORS:
            stream.advance()
            return self.comparison(current.text, left, self.parse_operand())
        if stream.accept_keyword("BETWEEN"):
            low = self.parse_operand()
            if not stream.accept_keyword("AND"):
                raise stream.syntax_error()
            return self.between(left, low, self.parse_operand())
        if stream.accept_keyword("IN"):
            return self.in_list(left, self.parse_arguments())
        if called and self.at_condition_end():
            if isinstance(left, SizeOperand):
                raise invalid(
                    self.kind,
                    "The function is not allowed to be used this way in an expression; "
                    "function: size",
                )
            # A function standing alone is well-formed: report what is wrong with the function.
            self.raise_deferred(1)
        raise stream.syntax_error()

    def comparison(self, op: str, left: Operand, right: Operand) -> Condition:
        self.count_operator()
        if op not in ("=", "<>"):
            self.check_literal_type(op, left, ORDERED_TYPES)
            self.check_literal_type(op, right, ORDERED_TYPES)
        self.check_distinct(op, left, [right])
        return Comparison(op, left, right)

    def between(self, operand: Operand, low: Operand, high: Operand) -> Condition:
        self.count_operator()
        for bound in (operand, low, high):
            self.check_literal_type("BETWEEN", bound, ORDERED_TYPES)
        self.check_distinct("BETWEEN", operand, [low, high])
        if isinstance(low, ValueOperand) and isinstance(high, ValueOperand):
            lo, hi = low.value, high.value
            if value_type(lo) in ORDERED_TYPES and value_type(hi) in ORDERED_TYPES:
                bounds = (
                    f"lower bound operand: AttributeValue: {{{_show(lo)}}}, "
                    f"upper bound operand: AttributeValue: {{{_show(hi)}}}"
                )
                if value_type(lo) != value_type(hi):
                    self.defer(
                        "The BETWEEN operator requires same data type for lower and upper "
                        f"bounds; {bounds}"
                    )
                elif av.compare(lo, hi) > 0:
                    self.defer(
                        "The BETWEEN operator requires upper bound to be greater than or equal "
                        f"to lower bound; {bounds}"
                    )
        return Between(operand, low, high)

    def in_list(self, operand: Operand, choices: list[Operand]) -> Condition:
        self.count_operator()
        if len(choices) > MAX_IN_OPERANDS:
            self.defer(
                "The IN operator is provided with too many operands; "
                f"number of operands: {len(choices)}"
            )
        self.check_distinct("IN", operand, choices)
        return In(operand, tuple(choices))

    def parse_condition_function(self) -> Condition:
        name = self.stream.advance().text
        self.count_operator()
        args = self.parse_arguments()
        self.check_arity(name, args, CONDITION_FUNCTIONS[name])
        if len(args) != CONDITION_FUNCTIONS[name]:
            return Function(name, tuple(args))
        if name in ("attribute_exists", "attribute_not_exists", "attribute_type"):
            self.require_path(name, args[0])
        if name == "attribute_type":
            if not isinstance(args[1], ValueOperand | SizeOperand):
                # The type must be a value; a path's type is unknown before evaluation.
                self.defer(
                    "Incorrect operand type for operator or function; "
                    f"operator or function: {name}, operand type: ANY"
                )
            self.check_literal_type(name, args[1], ("S",))
            given = args[1]
            type_name = given.value.get("S") if isinstance(given, ValueOperand) else None
            if type_name is not None and type_name not in ATTRIBUTE_TYPES:
                self.defer(
                    f"Invalid attribute type name found; type: {type_name}, "
                    "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
                )
        if name == "begins_with":
            self.check_literal_type(name, args[0], ("S", "B"))
            self.check_literal_type(name, args[1], ("S", "B"))
        self.check_distinct(name, args[0], args[1:])
        return Function(name, tuple(args))


def _show(value: Value) -> str:
    kind = value_type(value)
    body = value[kind]
    if kind == "B":
        # DynamoDB prints a binary bound as the Java buffer that holds it.
        return f"B:java.nio.HeapByteBuffer[pos=0 lim={len(body)} cap={len(body)}]"
    return f"{kind}:{body}"


def parse_condition(
    text: Any,
    names: Mapping[str, str] | None,
    values: Mapping[str, Value] | None,
    usage: Usage,
    *,
    kind: str = "ConditionExpression",
) -> Condition:
    """A ConditionExpression (or FilterExpression with ``kind="FilterExpression"``)."""
    return Parser(text, kind, names, values, usage).parse_condition()
