"""DynamoDB PartiQL through boto3: ExecuteStatement (SELECT/INSERT/UPDATE/DELETE, parameters,
pagination), BatchExecuteStatement and ExecuteTransaction, with AWS's errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


@pytest.fixture
def table(client: Client) -> str:
    ddb = client("dynamodb")
    name = f"pq-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(5):
        ddb.put_item(
            TableName=name,
            Item={
                "pk": {"S": "p"},
                "sk": {"N": str(i)},
                "g": {"S": "even" if i % 2 == 0 else "odd"},
                "n": {"N": str(i * 10)},
            },
        )
    return name


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _sks(items: list[dict[str, Any]]) -> list[int]:
    return [int(i["sk"]["N"]) for i in items]


def test_select_forms(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    got = ddb.execute_statement(Statement=f"SELECT * FROM \"{table}\" WHERE pk = 'p' AND sk = 2")
    assert _sks(got["Items"]) == [2]
    got = ddb.execute_statement(
        Statement=f'SELECT sk, n FROM "{table}" WHERE pk = ? AND sk >= ? ORDER BY sk DESC',
        Parameters=[{"S": "p"}, {"N": "3"}],
    )
    assert got["Items"] == [
        {"sk": {"N": "4"}, "n": {"N": "40"}},
        {"sk": {"N": "3"}, "n": {"N": "30"}},
    ]
    got = ddb.execute_statement(Statement=f'SELECT * FROM "{table}" WHERE n > 15 AND n < 35')
    assert sorted(_sks(got["Items"])) == [2, 3]
    got = ddb.execute_statement(Statement=f'SELECT * FROM "{table}"."by-g" WHERE g = \'odd\'')
    assert sorted(_sks(got["Items"])) == [1, 3]
    got = ddb.execute_statement(
        Statement=f"SELECT * FROM \"{table}\" WHERE pk = 'p' AND sk BETWEEN 1 AND 2 "
        "AND begins_with(g, 'ev')"
    )
    assert _sks(got["Items"]) == [2]
    got = ddb.execute_statement(Statement=f"SELECT * FROM \"{table}\" WHERE pk = 'nope' AND sk = 1")
    assert got["Items"] == []


def test_select_pagination(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    seen: list[int] = []
    kwargs: dict[str, Any] = {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'p'", "Limit": 2}
    while True:
        page = ddb.execute_statement(**kwargs)
        seen += _sks(page["Items"])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == [0, 1, 2, 3, 4]


def test_insert_update_delete(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    out = ddb.execute_statement(
        Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'q', 'sk': 1, 'tags': <<'a'>>, 'c': 1}}"
    )
    assert out["Items"] == []  # writes answer rows only with RETURNING
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'q', 'sk': 1}}")
    assert _code(exc) == "DuplicateItemException"
    out = ddb.execute_statement(
        Statement=f"UPDATE \"{table}\" SET c = c + 1 SET tags = set_add(tags, <<'b'>>) "
        "REMOVE gone WHERE pk = 'q' AND sk = 1 RETURNING ALL NEW *"
    )
    item = out["Items"][0]
    assert item["c"] == {"N": "2"}
    assert sorted(item["tags"]["SS"]) == ["a", "b"]
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET c = 5 WHERE pk = 'q' AND sk = 99")
    assert _code(exc) == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET c = 5 WHERE pk = 'q' AND c = 2")
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(
            Statement=f"DELETE FROM \"{table}\" WHERE pk = 'q' AND sk = 1 AND c = 100"
        )
    assert _code(exc) == "ConditionalCheckFailedException"
    # A missing item is a no-op, whatever the other predicates say.
    ddb.execute_statement(Statement=f"DELETE FROM \"{table}\" WHERE pk = 'zz' AND sk = 1 AND c = 1")
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(
            Statement=f"DELETE FROM \"{table}\" WHERE pk = 'q' AND sk = 1 RETURNING ALL NEW *"
        )
    assert exc.value.response["Error"]["Message"] == (
        "Invalid returning clause: RETURNING ALL NEW *. Only RETURNING ALL OLD * is allowed in "
        "DELETE statements."
    )
    out = ddb.execute_statement(
        Statement=f"DELETE FROM \"{table}\" WHERE pk = 'q' AND sk = 1 RETURNING ALL OLD *"
    )
    assert out["Items"][0]["c"] == {"N": "2"}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "q"}, "sk": {"N": "1"}})


def test_statement_errors(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f'SELEC * FROM "{table}"')
    assert _code(exc) == "ValidationException"
    assert "Statement wasn't well formed" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f'SELECT * FROM "{table}" WHERE pk = ?')
    assert _code(exc) == "ValidationException"
    # Extra parameters are ignored, as DynamoDB does; too few are refused above.
    got = ddb.execute_statement(
        Statement=f'SELECT * FROM "{table}" WHERE pk = ? AND sk = 0',
        Parameters=[{"S": "p"}, {"S": "unused"}],
    )
    assert _sks(got["Items"]) == [0]
    # The operand types are checked before the table is looked up.
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(
            Statement='SELECT * FROM "no-such-table-pq" WHERE pk = ? AND v >= ?',
            Parameters=[{"S": "x"}, {"NULL": True}],
        )
    assert exc.value.response["Error"]["Message"] == (
        "Incorrect operand type for operator or function; operator or function: >=, "
        "operand type: NULL"
    )
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement='SELECT * FROM "no-such-table-pq"')
    assert _code(exc) == "ResourceNotFoundException"


def test_batch_execute_statement(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'b', 'sk': 1}}"},
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'p', 'sk': 0}}"},
            {"Statement": f"UPDATE \"{table}\" SET x = ? WHERE pk = 'p' AND sk = 1",
             "Parameters": [{"S": "y"}]},
        ]
    )["Responses"]  # fmt: skip
    assert out[0] == {"TableName": table}
    assert out[1]["Error"]["Code"] == "DuplicateItem"
    assert "TableName" not in out[1]  # not echoed on errors
    assert "Error" not in out[2]
    reads = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'p' AND sk = 1"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'zz' AND sk = 1"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'p'"},
        ]
    )["Responses"]
    assert reads[0]["Item"]["x"] == {"S": "y"}
    assert reads[0]["TableName"] == table
    assert "Item" not in reads[1] and "Error" not in reads[1]
    assert reads[2]["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as exc:
        ddb.batch_execute_statement(
            Statements=[
                {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'p' AND sk = 1"},
                {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'm', 'sk': 1}}"},
            ]
        )
    assert "Read and write requests together" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ddb.batch_execute_statement(
            Statements=[
                {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'd', 'sk': 1}}"},
                {"Statement": f"UPDATE \"{table}\" SET x = 1 WHERE pk = 'd' AND sk = 1"},
            ]
        )
    assert "contains duplicates" in exc.value.response["Error"]["Message"]
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'b' AND sk = 1 RETURNING ALL OLD *"}
        ]
    )["Responses"]
    assert out == [{"TableName": table, "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}}]


def test_execute_transaction(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    out = ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 't', 'sk': 1}}"},
            {"Statement": f"UPDATE \"{table}\" SET n = n + 1 WHERE pk = 'p' AND sk = 0"},
            {
                "Statement": f"EXISTS(SELECT * FROM \"{table}\" WHERE pk = 'p' AND sk = 1 "
                "AND n = 10)"
            },
        ]
    )
    assert out["Responses"] == []  # a transaction of writes answers no entries
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"N": "0"}})["Item"]
    assert got["n"] == {"N": "1"}
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"UPDATE \"{table}\" SET n = 99 WHERE pk = 'p' AND sk = 2"},
                {"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 't', 'sk': 1}}"},
            ]
        )
    assert _code(exc) == "TransactionCanceledException"
    reasons = exc.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "DuplicateItem"]
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"N": "2"}})["Item"]
    assert got["n"] == {"N": "20"}  # nothing was written
    out = ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 't' AND sk = 1"},
            {"Statement": f"SELECT n FROM \"{table}\" WHERE pk = 'p' AND sk = 0"},
        ]
    )["Responses"]
    assert out[0]["Item"] == {"pk": {"S": "t"}, "sk": {"N": "1"}}
    assert out[1]["Item"] == {"n": {"N": "1"}}
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 't' AND sk = 1"},
                {"Statement": f"DELETE FROM \"{table}\" WHERE pk = 'p' AND sk = 1 "
                 "RETURNING ALL OLD *"},
            ]
        )  # fmt: skip
    assert exc.value.response["Error"]["Message"] == (
        "Validation failed in TransactStatements[1]: RETURNING clause is not supported in "
        "ExecuteTransaction."
    )


def test_nested_projection_and_exists(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    ddb.put_item(
        TableName=table,
        Item={
            "pk": {"S": "n"},
            "sk": {"N": "1"},
            "address": {"M": {"city": {"S": "London"}}},
            "tags": {"L": [{"S": "a"}, {"S": "b"}]},
        },
    )
    got = ddb.execute_statement(
        Statement=f'SELECT address.city, tags[1], sk, nope FROM "{table}" '
        "WHERE pk = 'n' AND sk = 1"
    )["Items"]
    assert got == [{"city": {"S": "London"}, "tags[1]": {"S": "b"}, "sk": {"N": "1"}}]
    got = ddb.execute_statement(
        Statement=f"SELECT sk FROM \"{table}\" WHERE pk = 'n' AND attribute_exists(address) = true"
    )["Items"]
    assert got == [{"sk": {"N": "1"}}]
    got = ddb.execute_statement(
        Statement=f"SELECT sk FROM \"{table}\" WHERE pk = 'n' AND address IS MAP AND sk IS NUMBER"
    )["Items"]
    assert got == [{"sk": {"N": "1"}}]
    with pytest.raises(ClientError) as exc:  # EXISTS is no function in a WHERE
        ddb.execute_statement(Statement=f'SELECT sk FROM "{table}" WHERE EXISTS(n)')
    assert exc.value.response["Error"]["Message"].startswith("Unrecognized function: exists at 1:")


def test_from_first_update(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    out = ddb.execute_statement(
        Statement=f'FROM "{table}" WHERE pk = ? AND sk = 1 AND n = 10 SET c = ? REMOVE g '
        "RETURNING ALL NEW *",
        Parameters=[{"S": "p"}, {"N": "7"}],
    )
    assert out["Items"][0]["c"] == {"N": "7"} and "g" not in out["Items"][0]
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"FROM \"{table}\" WHERE pk = 'zz' AND sk = 1 SET c = 1")
    assert _code(exc) == "ConditionalCheckFailedException"
