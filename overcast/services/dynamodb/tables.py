"""Tables: CreateTable, DescribeTable, UpdateTable (GSI create/update/delete with backfill),
DeleteTable, ListTables, tags, DescribeLimits and DescribeEndpoints."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import sqlite3
import uuid
from typing import Any

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.ids import arn
from overcast.services.base import ServiceEnv
from overcast.services.dynamodb import indexes, policies, storage
from overcast.services.dynamodb.common import DynamoBase, table_arn
from overcast.services.dynamodb.errors import (
    LimitExceededException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from overcast.services.dynamodb.models import (
    ACTIVE,
    CREATING,
    DELETING,
    PAY_PER_REQUEST,
    PROVISIONED,
    UPDATING,
    Index,
    Table,
)
from overcast.services.dynamodb.streams import new_stream_label

_INVALID = "One or more parameter values were invalid: "
_MAX_TAGS = 50


def _stream(spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """A StreamSpecification as stored (None when streams are off)."""
    if not spec:
        return None
    if not spec.get("StreamEnabled"):
        if spec.get("StreamViewType"):
            raise ValidationException(
                f"{_INVALID}StreamViewType cannot be specified when StreamEnabled is false"
            )
        return None
    if not spec.get("StreamViewType"):
        raise ValidationException(
            f"{_INVALID}StreamViewType is required when StreamEnabled is true"
        )
    return {"StreamEnabled": True, "StreamViewType": spec["StreamViewType"]}


def _sse(ctx: RequestContext, spec: dict[str, Any] | None) -> dict[str, Any] | None:
    """SSEDescription for a SSESpecification (None: encryption with an AWS-owned key)."""
    if not spec or not spec.get("Enabled"):
        return None
    key = spec.get("KMSMasterKeyId") or "alias/aws/dynamodb"
    if not key.startswith("arn:"):
        key = arn(
            "kms",
            ctx.region,
            ctx.account_id,
            key if key.startswith("alias/") else f"key/{key}",
            ctx.partition,
        )
    return {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": key}


def _check_billing(billing: str, given: dict[str, Any] | None) -> None:
    if billing == PROVISIONED and not given:
        raise ValidationException(
            f"{_INVALID}ReadCapacityUnits and WriteCapacityUnits must both be specified when "
            "BillingMode is PROVISIONED"
        )
    if billing == PAY_PER_REQUEST and given:
        raise ValidationException(
            f"{_INVALID}Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when "
            "BillingMode is PAY_PER_REQUEST"
        )


_TAG_TEXT = re.compile(r"^[\w\s.:/=+\-@]*$")  # letters, digits, spaces and _ . : / = + - @


def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for position, tag in enumerate(tags or [], start=1):
        key, value = tag["Key"], tag["Value"]
        for member, text in (("key", key), ("value", value)):
            if not _TAG_TEXT.match(text):
                raise ValidationException(
                    f"1 validation error detected: Value '{text}' at 'tags.{position}.member."
                    f"{member}' failed to satisfy constraint: Member must satisfy regular "
                    "expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
                )
        if key.startswith("aws:"):
            raise ValidationException("Invalid tag key: tag keys starting with aws: are reserved")
        out[key] = value
    return out


class TableOps(DynamoBase):
    _purge_task: asyncio.Task[None] | None = None  # deleting retired tables' rows

    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        # Rows of tables deleted just before a crash: purge them once a loop runs (providers
        # are created on the first request, inside the server's loop).
        if env.store.read(self.catalog.retired):
            with contextlib.suppress(RuntimeError):
                self._start_purge()

    # -- create ---------------------------------------------------------------------------------

    def create_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["TableName"]
        # AWS's current wording for a bad name (the length messages of the request validator,
        # captured in 2026; the older "TableName must be at least 3 characters long" is gone).
        name = self._name(ctx, name)
        table = self._new_table(ctx, name, request)
        if request.get("ResourcePolicy") is not None:
            policies.check_policy(request["ResourcePolicy"])
            policies.set_policy(table, table.arn, request["ResourcePolicy"], table.created)
        tags = _tags(request.get("Tags"))
        if len(tags) > _MAX_TAGS:
            raise ValidationException("The number of tags exceeds the limit of 50")
        table.tags = tags

        def write(conn: sqlite3.Connection) -> Table:
            if self.catalog.load(conn, ctx.account_id, ctx.region, name) is not None:
                raise ResourceInUseException(f"Table already exists: {name}")
            self.catalog.insert(conn, table)
            if table.stream is not None:
                self._sync_stream(conn, table)
            return table

        table = self.env.store.write(write)
        desc = table.describe()
        desc["TableStatus"] = CREATING
        for gsi in desc.get("GlobalSecondaryIndexes", []):
            gsi["IndexStatus"] = CREATING
        return {"TableDescription": desc}

    def _new_table(self, ctx: RequestContext, name: str, request: dict[str, Any]) -> Table:
        """A Table from a CreateTable request, validated as AWS validates it."""
        definitions = [dict(d) for d in request["AttributeDefinitions"]]
        types = indexes.attribute_types(definitions)
        indexed = request.get("GlobalSecondaryIndexes") or request.get("LocalSecondaryIndexes")
        if not indexed and len(definitions) < len(request["KeySchema"]) <= 2:
            # AWS counts before it reads the key schema ([a HASH, a HASH] over [a] fails here);
            # with indexes it lists the undefined keys instead (check_defined).
            raise ValidationException(
                "Invalid KeySchema: Some index key attribute have no definition"
            )
        hash_key, range_key = indexes.key_schema(request["KeySchema"])
        indexes.check_defined([hash_key, *([range_key] if range_key else [])], types)
        billing = request.get("BillingMode") or PROVISIONED
        given = request.get("ProvisionedThroughput")
        if billing == PROVISIONED and not given:
            raise ValidationException("No provisioned throughput specified for the table")
        _check_billing(billing, given)
        now = self.env.clock.now()
        table = Table(
            id=0,
            account_id=ctx.account_id,
            region=ctx.region,
            name=name,
            arn=table_arn(ctx, name),
            table_id=str(uuid.uuid4()),
            hash_key=hash_key,
            hash_type=types[hash_key],
            range_key=range_key,
            range_type=types[range_key] if range_key else None,
            attribute_definitions=definitions,
            billing_mode=billing,
            created=now,
            # AWS reports a table created on-demand as switched to it at creation.
            billing_changed=now if billing == PAY_PER_REQUEST else None,
            status=ACTIVE,
            throughput=indexes.throughput(given),
            on_demand=dict(request["OnDemandThroughput"])
            if request.get("OnDemandThroughput")
            else None,
            table_class=request.get("TableClass") or "STANDARD",
            table_class_explicit=request.get("TableClass") is not None,
            deletion_protection=bool(request.get("DeletionProtectionEnabled")),
            sse=_sse(ctx, request.get("SSESpecification")),
            stream=_stream(request.get("StreamSpecification")),
        )
        if table.stream is not None:
            table.stream_label = new_stream_label(now)
        lsis = request.get("LocalSecondaryIndexes") or []
        gsis = request.get("GlobalSecondaryIndexes") or []
        if lsis and range_key is None:
            raise ValidationException(
                f"{_INVALID}Table KeySchema does not have a range key, which is required when "
                "specifying a LocalSecondaryIndex"
            )
        if len(lsis) > indexes.MAX_LSIS:
            raise ValidationException(
                f"{_INVALID}Number of LocalSecondaryIndexes exceeds per-table limit of "
                f"{indexes.MAX_LSIS}"
            )
        if len(gsis) > indexes.MAX_GSIS:
            raise ValidationException(
                f"{_INVALID}GlobalSecondaryIndex count exceeds the per-table limit of "
                f"{indexes.MAX_GSIS}"
            )
        for spec, local in [*((s, True) for s in lsis), *((s, False) for s in gsis)]:
            index = indexes.build_index(
                spec,
                local=local,
                number=table.next_index,
                types=types,
                table_hash=hash_key,
                billing_mode=billing,
            )
            if table.index(index.name) is not None:
                raise ValidationException(f"{_INVALID}Duplicate index name: {index.name}")
            table.next_index += 1
            (table.lsis if local else table.gsis)[index.name] = index
        indexes.check_definitions_used(table)
        indexes.check_projected_total(table)
        return table

    # -- describe / list ------------------------------------------------------------------------

    def describe_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self._table(ctx, request["TableName"], describe=True)
        return {"Table": self._describe(table)}

    def list_tables(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        limit = int(request.get("Limit") or 100)
        after = request.get("ExclusiveStartTableName")
        names = self.env.store.read(
            lambda conn: self.catalog.names(conn, ctx.account_id, ctx.region, after, limit + 1)
        )
        out: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = names[limit - 1]
        return out

    def describe_limits(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        return {
            "AccountMaxReadCapacityUnits": 80000,
            "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000,
            "TableMaxWriteCapacityUnits": 40000,
        }

    def describe_endpoints(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        suffix = "amazonaws.com.cn" if ctx.partition == "aws-cn" else "amazonaws.com"
        return {
            "Endpoints": [
                {"Address": f"dynamodb.{ctx.region}.{suffix}", "CachePeriodInMinutes": 1440}
            ]
        }

    # -- update ---------------------------------------------------------------------------------

    def update_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = self._name(ctx, request["TableName"])
        # ResourceNotFoundException (or in use) before any validation
        self._changeable(self._table(ctx, name, any_status=True))
        changes = (
            "ProvisionedThroughput", "BillingMode", "StreamSpecification",
            "GlobalSecondaryIndexUpdates", "SSESpecification", "ReplicaUpdates", "TableClass",
            "DeletionProtectionEnabled", "OnDemandThroughput", "WarmThroughput",
            "MultiRegionConsistency", "GlobalTableWitnessUpdates",
        )  # fmt: skip
        if not any(request.get(k) is not None for k in changes):
            raise ValidationException(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
                "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
            )
        if request.get("StreamSpecification") and request.get("ProvisionedThroughput"):
            raise ValidationException(
                f"{_INVALID}You cannot modify stream status while updating table IOPS"
            )
        now = self.env.clock.now()
        new_indexes: list[str] = []
        deleted: list[str] = []

        def write(conn: sqlite3.Connection) -> Table:
            table = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if table is None:
                raise ResourceNotFoundException()
            self._update_billing(table, request, now)
            self._update_indexes(conn, table, request, new_indexes, deleted)
            if "StreamSpecification" in request:
                self._update_stream(table, request["StreamSpecification"], now)
            if "SSESpecification" in request:
                table.sse = _sse(ctx, request["SSESpecification"])
            if request.get("TableClass") and request["TableClass"] != table.table_class:
                table.table_class = request["TableClass"]
                table.table_class_changed = now
            if request.get("DeletionProtectionEnabled") is not None:
                table.deletion_protection = bool(request["DeletionProtectionEnabled"])
            if request.get("OnDemandThroughput"):
                table.on_demand = dict(request["OnDemandThroughput"])
            if request.get("ReplicaUpdates"):
                self._replica_updates(ctx, conn, table, request["ReplicaUpdates"])
            self.catalog.save(conn, table)
            if "StreamSpecification" in request:
                self._sync_stream(conn, table)
            return table

        table = self.env.store.write(write)
        desc = self._describe(table)
        desc["TableStatus"] = UPDATING
        for gsi in desc.get("GlobalSecondaryIndexes", []):
            if gsi["IndexName"] in new_indexes:
                gsi["IndexStatus"] = CREATING
                gsi["Backfilling"] = True
        for index_name in deleted:
            desc.setdefault("GlobalSecondaryIndexes", []).append(
                {"IndexName": index_name, "IndexStatus": DELETING}
            )
        return {"TableDescription": desc}

    def _update_billing(self, table: Table, request: dict[str, Any], now: float) -> None:
        billing = request.get("BillingMode") or table.billing_mode
        given = request.get("ProvisionedThroughput")
        if billing == PAY_PER_REQUEST:
            _check_billing(billing, given)
            if table.billing_mode != PAY_PER_REQUEST:
                table.billing_mode = PAY_PER_REQUEST
                table.billing_changed = now
                table.throughput = indexes.throughput(None)
                for gsi in table.gsis.values():
                    gsi.throughput = indexes.throughput(None)
            return
        if table.billing_mode == PAY_PER_REQUEST:
            _check_billing(PROVISIONED, given)
            table.billing_mode = PROVISIONED
            table.throughput = indexes.throughput(given)
            updates = {
                u["Update"]["IndexName"]: u["Update"]
                for u in request.get("GlobalSecondaryIndexUpdates") or []
                if "Update" in u
            }
            for gsi in table.gsis.values():
                # Set by the GSI's Update entry in _update_indexes.
                if not updates.get(gsi.name, {}).get("ProvisionedThroughput"):
                    raise ValidationException(
                        f"{_INVALID}ProvisionedThroughput must be specified for index: {gsi.name}"
                    )
            return
        if given:
            table.throughput = self._new_throughput(table.throughput, given, now, "table")

    def _new_throughput(
        self, current: dict[str, Any], given: dict[str, Any], now: float, what: str
    ) -> dict[str, Any]:
        old_r, old_w = current.get("ReadCapacityUnits", 0), current.get("WriteCapacityUnits", 0)
        new_r, new_w = int(given["ReadCapacityUnits"]), int(given["WriteCapacityUnits"])
        if (old_r, old_w) == (new_r, new_w):
            raise ValidationException(
                f"The provisioned throughput for the {what} will not change. The requested value "
                f"equals the current value. Current ReadCapacityUnits provisioned for the {what}: "
                f"{old_r}. Requested ReadCapacityUnits: {new_r}. Current WriteCapacityUnits "
                f"provisioned for the {what}: {old_w}. Requested WriteCapacityUnits: {new_w}. "
                "Refer to the Amazon DynamoDB Developer Guide for current limits and how to "
                "request higher limits."
            )
        out = dict(current)
        out["ReadCapacityUnits"], out["WriteCapacityUnits"] = new_r, new_w
        if new_r > old_r or new_w > old_w:
            out["LastIncreaseDateTime"] = now
        if new_r < old_r or new_w < old_w:
            out["LastDecreaseDateTime"] = now
            out["NumberOfDecreasesToday"] = int(out.get("NumberOfDecreasesToday", 0)) + 1
        return out

    def _update_indexes(
        self,
        conn: sqlite3.Connection,
        table: Table,
        request: dict[str, Any],
        created: list[str],
        deleted: list[str],
    ) -> None:
        updates = request.get("GlobalSecondaryIndexUpdates") or []
        definitions = {d["AttributeName"]: dict(d) for d in table.attribute_definitions}
        for d in request.get("AttributeDefinitions") or []:
            known = definitions.get(d["AttributeName"])
            if known is not None and known["AttributeType"] != d["AttributeType"]:
                raise ValidationException(
                    f"{_INVALID}Cannot change the type of attribute {d['AttributeName']}"
                )
            definitions[d["AttributeName"]] = dict(d)
        online = sum(1 for u in updates if "Create" in u or "Delete" in u)
        if online > 1:
            raise LimitExceededException(
                "Subscriber limit exceeded: Only 1 online index can be created or deleted "
                "simultaneously per table"
            )
        for update in updates:
            if sum(1 for k in ("Create", "Update", "Delete") if update.get(k) is not None) != 1:
                raise ValidationException(
                    f"{_INVALID}One of GlobalSecondaryIndexUpdate.Create, "
                    "GlobalSecondaryIndexUpdate.Update, or GlobalSecondaryIndexUpdate.Delete "
                    "must be specified"
                )
            if "Create" in update:
                spec = update["Create"]
                if table.index(spec["IndexName"]) is not None:
                    raise ValidationException(
                        f"{_INVALID}Index with name: {spec['IndexName']} already exists"
                    )
                if len(table.gsis) >= indexes.MAX_GSIS:
                    raise LimitExceededException(
                        "Subscriber limit exceeded: The number of global secondary indexes for "
                        f"this table exceeds the limit of {indexes.MAX_GSIS}"
                    )
                # AWS wants the new index's key attributes in this request's definitions,
                # even when the table already defines them.
                given = {
                    d["AttributeName"]: d["AttributeType"]
                    for d in request.get("AttributeDefinitions") or []
                }
                indexes.check_defined(
                    [k["AttributeName"] for k in spec.get("KeySchema") or []], given
                )
                types = {k: v["AttributeType"] for k, v in definitions.items()}
                index = indexes.build_index(
                    spec,
                    local=False,
                    number=table.next_index,
                    types=types,
                    table_hash=table.hash_key,
                    billing_mode=table.billing_mode,
                )
                table.next_index += 1
                table.gsis[index.name] = index
                storage.backfill_index(conn, table, index)
                created.append(index.name)
            elif "Delete" in update:
                index_name = update["Delete"]["IndexName"]
                gsi = table.gsis.pop(index_name, None)
                if gsi is None:
                    raise ResourceNotFoundException(
                        f"Requested resource not found: Index: {index_name} not found"
                    )
                storage.drop_index(conn, table, gsi)
                deleted.append(index_name)
            elif "Update" in update:
                spec = update["Update"]
                existing: Index | None = table.gsis.get(spec["IndexName"])
                if existing is None:
                    raise ResourceNotFoundException(
                        f"Requested resource not found: Index: {spec['IndexName']} not found"
                    )
                if spec.get("ProvisionedThroughput") and table.billing_mode == PROVISIONED:
                    existing.throughput = self._new_throughput(
                        existing.throughput or {},
                        spec["ProvisionedThroughput"],
                        self.env.clock.now(),
                        "index",
                    )
                if spec.get("OnDemandThroughput"):
                    existing.on_demand = dict(spec["OnDemandThroughput"])
        # AttributeDefinitions are exactly the key attributes in use.
        used = indexes.key_attribute_names(table)
        missing = used - set(definitions)
        if missing:
            indexes.check_defined(sorted(used), {k: "" for k in definitions})
        table.attribute_definitions = [definitions[n] for n in definitions if n in used]
        indexes.check_projected_total(table)

    def _update_stream(self, table: Table, spec: dict[str, Any], now: float) -> None:
        stream = _stream(spec)
        if stream is not None:
            if table.stream_enabled:
                raise ValidationException(
                    f"Table already has an enabled stream: TableName: {table.name}"
                )
            table.stream = stream
            table.stream_label = new_stream_label(now)
        else:
            if not table.stream_enabled:
                raise ValidationException(
                    f"Table already has no enabled stream: TableName: {table.name}"
                )
            table.stream = None

    # -- delete ---------------------------------------------------------------------------------

    async def delete_table(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = self._name(ctx, request["TableName"])
        table = self._changeable(self._table(ctx, name, describe=True))
        if table.deletion_protection:
            raise ValidationException(
                "Resource cannot be deleted as it is currently protected against deletion. "
                "Disable deletion protection first."
            )
        desc = self._describe(table)
        desc["TableStatus"] = DELETING

        def write(conn: sqlite3.Connection) -> None:
            current = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if current is None or current.id != table.id:
                raise ResourceNotFoundException(
                    f"Requested resource not found: Table: {name} not found"
                )
            self._table_deleted(conn, current)
            self.catalog.retire(conn, current)

        # The table is gone at once; its rows are purged in the background, a few thousand
        # per transaction, so deleting a large table never stalls other requests.
        self.env.store.write(write)
        self._start_purge()
        return {"TableDescription": desc}

    def _start_purge(self) -> None:
        task = self._purge_task
        if task is None or task.done():
            self._purge_task = asyncio.get_running_loop().create_task(self._purge_retired())

    async def _purge_retired(self) -> None:
        """Purge every retired table (those of an interrupted run too) until none is left."""
        store = self.env.store
        while ids := store.read(self.catalog.retired):
            for table_id in ids:
                step = functools.partial(self._purge_step, table_id=table_id)
                while not await store.awrite(step):
                    pass

    def _purge_step(self, conn: sqlite3.Connection, *, table_id: int) -> bool:
        return self.catalog.purge(conn, table_id)

    # -- tags -----------------------------------------------------------------------------------

    def _tagged(self, conn: sqlite3.Connection, ctx: RequestContext, resource: str) -> Table:
        if not resource.startswith("arn:"):
            raise ValidationException(f"ARNs must start with 'arn:': {resource}")
        if ":table/" not in resource:
            raise ValidationException(
                "Invalid TableArn: Invalid ResourceArn provided as input " + resource
            )
        table = self.catalog.by_arn(conn, resource)
        if table is None or table.account_id != ctx.account_id:
            raise ResourceNotFoundException(
                f"Requested resource not found: ResourcArn: {resource} not found"
            )
        return table

    def tag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        if not request["Tags"]:
            raise ValidationException(
                "1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: "
                "Member must have length greater than or equal to 1"
            )
        tags = _tags(request["Tags"])

        def write(conn: sqlite3.Connection) -> None:
            table = self._tagged(conn, ctx, request["ResourceArn"])
            merged = {**table.tags, **tags}
            if len(merged) > _MAX_TAGS:
                raise ValidationException("The number of tags exceeds the limit of 50")
            table.tags = merged
            self.catalog.save(conn, table)

        self.env.store.write(write)
        return {}

    def untag_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        def write(conn: sqlite3.Connection) -> None:
            table = self._tagged(conn, ctx, request["ResourceArn"])
            for key in request["TagKeys"]:
                table.tags.pop(key, None)
            self.catalog.save(conn, table)

        self.env.store.write(write)
        return {}

    def list_tags_of_resource(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        table = self.env.store.read(lambda conn: self._tagged(conn, ctx, request["ResourceArn"]))
        return {"Tags": [{"Key": k, "Value": v} for k, v in table.tags.items()]}
