"""PartiQL operations (mixed into DynamoDBProvider).

Each statement is parsed (``parser.py``), planned into the item operation that does its work
(``translate.py``) and run through the provider's own GetItem/Query/Scan/PutItem/UpdateItem/
DeleteItem/TransactGetItems/TransactWriteItems, so validation, conditions, streams and capacity
behave exactly as for those operations.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
from typing import TYPE_CHECKING, Any

from overcast.errors import ServiceError
from overcast.services.dynamodb.errors import (
    ConditionalCheckFailedException,
    DuplicateItemException,
    TransactionCanceledException,
    ValidationException,
)
from overcast.services.dynamodb.partiql import translate
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
    if count != len(params or []):
        raise ValidationException(_PARAM_MISMATCH)
    return stmt


def _check_count(entries: list[Any], limit: int, member: str) -> None:
    if len(entries) > limit:
        raise ValidationException(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {limit}"
        )


def _encode_token(key: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(encode_item(key)).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.b64decode(token.encode(), validate=True))
        if not isinstance(key, dict):
            raise ValueError(token)
        return decode_item(key) or {}
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError, AttributeError) as exc:
        raise ValidationException("Invalid NextToken") from exc


class PartiqlOps:
    """ExecuteStatement, BatchExecuteStatement and ExecuteTransaction."""

    async def _call(self, operation: str, ctx: RequestContext, request: dict[str, Any]) -> Any:
        result = getattr(self, operation)(ctx, request)
        if inspect.isawaitable(result):
            result = await result
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
            raise ValidationException(f"The table does not have the specified index: {index}")
        return schema, KeySchema(found.hash_key, found.range_key)

    def _plan_write(
        self, ctx: RequestContext, stmt: Statement, params: list[dict[str, Any]]
    ) -> tuple[str, dict[str, Any]]:
        """(item operation, request) of a write statement."""
        if isinstance(stmt, Insert):
            schema, _ = self._schemas(ctx, stmt.table)
            return "put_item", translate.plan_insert(stmt, params, schema)
        if isinstance(stmt, Update):
            schema, _ = self._schemas(ctx, stmt.table)
            return "update_item", translate.plan_update(stmt, params, schema)
        if isinstance(stmt, Delete):
            schema, _ = self._schemas(ctx, stmt.table)
            return "delete_item", translate.plan_delete(stmt, params, schema)
        if isinstance(stmt, Exists):
            schema, _ = self._schemas(ctx, stmt.select.table)
            return "condition_check", translate.plan_exists(stmt.select, params, schema)
        raise ValidationException("Unsupported statement")

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
        operation, req = self._plan_write(ctx, stmt, params)
        if request.get("ReturnValuesOnConditionCheckFailure"):
            req["ReturnValuesOnConditionCheckFailure"] = request[
                "ReturnValuesOnConditionCheckFailure"
            ]
        if request.get("ReturnConsumedCapacity"):
            req["ReturnConsumedCapacity"] = request["ReturnConsumedCapacity"]
        try:
            result = await self._call(operation, ctx, req)
        except ConditionalCheckFailedException as exc:
            if isinstance(stmt, Insert):
                raise DuplicateItemException() from exc
            raise
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
        plan = translate.plan_select(stmt, params, table_schema, index_schema)
        req = plan.request
        if request.get("ConsistentRead"):
            req["ConsistentRead"] = True
        if request.get("ReturnConsumedCapacity"):
            req["ReturnConsumedCapacity"] = request["ReturnConsumedCapacity"]
        if plan.operation == "get_item":
            if request.get("NextToken"):
                return {"Items": []}
            result = await self._call("get_item", ctx, req)
            out: dict[str, Any] = {"Items": [result["Item"]] if "Item" in result else []}
        else:
            if request.get("Limit"):
                req["Limit"] = request["Limit"]
            if request.get("NextToken"):
                req["ExclusiveStartKey"] = _decode_token(request["NextToken"])
            result = await self._call(plan.operation, ctx, req)
            out = {"Items": result.get("Items", [])}
            if result.get("LastEvaluatedKey"):
                out["NextToken"] = _encode_token(result["LastEvaluatedKey"])
                out["LastEvaluatedKey"] = result["LastEvaluatedKey"]
        if "ConsumedCapacity" in result:
            out["ConsumedCapacity"] = result["ConsumedCapacity"]
        return out

    # -- BatchExecuteStatement -------------------------------------------------------------------

    async def batch_execute_statement(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        statements = request["Statements"]
        _check_count(statements, MAX_BATCH, "statements")
        parsed: list[Statement | ServiceError] = []
        for entry in statements:
            try:
                parsed.append(_parse(entry["Statement"], entry.get("Parameters")))
            except ServiceError as exc:
                parsed.append(exc)
        kinds = {isinstance(s, Select) for s in parsed if not isinstance(s, ServiceError)}
        if len(kinds) > 1:
            raise ValidationException(
                "Statements in a batch must be either all reads (SELECT) or all writes"
            )
        responses = []
        for entry, stmt in zip(statements, parsed, strict=True):
            responses.append(await self._batch_one(ctx, entry, stmt))
        return {"Responses": responses}

    async def _batch_one(
        self, ctx: RequestContext, entry: dict[str, Any], stmt: Statement | ServiceError
    ) -> dict[str, Any]:
        table = None
        try:
            if isinstance(stmt, ServiceError):
                raise stmt
            params = entry.get("Parameters") or []
            if isinstance(stmt, Select):
                table = stmt.table
                schema, index = self._schemas(ctx, stmt.table, stmt.index)
                plan = translate.plan_select(stmt, params, schema, index)
                if plan.operation != "get_item":
                    raise ValidationException(
                        "Batch select statements must specify the full primary key "
                        "with equality conditions"
                    )
                if entry.get("ConsistentRead"):
                    plan.request["ConsistentRead"] = True
                result = await self._call("get_item", ctx, plan.request)
                out: dict[str, Any] = {"TableName": table}
                if "Item" in result:
                    out["Item"] = result["Item"]
                return out
            if isinstance(stmt, Exists):
                raise ValidationException("EXISTS is only supported in ExecuteTransaction")
            table = stmt.table
            operation, req = self._plan_write(ctx, stmt, params)
            if entry.get("ReturnValuesOnConditionCheckFailure"):
                req["ReturnValuesOnConditionCheckFailure"] = entry[
                    "ReturnValuesOnConditionCheckFailure"
                ]
            try:
                await self._call(operation, ctx, req)
            except ConditionalCheckFailedException as exc:
                if isinstance(stmt, Insert):
                    raise DuplicateItemException() from exc
                raise
            return {"TableName": table}
        except ServiceError as exc:
            error: dict[str, Any] = {
                "Code": _BATCH_CODES.get(exc.error_code, exc.error_code),
                "Message": exc.error_message,
            }
            if exc.fields.get("Item"):
                error["Item"] = exc.fields["Item"]
            out = {"Error": error}
            if table is not None:
                out["TableName"] = table
            return out

    # -- ExecuteTransaction ----------------------------------------------------------------------

    async def execute_transaction(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        entries = request["TransactStatements"]
        _check_count(entries, MAX_TRANSACTION, "transactStatements")
        parsed = [_parse(e["Statement"], e.get("Parameters")) for e in entries]
        reads = [isinstance(s, Select) for s in parsed]
        if any(reads) and not all(reads):
            raise ValidationException(
                "Transaction statements must be either all reads (SELECT) or all writes"
            )
        if all(reads):
            return await self._read_transaction(ctx, entries, parsed)
        items: list[dict[str, Any]] = []
        member = {
            "put_item": "Put",
            "update_item": "Update",
            "delete_item": "Delete",
            "condition_check": "ConditionCheck",
        }
        for entry, stmt in zip(entries, parsed, strict=True):
            operation, req = self._plan_write(ctx, stmt, entry.get("Parameters") or [])
            req.pop("ReturnValues", None)
            if entry.get("ReturnValuesOnConditionCheckFailure"):
                req["ReturnValuesOnConditionCheckFailure"] = entry[
                    "ReturnValuesOnConditionCheckFailure"
                ]
            items.append({member[operation]: req})
        write: dict[str, Any] = {"TransactItems": items}
        for name in ("ClientRequestToken", "ReturnConsumedCapacity"):
            if request.get(name):
                write[name] = request[name]
        try:
            result = await self._call("transact_write_items", ctx, write)
        except TransactionCanceledException as exc:
            raise _with_duplicates(exc, parsed) from exc
        out: dict[str, Any] = {}
        if "ConsumedCapacity" in result:
            out["ConsumedCapacity"] = result["ConsumedCapacity"]
        return out

    async def _read_transaction(
        self, ctx: RequestContext, entries: list[dict[str, Any]], parsed: list[Statement]
    ) -> dict[str, Any]:
        gets = []
        for entry, stmt in zip(entries, parsed, strict=True):
            assert isinstance(stmt, Select)
            schema, index = self._schemas(ctx, stmt.table, stmt.index)
            plan = translate.plan_select(stmt, entry.get("Parameters") or [], schema, index)
            if plan.operation != "get_item":
                raise ValidationException(
                    "Transaction select statements must specify the full primary key "
                    "with equality conditions"
                )
            gets.append({"Get": plan.request})
        result = await self._call("transact_get_items", ctx, {"TransactItems": gets})
        return {"Responses": result.get("Responses", [])}


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
