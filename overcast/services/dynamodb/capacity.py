"""Consumed capacity (AWS's unit math) and the optional throughput errors.

One read unit is a strongly consistent read of up to 4 KB (eventually consistent: half a unit;
transactional: two); one write unit is a write of up to 1 KB (transactional: two). Query and
Scan add the sizes of every item read (before filtering) and round once. Writes are sized by the
larger of the old and the new item; each secondary-index entry written costs its own units.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from overcast.services.dynamodb.errors import ProvisionedThroughputExceededException
from overcast.services.dynamodb.models import PROVISIONED, Table

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv

READ_UNIT = 4096
WRITE_UNIT = 1024


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    units = float(max(1, math.ceil(size / READ_UNIT)))
    if transactional:
        return units * 2
    return units if consistent else units / 2


def write_units(size: int, *, transactional: bool = False) -> float:
    units = float(max(1, math.ceil(size / WRITE_UNIT)))
    return units * 2 if transactional else units


@dataclass
class Consumed:
    """Units one operation consumed on one table, split by table and index."""

    table: Table
    read: bool  # read units (or write units)
    on_table: float = 0.0
    gsis: dict[str, float] = field(default_factory=dict)
    lsis: dict[str, float] = field(default_factory=dict)
    label: str | None = None  # the TableName as the request gave it (a name or the ARN)

    def add_index(self, name: str, units: float) -> None:
        target = self.lsis if name in self.table.lsis else self.gsis
        target[name] = target.get(name, 0.0) + units

    @property
    def total(self) -> float:
        return self.on_table + sum(self.gsis.values()) + sum(self.lsis.values())

    def render(self, mode: str | None) -> dict[str, Any] | None:
        """The ``ConsumedCapacity`` member for ReturnConsumedCapacity ``mode`` (None: NONE)."""
        if mode not in ("TOTAL", "INDEXES"):
            return None
        # AWS's examples show the total only (not the Read/WriteCapacityUnits split).
        out: dict[str, Any] = {
            "TableName": self.label or self.table.name,
            "CapacityUnits": self.total,
        }
        if mode == "INDEXES":
            out["Table"] = {"CapacityUnits": self.on_table}
            if self.gsis:
                out["GlobalSecondaryIndexes"] = {
                    k: {"CapacityUnits": v} for k, v in self.gsis.items()
                }
            if self.lsis:
                out["LocalSecondaryIndexes"] = {
                    k: {"CapacityUnits": v} for k, v in self.lsis.items()
                }
        return out


def merge(items: list[Consumed], mode: str | None) -> list[dict[str, Any]] | None:
    """One ``ConsumedCapacity`` per table for batch and transaction operations."""
    if mode not in ("TOTAL", "INDEXES") or not items:
        return None
    by_table: dict[int, Consumed] = {}
    for c in items:
        acc = by_table.get(c.table.id)
        if acc is None:
            acc = by_table[c.table.id] = Consumed(c.table, c.read, label=c.label)
        acc.on_table += c.on_table
        for k, v in c.gsis.items():
            acc.gsis[k] = acc.gsis.get(k, 0.0) + v
        for k, v in c.lsis.items():
            acc.lsis[k] = acc.lsis.get(k, 0.0) + v
    return [c.render(mode) or {} for c in by_table.values()]


class Throttle:
    """``ProvisionedThroughputExceededException`` when enforcement is on (a one-second token
    bucket per provisioned table), and at random with ``dynamodb_error_probability``."""

    def __init__(self, env: ServiceEnv) -> None:
        self.env = env
        self._lock = threading.Lock()
        self._buckets: dict[tuple[int, bool], tuple[float, float]] = {}  # (tokens, at)

    def check(self, table: Table, *, read: bool, units: float = 1.0) -> None:
        settings = self.env.settings
        probability = settings.dynamodb_error_probability
        if probability and random.random() < probability:
            raise ProvisionedThroughputExceededException()
        if not settings.dynamodb_enforce_throughput:
            return
        if table.billing_mode != PROVISIONED:
            return
        rate = float(
            table.throughput.get("ReadCapacityUnits" if read else "WriteCapacityUnits") or 0
        )
        if rate <= 0:
            return
        now = self.env.clock.now()
        key = (table.id, read)
        with self._lock:
            tokens, at = self._buckets.get(key, (rate, now))
            tokens = min(rate, tokens + (now - at) * rate)
            if tokens < units and tokens < rate:
                self._buckets[key] = (tokens, now)
                raise ProvisionedThroughputExceededException()
            self._buckets[key] = (tokens - units, now)
