"""PartiQL: the parser's AST and its translation into DynamoDB requests."""

from __future__ import annotations

import pytest

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.partiql.parser import (
    And,
    Between,
    Call,
    Compare,
    Delete,
    Exists,
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
    parse,
)
from overcast.services.dynamodb.partiql.translate import (
    KeySchema,
    plan_delete,
    plan_exists,
    plan_insert,
    plan_select,
    plan_update,
    project,
)


def _render(req: dict, member: str) -> str:
    """An expression with its placeholders replaced (names bare, values as type:value)."""
    text = req[member]
    for ph, name in sorted(
        req.get("ExpressionAttributeNames", {}).items(), key=lambda x: -len(x[0])
    ):
        text = text.replace(ph, name)
    values = req.get("ExpressionAttributeValues", {})
    for ph, value in sorted(values.items(), key=lambda x: -len(x[0])):
        ((kind, v),) = value.items()
        text = text.replace(ph, f"{kind}:{v}")
    return text


PK = KeySchema("pk", None)
PK_SK = KeySchema("pk", "sk")


def test_select_star_with_quoted_table_and_index() -> None:
    stmt, n = parse('SELECT * FROM "Music"."by-artist"')
    assert n == 0
    assert isinstance(stmt, Select)
    assert (stmt.table, stmt.index, stmt.projection, stmt.where) == (
        "Music",
        "by-artist",
        None,
        None,
    )


def test_comments_and_semicolon() -> None:
    stmt, _ = parse("/* all\nrows */ SELECT * FROM t -- the table\n WHERE a = 1;")
    assert isinstance(stmt, Select)
    assert stmt.where == Compare("=", Path(("a",)), Literal("N", "1"))


def test_select_projection_paths_and_order() -> None:
    stmt, _ = parse("select a, \"b c\".d[2], e['f'] from t where pk = 'x' order by sk desc;")
    assert isinstance(stmt, Select)
    assert stmt.projection == [Path(("a",)), Path(("b c", "d", 2)), Path(("e", "f"))]
    assert stmt.order == [(Path(("sk",)), True)]


def test_condition_precedence_and_operators() -> None:
    stmt, n = parse(
        "SELECT * FROM t WHERE a = ? OR b <> 2 AND NOT c BETWEEN 1 AND 3 "
        "AND d IN [1, 'x'] AND e IS NOT MISSING AND begins_with(f, 'p') AND size(g) >= -1.5e2"
    )
    assert n == 1
    assert isinstance(stmt, Select)
    where = stmt.where
    assert isinstance(where, Or)
    assert where.left == Compare("=", Path(("a",)), Param(0))
    parts = []
    node = where.right
    while isinstance(node, And):
        parts.insert(0, node.right)
        node = node.left
    parts.insert(0, node)
    assert parts == [
        Compare("<>", Path(("b",)), Literal("N", "2")),
        Not(Between(Path(("c",)), Literal("N", "1"), Literal("N", "3"))),
        In(Path(("d",)), (Literal("N", "1"), Literal("S", "x"))),
        Is(Path(("e",)), "MISSING", True),
        Call("begins_with", (Path(("f",)), Literal("S", "p"))),
        Compare(">=", Call("size", (Path(("g",)),)), Literal("N", "-1.5e2")),
    ]


def test_insert_value_literals() -> None:
    stmt, n = parse(
        "INSERT INTO \"t\" VALUE {'pk': 'it''s', 'n': 1, 'l': [TRUE, NULL], "
        "'s': <<'a', 'b'>>, 'm': {'x': ?}}"
    )
    assert n == 1
    assert isinstance(stmt, Insert)
    assert stmt.value == MapValue(
        (
            ("pk", Literal("S", "it's")),
            ("n", Literal("N", "1")),
            ("l", ListValue((Literal("BOOL", True), Literal("NULL", True)))),
            ("s", SetValue((Literal("S", "a"), Literal("S", "b")))),
            ("m", MapValue((("x", Param(0)),))),
        )
    )


def test_from_first_update() -> None:
    stmt, n = parse("from t where pk = ? and a = 1 set c = ? remove b returning all new *")
    assert n == 2
    assert isinstance(stmt, Update)
    assert [p for p, _ in stmt.sets] == [Path(("c",))]
    assert stmt.removes == [Path(("b",))]
    assert stmt.returning == "ALL_NEW"
    assert isinstance(stmt.where, And)


def test_update_and_delete_statements() -> None:
    stmt, _ = parse(
        "UPDATE t SET a = a + 1, b = ? SET c = list_append(c, [1]) REMOVE d, e[0] "
        "WHERE pk = 'k' RETURNING ALL NEW *"
    )
    assert isinstance(stmt, Update)
    assert [p for p, _ in stmt.sets] == [Path(("a",)), Path(("b",)), Path(("c",))]
    assert stmt.removes == [Path(("d",)), Path(("e", 0))]
    assert stmt.returning == "ALL_NEW"
    stmt, _ = parse("DELETE FROM t WHERE pk = 'k' RETURNING ALL OLD *")
    assert isinstance(stmt, Delete)
    assert stmt.returning == "ALL_OLD"
    stmt, _ = parse("EXISTS(SELECT * FROM t WHERE pk = 'k')")
    assert isinstance(stmt, Exists)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM t",
        "SELECT * FROM",
        "INSERT INTO t VALUES {'a': 1}",
        "UPDATE t WHERE pk = 1",
        "DELETE FROM t",
        "SELECT * FROM t WHERE",
        "SELECT * FROM t WHERE a = 'unterminated",
        "SELECT * FROM t WHERE a = 1 extra",
        "SELECT * FROM t WHERE a = 1 # note",
        "SELECT * FROM t WHERE a = 1e2147483648",
        "DROP TABLE t",
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ValidationException) as exc:
        parse(text)
    assert exc.value.error_message.startswith("Statement wasn't well formed")


def test_select_plans() -> None:
    stmt, _ = parse("SELECT * FROM t WHERE pk = 'a' AND sk = 3")
    plan = plan_select(stmt, [], PK_SK, None)  # type: ignore[arg-type]
    assert plan.operation == "get_item"
    assert plan.request["Key"] == {"pk": {"S": "a"}, "sk": {"N": "3"}}

    stmt, _ = parse("SELECT a FROM t WHERE pk = ? AND sk > 3 AND x = 1 ORDER BY sk DESC")
    plan = plan_select(stmt, [{"S": "p"}], PK_SK, None)  # type: ignore[arg-type]
    assert plan.operation == "query"
    req = plan.request
    assert _render(req, "KeyConditionExpression") == "pk = S:p AND sk > N:3"
    assert _render(req, "FilterExpression") == "(x = N:1)"
    assert _render(req, "ProjectionExpression") == "a"  # top-level names; rows via project
    assert req["ScanIndexForward"] is False

    stmt, _ = parse("SELECT * FROM t WHERE x = 1 OR pk = 'a'")
    plan = plan_select(stmt, [], PK, None)  # type: ignore[arg-type]
    assert plan.operation == "scan"
    assert _render(plan.request, "FilterExpression") == "(x = N:1) OR (pk = S:a)"

    stmt, _ = parse('SELECT * FROM t."i" WHERE g = 1')
    plan = plan_select(stmt, [], PK, KeySchema("g", None))  # type: ignore[arg-type]
    assert plan.operation == "query"
    assert plan.request["IndexName"] == "i"

    stmt, _ = parse("SELECT * FROM t ORDER BY pk")
    with pytest.raises(ValidationException):
        plan_select(stmt, [], PK, None)  # type: ignore[arg-type]


def test_write_plans() -> None:
    stmt, _ = parse("INSERT INTO t VALUE {'pk': ?, 's': <<1, 2>>}")
    req = plan_insert(stmt, [{"S": "a"}], PK)  # type: ignore[arg-type]
    assert req["Item"] == {"pk": {"S": "a"}, "s": {"NS": ["1", "2"]}}
    assert _render(req, "ConditionExpression") == "attribute_not_exists(pk)"

    stmt, _ = parse(
        "UPDATE t SET a = a + 1 SET s = set_add(s, <<'x'>>) REMOVE b WHERE pk = 'k' AND c = 2"
    )
    req = plan_update(stmt, [], PK)  # type: ignore[arg-type]
    assert req["Key"] == {"pk": {"S": "k"}}
    assert _render(req, "UpdateExpression") == "SET a = a + N:1 REMOVE b ADD s SS:['x']"
    assert _render(req, "ConditionExpression") == "(attribute_exists(pk)) AND (c = N:2)"

    stmt, _ = parse("UPDATE t SET a = 1 WHERE a = 2")
    with pytest.raises(ValidationException) as exc:
        plan_update(stmt, [], PK)  # type: ignore[arg-type]
    assert "mandatory equality on all key attributes" in exc.value.error_message

    stmt, _ = parse("DELETE FROM t WHERE pk = 'k' AND sk = 1 AND v IS MISSING")
    req = plan_delete(stmt, [], PK_SK)  # type: ignore[arg-type]
    assert req["Key"] == {"pk": {"S": "k"}, "sk": {"N": "1"}}
    # A missing item is a no-op, so the condition only guards an existing one.
    assert _render(req, "ConditionExpression") == (
        "attribute_not_exists(pk) OR (attribute_not_exists(v))"
    )

    stmt, _ = parse("EXISTS(SELECT * FROM t WHERE pk = 'k' AND n > 1)")
    assert isinstance(stmt, Exists)
    req = plan_exists(stmt.select, [], PK)
    assert _render(req, "ConditionExpression") == "(attribute_exists(pk)) AND (n > N:1)"


def test_projection_rows() -> None:
    item = {
        "pk": {"S": "x"},
        "address": {"M": {"city": {"S": "London"}}},
        "tags": {"L": [{"S": "a"}, {"S": "b"}]},
    }
    paths = [Path(("address", "city")), Path(("tags", 1)), Path(("pk",)), Path(("nope", "x"))]
    assert project(item, paths) == {
        "city": {"S": "London"},
        "tags[1]": {"S": "b"},
        "pk": {"S": "x"},
    }


@pytest.mark.parametrize(
    ("bag", "message"),
    [
        ("<<1, 'x'>>", "DynamoDB only supports either numbers or strings in bags"),
        ("<<>>", "Empty bags are not supported"),
        (
            "<<1, 1.0>>",
            "One or more parameter values were invalid: Input collection [1, 1.0] contains "
            "duplicates.",
        ),
        ("<<?>>", "Unsupported data type in Bag"),
    ],
)
def test_bad_sets_are_rejected(bag: str, message: str) -> None:
    stmt, n = parse(f"INSERT INTO t VALUE {{'pk': 'a', 's': {bag}}}")
    with pytest.raises(ValidationException) as exc:
        plan_insert(stmt, [{"S": "x"}] * n, PK)  # type: ignore[arg-type]
    assert exc.value.error_message == message


def test_aliases_and_number_literals() -> None:
    for text in ("SELECT * FROM t x", "SELECT * FROM t AS x", "DELETE FROM t x WHERE a = 1"):
        with pytest.raises(ValidationException) as exc:
            parse(text)
        assert exc.value.error_message == "Aliasing is not supported"
    stmt, _ = parse("INSERT INTO t VALUE {'pk': 1, 'l': [1, 1e126]}")
    with pytest.raises(ValidationException) as exc:
        plan_insert(stmt, [], PK)  # type: ignore[arg-type]
    assert exc.value.error_message.endswith("larger than supported range under root[1]")


def test_function_errors_carry_positions() -> None:
    with pytest.raises(ValidationException) as exc:
        parse("SELECT * FROM t WHERE pk = 'a' AND EXISTS(ss)")
    assert exc.value.error_message == "Unrecognized function: exists at 1:36:6"
    with pytest.raises(ValidationException) as exc:
        parse("SELECT attribute_exists(ss) FROM t")
    assert exc.value.error_message == "Unexpected path component at 1:8:16"
    with pytest.raises(ValidationException) as exc:
        parse("SELECT * FROM t\nWHERE set_add(ss, <<'x'>>) = ss")
    assert exc.value.error_message == "Unrecognized function: set_add at 2:7:7"
    stmt, _ = parse("UPDATE t SET ss = set_add(ss, 'x') WHERE pk = 'a'")
    with pytest.raises(ValidationException) as exc:
        plan_update(stmt, [], PK)  # type: ignore[arg-type]
    assert exc.value.error_message == (
        "The second argument to SET_ADD must be a value with type SET at 1:27:2"
    )
    stmt, _ = parse("UPDATE t SET t = set_add(ss, <<'x'>>) WHERE pk = 'a'")
    with pytest.raises(ValidationException) as exc:
        plan_update(stmt, [], PK)  # type: ignore[arg-type]
    assert exc.value.error_message == (
        "The first argument to SET_ADD must equal the assignment value at 1:18:7"
    )


def test_select_clause_errors() -> None:
    with pytest.raises(ValidationException) as exc:
        parse("SELECT a.z, b.z FROM t")
    assert exc.value.error_message == "Duplicate identifiers in select clause: z"
    with pytest.raises(ValidationException) as exc:
        parse("SELECT * FROM t LIMIT 1")
    assert exc.value.error_message == "Unsupported clause: LIMIT"
