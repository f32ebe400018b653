"""UpdateExpression and ProjectionExpression: application to items and AWS's errors."""

from __future__ import annotations

import pytest

from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.expressions import Usage, parse_projection, parse_update

ITEM = {
    "pk": {"S": "k"},
    "n": {"N": "5"},
    "s": {"S": "text"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "l": {"L": [{"S": "x"}, {"S": "y"}, {"S": "z"}]},
    "m": {"M": {"k": {"S": "v"}, "child": {"M": {"z": {"N": "0"}}}}},
}
VALUES = {
    ":one": {"N": "1"},
    ":half": {"N": "0.5"},
    ":s": {"S": "new"},
    ":sc": {"SS": ["c", "a"]},
    ":sa": {"SS": ["a"]},
    ":sab": {"SS": ["a", "b"]},
    ":ns": {"NS": ["3"]},
    ":l": {"L": [{"S": "w"}]},
    ":m": {"M": {}},
    ":big": {"N": "9.9999999999999999999999999999999999999E+125"},
}


def apply(text: str, item=ITEM, names=None) -> dict:
    return parse_update(text, names, VALUES, Usage()).apply(item)


def error_of(text: str, item=ITEM, values=VALUES) -> str:
    with pytest.raises(ValidationException) as caught:
        parse_update(text, None, values, Usage()).apply(item)
    return caught.value.error_message


def test_set_values_arithmetic_and_functions():
    result = apply(
        "SET n = n + :one, x = :s, y = if_not_exists(y, :one), s = if_not_exists(s, :s), "
        "l = list_append(l, :l), front = list_append(:l, l), d = n - :half"
    )
    assert result["n"] == {"N": "6"}
    assert result["x"] == {"S": "new"}
    assert result["y"] == {"N": "1"}
    assert result["s"] == {"S": "text"}
    assert [v["S"] for v in result["l"]["L"]] == ["x", "y", "z", "w"]
    assert [v["S"] for v in result["front"]["L"]] == ["w", "x", "y", "z"]
    assert result["d"] == {"N": "4.5"}  # right-hand sides read the item before the update
    assert ITEM["n"] == {"N": "5"}  # the input is not modified


def test_set_nested_paths_and_list_indexes():
    result = apply("SET m.child.z = :one, m.newkey = :s, l[1] = :s, l[10] = :one")
    assert result["m"]["M"]["child"]["M"]["z"] == {"N": "1"}
    assert result["m"]["M"]["newkey"] == {"S": "new"}
    assert result["l"]["L"] == [{"S": "x"}, {"S": "new"}, {"S": "z"}, {"N": "1"}]


def test_set_into_a_missing_parent_is_an_invalid_path():
    message = "The document path provided in the update expression is invalid for update"
    assert error_of("SET nope.x = :s") == message
    assert error_of("SET s[0] = :s") == message
    assert error_of("SET m.k.deeper = :s") == message


def test_remove_attributes_and_list_elements_by_original_index():
    result = apply("REMOVE s, l[0], l[2], m.child, absent")
    assert "s" not in result
    assert result["l"]["L"] == [{"S": "y"}]
    assert result["m"]["M"] == {"k": {"S": "v"}}


def test_add_numbers_and_sets():
    result = apply("ADD n :one, ss :sc, ns :ns, fresh :one, freshset :sa")
    assert result["n"] == {"N": "6"}
    assert sorted(result["ss"]["SS"]) == ["a", "b", "c"]
    assert sorted(result["ns"]["NS"]) == ["1", "2", "3"]
    assert result["fresh"] == {"N": "1"}
    assert result["freshset"] == {"SS": ["a"]}


def test_delete_from_sets_and_empty_sets_disappear():
    result = apply("DELETE ss :sa, absent :sa")
    assert result["ss"] == {"SS": ["b"]}
    assert "absent" not in result
    assert "ss" not in apply("DELETE ss :sab")


def test_run_time_type_errors():
    wrong = "An operand in the update expression has an incorrect data type"
    assert error_of("SET s = s + :one") == wrong
    assert error_of("SET l = list_append(s, :l)") == wrong
    assert error_of("ADD s :one") == wrong
    assert error_of("ADD ss :ns") == wrong
    assert error_of("DELETE ns :sa") == wrong
    assert error_of("SET x = absent + :one") == (
        "The provided expression refers to an attribute that does not exist in the item"
    )
    assert error_of("SET n = n + :big", item={"n": {"N": "9E+125"}}).startswith("Number overflow")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The expression can not be empty;"),
        ("SET", 'Syntax error; token: "<EOF>", near: "SET"'),
        ("SET a = :s,", 'Syntax error; token: "<EOF>", near: ","'),
        ("UPSERT a = :s", 'Syntax error; token: "UPSERT", near: "UPSERT a"'),
        (
            "SET a = :s SET b = :s",
            'The "SET" section can only be used once in an update expression;',
        ),
        (
            "SET a = :s, a = :one",
            "Two document paths overlap with each other; must remove or rewrite one of these "
            "paths; path one: [a], path two: [a]",
        ),
        (
            "SET m.k = :s REMOVE m",
            "Two document paths overlap with each other; must remove or rewrite one of these "
            "paths; path one: [m, k], path two: [m]",
        ),
        (
            "SET l[0] = :s REMOVE l.x",
            "Two document paths conflict with each other; must remove or rewrite one of these "
            "paths; path one: [l, [0]], path two: [l, x]",
        ),
        (
            "ADD s :s",
            "Incorrect operand type for operator or function; operator: ADD, operand type: "
            "STRING, typeSet: ALLOWED_FOR_ADD_OPERAND",
        ),
        (
            "DELETE ss :one",
            "Incorrect operand type for operator or function; operator: DELETE, operand type: "
            "NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND",
        ),
        (
            "SET a = :s + :one",
            "Incorrect operand type for operator or function; operator or function: +, "
            "operand type: S",
        ),
        (
            "SET a = list_append(:s, l)",
            "Incorrect operand type for operator or function; operator or function: "
            "list_append, operand type: S",
        ),
        (
            "SET a = size(l)",
            "The function is not allowed in an update expression; function: size",
        ),
        ("SET a = nope(l)", "Invalid function name; function: nope"),
        (
            "SET a = if_not_exists(:s, :s)",
            "Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(l)",
            "Incorrect number of operands for operator or function; operator or function: "
            "list_append, number of operands: 1",
        ),
        (
            "SET #x = :s",
            "An expression attribute name used in the document path is not defined; "
            "attribute name: #x",
        ),
        ("REMOVE year", "Attribute name is a reserved keyword; reserved keyword: year"),
    ],
)
def test_parse_errors(text, message):
    assert error_of(text) == f"Invalid UpdateExpression: {message}"


def test_paths_names_top_level_attributes_written():
    update = parse_update(
        "SET a.b = :s, #k = :s REMOVE c[1] ADD d :one", {"#k": "pk"}, VALUES, Usage()
    )
    assert update.paths == {"a", "pk", "c", "d"}


def test_projection_cuts_nested_paths_and_list_elements():
    projection = parse_projection("m.child.z, l[2], l[0], pk, absent, m.k.x", None, Usage())
    assert projection.apply(ITEM) == {
        "m": {"M": {"child": {"M": {"z": {"N": "0"}}}}},
        "l": {"L": [{"S": "x"}, {"S": "z"}]},
        "pk": {"S": "k"},
    }


def test_projection_names_and_errors():
    usage = Usage()
    projection = parse_projection("#a, #b.#c", {"#a": "pk", "#b": "m", "#c": "k"}, usage)
    assert projection.apply(ITEM) == {"pk": {"S": "k"}, "m": {"M": {"k": {"S": "v"}}}}
    assert usage.names == {"#a", "#b", "#c"}
    for text, message in [
        (
            "pk, pk",
            "Two document paths overlap with each other; must remove or rewrite one of "
            "these paths; path one: [pk], path two: [pk]",
        ),
        (
            "m, m.k",
            "Two document paths overlap with each other; must remove or rewrite one of "
            "these paths; path one: [m], path two: [m, k]",
        ),
        ("pk,", 'Syntax error; token: "<EOF>", near: ","'),
        ("name", "Attribute name is a reserved keyword; reserved keyword: name"),
    ]:
        with pytest.raises(ValidationException) as caught:
            parse_projection(text, None, Usage())
        assert caught.value.error_message == f"Invalid ProjectionExpression: {message}"


def test_projection_merges_paths_under_one_list_element():
    item = {
        "l": {
            "L": [
                {"M": {"a": {"S": "a0"}, "b": {"S": "b0"}, "c": {"S": "c0"}}},
                {"M": {"a": {"S": "a1"}}},
                {"M": {"c": {"S": "c2"}}},
            ]
        }
    }
    projection = parse_projection("l[0].b, l[2].c, l[0].a, l[1].zz", None, Usage())
    assert projection.apply(item) == {
        "l": {"L": [{"M": {"b": {"S": "b0"}, "a": {"S": "a0"}}}, {"M": {"c": {"S": "c2"}}}]}
    }
    assert parse_projection("absent", None, Usage()).apply(item) == {}


@pytest.mark.parametrize(
    "text",
    [
        "REMOVE nope.x",
        "REMOVE s.x",
        "REMOVE m[0]",
        "REMOVE l.x",
        "DELETE nope.x :sa",
        "DELETE m[1] :sa",
        "ADD nope.x :one",
        "ADD l.x :one",
    ],
)
def test_paths_under_missing_or_mistyped_containers_are_invalid(text):
    assert error_of(text) == (
        "The document path provided in the update expression is invalid for update"
    )


def test_remove_and_delete_of_missing_values_in_existing_containers_are_no_ops():
    result = apply("REMOVE m.absent, l[7] DELETE m.nothing :sa")
    assert result["m"] == ITEM["m"]
    assert result["l"] == ITEM["l"]


@pytest.mark.parametrize(
    ("text", "what", "one", "two"),
    [
        # The first clash DynamoDB meets walking its path tree newest branch first.
        ("SET d[1] = :s, d.b = :s, c[1].a = :s, #c = :s", "overlap", "[c, [1], a]", "[c]"),
        ("SET #c[3].#d = :s, #c[3] = :s", "overlap", "[c, [3], [3]]", "[c, [3]]"),
        ("SET #c[3].#d = :s, #c.#d[3] = :s", "conflict", "[c, [3], [3]]", "[c, [3], [3]]"),
        ("REMOVE a.#c SET a[1] = :s", "conflict", "[a, c]", "[a, [1]]"),
    ],
)
def test_overlap_reports_follow_dynamodb(text, what, one, two):
    with pytest.raises(ValidationException) as caught:
        parse_update(text, {"#c": "c", "#d": "[3]"}, VALUES, Usage())
    assert caught.value.error_message == (
        f"Invalid UpdateExpression: Two document paths {what} with each other; must remove or "
        f"rewrite one of these paths; path one: {one}, path two: {two}"
    )


def test_update_operand_errors_are_reported_from_the_last_action():
    text = "SET b = list_append(:s, a), c = if_not_exists(a) ADD a.b :s"
    assert error_of(text) == (
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: "
        "ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"
    )
