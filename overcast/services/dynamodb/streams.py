"""DynamoDB: the change hook every item write calls, and the table's stream lifecycle.

For core (tables.py / items.py), the calls this module expects:

* ``self._record_change(conn, table, old, new, user_identity=...)`` from every item write, inside
  its transaction (a TTL deletion passes ``user_identity=SERVICE_IDENTITY``).
* ``self._sync_stream(conn, table)`` after saving a table whose StreamSpecification changed
  (CreateTable, UpdateTable), with a new ``table.stream_label`` when a stream is (re-)enabled;
  and ``self._table_deleted(conn, table)`` from DeleteTable.

What one item change produces, in the writer's transaction: a stream record (when the table has
an enabled stream), published on the event bus for Lambda event source mappings; a point-in-time
history row (when PITR is enabled, see backups.py); a replication to the global table's replicas
(see global_tables.py). A write that changes nothing (PutItem of an identical item) produces
none of these, as on AWS.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from overcast import events
from overcast.services.dynamodb.values import equals, item_size
from overcast.services.dynamodbstreams import store as streams
from overcast.services.dynamodbstreams.codec import encode_item
from overcast.services.dynamodbstreams.store import Stream

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.dynamodb.models import Table

SERVICE_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
_NEW = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
_OLD = ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")


def new_stream_label(now: float) -> str:
    """A stream label as AWS writes them: the creation time, ISO 8601 with milliseconds."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _label_time(label: str, default: float) -> float:
    try:
        return datetime.strptime(label, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return default


class StreamOps:
    """Hooks of the DynamoDB provider for streams (composed in provider.py)."""

    env: ServiceEnv

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)  # type: ignore[call-arg]
        env.store.migrate(streams.NAMESPACE, streams.MIGRATIONS)

    # -- item changes ---------------------------------------------------------------------------

    def _record_change(
        self,
        conn: sqlite3.Connection,
        table: Table,
        old: dict | None,
        new: dict | None,
        *,
        user_identity: dict | None = None,
    ) -> None:
        """Called by every item write, inside its transaction (``conn``), with the old and new
        item images (None for a create or a delete); ``user_identity`` for TTL deletions."""
        if old is None and new is None:
            return
        # Most tables have no stream, PITR or replicas: skip the item comparison (hot path).
        settings = table.settings
        if not (table.stream_enabled or settings.get("pitr") or settings.get("replicas")):
            return
        if old is not None and new is not None and equals({"M": old}, {"M": new}):
            return
        now = self.env.clock.now()
        if table.stream_enabled:
            self._append_stream_record(conn, table, old, new, user_identity, now)
        self._pitr_record(conn, table, old, new, now)  # type: ignore[attr-defined]  # backups.py
        self._replicate(conn, table, old, new, now)  # type: ignore[attr-defined]  # global_tables

    def _append_stream_record(
        self,
        conn: sqlite3.Connection,
        table: Table,
        old: dict | None,
        new: dict | None,
        user_identity: dict | None,
        now: float,
    ) -> None:
        stream = self._sync_stream(conn, table)
        if stream is None:
            return
        streams.roll(conn, stream.arn, now)  # a record after the shard's period opens a child
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        image = new if new is not None else old
        assert image is not None
        keys = table.key_of(image)
        view = stream.view_type
        seq = streams.next_seqs(conn)
        dyn: dict[str, Any] = {
            "ApproximateCreationDateTime": int(now),
            "Keys": keys,
            "SequenceNumber": streams.wire_seq(seq),
            "StreamViewType": view,
        }
        size = item_size(keys)
        if view in _NEW and new is not None:
            dyn["NewImage"] = new
            size += item_size(new)
        if view in _OLD and old is not None:
            dyn["OldImage"] = old
            size += item_size(old)
        dyn["SizeBytes"] = size
        record: dict[str, Any] = {
            "eventID": os.urandom(16).hex(),
            "eventName": event_name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": table.region,
            "dynamodb": dyn,
        }
        if user_identity:
            record["userIdentity"] = {
                "PrincipalId": user_identity.get("principalId", SERVICE_IDENTITY["principalId"]),
                "Type": user_identity.get("type", "Service"),
            }
        stored = {**record, "dynamodb": _encoded_stream_record(dyn)}
        streams.append_record(conn, stream.arn, seq, now, stored)
        oldest = streams.oldest_record_time(conn)
        if oldest is not None and oldest <= now - streams.RETENTION:
            streams.trim(conn, now)
        # The record as Lambda receives it: the stream ARN, and userIdentity in lower case.
        lambda_record = {**stored, "eventSourceARN": stream.arn}
        if user_identity:
            lambda_record["userIdentity"] = dict(SERVICE_IDENTITY)
        self.env.events.publish(
            events.DYNAMODB_ITEM_CHANGED,
            {
                "account_id": table.account_id,
                "region": table.region,
                "table_name": table.name,
                "event_name": event_name,
                "keys": encode_item(keys),
                "old_image": encode_item(old),
                "new_image": encode_item(new),
                "sequence_number": dyn["SequenceNumber"],
                "time": now,
                "stream_arn": stream.arn,
                "stream_view_type": view,
                "record": lambda_record,
            },
            conn=conn,
        )

    # -- stream lifecycle -----------------------------------------------------------------------

    def _sync_stream(self, conn: sqlite3.Connection, table: Table) -> Stream | None:
        """Make the stored streams follow the table's StreamSpecification; returns the enabled
        stream. Re-enabling (a new ``stream_label``) retires the old stream: still readable for
        24 hours, with a new ARN for the new one."""
        active = streams.active_stream(conn, table.account_id, table.region, table.name)
        now = self.env.clock.now()
        arn = table.stream_arn if table.stream_enabled else None
        if active is not None and active.arn == arn:
            return active
        if active is not None:
            streams.disable_stream(conn, active.arn, now)
        if arn is None or table.stream_label is None or table.stream is None:
            return None
        existing = streams.get_stream(conn, arn)
        if existing is not None:
            # Re-enabled within the same millisecond (a frozen clock): the label, hence the
            # ARN, is the same, so the old stream carries on.
            streams.reopen_stream(conn, arn)
            return streams.get_stream(conn, arn)
        stream = Stream(
            arn=arn,
            account_id=table.account_id,
            region=table.region,
            table_name=table.name,
            label=table.stream_label,
            view_type=table.stream.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
            key_schema=table.key_schema(),
            shard_id=streams.new_shard_id(now),
            start_seq=streams.last_seq(conn) + 1,
            end_seq=None,
            created=_label_time(table.stream_label, now),
            disabled_at=None,
        )
        streams.insert_stream(conn, stream)
        return stream

    def _table_deleted(self, conn: sqlite3.Connection, table: Table) -> None:
        """DeleteTable: the stream is disabled (its records stay readable for 24 hours)."""
        active = streams.active_stream(conn, table.account_id, table.region, table.name)
        if active is not None:
            streams.disable_stream(conn, active.arn, self.env.clock.now())
        self._pitr_forget(conn, table)  # type: ignore[attr-defined]  # backups.py


def _encoded_stream_record(dyn: dict[str, Any]) -> dict[str, Any]:
    out = dict(dyn)
    for member in ("Keys", "NewImage", "OldImage"):
        if member in out:
            out[member] = encode_item(out[member])
    return out
