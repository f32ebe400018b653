"""DynamoDB: global tables (both versions) and Kinesis streaming destinations.

A replica is a real table of the same name in another region of the same account. Every table
of a replication group carries ``settings["replicas"]`` (``{"version", "regions"}``); version
2019.11.21 groups also describe the other replicas (``Replicas``, ``GlobalTableVersion``) in
DescribeTable. Item writes are replicated by ``_replicate``, called from ``_record_change`` in
the writer's transaction: the change is applied to every other replica at once (so the last
writer wins, as on AWS) and each replica emits its own stream records.

Version 2017.11.29 (CreateGlobalTable...) links existing empty tables with streams
(NEW_AND_OLD_IMAGES) into a group recorded in the ``global_tables`` collection; version
2019.11.21 (UpdateTable ReplicaUpdates) creates and deletes the replica tables itself.

Kinesis streaming destinations are in ``kinesis_destinations.py`` (a base of this mixin).
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from overcast.ids import arn
from overcast.services.dynamodb import storage
from overcast.services.dynamodb.errors import (
    GlobalTableAlreadyExistsException,
    GlobalTableNotFoundException,
    ReplicaAlreadyExistsException,
    ReplicaNotFoundException,
    ResourceNotFoundException,
    TableNotFoundException,
    ValidationException,
)
from overcast.services.dynamodb.kinesis_destinations import KinesisDestinationOps
from overcast.services.dynamodb.models import ACTIVE, Table

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext
    from overcast.services.base import ServiceEnv
    from overcast.services.dynamodb.storage import Catalog

V2017 = "2017.11.29"
V2019 = "2019.11.21"
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_KINESIS_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[A-Za-z0-9_.-]+$")


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def autoscaling_description(update: dict[str, Any]) -> dict[str, Any]:
    """An AutoScalingSettingsDescription from an AutoScalingSettingsUpdate."""
    out: dict[str, Any] = {
        k: update[k]
        for k in ("MinimumUnits", "MaximumUnits", "AutoScalingDisabled", "AutoScalingRoleArn")
        if k in update
    }
    policy = update.get("ScalingPolicyUpdate")
    if policy:
        out["ScalingPolicies"] = [policy]
    return out


def replica_group(table: Table) -> dict[str, Any] | None:
    group = table.settings.get("replicas")
    return group if isinstance(group, dict) and group.get("regions") else None


class GlobalTableOps(KinesisDestinationOps):
    """Global tables, and Kinesis destinations through its base (composed in provider.py)."""

    env: ServiceEnv
    catalog: Catalog

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)  # type: ignore[call-arg]
        self._replicating = threading.local()
        self._global_tables = env.store.collection("dynamodb", "global_tables")

    # -- replication of item writes ------------------------------------------------------------

    def _replicate(
        self, conn: sqlite3.Connection, table: Table, old: dict | None, new: dict | None, now: float
    ) -> None:
        """Copy the change to the table's replicas in other regions (last writer wins). In a
        version 2017.11.29 group the written item carries the replication attributes AWS adds
        (``aws:rep:updateregion``, ``aws:rep:updatetime``, ``aws:rep:deleting``), in every
        replica including the writer's."""
        group = replica_group(table)
        if group is None or getattr(self._replicating, "on", False):
            return
        self._replicating.on = True
        try:
            if new is not None and group.get("version") == V2017:
                new = {**new, **_rep_attributes(table.region, now)}
                storage.put_item(conn, table, new)
            for region in group["regions"]:
                if region == table.region:
                    continue
                replica = self.catalog.load(conn, table.account_id, region, table.name)
                if replica is None:
                    continue
                if new is not None:
                    previous = storage.put_item(conn, replica, new)
                else:
                    assert old is not None
                    previous = storage.delete_item(conn, replica, replica.key_of(old))
                self._record_change(conn, replica, previous, new)  # type: ignore[attr-defined]
        finally:
            self._replicating.on = False

    # -- group bookkeeping ---------------------------------------------------------------------

    def _link(
        self,
        conn: sqlite3.Connection,
        account_id: str,
        name: str,
        regions: list[str],
        version: str,
        current: Table | None = None,
    ) -> None:
        """Record the group on each of its tables (``current``: the caller's copy, saved by it)."""
        regions = sorted(set(regions))
        for region in regions:
            if current is not None and region == current.region:
                table = current
            else:
                loaded = self.catalog.load(conn, account_id, region, name)
                if loaded is None:
                    continue
                table = loaded
            table.settings["replicas"] = {"version": version, "regions": regions}
            if version == V2019:
                table.described["GlobalTableVersion"] = V2019
                table.described["Replicas"] = [
                    self._replica_description(account_id, r, name) for r in regions if r != region
                ]
            if table is not current:
                self.catalog.save(conn, table)

    def _unlink(self, conn: sqlite3.Connection, table: Table, *, save: bool = True) -> None:
        table.settings.pop("replicas", None)
        table.described.pop("Replicas", None)
        table.described.pop("GlobalTableVersion", None)
        if save:
            self.catalog.save(conn, table)

    def _replica_description(self, account_id: str, region: str, name: str) -> dict[str, Any]:
        return {
            "RegionName": region,
            "ReplicaStatus": ACTIVE,
            "ReplicaArn": arn("dynamodb", region, account_id, f"table/{name}"),
            "ReplicaTableClassSummary": {"TableClass": "STANDARD"},
        }

    def _create_replica(self, conn: sqlite3.Connection, source: Table, region: str) -> Table:
        """A new table in ``region`` with the source's definition and items."""
        if not _REGION.match(region):
            raise ValidationException(f"Invalid region: {region}")
        if self.catalog.load(conn, source.account_id, region, source.name) is not None:
            raise ValidationException(
                f"Failed to create a the new replica of table with name: '{source.name}' "
                "because one or more replicas already existed as tables."
            )
        doc = source.to_doc()
        doc["settings"] = {k: v for k, v in source.settings.items() if k in ("ttl",)}
        doc["described"] = {}
        replica = Table.from_doc(0, source.account_id, region, source.name, doc)
        replica.arn = arn("dynamodb", region, source.account_id, f"table/{source.name}")
        replica.table_id = str(uuid.uuid4())
        replica.status = ACTIVE
        replica.created = self.env.clock.now()
        self.catalog.insert(conn, replica)
        if replica.stream_enabled:
            self._sync_stream(conn, replica)  # type: ignore[attr-defined]
        for item, _ in storage.scan(conn, source):
            storage.apply_change(conn, replica, None, item)
        return replica

    # -- version 2019.11.21: UpdateTable ReplicaUpdates ----------------------------------------

    def _replica_updates(
        self,
        ctx: RequestContext,
        conn: sqlite3.Connection,
        table: Table,
        updates: list[dict[str, Any]],
    ) -> None:
        """UpdateTable's ReplicaUpdates, inside core's write (``table`` is saved by the caller)."""
        group = replica_group(table)
        if group is not None and group.get("version") == V2017:
            raise ValidationException(
                "Replica updates are not supported on global tables of version 2017.11.29"
            )
        regions = set(group["regions"]) if group else {table.region}
        for update in updates:
            if "Create" in update:
                region = update["Create"]["RegionName"]
                if region in regions:
                    raise ValidationException(
                        f"Failed to create a the new replica of table with name: "
                        f"'{table.name}' because one or more replicas already existed as tables."
                    )
                self._create_replica(conn, table, region)
                regions.add(region)
            elif "Delete" in update:
                region = update["Delete"]["RegionName"]
                if region not in regions or region == table.region:
                    raise ValidationException(
                        f"Failed to delete the replica in region {region}: the table has no "
                        "replica there"
                        if region != table.region
                        else "Cannot delete the replica in the region of the request"
                    )
                replica = self.catalog.load(conn, table.account_id, region, table.name)
                if replica is not None:
                    self._table_deleted(conn, replica)  # type: ignore[attr-defined]
                    self.catalog.delete(conn, replica)
                regions.discard(region)
            elif "Update" in update:
                region = update["Update"]["RegionName"]
                if region not in regions:
                    raise ValidationException(
                        f"Failed to update the replica in region {region}: no such replica"
                    )
        if len(regions) > 1:
            self._link(conn, table.account_id, table.name, sorted(regions), V2019, table)
        else:
            self._unlink(conn, table, save=False)

    # -- version 2017.11.29 --------------------------------------------------------------------

    def _global_doc(self, account_id: str, name: str) -> dict[str, Any] | None:
        return self._global_tables.get(account_id, "", name)

    def _global_description(self, ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "ReplicationGroup": [{"RegionName": r} for r in doc["regions"]],
            "GlobalTableArn": arn("dynamodb", "", ctx.account_id, f"global-table/{doc['name']}"),
            "CreationDateTime": _time(doc["created"]),
            "GlobalTableStatus": ACTIVE,
            "GlobalTableName": doc["name"],
        }

    def _check_member(
        self, conn: sqlite3.Connection, ctx: RequestContext, name: str, region: str
    ) -> Table:
        table = self.catalog.load(conn, ctx.account_id, region, name)
        if table is None:
            raise TableNotFoundException(f"Table: {name} not found in region {region}")
        if (
            not table.stream_enabled
            or (table.stream or {}).get("StreamViewType") != "NEW_AND_OLD_IMAGES"
        ):
            raise ValidationException(
                f"One or more parameter values were invalid: Table {name} in region {region} "
                "must have DynamoDB Streams enabled with StreamViewType NEW_AND_OLD_IMAGES"
            )
        if replica_group(table) is not None:
            raise ValidationException(f"Table {name} in region {region} is already a replica")
        return table

    def create_global_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GlobalTableName"]
        regions = [r["RegionName"] for r in request["ReplicationGroup"]]
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            if self._global_tables.get(ctx.account_id, "", name, conn=conn) is not None:
                raise GlobalTableAlreadyExistsException()
            for region in regions:
                table = self._check_member(conn, ctx, name, region)
                if next(storage.scan(conn, table), None) is not None:
                    raise ValidationException(
                        f"One or more parameter values were invalid: Table {name} in region "
                        f"{region} must be empty to become part of a global table"
                    )
            doc = {"name": name, "regions": sorted(set(regions)), "created": now}
            self._global_tables.put(ctx.account_id, "", name, doc, conn=conn)
            self._link(conn, ctx.account_id, name, doc["regions"], V2017)
            return doc

        doc = self.env.store.write(write)
        desc = self._global_description(ctx, doc)
        desc["GlobalTableStatus"] = "CREATING"
        return {"GlobalTableDescription": desc}

    def describe_global_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        doc = self._global_doc(ctx.account_id, request["GlobalTableName"])
        if doc is None:
            raise GlobalTableNotFoundException()
        return {"GlobalTableDescription": self._global_description(ctx, doc)}

    def describe_global_table_settings(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        doc = self._global_doc(ctx.account_id, request["GlobalTableName"])
        if doc is None:
            raise GlobalTableNotFoundException()
        return self._settings_description(ctx, doc)

    def _settings_description(self, ctx: RequestContext, doc: dict[str, Any]) -> dict[str, Any]:
        settings = []
        for region in doc["regions"]:
            table = self.catalog.get(ctx.account_id, region, doc["name"])
            if table is None:
                continue
            scaling = table.settings.get("autoscaling") or {}
            entry: dict[str, Any] = {
                "RegionName": region,
                "ReplicaStatus": ACTIVE,
                "ReplicaBillingModeSummary": {"BillingMode": table.billing_mode},
                "ReplicaProvisionedReadCapacityUnits": table.throughput.get("ReadCapacityUnits", 0),
                "ReplicaProvisionedWriteCapacityUnits": table.throughput.get(
                    "WriteCapacityUnits", 0
                ),
                "ReplicaTableClassSummary": {"TableClass": table.table_class},
            }
            if scaling.get("read"):
                entry["ReplicaProvisionedReadCapacityAutoScalingSettings"] = scaling["read"]
            if scaling.get("write"):
                entry["ReplicaProvisionedWriteCapacityAutoScalingSettings"] = scaling["write"]
            settings.append(entry)
        return {"GlobalTableName": doc["name"], "ReplicaSettings": settings}

    def update_global_table_settings(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["GlobalTableName"]
        billing = request.get("GlobalTableBillingMode")
        write_units = request.get("GlobalTableProvisionedWriteCapacityUnits")
        write_scaling = request.get("GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate")

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            doc = self._global_tables.get(ctx.account_id, "", name, conn=conn)
            if doc is None:
                raise GlobalTableNotFoundException()
            per_region = {u["RegionName"]: u for u in request.get("ReplicaSettingsUpdate") or []}
            for region in per_region:
                if region not in doc["regions"]:
                    raise ReplicaNotFoundException(f"Replica not found in region {region}")
            for region in doc["regions"]:
                table = self.catalog.load(conn, ctx.account_id, region, name)
                if table is None:
                    continue
                update = per_region.get(region, {})
                if billing:
                    table.billing_mode = billing
                if write_units is not None:
                    table.throughput["WriteCapacityUnits"] = write_units
                if update.get("ReplicaProvisionedReadCapacityUnits") is not None:
                    table.throughput["ReadCapacityUnits"] = update[
                        "ReplicaProvisionedReadCapacityUnits"
                    ]
                if update.get("ReplicaTableClass"):
                    table.table_class = update["ReplicaTableClass"]
                scaling = dict(table.settings.get("autoscaling") or {})
                if write_scaling:
                    scaling["write"] = autoscaling_description(write_scaling)
                read_scaling = update.get("ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate")
                if read_scaling:
                    scaling["read"] = autoscaling_description(read_scaling)
                table.settings["autoscaling"] = scaling
                if table.billing_mode == "PROVISIONED" and not (
                    table.throughput.get("ReadCapacityUnits")
                    and table.throughput.get("WriteCapacityUnits")
                ):
                    raise ValidationException(
                        "One or more parameter values were invalid: provisioned read and write "
                        f"capacity units are required for the replica in {region}"
                    )
                self.catalog.save(conn, table)
            return doc

        doc = self.env.store.write(write)
        return self._settings_description(ctx, doc)

    # -- replica auto scaling (version 2019.11.21) ---------------------------------------------

    def describe_table_replica_auto_scaling(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        table = self._table(ctx, request["TableName"], describe=True)  # type: ignore[attr-defined]
        return {"TableAutoScalingDescription": self._auto_scaling(table)}

    def update_table_replica_auto_scaling(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._table(ctx, request["TableName"], describe=True).name  # type: ignore[attr-defined]

        def write(conn: sqlite3.Connection) -> Table:
            table = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if table is None:
                raise ResourceNotFoundException()
            group = replica_group(table)
            regions = set(group["regions"]) if group else {table.region}
            scaling = dict(table.settings.get("autoscaling") or {})
            if request.get("ProvisionedWriteCapacityAutoScalingUpdate"):
                scaling["write"] = autoscaling_description(
                    request["ProvisionedWriteCapacityAutoScalingUpdate"]
                )
            reads = dict(scaling.get("replica_read") or {})
            for update in request.get("ReplicaUpdates") or []:
                region = update["RegionName"]
                if region not in regions:
                    raise ValidationException(f"Replica not found in region {region}")
                if update.get("ReplicaProvisionedReadCapacityAutoScalingUpdate"):
                    reads[region] = autoscaling_description(
                        update["ReplicaProvisionedReadCapacityAutoScalingUpdate"]
                    )
            scaling["replica_read"] = reads
            table.settings["autoscaling"] = scaling
            self.catalog.save(conn, table)
            return table

        table = self.env.store.write(write)
        return {"TableAutoScalingDescription": self._auto_scaling(table)}

    def _auto_scaling(self, table: Table) -> dict[str, Any]:
        group = replica_group(table)
        regions = group["regions"] if group else [table.region]
        scaling = table.settings.get("autoscaling") or {}
        replicas = []
        for region in regions:
            replica: dict[str, Any] = {
                "RegionName": region,
                "GlobalSecondaryIndexes": [],
                "ReplicaStatus": ACTIVE,
            }
            read = (scaling.get("replica_read") or {}).get(region)
            if read:
                replica["ReplicaProvisionedReadCapacityAutoScalingSettings"] = read
            if scaling.get("write"):
                replica["ReplicaProvisionedWriteCapacityAutoScalingSettings"] = scaling["write"]
            replicas.append(replica)
        return {"TableName": table.name, "TableStatus": ACTIVE, "Replicas": replicas}

    def update_global_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["GlobalTableName"]

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            doc = self._global_tables.get(ctx.account_id, "", name, conn=conn)
            if doc is None:
                raise GlobalTableNotFoundException()
            regions = set(doc["regions"])
            for update in request["ReplicaUpdates"]:
                if "Create" in update:
                    region = update["Create"]["RegionName"]
                    if region in regions:
                        raise ReplicaAlreadyExistsException(
                            f"Replica already exists in region {region}"
                        )
                    self._check_member(conn, ctx, name, region)
                    regions.add(region)
                elif "Delete" in update:
                    region = update["Delete"]["RegionName"]
                    if region not in regions:
                        raise ReplicaNotFoundException(f"Replica not found in region {region}")
                    regions.discard(region)
                    table = self.catalog.load(conn, ctx.account_id, region, name)
                    if table is not None:
                        self._unlink(conn, table)
            doc["regions"] = sorted(regions)
            self._global_tables.put(ctx.account_id, "", name, doc, conn=conn)
            self._link(conn, ctx.account_id, name, doc["regions"], V2017)
            return doc

        doc = self.env.store.write(write)
        return {"GlobalTableDescription": self._global_description(ctx, doc)}

    def list_global_tables(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        docs = [doc for _, doc in self._global_tables.all(ctx.account_id, "")]
        if request.get("RegionName"):
            docs = [d for d in docs if request["RegionName"] in d["regions"]]
        docs.sort(key=lambda d: d["name"])
        start = request.get("ExclusiveStartGlobalTableName")
        if start:
            docs = [d for d in docs if d["name"] > start]
        limit = request.get("Limit") or 100
        out: dict[str, Any] = {
            "GlobalTables": [
                {
                    "GlobalTableName": d["name"],
                    "ReplicationGroup": [{"RegionName": r} for r in d["regions"]],
                }
                for d in docs[:limit]
            ]
        }
        if len(docs) > limit:
            out["LastEvaluatedGlobalTableName"] = docs[limit - 1]["name"]
        return out


def _rep_attributes(region: str, now: float) -> dict[str, dict[str, Any]]:
    """What global tables 2017.11.29 write on each replicated item: the writer's region, the
    write time (epoch seconds with microseconds) and the deletion marker, false."""
    return {
        "aws:rep:deleting": {"BOOL": False},
        "aws:rep:updateregion": {"S": region},
        "aws:rep:updatetime": {"N": f"{now:.6f}"},
    }
