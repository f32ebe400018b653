"""S3 Select's SQL subset: parsing errors, expression semantics (three-valued logic, LIKE,
CAST, functions, aggregates) and the CSV/JSON input and output formats, without a server."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from overcast.services.s3.select import ast, inputs
from overcast.services.s3.select.errors import (
    CastFailed,
    DivideByZero,
    InvalidJsonType,
    ParseExpectedKeyword,
    ParseInvalidTypeParam,
    ParseUnexpectedToken,
    UnsupportedFunction,
    UnsupportedSyntax,
)
from overcast.services.s3.select.evaluate import CsvRecord, Evaluator
from overcast.services.s3.select.outputs import CsvWriter, JsonWriter
from overcast.services.s3.select.sql import parse

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC).timestamp()
PEOPLE = "name,age,city\nAlice,35,Paris\nBob,40,\nAnn,20,Rome\n"


def csv_rows(text: str = PEOPLE, header: str = "USE") -> list[CsvRecord]:
    return list(inputs.csv_records(text, {"FileHeaderInfo": header}))


def run(sql: str, records: list[Any]) -> list[list[tuple[str, Any]]]:
    return list(Evaluator(parse(sql), NOW).run(records))


def values(sql: str, records: list[Any] | None = None) -> list[Any]:
    rows = run(sql, csv_rows() if records is None else records)
    return [row[0][1] if len(row) == 1 else [v for _, v in row] for row in rows]


def scalar(expr: str) -> Any:
    [row] = run(f"SELECT {expr} FROM S3Object", [{}])
    return row[0][1]


# --- parsing ---------------------------------------------------------------------------------


def test_query_shape() -> None:
    query = parse("select s.a AS x, _2 from S3Object[*].items[*] AS s where s.b = 1 limit 10")
    assert query.alias == "s"
    assert query.limit == 10
    assert [item.alias for item in query.items or ()] == ["x", None]
    assert [step.wildcard for step in query.source_path] == [True, False, True]
    assert isinstance(query.where, ast.Binary)
    assert parse("SELECT * FROM S3Object").items is None
    assert parse("SELECT s.* FROM S3Object s").items is None


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("SELEC * FROM S3Object", ParseExpectedKeyword),
        ("SELECT * S3Object", ParseExpectedKeyword),
        ("SELECT * FROM Table1", ParseUnexpectedToken),
        ("SELECT * FROM S3Object WHERE", ParseUnexpectedToken),
        ("SELECT CAST(_1 AS BLOB) FROM S3Object", ParseInvalidTypeParam),
        ("SELECT * FROM S3Object ORDER BY _1", UnsupportedSyntax),
        ("SELECT DISTINCT _1 FROM S3Object", UnsupportedSyntax),
        ("SELECT * FROM S3Object LIMIT x", ParseUnexpectedToken),
        ("SELECT * FROM S3Object WHERE _1 = 'a", ParseUnexpectedToken),
    ],
)
def test_parse_errors(sql: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse(sql)


def test_errors_name_line_and_column() -> None:
    with pytest.raises(ParseUnexpectedToken) as err:
        parse("SELECT *\nFROM S3Object WHERE )")
    assert "line 2, column 21" in str(err.value.error_message)


# --- expressions -----------------------------------------------------------------------------


def test_csv_columns_by_name_and_position() -> None:
    assert values("SELECT s.name FROM S3Object s") == ["Alice", "Bob", "Ann"]
    assert values("SELECT _3 FROM S3Object") == ["Paris", "", "Rome"]
    assert values('SELECT s."NAME" FROM S3Object s') == [inputs.MISSING] * 3  # quoted: exact
    assert values("SELECT NAME FROM S3Object") == ["Alice", "Bob", "Ann"]  # case-insensitive


def test_where_and_limit() -> None:
    assert values("SELECT name FROM S3Object WHERE CAST(age AS INT) >= 35") == ["Alice", "Bob"]
    assert values("SELECT name FROM S3Object s WHERE s.city = '' LIMIT 1") == ["Bob"]
    assert values("SELECT name FROM S3Object WHERE name LIKE 'A%'") == ["Alice", "Ann"]
    assert values("SELECT name FROM S3Object WHERE name NOT LIKE '_n_'") == ["Alice", "Bob"]
    assert values("SELECT name FROM S3Object WHERE age BETWEEN 21 AND 39") == ["Alice"]
    assert values("SELECT name FROM S3Object WHERE city IN ('Rome', 'Oslo')") == ["Ann"]
    assert values("SELECT name FROM S3Object LIMIT 0") == []


def test_three_valued_logic() -> None:
    assert scalar("NULL AND FALSE") is False
    assert scalar("NULL AND TRUE") is None
    assert scalar("NULL OR TRUE") is True
    assert scalar("NOT NULL") is None
    assert scalar("NULL = NULL") is None
    assert scalar("1 IN (2, NULL)") is None
    records = [{"a": 1}, {"a": None}, {}]
    absent = values("SELECT s.a FROM S3Object s WHERE s.a IS NULL", records)
    assert absent == [None, inputs.MISSING]  # IS NULL holds for a missing field too
    assert len(values("SELECT s.a FROM S3Object s WHERE s.a IS MISSING", records)) == 1


def test_arithmetic_and_strings() -> None:
    assert scalar("7 / 2") == 3
    assert scalar("-7 / 2") == -3
    assert scalar("7.0 / 2") == 3.5
    assert scalar("7 % 3") == 1
    assert scalar("2 + 3 * 4") == 14
    assert scalar("'a' || 'b' || 'c'") == "abc"
    with pytest.raises(DivideByZero):
        scalar("1 / 0")


def test_cast() -> None:
    assert scalar("CAST('12' AS INT)") == 12
    assert scalar("CAST('1.5' AS FLOAT)") == 1.5
    assert scalar("CAST(3 AS STRING)") == "3"
    assert scalar("CAST('true' AS BOOL)") is True
    assert scalar("CAST('2024-01-02T03:04:05Z' AS TIMESTAMP)") == datetime.datetime(
        2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC
    )
    with pytest.raises(CastFailed):
        scalar("CAST('x' AS INT)")


def test_functions() -> None:
    assert scalar("LOWER('AbC')") == "abc"
    assert scalar("UPPER('abc')") == "ABC"
    assert scalar("CHAR_LENGTH('héllo')") == 5
    assert scalar("SUBSTRING('123456789', 2, 3)") == "234"
    assert scalar("SUBSTRING('123456789' FROM 0 FOR 3)") == "12"
    assert scalar("SUBSTRING('123456789', 5)") == "56789"
    assert scalar("TRIM('  x  ')") == "x"
    assert scalar("TRIM(LEADING FROM '  x  ')") == "x  "
    assert scalar("TRIM(BOTH '12' FROM '1112211foobar22211122')") == "foobar"
    assert scalar("COALESCE(NULL, MISSING, 'z')") == "z"
    assert scalar("NULLIF(1, 1)") is None
    assert scalar("EXTRACT(YEAR FROM CAST('2021-05-06T00:00:00Z' AS TIMESTAMP))") == 2021
    assert scalar("DATE_DIFF(day, TO_TIMESTAMP('2021-01-01T'), TO_TIMESTAMP('2021-01-31T'))") == 30
    assert scalar("CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END") == "b"
    assert scalar("CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' END") == "two"
    with pytest.raises(UnsupportedFunction):
        scalar("REVERSE('abc')")


def test_aggregates() -> None:
    [row] = run(
        "SELECT COUNT(*), SUM(CAST(age AS INT)), AVG(CAST(age AS INT)), MIN(name), MAX(age) "
        "FROM S3Object WHERE city <> ''",
        csv_rows(),
    )
    assert [v for _, v in row] == [2, 55, 27.5, "Alice", "35"]
    [row] = run("SELECT COUNT(s.x) AS n FROM S3Object s", [{"x": 1}, {"y": 2}, {"x": None}])
    assert row == [("n", 1)]
    [row] = run("SELECT SUM(s.x) FROM S3Object s", [])
    assert row == [("_1", None)]


def test_json_paths_and_source_path() -> None:
    docs = list(inputs.json_values('{"a": {"b": [1, 2]}, "c": "x"}\n{"a": 1}', "LINES"))
    assert values("SELECT s.a.b[1] FROM S3Object s", docs) == [2, inputs.MISSING]
    nested = list(
        inputs.json_values('{"items": [{"n": 1}, {"n": 2}]} {"items": [{"n": 3}]}', "DOCUMENT")
    )
    records = list(
        inputs.apply_source_path(
            iter(nested), parse("SELECT * FROM S3Object[*].items[*]").source_path
        )
    )
    assert records == [{"n": 1}, {"n": 2}, {"n": 3}]
    with pytest.raises(InvalidJsonType):
        list(inputs.json_values("{}", "XML"))


# --- formats ---------------------------------------------------------------------------------


def test_csv_input_options() -> None:
    text = "a|b\n#comment|x\n'1|2'|3\n"
    rows = list(
        inputs.csv_records(
            text, {"FileHeaderInfo": "IGNORE", "FieldDelimiter": "|", "QuoteCharacter": "'"}
        )
    )
    assert [r.values for r in rows] == [["1|2", "3"]]
    rows = list(inputs.csv_records("x;y;z;", {"RecordDelimiter": ";"}))
    assert [r.values for r in rows] == [["x"], ["y"], ["z"]]


def test_scan_range_takes_records_starting_inside() -> None:
    data = b"aaa\nbbb\nccc\nddd\n"
    assert inputs.scan_range(data, 0, 5, b"\n") == b"aaa\nbbb\n"
    assert inputs.scan_range(data, 1, 9, b"\n") == b"bbb\nccc\n"
    assert inputs.scan_range(data, 4, None, b"\n") == b"bbb\nccc\nddd\n"
    assert inputs.scan_range(data, None, 4, b"\n") == b"ddd\n"


def test_outputs() -> None:
    csv_out = CsvWriter({})
    assert csv_out.row([("a", "x,y"), ("b", None), ("c", True)]) == '"x,y",,true\n'
    always = CsvWriter({"QuoteFields": "ALWAYS", "FieldDelimiter": ";", "RecordDelimiter": "\r\n"})
    assert always.row([("a", 'q"x'), ("b", 1)]) == '"q""x";"1"\r\n'
    json_out = JsonWriter({"RecordDelimiter": ","})
    assert json_out.row([("a", 1), ("b", inputs.MISSING), ("c", None)]) == '{"a":1,"c":null},'
    assert json_out.row([("", {"k": [1]})]) == '{"k":[1]},'


def test_deep_expressions_are_refused_not_crashed() -> None:
    with pytest.raises(UnsupportedSyntax):
        parse("SELECT " + "(" * 3000 + "1" + ")" * 3000 + " FROM S3Object")


def test_json_output_of_nested_values() -> None:
    moment = datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC)
    row = JsonWriter({}).row([("a", {"when": moment, "n": [1, {"d": datetime.date(2024, 1, 3)}]})])
    assert row == '{"a":{"when":"2024-01-02T00:00:00Z","n":[1,{"d":"2024-01-03"}]}}\n'


def test_utcnow_is_the_time_the_evaluator_is_given_not_the_wall_clock() -> None:
    # The provider passes env.clock's time: a test that moves the clock moves UTCNOW().
    [now] = values("SELECT UTCNOW() FROM S3Object s LIMIT 1")
    assert now == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
