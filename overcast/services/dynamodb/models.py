"""DynamoDB's table metadata model: a table, its secondary indexes, and their descriptions.

A ``Table`` is stored as one JSON document (``Table.to_doc``/``Table.from_doc``) in
``ddb_tables`` by ``storage.py``; ``describe`` renders AWS's ``TableDescription``. Other parts of
the service keep their own settings on the table without a schema change:

* ``table.settings``: private settings that are never described (TTL, point-in-time recovery,
  Kinesis destinations...), keyed by the owning module (``settings["ttl"] = {...}``).
* ``table.described``: members merged verbatim into ``TableDescription`` (``Replicas``,
  ``RestoreSummary``, ``GlobalTableVersion``...).

Tables are read-mostly and cached by ``storage.Catalog``; treat a ``Table`` you were given as
read-only and change a copy (``table.copy()``) that you then save with ``Catalog.save``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Status of a table that was just created or updated: the response says CREATING/UPDATING, as
# AWS does, and every later read sees ACTIVE (the work is done synchronously), so boto3's
# waiters pass on their first poll.
CREATING = "CREATING"
UPDATING = "UPDATING"
ACTIVE = "ACTIVE"
DELETING = "DELETING"

PAY_PER_REQUEST = "PAY_PER_REQUEST"
PROVISIONED = "PROVISIONED"


@dataclass
class Index:
    """A global or local secondary index of a table."""

    name: str
    local: bool
    number: int  # storage id of the index within its table (1, 2, ...; 0 is the table)
    hash_key: str
    hash_type: str  # "S", "N" or "B"
    range_key: str | None
    range_type: str | None
    projection: dict[str, Any]  # {"ProjectionType": ..., "NonKeyAttributes": [...]}
    status: str = ACTIVE  # GSIs: CREATING while backfilling, UPDATING, DELETING, ACTIVE
    throughput: dict[str, Any] | None = None  # GSIs of PROVISIONED tables
    on_demand: dict[str, Any] | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key is not None:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema

    def projects(self, table: Table) -> frozenset[str] | None:
        """The attribute names an index entry keeps (None: every attribute, ALL)."""
        kind = self.projection.get("ProjectionType", "ALL")
        if kind == "ALL":
            return None
        names = set(self.key_names) | set(table.key_names)
        if kind == "INCLUDE":
            names.update(self.projection.get("NonKeyAttributes") or [])
        return frozenset(names)

    def to_doc(self) -> dict[str, Any]:
        return {
            "name": self.name, "local": self.local, "number": self.number,
            "hash_key": self.hash_key, "hash_type": self.hash_type,
            "range_key": self.range_key, "range_type": self.range_type,
            "projection": self.projection, "status": self.status,
            "throughput": self.throughput, "on_demand": self.on_demand,
        }  # fmt: skip

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Index:
        return cls(**doc)


@dataclass
class Table:
    """One DynamoDB table's metadata (never its items: those are in ``storage``)."""

    id: int  # storage id (0 until inserted)
    account_id: str
    region: str
    name: str
    arn: str
    table_id: str  # AWS's TableId (a UUID)
    hash_key: str
    hash_type: str
    range_key: str | None
    range_type: str | None
    attribute_definitions: list[dict[str, str]]
    billing_mode: str
    created: float  # epoch seconds on the clock
    status: str = CREATING
    # {"ReadCapacityUnits": n, "WriteCapacityUnits": n, "NumberOfDecreasesToday": n,
    #  "LastIncreaseDateTime": epoch, "LastDecreaseDateTime": epoch}
    throughput: dict[str, Any] = field(default_factory=dict)
    on_demand: dict[str, Any] | None = None
    billing_changed: float | None = None  # last switch to PAY_PER_REQUEST
    gsis: dict[str, Index] = field(default_factory=dict)
    lsis: dict[str, Index] = field(default_factory=dict)
    table_class: str = "STANDARD"
    table_class_explicit: bool = False  # given at creation: described even when STANDARD
    table_class_changed: float | None = None
    deletion_protection: bool = False
    sse: dict[str, Any] | None = None  # SSEDescription when KMS encryption was asked for
    stream: dict[str, Any] | None = None  # StreamSpecification as last set
    stream_label: str | None = None  # LatestStreamLabel of the current (or last) stream
    tags: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    described: dict[str, Any] = field(default_factory=dict)
    next_index: int = 1  # next Index.number

    # -- keys ----------------------------------------------------------------------------------

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def key_schema(self) -> list[dict[str, str]]:
        schema = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key is not None:
            schema.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return schema

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        """The primary key attributes of ``item``."""
        key = {self.hash_key: item[self.hash_key]}
        if self.range_key is not None:
            key[self.range_key] = item[self.range_key]
        return key

    def index(self, name: str) -> Index | None:
        return self.gsis.get(name) or self.lsis.get(name)

    @property
    def indexes(self) -> list[Index]:
        """Every secondary index (LSIs first), for maintenance on each write."""
        return [*self.lsis.values(), *self.gsis.values()]

    @property
    def stream_arn(self) -> str | None:
        if self.stream_label is None:
            return None
        return f"{self.arn}/stream/{self.stream_label}"

    @property
    def stream_enabled(self) -> bool:
        return bool(self.stream and self.stream.get("StreamEnabled"))

    # -- (de)serialization -----------------------------------------------------------------

    def copy(self) -> Table:
        return copy.deepcopy(self)

    def to_doc(self) -> dict[str, Any]:
        return {
            "table_id": self.table_id, "arn": self.arn,
            "hash_key": self.hash_key, "hash_type": self.hash_type,
            "range_key": self.range_key, "range_type": self.range_type,
            "attribute_definitions": self.attribute_definitions,
            "billing_mode": self.billing_mode, "created": self.created, "status": self.status,
            "throughput": self.throughput, "on_demand": self.on_demand,
            "billing_changed": self.billing_changed,
            "gsis": [i.to_doc() for i in self.gsis.values()],
            "lsis": [i.to_doc() for i in self.lsis.values()],
            "table_class": self.table_class, "table_class_changed": self.table_class_changed,
            "table_class_explicit": self.table_class_explicit,
            "deletion_protection": self.deletion_protection, "sse": self.sse,
            "stream": self.stream, "stream_label": self.stream_label, "tags": self.tags,
            "settings": self.settings, "described": self.described,
            "next_index": self.next_index,
        }  # fmt: skip

    @classmethod
    def from_doc(
        cls, id: int, account_id: str, region: str, name: str, doc: dict[str, Any]
    ) -> Table:
        fields = dict(doc)
        gsis = [Index.from_doc(d) for d in fields.pop("gsis", [])]
        lsis = [Index.from_doc(d) for d in fields.pop("lsis", [])]
        return cls(
            id=id, account_id=account_id, region=region, name=name,
            gsis={i.name: i for i in gsis}, lsis={i.name: i for i in lsis}, **fields,
        )  # fmt: skip

    # -- description -------------------------------------------------------------------------

    def describe(self, counts: dict[int, tuple[int, int]] | None = None) -> dict[str, Any]:
        """AWS's ``TableDescription``; ``counts`` maps index number (0: table) to
        (item count, size in bytes)."""
        counts = counts or {}
        items, size = counts.get(0, (0, 0))
        desc: dict[str, Any] = {
            "AttributeDefinitions": self.attribute_definitions,
            "TableName": self.name,
            "KeySchema": self.key_schema(),
            "TableStatus": self.status,
            "CreationDateTime": _time(self.created),
            "ProvisionedThroughput": self._throughput(self.throughput),
            "TableSizeBytes": size,
            "ItemCount": items,
            "TableArn": self.arn,
            "TableId": self.table_id,
            "DeletionProtectionEnabled": self.deletion_protection,
        }
        if self.billing_mode == PAY_PER_REQUEST:
            desc["BillingModeSummary"] = {"BillingMode": PAY_PER_REQUEST}
            if self.billing_changed is not None:
                desc["BillingModeSummary"]["LastUpdateToPayPerRequestDateTime"] = _time(
                    self.billing_changed
                )
            desc["OnDemandThroughput"] = self.on_demand or {
                "MaxReadRequestUnits": -1,
                "MaxWriteRequestUnits": -1,
            }
        else:
            desc["BillingModeSummary"] = {"BillingMode": PROVISIONED}
        if (
            self.table_class != "STANDARD"
            or self.table_class_explicit
            or self.table_class_changed is not None
        ):
            summary: dict[str, Any] = {"TableClass": self.table_class}
            if self.table_class_changed is not None:
                summary["LastUpdateDateTime"] = _time(self.table_class_changed)
            desc["TableClassSummary"] = summary
        desc["WarmThroughput"] = {
            "ReadUnitsPerSecond": 12000,
            "WriteUnitsPerSecond": 4000,
            "Status": self.status if self.status != CREATING else ACTIVE,
        }
        if self.lsis:
            desc["LocalSecondaryIndexes"] = [
                self._describe_lsi(i, counts) for i in self.lsis.values()
            ]
        if self.gsis:
            desc["GlobalSecondaryIndexes"] = [
                self._describe_gsi(i, counts) for i in self.gsis.values()
            ]
        if self.stream is not None:
            desc["StreamSpecification"] = self.stream
        if self.stream_label is not None:
            desc["LatestStreamLabel"] = self.stream_label
            desc["LatestStreamArn"] = self.stream_arn
        if self.sse is not None:
            desc["SSEDescription"] = self.sse
        desc.update(self.described)
        return desc

    def _throughput(self, tp: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "NumberOfDecreasesToday": tp.get("NumberOfDecreasesToday", 0),
            "ReadCapacityUnits": tp.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": tp.get("WriteCapacityUnits", 0),
        }
        for member in ("LastIncreaseDateTime", "LastDecreaseDateTime"):
            if tp.get(member) is not None:
                out[member] = _time(tp[member])
        return out

    def _describe_lsi(self, index: Index, counts: dict[int, tuple[int, int]]) -> dict[str, Any]:
        items, size = counts.get(index.number, (0, 0))
        return {
            "IndexName": index.name,
            "KeySchema": index.key_schema(),
            "Projection": index.projection,
            "IndexSizeBytes": size,
            "ItemCount": items,
            "IndexArn": f"{self.arn}/index/{index.name}",
        }

    def _describe_gsi(self, index: Index, counts: dict[int, tuple[int, int]]) -> dict[str, Any]:
        items, size = counts.get(index.number, (0, 0))
        desc: dict[str, Any] = {
            "IndexName": index.name,
            "KeySchema": index.key_schema(),
            "Projection": index.projection,
            "IndexStatus": index.status,
            "ProvisionedThroughput": self._throughput(index.throughput or {}),
            "IndexSizeBytes": size,
            "ItemCount": items,
            "IndexArn": f"{self.arn}/index/{index.name}",
            "WarmThroughput": {
                "ReadUnitsPerSecond": 12000,
                "WriteUnitsPerSecond": 4000,
                "Status": index.status if index.status != CREATING else ACTIVE,
            },
        }
        if index.status == CREATING:
            desc["Backfilling"] = True
        if self.billing_mode == PAY_PER_REQUEST:
            desc["OnDemandThroughput"] = index.on_demand or {
                "MaxReadRequestUnits": -1,
                "MaxWriteRequestUnits": -1,
            }
        return desc


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)
