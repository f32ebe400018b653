"""An ImportTable job parses its files off the event loop: the server keeps answering other
requests while a large file is decompressed and parsed.

The file is built so that parsing is nearly the whole job: ~45 MB of JSON (gzip'd to a few
hundred KB, so reading it is quick) whose lines are not items, so nothing is written after the
parse. Were the parse on the event loop, a ListTables sent while it runs would be answered only
once it ended, when the job has nothing left but to record its end, and a DescribeImport sent
after that answer would find it COMPLETED. Off the loop, ListTables is answered at once and the
import is still IN_PROGRESS when asked next. No timing threshold: only the order of answers.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from typing import Any

from tests.e2e.dynamodb.jobs import finished_import, start_import
from tests.waiting import wait_until

Client = Callable[..., Any]
LINES = 30_000


def _big_file() -> bytes:
    # Valid JSON, but "Item" is a list: json.loads does all the work, then it is a bad line.
    line = json.dumps({"Item": {"numbers": list(range(100, 400))}})
    return gzip.compress(("\n".join([line] * LINES) + "\n").encode(), compresslevel=6)


def test_other_requests_are_answered_while_an_import_parses(client: Client) -> None:
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = f"offloop-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/big.json.gz", Body=_big_file())
    _, started = start_import(ddb, bucket, compression="GZIP")
    arn = started["ImportArn"]

    ddb.list_tables()
    status = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]["ImportStatus"]
    assert status == "IN_PROGRESS", "ListTables waited for the import's parse"

    desc = finished_import(ddb, arn, timeout=120)
    assert desc["ImportStatus"] == "COMPLETED", desc
    assert (desc["ProcessedItemCount"], desc["ErrorCount"], desc["ImportedItemCount"]) == (
        LINES,
        LINES,
        0,
    )


def test_corrupt_and_truncated_gzip_files_count_as_errors(client: Client) -> None:
    """A file that is not valid gzip is one error of the import, not a failed import."""
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = f"badgz-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    good = gzip.compress(b'{"Item":{"pk":{"S":"a"}}}\n')
    files = {
        "good.gz": good,
        "truncated.gz": good[:-6],  # EOFError
        "garbage.gz": b"\x1f\x8b\x08\x00" + bytes(6) + b"not deflate",  # zlib.error
    }
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=f"data/{key}", Body=body)
    _, started = start_import(ddb, bucket, compression="GZIP")
    arn = started["ImportArn"]
    desc = finished_import(ddb, arn)
    assert desc["ImportStatus"] == "COMPLETED", desc
    assert (desc["ImportedItemCount"], desc["ErrorCount"]) == (1, 2)


def test_an_import_loads_in_batches_while_others_write(client: Client) -> None:
    """A large file is written in batches, not one long transaction: the store has one writer,
    and a request writing meanwhile waits for the transaction in progress. Seen from outside:
    DescribeTable's ItemCount of the table being loaded passes through values between 0 and
    the total, while another table takes writes."""
    ddb, s3 = client("dynamodb"), client("s3")
    total = 30_000
    bucket = f"batches-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    body = "".join(f'{{"Item":{{"pk":{{"S":"k{i}"}}}}}}\n' for i in range(total))
    s3.put_object(Bucket=bucket, Key="data/items.json.gz", Body=gzip.compress(body.encode()))
    other = f"batches-other-{uuid.uuid4().hex[:10]}"
    ddb.create_table(
        TableName=other,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    target, started = start_import(ddb, bucket, compression="GZIP")
    arn = started["ImportArn"]
    counts: set[int] = set()
    writes = 0

    def loaded() -> bool:
        nonlocal writes
        ddb.put_item(TableName=other, Item={"pk": {"S": f"w{writes}"}})
        writes += 1
        counts.add(ddb.describe_table(TableName=target)["Table"]["ItemCount"])
        status = ddb.describe_import(ImportArn=arn)["ImportTableDescription"]["ImportStatus"]
        return status != "IN_PROGRESS"

    wait_until(loaded, 120, interval=0, what="the import finished")
    assert any(0 < count < total for count in counts), sorted(counts)
    assert ddb.describe_table(TableName=target)["Table"]["ItemCount"] == total
