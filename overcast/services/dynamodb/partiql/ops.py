"""PartiQL operations (mixed into DynamoDBProvider).

Each statement is parsed (``parser.py``), planned into the item operation that does its work
(``translate.py``) and run through the provider's own GetItem/Query/Scan/PutItem/UpdateItem/
DeleteItem/TransactGetItems/TransactWriteItems, so validation, conditions, streams and capacity
behave exactly as for those operations. Behaviours AWS adds on top (write statements answer
``Items: []`` unless they have RETURNING, nested projections come back under their last name, a
NextToken belongs to one table) are applied here.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import re
from typing import TYPE_CHECKING, Any

from overcast.errors import ServiceError
from overcast.services.dynamodb.errors import (
    ConditionalCheckFailedException,
    DuplicateItemException,
    TransactionCanceledException,
    ValidationException,
)
from overcast.services.dynamodb.partiql import translate
from overcast.services.dynamodb.partiql.params import check_parameters
from overcast.services.dynamodb.partiql.parser import (
    Delete,
    Exists,
    Insert,
    Select,
    Statement,
    Update,
    parse,
)
from overcast.services.dynamodb.partiql.translate import KeySchema
from overcast.services.dynamodbstreams.codec import decode_item, encode_item

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext
    from overcast.services.dynamodb.models import Table

MAX_BATCH = 25
MAX_TRANSACTION = 100
_PARAM_MISMATCH = "Number of parameters in request and statement don't match."
_MIXED_BATCH = "Read and write requests together in the same batch is not supported"
_BATCH_SELECT = (
    "Select statements within BatchExecuteStatement must specify the primary key in the where "
    "clause."
)
_EXPRESSION_PREFIX = re.compile(r"^Invalid \w*Expression: ")
_DUPLICATE_KEYS = "Provided list of item keys contains duplicates"
_MEMBER = {
    "put_item": "Put",
    "update_item": "Update",
    "delete_item": "Delete",
    "condition_check": "ConditionCheck",
}

# Batch error codes per exception (BatchStatementErrorCodeEnum).
_BATCH_CODES = {
    "ConditionalCheckFailedException": "ConditionalCheckFailed",
    "DuplicateItemException": "DuplicateItem",
    "ValidationException": "ValidationError",
    "ResourceNotFoundException": "ResourceNotFound",
    "ProvisionedThroughputExceededException": "ProvisionedThroughputExceeded",
    "TransactionConflictException": "TransactionConflict",
    "RequestLimitExceeded": "RequestLimitExceeded",
    "ThrottlingException": "ThrottlingError",
    "ItemCollectionSizeLimitExceededException": "ItemCollectionSizeLimitExceeded",
    "InternalServerError": "InternalServerError",
    "AccessDeniedException": "AccessDenied",
}


def _parse(text: str, params: list[dict[str, Any]] | None) -> Statement:
    stmt, count = parse(text)
    if len(params or []) < count:  # extra parameters are ignored, as DynamoDB does
        raise ValidationException(_PARAM_MISMATCH)
    check_parameters(params or [])
    where = stmt.select.where if isinstance(stmt, Exists) else getattr(stmt, "where", None)
    translate.check_operand_types(where, params or [])
    return stmt


def _check_count(entries: list[Any], limit: int, member: str) -> None:
    if len(entries) > limit:
        raise ValidationException(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}"
        )


def _encode_token(stmt: Select, key: dict[str, Any]) -> str:
    doc = {"t": stmt.table, "i": stmt.index, "k": encode_item(key)}
    return base64.b64encode(json.dumps(doc).encode()).decode()


def _decode_token(stmt: Select, token: str) -> dict[str, Any]:
    """The ExclusiveStartKey a NextToken carries; it must come from the same table and index."""
    try:
        doc = json.loads(base64.b64decode(token.encode(), validate=True))
        if not isinstance(doc, dict) or not isinstance(doc.get("k"), dict):
            raise ValueError(token)
        key = decode_item(doc["k"]) or {}
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError, AttributeError) as exc:
        raise ValidationException("Invalid NextToken") from exc
    if doc.get("t") != stmt.table or doc.get("i") != stmt.index:
        raise ValidationException("The provided starting key is invalid")
    return key


def _item_key(request: dict[str, Any], schema: KeySchema) -> str:
    """A write's or read's target item, to refuse batches that name one item twice."""
    key = request.get("Key") or {n: request["Item"].get(n) for n in schema.names}
    return json.dumps([request["TableName"], encode_item(key)], sort_keys=True, default=str)


class PartiqlOps:
    """ExecuteStatement, BatchExecuteStatement and ExecuteTransaction."""

    async def _call(self, operation: str, ctx: RequestContext, request: dict[str, Any]) -> Any:
        try:
            result = getattr(self, operation)(ctx, request)
            if inspect.isawaitable(result):
                result = await result
        except ValidationException as exc:
            # The expressions are ours, not the caller's: PartiQL words expression errors
            # without the "Invalid FilterExpression: " kind of prefix.
            stripped = _EXPRESSION_PREFIX.sub("", exc.error_message, count=1)
            if stripped == exc.error_message:
                raise
            raise ValidationException(stripped, **exc.fields) from exc
        return result

    def _schemas(
        self, ctx: RequestContext, table_name: str, index: str | None = None
    ) -> tuple[KeySchema, KeySchema | None]:
        table: Table = self._table(ctx, table_name)  # type: ignore[attr-defined]
        schema = KeySchema(table.hash_key, table.range_key)
        if index is None:
            return schema, None
        found = table.index(index)
        if found is None:
            raise ValidationException("The table does not have the specified index")
        return schema, KeySchema(found.hash_key, found.range_key)

    def _check_index_read(self, ctx: RequestContext, stmt: Select, consistent: bool) -> None:
        """AWS's rules for a SELECT through an index: no strongly consistent read on a GSI,
        no unprojected attribute in a GSI's projection, and no unprojected attribute in the
        filters of a read keyed on the index partition key."""
        assert stmt.index is not None
        table: Table = self._table(ctx, stmt.table)  # type: ignore[attr-defined]
        index = table.index(stmt.index)
        if index is None:
            raise ValidationException("The table does not have the specified index")
        if consistent and not index.local:
            raise ValidationException(
                "Strongly consistent read is not supported on Global Secondary Indexes"
            )
        projected = index.projects(table)
        if projected is None:
            return
        if stmt.projection is not None and not index.local:
            missing = [
                n for n in dict.fromkeys(str(p.parts[0]) for p in stmt.projection)
                if n not in projected
            ]  # fmt: skip
            if missing:
                raise ValidationException(
                    "One or more parameter values were invalid: Global secondary index "
                    f"{index.name} does not project [{', '.join(missing)}]"
                )
        filters = translate.keyed_filters(stmt.where, index.hash_key)
        if filters is None:
            return
        unprojected = [
            n for node in filters for n in translate.referenced_names(node) if n not in projected
        ]
        if unprojected:
            names = ", ".join(dict.fromkeys(unprojected))
            raise ValidationException(
                "One or more parameter values were invalid: Secondary index "
                f"{index.name} does not project one or more filter attributes: [{names}]"
            )

    def _plan_write(
        self, ctx: RequestContext, stmt: Statement, params: list[dict[str, Any]]
    ) -> tuple[str, dict[str, Any], KeySchema]:
        """(item operation, request, table key schema) of a write statement."""
        if getattr(stmt, "index", None) is not None:
            raise ValidationException("This operation is not supported on an index")
        if isinstance(stmt, Insert):
            schema, _ = self._schemas(ctx, stmt.table)
            return "put_item", translate.plan_insert(stmt, params, schema), schema
        if isinstance(stmt, Update):
            schema, _ = self._schemas(ctx, stmt.table)
            return "update_item", translate.plan_update(stmt, params, schema), schema
        if isinstance(stmt, Delete):
            schema, _ = self._schemas(ctx, stmt.table)
            return "delete_item", translate.plan_delete(stmt, params, schema), schema
        if isinstance(stmt, Exists):
            schema, _ = self._schemas(ctx, stmt.select.table)
            return "condition_check", translate.plan_exists(stmt.select, params, schema), schema
        raise ValidationException("Unsupported statement")

    async def _write(
        self, ctx: RequestContext, stmt: Statement, operation: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return await self._call(operation, ctx, request)  # type: ignore[no-any-return]
        except ConditionalCheckFailedException as exc:
            if isinstance(stmt, Insert):
                raise DuplicateItemException() from exc
            raise

    def _plan_get(
        self, ctx: RequestContext, stmt: Select, params: list[dict[str, Any]], refusal: str
    ) -> tuple[dict[str, Any], KeySchema]:
        """The GetItem of a batch or transaction SELECT, which must name one item."""
        if stmt.index is not None:
            raise ValidationException(refusal)
        schema, _ = self._schemas(ctx, stmt.table)
        plan = translate.plan_select(stmt, params, schema, None)
        if plan.operation != "get_item":
            raise ValidationException(refusal)
        return plan.request, schema

    # -- ExecuteStatement ------------------------------------------------------------------------

    async def execute_statement(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        params = request.get("Parameters") or []
        stmt = _parse(request["Statement"], params)
        if isinstance(stmt, Select):
            return await self._select(ctx, stmt, params, request)
        if isinstance(stmt, Exists):
            raise ValidationException("EXISTS is only supported in ExecuteTransaction")
        if request.get("NextToken"):
            raise ValidationException("NextToken is only supported for SELECT statements")
        operation, req, _ = self._plan_write(ctx, stmt, params)
        for member in ("ReturnValuesOnConditionCheckFailure", "ReturnConsumedCapacity"):
            if request.get(member):
                req[member] = request[member]
        result = await self._write(ctx, stmt, operation, req)
        # RETURNING gives the row (none when nothing was projected); other writes give [].
        out: dict[str, Any] = {"Items": [result["Attributes"]] if result.get("Attributes") else []}
        if "ConsumedCapacity" in result:
            out["ConsumedCapacity"] = result["ConsumedCapacity"]
        return out

    async def _select(
        self,
        ctx: RequestContext,
        stmt: Select,
        params: list[dict[str, Any]],
        request: dict[str, Any],
    ) -> dict[str, Any]:
        table_schema, index_schema = self._schemas(ctx, stmt.table, stmt.index)
        if stmt.index is not None:
            self._check_index_read(ctx, stmt, bool(request.get("ConsistentRead")))
        plan = translate.plan_select(stmt, params, table_schema, index_schema)
        req = plan.request
        if request.get("ConsistentRead"):
            req["ConsistentRead"] = True
        if request.get("ReturnConsumedCapacity"):
            req["ReturnConsumedCapacity"] = request["ReturnConsumedCapacity"]
        start = _decode_token(stmt, request["NextToken"]) if request.get("NextToken") else None
        if plan.operation == "get_item":
            if start is not None:  # the one item was the whole first page
                return {"Items": []}
            result = await self._call("get_item", ctx, req)
            items = [result["Item"]] if "Item" in result else []
            out: dict[str, Any] = {}
        else:
            if request.get("Limit"):
                req["Limit"] = request["Limit"]
            if start is not None:
                req["ExclusiveStartKey"] = start
            result = await self._call(plan.operation, ctx, req)
            items = result.get("Items", [])
            out = {}
            if result.get("LastEvaluatedKey"):
                out["NextToken"] = _encode_token(stmt, result["LastEvaluatedKey"])
                out["LastEvaluatedKey"] = result["LastEvaluatedKey"]
        if stmt.projection is not None:
            items = [translate.project(item, stmt.projection) for item in items]
        out["Items"] = items
        if "ConsumedCapacity" in result:
            out["ConsumedCapacity"] = result["ConsumedCapacity"]
        return out

    # -- BatchExecuteStatement -------------------------------------------------------------------

    async def batch_execute_statement(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        statements = request["Statements"]
        _check_count(statements, MAX_BATCH, "statements")
        planned: list[tuple[Statement, str, dict[str, Any]] | ServiceError] = []
        for entry in statements:
            try:
                planned.append(self._plan_batch_entry(ctx, entry))
            except ServiceError as exc:
                planned.append(exc)
        ok = [p for p in planned if not isinstance(p, ServiceError)]
        if len({isinstance(stmt, Select) for stmt, _, _ in ok}) > 1:
            raise ValidationException(_MIXED_BATCH)
        targets = [req["_target"] for _, _, req in ok]
        if len(set(targets)) != len(targets):
            raise ValidationException(_DUPLICATE_KEYS)
        capacity = request.get("ReturnConsumedCapacity")
        used: list[dict[str, Any]] = []
        responses = []
        for plan in planned:
            responses.append(await self._batch_one(ctx, plan, capacity, used))
        out: dict[str, Any] = {"Responses": responses}
        if capacity and capacity != "NONE":
            out["ConsumedCapacity"] = _sum_capacity(used)
        return out

    def _plan_batch_entry(
        self, ctx: RequestContext, entry: dict[str, Any]
    ) -> tuple[Statement, str, dict[str, Any]]:
        params = entry.get("Parameters") or []
        stmt = _parse(entry["Statement"], params)
        if isinstance(stmt, Select):
            req, schema = self._plan_get(ctx, stmt, params, _BATCH_SELECT)
            if entry.get("ConsistentRead"):
                req["ConsistentRead"] = True
            return stmt, "get_item", {**req, "_target": _item_key(req, schema)}
        if isinstance(stmt, Exists):
            raise ValidationException("EXISTS is only supported in ExecuteTransaction")
        operation, req, schema = self._plan_write(ctx, stmt, params)
        if entry.get("ReturnValuesOnConditionCheckFailure"):
            req["ReturnValuesOnConditionCheckFailure"] = entry[
                "ReturnValuesOnConditionCheckFailure"
            ]
        return stmt, operation, {**req, "_target": _item_key(req, schema)}

    async def _batch_one(
        self,
        ctx: RequestContext,
        plan: tuple[Statement, str, dict[str, Any]] | ServiceError,
        capacity: str | None,
        used: list[dict[str, Any]],
    ) -> dict[str, Any]:
        try:
            if isinstance(plan, ServiceError):
                raise plan
            stmt, operation, req = plan
            req = {k: v for k, v in req.items() if k != "_target"}
            if capacity:
                req["ReturnConsumedCapacity"] = capacity
            result = await self._write(ctx, stmt, operation, req)
            if result.get("ConsumedCapacity"):
                used.append(result["ConsumedCapacity"])
            out: dict[str, Any] = {"TableName": req["TableName"]}
            item = result.get("Item") if operation == "get_item" else result.get("Attributes")
            if item:
                out["Item"] = item
            return out
        except ServiceError as exc:  # per statement; TableName is not echoed on errors
            error: dict[str, Any] = {
                "Code": _BATCH_CODES.get(exc.error_code, exc.error_code),
                "Message": exc.error_message,
            }
            if exc.fields.get("Item"):
                error["Item"] = exc.fields["Item"]
            return {"Error": error}

    # -- ExecuteTransaction ----------------------------------------------------------------------

    async def execute_transaction(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        entries = request["TransactStatements"]
        _check_count(entries, MAX_TRANSACTION, "transactStatements")
        parsed = [_parse(e["Statement"], e.get("Parameters")) for e in entries]
        for i, stmt in enumerate(parsed):
            if getattr(stmt, "returning", None):
                raise ValidationException(
                    f"Validation failed in TransactStatements[{i}]: RETURNING clause is not "
                    "supported in ExecuteTransaction."
                )
        reads = [isinstance(s, Select) for s in parsed]
        if any(reads) and not all(reads):
            raise ValidationException(
                "ExecuteTransaction API does not support both read and write operations in the "
                "same request."
            )
        if all(reads):
            return await self._read_transaction(
                ctx, entries, parsed, request.get("ReturnConsumedCapacity")
            )
        items: list[dict[str, Any]] = []
        for i, (entry, stmt) in enumerate(zip(entries, parsed, strict=True)):
            try:
                operation, req, _ = self._plan_write(ctx, stmt, entry.get("Parameters") or [])
            except ValidationException as exc:
                if isinstance(stmt, Exists) and exc.error_message.startswith("EXISTS()"):
                    raise ValidationException(
                        f"Validation failed in TransactStatements[{i}]: {exc.error_message}"
                    ) from exc
                raise
            if entry.get("ReturnValuesOnConditionCheckFailure"):
                req["ReturnValuesOnConditionCheckFailure"] = entry[
                    "ReturnValuesOnConditionCheckFailure"
                ]
            items.append({_MEMBER[operation]: req})
        write: dict[str, Any] = {"TransactItems": items}
        for name in ("ClientRequestToken", "ReturnConsumedCapacity"):
            if request.get(name):
                write[name] = request[name]
        try:
            result = await self._call("transact_write_items", ctx, write)
        except TransactionCanceledException as exc:
            raise _with_duplicates(exc, parsed) from exc
        out: dict[str, Any] = {"Responses": []}  # a transaction of writes: no entries
        if "ConsumedCapacity" in result:
            out["ConsumedCapacity"] = result["ConsumedCapacity"]
        return out

    async def _read_transaction(
        self,
        ctx: RequestContext,
        entries: list[dict[str, Any]],
        parsed: list[Statement],
        capacity: str | None,
    ) -> dict[str, Any]:
        gets = []
        for i, (entry, stmt) in enumerate(zip(entries, parsed, strict=True)):
            assert isinstance(stmt, Select)
            if stmt.index is not None:
                raise ValidationException(
                    f"Validation failed in TransactStatements[{i}]: Reads on indices are not "
                    "supported within transactions."
                )
            refusal = (
                f"Validation failed in TransactStatements[{i}]: Select statements within "
                "ExecuteTransaction must specify the primary key in the where clause."
            )
            req, _ = self._plan_get(ctx, stmt, entry.get("Parameters") or [], refusal)
            gets.append({"Get": req})
        read: dict[str, Any] = {"TransactItems": gets}
        if capacity:
            read["ReturnConsumedCapacity"] = capacity
        result = await self._call("transact_get_items", ctx, read)
        responses = result.get("Responses", [])
        for stmt, response in zip(parsed, responses, strict=False):
            assert isinstance(stmt, Select)
            if stmt.projection is not None and "Item" in response:
                response["Item"] = translate.project(response["Item"], stmt.projection)
        out: dict[str, Any] = {"Responses": responses}
        if "ConsumedCapacity" in result:
            out["ConsumedCapacity"] = result["ConsumedCapacity"]
        return out


def _sum_capacity(used: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-table ConsumedCapacity of a batch: the members' units added up."""
    tables: dict[str, dict[str, Any]] = {}
    for cc in used:
        total = tables.setdefault(cc["TableName"], {"TableName": cc["TableName"]})
        for member in ("CapacityUnits", "ReadCapacityUnits", "WriteCapacityUnits"):
            if member in cc:
                total[member] = total.get(member, 0.0) + cc[member]
        if "Table" in cc:
            arm = total.setdefault("Table", {})
            for member, value in cc["Table"].items():
                arm[member] = arm.get(member, 0.0) + value
    return list(tables.values())


def _with_duplicates(
    exc: TransactionCanceledException, parsed: list[Statement]
) -> TransactionCanceledException:
    """INSERTs whose not-exists condition failed are reported as DuplicateItem, as AWS does."""
    reasons = list(exc.fields.get("CancellationReasons") or [])
    changed = False
    for i, stmt in enumerate(parsed):
        if (
            i < len(reasons)
            and isinstance(stmt, Insert)
            and reasons[i].get("Code") == "ConditionalCheckFailed"
        ):
            reasons[i] = {"Code": "DuplicateItem", "Message": DuplicateItemException.message}
            changed = True
    if not changed:
        return exc
    codes = ", ".join(r.get("Code", "None") for r in reasons)
    return TransactionCanceledException(
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )
