"""DynamoDB: on-demand backups and point-in-time recovery (operations mixed into the provider).

A backup copies the table's metadata and items in one transaction, so it is a consistent
snapshot. Point-in-time recovery keeps a change history (``backups_store``) written through
``_record_change`` in each item write's transaction; enabling PITR copies the current items as
the history's base. Restores build a new table from the source's definition (with the request's
overrides) through the same validation as CreateTable, then load the items; as with CreateTable,
the response says CREATING and the table is ACTIVE for every later read.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from overcast.errors import ValidationException
from overcast.services.dynamodb import backups_store as bstore
from overcast.services.dynamodb import storage
from overcast.services.dynamodb.common import check_table_name
from overcast.services.dynamodb.errors import (
    BackupNotFoundException,
    InvalidRestoreTimeException,
    PointInTimeRecoveryUnavailableException,
    TableAlreadyExistsException,
    TableNotFoundException,
)
from overcast.services.dynamodb.models import CREATING, PAY_PER_REQUEST, PROVISIONED, Table

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext
    from overcast.services.base import ServiceEnv
    from overcast.services.dynamodb.storage import Catalog

PITR_LAG = 300.0  # LatestRestorableDateTime is about five minutes behind now
DEFAULT_RECOVERY_DAYS = 35
TRIM_EVERY = 3600.0


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value)


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def pitr_setting(table: Table) -> dict[str, Any]:
    setting = table.settings.get("pitr")
    return setting if isinstance(setting, dict) else {}


def restore_request(source: Table, target: str, request: dict[str, Any]) -> dict[str, Any]:
    """The CreateTable request of a restore: the source's definition with the overrides."""
    billing = request.get("BillingModeOverride") or source.billing_mode
    create: dict[str, Any] = {
        "TableName": target,
        "KeySchema": source.key_schema(),
        "BillingMode": billing,
    }
    if billing == PROVISIONED:
        create["ProvisionedThroughput"] = request.get("ProvisionedThroughputOverride") or {
            "ReadCapacityUnits": source.throughput.get("ReadCapacityUnits") or 5,
            "WriteCapacityUnits": source.throughput.get("WriteCapacityUnits") or 5,
        }
    if request.get("OnDemandThroughputOverride"):
        create["OnDemandThroughput"] = request["OnDemandThroughputOverride"]
    if request.get("SSESpecificationOverride"):
        create["SSESpecification"] = request["SSESpecificationOverride"]
    if "GlobalSecondaryIndexOverride" in request:
        gsis = request["GlobalSecondaryIndexOverride"] or []
    else:
        gsis = []
        for index in source.gsis.values():
            spec: dict[str, Any] = {
                "IndexName": index.name,
                "KeySchema": index.key_schema(),
                "Projection": index.projection,
            }
            if billing == PROVISIONED:
                tp = index.throughput or {}
                spec["ProvisionedThroughput"] = {
                    "ReadCapacityUnits": tp.get("ReadCapacityUnits") or 5,
                    "WriteCapacityUnits": tp.get("WriteCapacityUnits") or 5,
                }
            gsis.append(spec)
    if "LocalSecondaryIndexOverride" in request:
        lsis = request["LocalSecondaryIndexOverride"] or []
    else:
        lsis = [
            {"IndexName": i.name, "KeySchema": i.key_schema(), "Projection": i.projection}
            for i in source.lsis.values()
        ]
    used = set(source.key_names)
    for spec in [*gsis, *lsis]:
        used.update(k["AttributeName"] for k in spec["KeySchema"])
    create["AttributeDefinitions"] = [
        d for d in source.attribute_definitions if d["AttributeName"] in used
    ]
    if gsis:
        create["GlobalSecondaryIndexes"] = gsis
    if lsis:
        create["LocalSecondaryIndexes"] = lsis
    return create


class BackupOps:
    """Backups and point-in-time recovery (composed in provider.py)."""

    env: ServiceEnv
    catalog: Catalog

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)  # type: ignore[call-arg]
        env.store.migrate(bstore.NAMESPACE, bstore.MIGRATIONS)
        self._pitr_trimmed: dict[str, float] = {}

    def _source_table(self, ctx: RequestContext, name: str) -> Table:
        """The table named (or ARN'd) in a backup request, or TableNotFoundException."""
        name = self._name(ctx, name)  # type: ignore[attr-defined]
        table = self.catalog.get(ctx.account_id, ctx.region, name)
        if table is None:
            raise TableNotFoundException(f"Table not found: {name}")
        return table

    # -- on-demand backups ---------------------------------------------------------------------

    async def create_backup(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._source_table(ctx, request["TableName"])
        backup_name = request["BackupName"]
        _check_backup_name(backup_name)
        now = self.env.clock.now()
        arn = f"{table.arn}/backup/{int(now * 1000):014d}-{os.urandom(4).hex()}"

        def write(conn: sqlite3.Connection) -> bstore.Backup:
            current = self.catalog.load(conn, ctx.account_id, ctx.region, table.name)
            if current is None:
                raise TableNotFoundException(f"Table not found: {table.name}")
            return _snapshot(conn, current, arn, backup_name, "USER", now)

        backup = await self.env.store.awrite(write)
        details = _details(backup)
        details["BackupStatus"] = "CREATING"
        return {"BackupDetails": details}

    def _backup(self, ctx: RequestContext, arn: str) -> bstore.Backup:
        backup = self.env.store.read(lambda c: bstore.get_backup(c, arn))
        if (
            backup is None
            or backup.account_id != ctx.account_id
            or backup.region != ctx.region
            or _expired(backup, self.env.clock.now())
        ):
            raise BackupNotFoundException(f"Backup not found: {arn}")
        return backup

    def describe_backup(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {"BackupDescription": _description(self._backup(ctx, request["BackupArn"]))}

    def delete_backup(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        backup = self._backup(ctx, request["BackupArn"])
        self.env.store.write(lambda c: bstore.delete_backup(c, backup.arn))
        desc = _description(backup)
        desc["BackupDetails"]["BackupStatus"] = "DELETED"
        return {"BackupDescription": desc}

    def list_backups(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        backups = self.env.store.read(lambda c: bstore.list_backups(c, ctx.account_id, ctx.region))
        now = self.env.clock.now()
        backups = [b for b in backups if not _expired(b, now)]
        if request.get("TableName"):
            name = self._name(ctx, request["TableName"])  # type: ignore[attr-defined]
            backups = [b for b in backups if b.table_name == name]
        kind = request.get("BackupType") or "USER"
        if kind != "ALL":
            backups = [b for b in backups if b.backup_type == kind]
        if request.get("TimeRangeLowerBound") is not None:
            low = _epoch(request["TimeRangeLowerBound"])
            backups = [b for b in backups if b.created >= low]
        if request.get("TimeRangeUpperBound") is not None:
            high = _epoch(request["TimeRangeUpperBound"])
            backups = [b for b in backups if b.created < high]
        start = request.get("ExclusiveStartBackupArn")
        if start:
            arns = [b.arn for b in backups]
            backups = backups[arns.index(start) + 1 :] if start in arns else []
        limit = request.get("Limit") or 100
        out: dict[str, Any] = {"BackupSummaries": [_summary(b) for b in backups[:limit]]}
        if len(backups) > limit:
            out["LastEvaluatedBackupArn"] = backups[limit - 1].arn
        return out

    async def restore_table_from_backup(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        backup = self._backup(ctx, request["BackupArn"])
        doc = {k: v for k, v in backup.table_doc.items() if not k.startswith("_")}
        source = Table.from_doc(0, backup.account_id, backup.region, backup.table_name, doc)
        summary = {
            "SourceBackupArn": backup.arn,
            "SourceTableArn": source.arn,
            "RestoreDateTime": backup.created,
        }
        return await self._restore(
            ctx, source, request, summary, lambda c: bstore.backup_items(c, backup.arn)
        )

    async def _restore(
        self,
        ctx: RequestContext,
        source: Table,
        request: dict[str, Any],
        summary: dict[str, Any],
        items: Callable[[sqlite3.Connection], Iterator[str]],
    ) -> dict[str, Any]:
        target = request["TargetTableName"]
        if not 3 <= len(target) <= 255:
            raise ValidationException(
                "TableName must be at least 3 characters long and at most 255 characters long"
            )
        check_table_name(target, "targetTableName")
        create = restore_request(source, target, request)
        table = self._new_table(ctx, target, create)  # type: ignore[attr-defined]
        table.status = CREATING
        table.described["RestoreSummary"] = {**summary, "RestoreInProgress": False}

        def write(conn: sqlite3.Connection) -> Table:
            if self.catalog.load(conn, ctx.account_id, ctx.region, target) is not None:
                raise TableAlreadyExistsException(f"Table already exists: {target}")
            created = self.catalog.insert(conn, table)
            for text in items(conn):
                storage.apply_change(conn, created, None, storage.decode_item(text))
            return created

        created = await self.env.store.awrite(write)
        desc = self._describe(created)  # type: ignore[attr-defined]
        desc["TableStatus"] = CREATING
        desc["RestoreSummary"] = {**summary, "RestoreInProgress": True}
        return {"TableDescription": desc}

    # -- point-in-time recovery ----------------------------------------------------------------

    def _pitr_record(
        self, conn: sqlite3.Connection, table: Table, old: dict | None, new: dict | None, now: float
    ) -> None:
        """Keep the change in the table's point-in-time history when PITR is enabled."""
        setting = pitr_setting(table)
        if not setting.get("enabled"):
            return
        ref = new if new is not None else old
        assert ref is not None
        hk, sk = storage.key_bytes(table, ref)
        text = storage.encode_item(new) if new is not None else None
        bstore.add_history(conn, table.table_id, now, hk, sk, text)
        if now - self._pitr_trimmed.get(table.table_id, 0.0) >= TRIM_EVERY:
            self._pitr_trimmed[table.table_id] = now
            days = setting.get("period") or DEFAULT_RECOVERY_DAYS
            bstore.trim_history(conn, table.table_id, now - days * 86400.0)

    def _pitr_forget(self, conn: sqlite3.Connection, table: Table) -> None:
        """The table was deleted: with PITR enabled, AWS keeps a SYSTEM backup of it for the
        recovery period; the change history goes."""
        setting = pitr_setting(table)
        if setting.get("enabled"):
            now = self.env.clock.now()
            arn = f"{table.arn}/backup/{int(now * 1000):014d}-{os.urandom(4).hex()}"
            days = setting.get("period") or DEFAULT_RECOVERY_DAYS
            _snapshot(
                conn, table, arn, f"{table.name}$DeletedTableBackup", "SYSTEM", now,
                expires=now + days * 86400.0,
            )  # fmt: skip
        bstore.forget_history(conn, table.table_id)

    def _pitr_description(self, table: Table) -> dict[str, Any]:
        setting = pitr_setting(table)
        if not setting.get("enabled"):
            return {"PointInTimeRecoveryStatus": "DISABLED"}
        now = self.env.clock.now()
        days = setting.get("period") or DEFAULT_RECOVERY_DAYS
        earliest = max(float(setting["since"]), now - days * 86400.0)
        return {
            "PointInTimeRecoveryStatus": "ENABLED",
            "RecoveryPeriodInDays": days,
            "EarliestRestorableDateTime": _time(earliest),
            "LatestRestorableDateTime": _time(max(earliest, now - PITR_LAG)),
        }

    def update_continuous_backups(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = self._source_table(ctx, request["TableName"]).name
        spec = request["PointInTimeRecoverySpecification"]
        enable = bool(spec["PointInTimeRecoveryEnabled"])
        days = spec.get("RecoveryPeriodInDays")
        if days is not None and not 1 <= days <= DEFAULT_RECOVERY_DAYS:
            raise ValidationException(
                "RecoveryPeriodInDays must be between 1 and 35 days (inclusive)"
            )
        if days is not None and not enable:
            raise ValidationException(
                "RecoveryPeriodInDays cannot be specified when PointInTimeRecoveryEnabled is false"
            )
        now = self.env.clock.now()

        def write(conn: sqlite3.Connection) -> Table:
            table = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if table is None:
                raise TableNotFoundException(f"Table not found: {name}")
            current = pitr_setting(table)
            if enable and not current.get("enabled"):
                table.settings["pitr"] = {
                    "enabled": True, "since": now, "period": days or DEFAULT_RECOVERY_DAYS,
                }  # fmt: skip
                bstore.forget_history(conn, table.table_id)
                for item, _ in storage.scan(conn, table):
                    hk, sk = storage.key_bytes(table, item)
                    bstore.add_history(conn, table.table_id, now, hk, sk, storage.encode_item(item))
            elif enable:
                table.settings["pitr"] = {**current, "period": days or current.get("period")}
            elif current.get("enabled"):
                table.settings["pitr"] = {"enabled": False}
                bstore.forget_history(conn, table.table_id)
            self.catalog.save(conn, table)
            return table

        table = self.env.store.write(write)
        return {"ContinuousBackupsDescription": self._continuous(table)}

    def _continuous(self, table: Table) -> dict[str, Any]:
        return {
            "ContinuousBackupsStatus": "ENABLED",
            "PointInTimeRecoveryDescription": self._pitr_description(table),
        }

    def describe_continuous_backups(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        table = self._source_table(ctx, request["TableName"])
        return {"ContinuousBackupsDescription": self._continuous(table)}

    async def restore_table_to_point_in_time(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        given = request.get("SourceTableArn") or request.get("SourceTableName")
        if not given:
            raise ValidationException("Either SourceTableArn or SourceTableName must be specified")
        source = self._source_table(ctx, given)
        setting = pitr_setting(source)
        if not setting.get("enabled"):
            raise PointInTimeRecoveryUnavailableException(
                f"Point in time recovery is not enabled for table '{source.name}'"
            )
        window = self._pitr_description(source)
        earliest = window["EarliestRestorableDateTime"].timestamp()
        latest = window["LatestRestorableDateTime"].timestamp()
        if request.get("UseLatestRestorableTime"):
            if request.get("RestoreDateTime") is not None:
                raise ValidationException(
                    "Only one of RestoreDateTime or UseLatestRestorableTime can be specified"
                )
            when = latest
        elif request.get("RestoreDateTime") is not None:
            when = _epoch(request["RestoreDateTime"])
            if not earliest <= when <= latest:
                raise InvalidRestoreTimeException(
                    "Given RestoreDateTime is not within the restorable range. "
                    f"EarliestRestorableDateTime: {_time(earliest).isoformat()}, "
                    f"LatestRestorableDateTime: {_time(latest).isoformat()}"
                )
        else:  # neither given: the latest restorable time
            when = latest
        summary = {"SourceTableArn": source.arn, "RestoreDateTime": when}
        uid = source.table_id
        return await self._restore(
            ctx, source, request, summary, lambda c: bstore.items_at(c, uid, when)
        )


_BACKUP_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _check_backup_name(name: str) -> None:
    if not 3 <= len(name) <= 255 or not set(name) <= _BACKUP_NAME_CHARS:
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'backupName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )


def _expired(b: bstore.Backup, now: float) -> bool:
    """SYSTEM backups of deleted tables last the recovery period; USER backups until deleted."""
    expires = b.table_doc.get("_expires")
    return expires is not None and float(expires) <= now


def _snapshot(
    conn: sqlite3.Connection,
    table: Table,
    arn: str,
    name: str,
    kind: str,
    now: float,
    expires: float | None = None,
) -> bstore.Backup:
    """Copy the table's definition and items into a new backup (in the caller's transaction)."""
    size = count = 0
    chunk: list[str] = []
    for item, item_size in storage.scan(conn, table):
        chunk.append(storage.encode_item(item))
        size += item_size
        count += 1
        if len(chunk) >= 500:
            bstore.add_backup_items(conn, arn, count - len(chunk), chunk)
            chunk = []
    bstore.add_backup_items(conn, arn, count - len(chunk), chunk)
    doc: dict[str, Any] = {**table.to_doc(), "_name": table.name, "_counts": [count, size]}
    if expires is not None:
        doc["_expires"] = expires
    backup = bstore.Backup(
        arn, table.account_id, table.region, name, table.name, doc, now, size, count, kind
    )
    bstore.insert_backup(conn, backup)
    return backup


def _details(b: bstore.Backup) -> dict[str, Any]:
    details = {
        "BackupArn": b.arn,
        "BackupName": b.name,
        "BackupSizeBytes": b.size,
        "BackupStatus": "AVAILABLE",
        "BackupType": b.backup_type,
        "BackupCreationDateTime": _time(b.created),
    }
    if b.table_doc.get("_expires") is not None:
        details["BackupExpiryDateTime"] = _time(b.table_doc["_expires"])
    return details


def _summary(b: bstore.Backup) -> dict[str, Any]:
    doc = b.table_doc
    return {
        "TableName": b.table_name,
        "TableId": doc["table_id"],
        "TableArn": doc["arn"],
        "BackupArn": b.arn,
        "BackupName": b.name,
        "BackupCreationDateTime": _time(b.created),
        "BackupStatus": "AVAILABLE",
        "BackupType": b.backup_type,
        "BackupSizeBytes": b.size,
        **(
            {"BackupExpiryDateTime": _time(doc["_expires"])}
            if doc.get("_expires") is not None
            else {}
        ),
    }


def _description(b: bstore.Backup) -> dict[str, Any]:
    doc = {k: v for k, v in b.table_doc.items() if not k.startswith("_")}
    source = Table.from_doc(0, b.account_id, b.region, b.table_name, doc)
    described = source.describe({0: (b.item_count, b.size)})
    details: dict[str, Any] = {
        "TableName": source.name,
        "TableId": source.table_id,
        "TableArn": source.arn,
        "TableSizeBytes": b.size,
        "KeySchema": source.key_schema(),
        "TableCreationDateTime": _time(source.created),
        "ProvisionedThroughput": {
            "ReadCapacityUnits": source.throughput.get("ReadCapacityUnits", 0),
            "WriteCapacityUnits": source.throughput.get("WriteCapacityUnits", 0),
        },
        "ItemCount": b.item_count,
        "BillingMode": PAY_PER_REQUEST if source.billing_mode == PAY_PER_REQUEST else PROVISIONED,
    }
    features: dict[str, Any] = {}
    if source.lsis:
        features["LocalSecondaryIndexes"] = [
            {"IndexName": i.name, "KeySchema": i.key_schema(), "Projection": i.projection}
            for i in source.lsis.values()
        ]
    if source.gsis:
        features["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g["IndexName"],
                "KeySchema": g["KeySchema"],
                "Projection": g["Projection"],
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": g["ProvisionedThroughput"]["ReadCapacityUnits"],
                    "WriteCapacityUnits": g["ProvisionedThroughput"]["WriteCapacityUnits"],
                },
            }
            for g in described.get("GlobalSecondaryIndexes", [])
        ]
    if source.stream_enabled:
        features["StreamDescription"] = dict(source.stream or {})
    ttl = source.settings.get("ttl")
    if isinstance(ttl, dict) and ttl.get("Status") == "ENABLED":
        features["TimeToLiveDescription"] = {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": ttl["AttributeName"],
        }
    if source.sse:
        features["SSEDescription"] = source.sse
    return {
        "BackupDetails": _details(b),
        "SourceTableDetails": details,
        "SourceTableFeatureDetails": features,
    }
