"""PartiQL reads through secondary indexes, with AWS's rules and messages: projections follow
the index (an LSI reaches back to the table, a GSI refuses), unprojected filters are refused
on keyed reads, and writes, transactions and batches do not take an index."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

Client = Callable[..., Any]


@pytest.fixture(scope="module")
def table(server: Any) -> str:
    ddb = server.client("dynamodb")
    name = f"pqi-{uuid.uuid4().hex[:10]}"
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    ddb.create_table(
        TableName=name,
        KeySchema=[*key, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"}
            for a in ("pk", "sk", "gsiPk", "gsiPk2", "lsiSk")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi-all",
                "KeySchema": [{"AttributeName": "gsiPk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gsi-inc",
                "KeySchema": [{"AttributeName": "gsiPk2", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["projattr"]},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "lsi-keys",
                "KeySchema": [*key, {"AttributeName": "lsiSk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for sk, gsi in (("s1", "x"), ("s2", "z"), ("s4", "x")):
        ddb.put_item(
            TableName=name,
            Item={
                "pk": {"S": "p"}, "sk": {"S": sk}, "gsiPk": {"S": gsi}, "gsiPk2": {"S": "y"},
                "lsiSk": {"S": "l" + sk}, "projattr": {"S": "proj" + sk},
                "nonproj": {"S": "np" + sk},
            },
        )  # fmt: skip
    ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "s3"}, "nonproj": {"S": "n"}})
    return name


def _run(ddb: Any, statement: str, **extra: Any) -> list[dict[str, Any]]:
    return ddb.execute_statement(Statement=statement, **extra)["Items"]


def _refused(ddb: Any, statement: str, **extra: Any) -> str:
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=statement, **extra)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    return str(exc.value.response["Error"]["Message"])


def test_index_reads_follow_the_index(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    rows = _run(ddb, f'SELECT pk, sk FROM "{table}"."gsi-all" WHERE gsiPk = \'x\'')
    assert sorted(r["sk"]["S"] for r in rows) == ["s1", "s4"]
    rows = _run(ddb, f'SELECT * FROM "{table}"."gsi-inc" WHERE gsiPk2 = \'y\'')
    assert {tuple(sorted(r)) for r in rows} == {("gsiPk2", "pk", "projattr", "sk")}
    # An LSI serves what it does not project from the table.
    rows = _run(ddb, f'SELECT nonproj FROM "{table}"."lsi-keys" WHERE pk = \'p\'')
    assert sorted(r["nonproj"]["S"] for r in rows) == ["nps1", "nps2", "nps4"]
    # Unkeyed, the read scans the index, which lacks the attribute: nothing matches.
    assert _run(ddb, f'SELECT pk FROM "{table}"."gsi-inc" WHERE nonproj = \'nps1\'') == []


def test_index_read_refusals(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    assert _refused(
        ddb, f"SELECT pk FROM \"{table}\".\"gsi-inc\" WHERE gsiPk2 = 'y' AND nonproj = 'a'"
    ) == (
        "One or more parameter values were invalid: Secondary index gsi-inc does not project "
        "one or more filter attributes: [nonproj]"
    )
    assert _refused(
        ddb, f"SELECT pk FROM \"{table}\".\"lsi-keys\" WHERE pk = 'p' AND NOT nonproj = 'a'"
    ).endswith("Secondary index lsi-keys does not project one or more filter attributes: [nonproj]")
    assert _refused(ddb, f'SELECT nonproj FROM "{table}"."gsi-inc" WHERE gsiPk2 = \'y\'') == (
        "One or more parameter values were invalid: Global secondary index gsi-inc does not "
        "project [nonproj]"
    )
    assert _refused(ddb, f'SELECT * FROM "{table}"."nope" WHERE pk = \'p\'') == (
        "The table does not have the specified index"
    )
    assert _refused(ddb, f'SELECT * FROM "{table}"."gsi-all"."x" WHERE pk = \'p\'') == (
        "A path may contain at most 2 components in the FROM clause"
    )
    assert _refused(ddb, f'SELECT * FROM "{table}"."" WHERE pk = \'p\'') == (
        "Path component cannot be an empty string"
    )
    assert _refused(
        ddb, f'SELECT * FROM "{table}"."gsi-all" WHERE gsiPk = \'x\'', ConsistentRead=True
    ) == ("Strongly consistent read is not supported on Global Secondary Indexes")
    assert "FROM clause may only contain a single table name" in _refused(
        ddb, f"INSERT INTO \"{table}\".\"gsi-all\" VALUE {{'pk': 'w', 'sk': 'w'}}"
    )
    assert _refused(ddb, f"DELETE FROM \"{table}\".\"gsi-all\" WHERE pk = 'p' AND sk = 's1'") == (
        "This operation is not supported on an index"
    )
    assert _refused(
        ddb, f'SELECT pk FROM "{table}" WHERE pk = \'p\' AND sk = \'s1\' AND projattr < ?',
        Parameters=[{"BOOL": True}],
    ) == ("Incorrect operand type for operator or function; operator or function: <, "
          "operand type: BOOL")  # fmt: skip


def test_transactions_and_batches_refuse_indexes(client: Client, table: str) -> None:
    ddb = client("dynamodb")
    with pytest.raises(ClientError) as exc:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f'SELECT * FROM "{table}"."gsi-all" WHERE gsiPk = \'x\''}
            ]
        )
    assert exc.value.response["Error"]["Message"] == (
        "Validation failed in TransactStatements[0]: Reads on indices are not supported "
        "within transactions."
    )
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f'SELECT * FROM "{table}"."gsi-all" WHERE gsiPk = \'x\''},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE projattr = 'a'"},
            {"Statement": f"SELECT * FROM \"{table}\" WHERE pk = 'p' AND sk = 's1'"},
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    errors = [r["Error"] for r in out["Responses"][:2]]
    assert all(e["Code"] == "ValidationError" for e in errors)
    assert all("must specify the primary key in the where clause" in e["Message"] for e in errors)
    assert out["Responses"][2]["Item"]["sk"] == {"S": "s1"}
    (used,) = out["ConsumedCapacity"]
    assert used["TableName"] == table and used["CapacityUnits"] > 0
