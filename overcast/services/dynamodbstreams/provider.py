"""DynamoDB Streams' provider: list and describe streams, read their shard through iterators.

Streams and their records are written by the DynamoDB provider (``dynamodb/streams.py``) in each
item write's transaction; this provider only reads them. Shards roll every four hours of clock time
(``store.roll``, run lazily here before a read when due, and by every write). A shard iterator is
an opaque token
naming the stream, the shard, the next sequence number to read and when it was issued: it expires
15 minutes later on the Clock, as AWS's do.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from overcast.services.base import Provider, ServiceEnv
from overcast.services.dynamodbstreams import store
from overcast.services.dynamodbstreams.codec import decode_item
from overcast.services.dynamodbstreams.errors import (
    ExpiredIteratorException,
    ResourceNotFoundException,
    TrimmedDataAccessException,
    ValidationException,
)
from overcast.services.dynamodbstreams.store import Shard, Stream

ITERATOR_LIFETIME = 15 * 60.0
MAX_RECORDS = 1000


def stream_description(s: Stream, shards: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "StreamArn": s.arn,
        "StreamLabel": s.label,
        "StreamStatus": "ENABLED" if s.enabled else "DISABLED",
        "StreamViewType": s.view_type,
        "CreationRequestDateTime": s.created,
        "TableName": s.table_name,
        "KeySchema": s.key_schema,
        "Shards": shards,
    }


def shard_of(sh: Shard) -> dict[str, Any]:
    seq_range: dict[str, str] = {"StartingSequenceNumber": store.wire_seq(sh.start_seq)}
    if sh.end_seq is not None:
        seq_range["EndingSequenceNumber"] = store.wire_seq(max(sh.end_seq, sh.start_seq))
    out: dict[str, Any] = {"ShardId": sh.shard_id, "SequenceNumberRange": seq_range}
    if sh.parent_shard_id is not None:
        out["ParentShardId"] = sh.parent_shard_id
    return out


def _encode_iterator(arn: str, shard_id: str, position: int, issued: float) -> str:
    body = json.dumps({"a": arn, "s": shard_id, "p": position, "t": issued}).encode()
    return f"{arn}|1|{base64.urlsafe_b64encode(body).decode()}"


def _decode_iterator(token: str) -> dict[str, Any]:
    try:
        body = json.loads(base64.urlsafe_b64decode(token.rsplit("|", 1)[-1].encode()))
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("a"), str)
            or not isinstance(body.get("s"), str)
            or not isinstance(body.get("p"), int)
            or not isinstance(body.get("t"), int | float)
        ):
            raise ValueError(token)
        return body
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationException("Invalid ShardIterator") from exc


def _java_time(epoch: float) -> str:
    """A time as Java's Date.toString writes it (AWS's iterator messages)."""
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _decoded(record: dict[str, Any]) -> dict[str, Any]:
    """A stored record with its images' binary members as bytes again."""
    dyn = dict(record["dynamodb"])
    for member in ("Keys", "NewImage", "OldImage"):
        if member in dyn:
            dyn[member] = decode_item(dyn[member])
    return {**record, "dynamodb": dyn}


class DynamoDBStreamsProvider(Provider):
    service = "dynamodbstreams"

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        env.store.migrate(store.NAMESPACE, store.MIGRATIONS)

    def _read_stream(self, conn: sqlite3.Connection, ctx: Any, arn: str) -> Stream:
        s = store.get_stream(conn, arn)
        now = self.env.clock.now()
        if (
            s is None
            or s.account_id != ctx.account_id
            or s.region != ctx.region
            or (s.disabled_at is not None and s.disabled_at <= now - store.RETENTION)
        ):
            raise ResourceNotFoundException(
                f"Requested resource not found: Stream: {arn} not found"
            )
        return s

    def list_streams(self, ctx: Any, request: dict[str, Any]) -> dict[str, Any]:
        limit = request.get("Limit") or 100
        now = self.env.clock.now()
        streams = self.env.store.read(
            lambda c: store.list_streams(
                c, ctx.account_id, ctx.region, request.get("TableName"), now
            )
        )
        start = request.get("ExclusiveStartStreamArn")
        if start:
            arns = [s.arn for s in streams]
            streams = streams[arns.index(start) + 1 :] if start in arns else []
        page = streams[:limit]
        out: dict[str, Any] = {
            "Streams": [
                {"StreamArn": s.arn, "TableName": s.table_name, "StreamLabel": s.label}
                for s in page
            ]
        }
        if len(streams) > limit:
            out["LastEvaluatedStreamArn"] = page[-1].arn
        return out

    def _rolled(self, ctx: Any, arn: str) -> tuple[Stream, list[Shard]]:
        """The stream and its retained shards, after rolling its open shard if its period is
        over (a write only when due: most reads stay reads)."""
        now = self.env.clock.now()

        def read(c: sqlite3.Connection) -> tuple[Stream, Shard | None]:
            return self._read_stream(c, ctx, arn), store.open_shard(c, arn)

        s, open_shard = self.env.store.read(read)
        if s.enabled and store.roll_due(open_shard, now):
            self.env.store.write(lambda c: store.roll(c, arn, now))
        return s, self.env.store.read(lambda c: store.list_shards(c, arn, now))

    def describe_stream(self, ctx: Any, request: dict[str, Any]) -> dict[str, Any]:
        s, shards = self._rolled(ctx, request["StreamArn"])
        shard_filter = request.get("ShardFilter")
        if shard_filter and shard_filter.get("Type") == "CHILD_SHARDS":
            parent = shard_filter.get("ShardId")
            shards = [sh for sh in shards if sh.parent_shard_id == parent]
        start = request.get("ExclusiveStartShardId")
        if start:
            ids = [sh.shard_id for sh in shards]
            shards = shards[ids.index(start) + 1 :] if start in ids else []
        limit = request.get("Limit") or 100
        page = shards[:limit]
        desc = stream_description(s, [shard_of(sh) for sh in page])
        if len(shards) > limit:
            desc["LastEvaluatedShardId"] = page[-1].shard_id
        return {"StreamDescription": desc}

    def _shard(self, shards: list[Shard], shard_id: str) -> Shard:
        for sh in shards:
            if sh.shard_id == shard_id:
                return sh
        raise ResourceNotFoundException(
            f"Requested resource not found: Shard does not exist: {shard_id}"
        )

    def get_shard_iterator(self, ctx: Any, request: dict[str, Any]) -> dict[str, Any]:
        kind = request["ShardIteratorType"]
        now = self.env.clock.now()
        s, shards = self._rolled(ctx, request["StreamArn"])
        sh = self._shard(shards, request["ShardId"])

        def position(c: sqlite3.Connection) -> int:
            trimmed = store.trimmed_through(c, s.arn, now)
            if kind == "TRIM_HORIZON":
                return max(sh.start_seq, trimmed + 1)
            if kind == "LATEST":
                last = store.last_seq(c) if sh.end_seq is None else sh.end_seq
                return max(sh.start_seq, last + 1)
            text = request.get("SequenceNumber")
            if not text:
                raise ValidationException(
                    f"Must specify a sequence number for iterator type {kind}"
                )
            seq = store.parse_seq(text)
            if (
                seq is None
                or seq < max(1, sh.start_seq)
                or (sh.end_seq is not None and seq > sh.end_seq)
            ):
                raise ValidationException(f"Invalid SequenceNumber {text} for shard {sh.shard_id}")
            if seq <= trimmed:
                raise TrimmedDataAccessException()
            return seq if kind == "AT_SEQUENCE_NUMBER" else seq + 1

        pos = self.env.store.read(position)
        return {"ShardIterator": _encode_iterator(s.arn, sh.shard_id, pos, now)}

    def get_records(self, ctx: Any, request: dict[str, Any]) -> dict[str, Any]:
        it = _decode_iterator(request["ShardIterator"])
        limit = request.get("Limit") or MAX_RECORDS
        if limit > MAX_RECORDS:
            raise ValidationException(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                "constraint: Member must have value less than or equal to 1000"
            )
        now = self.env.clock.now()
        if now - float(it["t"]) > ITERATOR_LIFETIME:
            raise ExpiredIteratorException(
                f"Iterator expired. The iterator was created at time {_java_time(it['t'])} "
                f"while right now it is {_java_time(now)} which is further in the future than "
                f"the tolerated delay of {int(ITERATOR_LIFETIME * 1000)} milliseconds."
            )
        s, shards = self._rolled(ctx, it["a"])
        sh = self._shard(shards, it["s"])
        pos = int(it["p"])

        def read(c: sqlite3.Connection) -> list[tuple[int, dict[str, Any]]]:
            if pos <= store.trimmed_through(c, s.arn, now):
                raise TrimmedDataAccessException()
            return store.read_records(c, s.arn, pos, limit, now, sh.end_seq)

        rows = self.env.store.read(read)
        nxt = rows[-1][0] + 1 if rows else pos
        out: dict[str, Any] = {"Records": [_decoded(record) for _, record in rows]}
        # A closed shard read through (fewer records than asked for) has no next iterator: the
        # reader moves on to its child shard, as on AWS.
        exhausted = sh.end_seq is not None and (len(rows) < limit or nxt > sh.end_seq)
        if not exhausted:
            out["NextShardIterator"] = _encode_iterator(s.arn, sh.shard_id, nxt, now)
        return out
