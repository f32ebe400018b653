"""Query and Scan: key conditions to sort-key ranges, Limit and the 1 MB page (both counted
before the filter, as AWS does), Select, projections, parallel-scan segments, and pagination.

Pages are read lazily from a cursor on a reader thread (``Store.aread``), so a scan of a large
table never holds more than one page in memory.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from overcast.errors import ValidationException
from overcast.gateway.context import RequestContext
from overcast.services.dynamodb import capacity, legacy, params, storage, values
from overcast.services.dynamodb.common import DynamoBase
from overcast.services.dynamodb.errors import ResourceNotFoundException
from overcast.services.dynamodb.expressions import Condition, KeyCondition, Projection
from overcast.services.dynamodb.expressions.keys import build_key_condition, key_terms
from overcast.services.dynamodb.expressions.operands import PathOperand
from overcast.services.dynamodb.models import Index, Table

Item = dict[str, Any]
PAGE_BYTES = 1024 * 1024
_INVALID = "One or more parameter values were invalid: "
_SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string above every string that starts with ``prefix``."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def key_bounds(key: KeyCondition) -> dict[str, Any]:
    """``storage.query`` bounds for the key condition's sort-key part."""
    rc = key.range
    if rc is None:
        return {}
    encoded = [storage.sort_bytes(v) for v in rc.values]
    if rc.op == "=":
        return {"low": encoded[0], "high": encoded[0]}
    if rc.op == "<":
        return {"high": encoded[0], "high_inclusive": False}
    if rc.op == "<=":
        return {"high": encoded[0]}
    if rc.op == ">":
        return {"low": encoded[0], "low_inclusive": False}
    if rc.op == ">=":
        return {"low": encoded[0]}
    if rc.op == "BETWEEN":
        return {"low": encoded[0], "high": encoded[1]}
    # begins_with
    return {"low": encoded[0], "high": successor(encoded[0]), "high_inclusive": False}


def referenced(node: Any, out: set[str] | None = None) -> set[str]:
    """The top-level attribute names a parsed condition reads (walks its dataclass tree)."""
    out = set() if out is None else out
    if isinstance(node, PathOperand):
        out.add(str(node.path[0]))
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            referenced(getattr(node, f.name), out)
    elif isinstance(node, list | tuple):
        for member in node:
            referenced(member, out)
    return out


def check_start_values(request: dict[str, Any]) -> None:
    """The values of ExclusiveStartKey, checked with the request (before the table and the key
    conditions), in the older layer's wording."""
    start = request.get("ExclusiveStartKey")
    if start is None:
        return
    try:
        values.validate_item(start, older=True)
    except ValidationException as error:
        raise ValidationException(
            f"The provided starting key is invalid: {error.error_message}"
        ) from None


def scan_request_checks(request: dict[str, Any]) -> None:
    """A Scan's checks that need no table, in AWS's order: ScanFilter values, the start key,
    the segments, then the expressions."""
    if request.get("ScanFilter") is not None:
        legacy.filter_condition(
            request["ScanFilter"], request.get("ConditionalOperator"), older=True
        )
    check_start_values(request)
    check_segments(request.get("Segment"), request.get("TotalSegments"))
    exprs = params.Expressions(request, older=True)
    exprs.filter("ScanFilter")
    exprs.projection()
    exprs.done()


def check_segments(segment: int | None, total: int | None) -> None:
    if segment is not None and total is None:
        raise ValidationException(
            "The TotalSegments parameter is required but was not present in the request "
            "when Segment parameter is present"
        )
    if total is not None and segment is None:
        raise ValidationException(
            "The Segment parameter is required but was not present in the request when "
            "parameter TotalSegments is present"
        )
    if segment is not None and total is not None and segment >= total:
        raise ValidationException(
            "The Segment parameter is zero-based and must be less than parameter "
            f"TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
        )


def check_filter_keys(
    request: dict[str, Any], condition: Condition | None, target: Table | Index
) -> None:
    """A Query's filter may not name the queried table's (or index's) key attributes."""
    if condition is None:
        return
    names = (
        set(request["QueryFilter"])
        if request.get("QueryFilter") is not None
        else referenced(condition)
    )
    for name in target.key_names:
        if name in names:
            raise ValidationException(
                "Filter Expression can only contain non-primary key attributes: Primary key "
                f"attribute: {name}"
            )


@dataclass
class Page:
    items: list[Item] = field(default_factory=list)
    count: int = 0
    scanned: int = 0
    scanned_bytes: int = 0
    last_key: Item | None = None


@dataclass
class Reader:
    """What to read and how to shape it, common to Query and Scan."""

    table: Table
    index: Index | None
    select: str
    projection: Projection | None
    filter: Condition | None
    limit: int | None
    consistent: bool
    fetch_from_table: bool  # LSI reads needing attributes the index does not project

    def page(self, conn: sqlite3.Connection, rows: Iterator[storage.Row]) -> Page:
        """Read until the source ends, ``Limit`` items were read or 1 MB was; in the last two
        cases the page has a LastEvaluatedKey, even when no item follows (as on AWS)."""
        page = Page()
        for item, size in rows:
            page.scanned += 1
            page.scanned_bytes += size
            full = item
            if self.fetch_from_table:
                full = storage.get_item(conn, self.table, item) or item
            if self.filter is None or self.filter.evaluate(full):
                page.count += 1
                if self.select != "COUNT":
                    page.items.append(self.projection.apply(full) if self.projection else full)
            if (self.limit is not None and page.scanned >= self.limit) or (
                page.scanned_bytes >= PAGE_BYTES
            ):
                page.last_key = self.key_of(item)
                break
        return page

    def key_of(self, item: Item) -> Item:
        key = self.table.key_of(item)
        if self.index is not None:
            for name in self.index.key_names:
                key[name] = item[name]
        return key


class QueryOps(DynamoBase):
    def _reader(self, table: Table, request: dict[str, Any], exprs: params.Expressions) -> Reader:
        index: Index | None = None
        index_name = request.get("IndexName")
        if index_name is not None:
            index = table.index(index_name)
            if index is None:
                raise ValidationException(
                    f"The table does not have the specified index: {index_name}"
                )
        consistent = bool(request.get("ConsistentRead"))
        if consistent and index is not None and not index.local:
            raise ValidationException(
                "Consistent reads are not supported on global secondary indexes"
            )
        select = request.get("Select")
        projection = exprs.projection()
        if select is not None and select not in _SELECTS:
            raise ValidationException(
                f"1 validation error detected: Value '{select}' at 'select' failed to satisfy "
                "constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, "
                "ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )
        if projection is not None:
            if select not in (None, "SPECIFIC_ATTRIBUTES"):
                member = (
                    "ProjectionExpression"
                    if request.get("ProjectionExpression") is not None
                    else "AttributesToGet"
                )
                raise ValidationException(
                    f"{_INVALID}Cannot specify the {member} when choosing to get {select}"
                )
            select = "SPECIFIC_ATTRIBUTES"
        elif select == "SPECIFIC_ATTRIBUTES":
            raise ValidationException(
                f"{_INVALID}Must specify the AttributesToGet or ProjectionExpression when "
                "choosing to get SPECIFIC_ATTRIBUTES"
            )
        if select is None:
            select = "ALL_ATTRIBUTES" if index is None else "ALL_PROJECTED_ATTRIBUTES"
        if select == "ALL_PROJECTED_ATTRIBUTES" and index is None:
            raise ValidationException(
                f"{_INVALID}Select type ALL_PROJECTED_ATTRIBUTES is supported only when querying "
                "an index"
            )
        fetch = False
        if index is not None:
            projected = index.projects(table)
            if select == "ALL_ATTRIBUTES" and projected is not None:
                if not index.local:
                    raise ValidationException(
                        f"{_INVALID}Select type ALL_ATTRIBUTES is not supported for global "
                        f"secondary index {index.name} because its projection type is not ALL"
                    )
                fetch = True
            if select == "SPECIFIC_ATTRIBUTES" and projected is not None and index.local:
                assert projection is not None
                fetch = not projection.attributes <= projected
        limit = request.get("Limit")
        return Reader(
            table=table,
            index=index,
            select=select,
            projection=projection,
            filter=None,
            limit=int(limit) if limit is not None else None,
            consistent=consistent,
            fetch_from_table=fetch,
        )

    def _start_key(self, reader: Reader, request: dict[str, Any]) -> Item | None:
        start = request.get("ExclusiveStartKey")
        if start is None:
            return None
        names = set(reader.table.key_names)
        if reader.index is not None:
            names.update(reader.index.key_names)
        types = {d["AttributeName"]: d["AttributeType"] for d in reader.table.attribute_definitions}
        if set(start) != names or any(
            next(iter(start[n]), None) != types.get(n) for n in names if isinstance(start[n], dict)
        ):
            raise ValidationException(
                "The provided starting key is invalid: The provided key element does not match "
                "the schema"
            )
        values.validate_item(start)
        return values.normalize_item(start)

    def _page_output(self, reader: Reader, page: Page, request: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Count": page.count, "ScannedCount": page.scanned}
        if reader.select != "COUNT":
            out["Items"] = page.items
        if page.last_key is not None:
            out["LastEvaluatedKey"] = page.last_key
        mode = request.get("ReturnConsumedCapacity")
        if mode in ("TOTAL", "INDEXES"):
            consumed = capacity.Consumed(reader.table, read=True, label=request["TableName"])
            units = capacity.read_units(page.scanned_bytes, consistent=reader.consistent)
            if reader.index is None:
                consumed.on_table = units
            else:
                consumed.add_index(reader.index.name, units)
            rendered = consumed.render(mode) or {}
            if reader.index is not None and mode == "INDEXES":
                rendered.pop("Table", None)
            out["ConsumedCapacity"] = rendered
        return out

    # -- operations -----------------------------------------------------------------------------

    async def query(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        exprs = params.Expressions(request)
        terms = None
        if request.get("KeyConditionExpression") is not None:
            # Checked before the table is looked up, as AWS does.
            terms = key_terms(
                request["KeyConditionExpression"], exprs.names, exprs.values, exprs.usage
            )
        check_start_values(request)
        try:
            table = self._table(ctx, request["TableName"])
        except ResourceNotFoundException:
            exprs.filter("QueryFilter")  # AWS reports the request's own errors first
            exprs.projection()
            raise
        reader = self._reader(table, request, exprs)
        target: Table | Index = reader.index or table
        start = self._start_key(reader, request)  # before the key conditions, as AWS
        if terms is not None:
            key = build_key_condition(
                terms,
                hash_key=target.hash_key,
                range_key=target.range_key,
                hash_type=target.hash_type,
                range_type=target.range_type,
            )
        elif request.get("KeyConditions") is not None:
            key = legacy.key_conditions(
                request["KeyConditions"],
                hash_key=target.hash_key,
                range_key=target.range_key,
                hash_type=target.hash_type,
                range_type=target.range_type,
            )
        else:
            raise ValidationException(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified "
                "in the request."
            )
        reader.filter = exprs.filter("QueryFilter")
        exprs.done()
        check_filter_keys(request, reader.filter, target)
        if start is not None and not values.equals(start[target.hash_key], key.hash_value):
            raise ValidationException(
                "The provided starting key is outside query boundaries based on provided conditions"
            )
        if (
            start is not None
            and key.range is not None
            and key.range_key is not None
            and not key.range.matches(start.get(key.range_key))
        ):
            raise ValidationException(
                "The provided starting key does not match the range key predicate"
            )
        forward = request.get("ScanIndexForward", True) is not False
        bounds = key_bounds(key)
        self.throttle.check(table, read=True)

        def read(conn: sqlite3.Connection) -> Page:
            rows = storage.query(
                conn,
                table,
                reader.index,
                key.hash_value,
                forward=forward,
                start=start,
                **bounds,
            )
            return reader.page(conn, rows)

        page = await self.env.store.aread(read)
        return self._page_output(reader, page, request)

    async def scan(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        try:
            table = self._table(ctx, request["TableName"])
        except ResourceNotFoundException:
            scan_request_checks(request)  # AWS reports the request's own errors first
            raise
        if request.get("ScanFilter") is not None:  # its values are checked before the start key
            legacy.filter_condition(
                request["ScanFilter"], request.get("ConditionalOperator"), older=True
            )
        check_start_values(request)
        segment, total = request.get("Segment"), request.get("TotalSegments")
        check_segments(segment, total)
        exprs = params.Expressions(request, older=True)
        reader = self._reader(table, request, exprs)
        reader.filter = exprs.filter("ScanFilter")
        exprs.done()
        start = self._start_key(reader, request)
        if start is not None and total is not None and total > 1:
            hash_key = reader.index.hash_key if reader.index is not None else table.hash_key
            hk = storage.partition_bytes(start[hash_key])
            low, high = storage.segment_bounds(segment or 0, total)
            if hk < low or (high is not None and hk >= high):
                raise ValidationException(
                    "The provided Exclusive start key does not map to the provided Segment and "
                    "TotalSegments values."
                )
        self.throttle.check(table, read=True)

        def read(conn: sqlite3.Connection) -> Page:
            rows = storage.scan(
                conn,
                table,
                reader.index,
                segment=segment or 0,
                total_segments=total or 1,
                start=start,
            )
            return reader.page(conn, rows)

        page = await self.env.store.aread(read)
        return self._page_output(reader, page, request)
