"""DynamoDB: Time to Live (UpdateTimeToLive, DescribeTimeToLive) and the expiry sweeper.

The setting lives in ``table.settings["ttl"]`` (``{"AttributeName", "Status", "Since"}``:
the requested status, ENABLED or DISABLED, and the clock time of the request). As on AWS a change
is not instant: DescribeTimeToLive reports ENABLING (or DISABLING) for ``TRANSITION`` seconds of
clock time, then ENABLED (DISABLED), and another UpdateTimeToLive within that interval is a
ValidationException. AWS documents up to an hour for both; Overcast uses ``TRANSITION`` = 5 s so
that tools polling for ENABLED (Terraform waits for it) see the transition without waiting long,
and tests advance the clock past it.

The sweeper is a Clock timer: every ``SWEEP_INTERVAL`` seconds of clock time while any table has
TTL enabled, it deletes the items whose TTL attribute (a Number, epoch seconds) is in the past,
as service deletions (stream records with ``userIdentity`` Service/dynamodb.amazonaws.com). As on
AWS, an expired item stays readable until the sweep removes it, and items whose TTL is more than
five years in the past are never deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from overcast.services.dynamodb import storage
from overcast.services.dynamodb.errors import ValidationException
from overcast.services.dynamodb.streams import SERVICE_IDENTITY

if TYPE_CHECKING:
    from overcast.clock import Timer
    from overcast.gateway.context import RequestContext
    from overcast.services.base import ServiceEnv
    from overcast.services.dynamodb.models import Table
    from overcast.services.dynamodb.storage import Catalog

log = logging.getLogger("overcast.dynamodb.ttl")

SWEEP_INTERVAL = 60.0
SWEEP_BATCH = 500
FIVE_YEARS = 5 * 365 * 24 * 3600.0
TRANSITION = 5.0  # clock seconds of ENABLING/DISABLING after an UpdateTimeToLive
MODIFIED_TOO_OFTEN = "Time to live has been modified multiple times within a fixed interval"


def ttl_setting(table: Table) -> dict[str, Any] | None:
    setting = table.settings.get("ttl")
    return setting if isinstance(setting, dict) else None


def in_transition(setting: dict[str, Any] | None, now: float) -> bool:
    """Whether the last UpdateTimeToLive is still being applied (ENABLING or DISABLING)."""
    return setting is not None and now < float(setting.get("Since", 0.0)) + TRANSITION


def ttl_status(setting: dict[str, Any] | None, now: float) -> str:
    """DescribeTimeToLive's TimeToLiveStatus at ``now``."""
    if setting is None:
        return "DISABLED"
    on = setting.get("Status") == "ENABLED"
    if in_transition(setting, now):
        return "ENABLING" if on else "DISABLING"
    return "ENABLED" if on else "DISABLED"


def expired(item: dict[str, Any], attribute: str, now: float) -> bool:
    """Whether the sweeper deletes ``item`` at ``now``."""
    value = item.get(attribute)
    if not isinstance(value, dict) or "N" not in value:
        return False
    try:
        when = Decimal(value["N"])
    except InvalidOperation:
        return False
    return now - FIVE_YEARS <= when <= Decimal(repr(now))


class TtlOps:
    """UpdateTimeToLive, DescribeTimeToLive and the sweeper (composed in provider.py)."""

    env: ServiceEnv
    catalog: Catalog

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)  # type: ignore[call-arg]
        self._ttl_timer: Timer | None = None
        self._ttl_lock = threading.Lock()
        self._ttl_running = False
        self._arm_ttl_sweep()

    def update_time_to_live(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        spec = request["TimeToLiveSpecification"]
        enabled = bool(spec["Enabled"])
        attribute = spec["AttributeName"]
        if not attribute.strip():
            raise ValidationException("TimeToLiveSpecification.AttributeName cannot be empty")
        name = self._table(ctx, request["TableName"]).name  # type: ignore[attr-defined]

        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> None:
            table = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if table is None:
                raise ValidationException("Table not found")  # deleted meanwhile
            if in_transition(ttl_setting(table), now):
                raise ValidationException(MODIFIED_TOO_OFTEN)
            current = ttl_setting(table) or {}
            on = current.get("Status") == "ENABLED"
            if enabled and on:
                if current.get("AttributeName") != attribute:
                    raise ValidationException(
                        "TimeToLive is active on a different AttributeName: current "
                        f"AttributeName is {current.get('AttributeName')}"
                    )
                raise ValidationException("TimeToLive is already enabled")
            if not enabled and not on:
                raise ValidationException("TimeToLive is already disabled")
            if not enabled and current.get("AttributeName") != attribute:
                raise ValidationException(
                    "TimeToLive is active on a different AttributeName: current AttributeName "
                    f"is {current.get('AttributeName')}"
                )
            table.settings["ttl"] = {
                "AttributeName": attribute,
                "Status": "ENABLED" if enabled else "DISABLED",
                "Since": now,
            }
            self.catalog.save(conn, table)

        self.env.store.write(write)
        if enabled:
            self._arm_ttl_sweep()
        return {"TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}}

    def describe_time_to_live(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(ctx, request["TableName"], describe=True)  # type: ignore[attr-defined]
        setting = ttl_setting(table)
        status = ttl_status(setting, self.env.clock.now())
        if setting is None or status == "DISABLED":
            return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
        return {
            "TimeToLiveDescription": {
                "TimeToLiveStatus": status,
                "AttributeName": setting["AttributeName"],
            }
        }

    # -- the sweeper ---------------------------------------------------------------------------

    def _ttl_tables(self, conn: sqlite3.Connection, now: float | None = None) -> list[Table]:
        """Tables with TTL enabled; with ``now``, only those whose enabling is over (the
        sweeper acts once DescribeTimeToLive says ENABLED)."""
        return [
            t
            for t in self.catalog.all(conn)
            if (ttl_setting(t) or {}).get("Status") == "ENABLED"
            and (now is None or not in_transition(ttl_setting(t), now))
        ]

    def _arm_ttl_sweep(self) -> None:
        """(Re)arm the sweep timer while some table has TTL enabled (any thread)."""
        with self._ttl_lock:
            if self._ttl_timer is not None:
                return
            if not self.env.store.read(self._ttl_tables):
                return
            # No event loop yet (not serving): armed again by the next UpdateTimeToLive.
            with contextlib.suppress(RuntimeError):
                self._ttl_timer = self.env.clock.call_later(SWEEP_INTERVAL, self._ttl_tick)

    async def _ttl_tick(self) -> None:
        with self._ttl_lock:
            self._ttl_timer = None
        try:
            await self._sweep_expired()
        except Exception:  # the sweeper must survive a bad table; it retries next interval
            log.exception("TTL sweep failed")
        self._arm_ttl_sweep()

    async def _sweep_expired(self) -> int:
        """Delete every expired item of every TTL-enabled table now; returns how many.

        Candidates are found in a read transaction (a scan must not hold the write lock), then
        deleted in batches, each item checked again in the write (it may have changed since).
        """
        if self._ttl_running:
            return 0
        self._ttl_running = True
        try:
            now = self.env.clock.now()
            found = await self.env.store.aread(lambda c: self._expired_keys(c, now))
            deleted = 0
            for start in range(0, len(found), SWEEP_BATCH):
                batch = found[start : start + SWEEP_BATCH]
                deleted += await self.env.store.awrite(
                    functools.partial(self._delete, batch=batch, now=now)
                )
                await asyncio.sleep(0)
            return deleted
        finally:
            self._ttl_running = False

    def _expired_keys(
        self, conn: sqlite3.Connection, now: float
    ) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        """(account, region, table name, table id, key) of every item the sweep deletes."""
        found = []
        for table in self._ttl_tables(conn, now):
            attribute = ttl_setting(table)["AttributeName"]  # type: ignore[index]
            for item, _ in storage.scan(conn, table):
                if expired(item, attribute, now):
                    found.append(
                        (table.account_id, table.region, table.name, table.table_id,
                         table.key_of(item))
                    )  # fmt: skip
        return found

    def _delete(
        self,
        conn: sqlite3.Connection,
        *,
        batch: list[tuple[str, str, str, str, dict[str, Any]]],
        now: float,
    ) -> int:
        count = 0
        tables: dict[tuple[str, str, str], Table | None] = {}
        for account_id, region, name, table_id, key in batch:
            where = (account_id, region, name)
            if where not in tables:
                tables[where] = self.catalog.load(conn, account_id, region, name)
            table = tables[where]
            setting = ttl_setting(table) if table is not None else None
            if (
                table is None
                or table.table_id != table_id
                or setting is None
                or setting.get("Status") != "ENABLED"
            ):
                continue  # the table was deleted, re-created or TTL changed meanwhile
            item = storage.get_item(conn, table, key)
            if item is None or not expired(item, setting["AttributeName"], now):
                continue
            storage.delete_item(conn, table, key)
            self._record_change(  # type: ignore[attr-defined]
                conn, table, item, None, user_identity=SERVICE_IDENTITY
            )
            count += 1
        return count
