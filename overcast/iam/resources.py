"""Condition keys that need a lookup of the resource: ``aws:ResourceTag/*`` and DynamoDB's
``dynamodb:LeadingKeys``. The authorize step asks for them only when a policy of the principal
mentions them.

Tags come from where each service keeps them: IAM's directory for users and roles, the DynamoDB
provider's table catalogue, and otherwise a provider's optional ``_resource_tags(ctx, arn)`` hook
(the seam for services that add one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from overcast.errors import ServiceError

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext
    from overcast.services.iam.directory import Directory

_ITEM_KEY = {"GetItem": "Key", "DeleteItem": "Key", "UpdateItem": "Key", "PutItem": "Item"}
_EQUALS = re.compile(r"^\s*(#?[\w.-]+)\s*=\s*(:[\w-]+)")


def tags(ctx: RequestContext, directory: Directory, arn: str) -> Mapping[str, str] | None:
    """The tags of the resource ``arn`` names, when its service can say."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    service = parts[2]
    if service in ("iam", "sts"):
        record = directory.principal(arn)
        return None if record is None else record.tags
    if service == "dynamodb":
        table = _table(ctx, arn.split(":table/", 1)[-1].split("/", 1)[0])
        return None if table is None else dict(getattr(table, "tags", {}) or {})
    provider = _provider(ctx, service)
    hook = getattr(provider, "_resource_tags", None)
    return hook(ctx, arn) if hook is not None else None


def leading_keys(
    ctx: RequestContext, operation: str, params: Mapping[str, Any], index: int = 0
) -> list[str] | None:
    """The partition-key values a DynamoDB item operation or Query touches; for a batch,
    transaction or PartiQL request, those of its ``index``-th item or statement (the
    ``index``-th check ``requests.checks`` derived: AWS authorizes each one on its own)."""
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return _transact_keys(ctx, params, index)
    if operation in ("ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"):
        return _partiql_keys(ctx, params, operation, index)
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return _batch_keys(ctx, params, operation, index)
    name = str(params.get("TableName", ""))
    table = _table(ctx, name)
    hash_key = getattr(table, "hash_key", None)
    if table is None or hash_key is None:
        return None
    if operation in _ITEM_KEY:
        value = (params.get(_ITEM_KEY[operation]) or {}).get(hash_key)
        return [_scalar(value)] if value is not None else None
    if operation == "Query":
        legacy = (params.get("KeyConditions") or {}).get(hash_key)
        if legacy:
            return [_scalar(v) for v in legacy.get("AttributeValueList", [])]
        expression = str(params.get("KeyConditionExpression", ""))
        names = params.get("ExpressionAttributeNames") or {}
        values = params.get("ExpressionAttributeValues") or {}
        for clause in re.split(r"\s+and\s+", expression, flags=re.IGNORECASE):
            match = _EQUALS.match(clause.strip("() "))
            if match and names.get(match.group(1), match.group(1)) == hash_key:
                value = values.get(match.group(2))
                return [_scalar(value)] if value is not None else None
    return None


def _batch_keys(
    ctx: RequestContext, params: Mapping[str, Any], operation: str, index: int
) -> list[str] | None:
    from overcast.iam.requests import batch_entries

    entries = batch_entries(operation, params)
    if index >= len(entries) or not isinstance(entries[index][1], Mapping):
        return None
    table, key = entries[index]
    hash_key = _hash_key(ctx, table)
    value = key.get(hash_key) if hash_key else None
    return None if value is None else [_scalar(value)]


def _transact_keys(ctx: RequestContext, params: Mapping[str, Any], index: int) -> list[str] | None:
    entries = [
        body
        for item in params.get("TransactItems") or []
        for body in item.values()
        if isinstance(body, Mapping)
    ]
    if index >= len(entries):
        return None
    body = entries[index]
    hash_key = _hash_key(ctx, str(body.get("TableName", "")))
    value = (body.get("Key") or body.get("Item") or {}).get(hash_key) if hash_key else None
    return None if value is None else [_scalar(value)]


# A value: a parameter, a string literal or a number.
_VALUE = r"""\?|'(?:[^']|'')*'|-?[\d.]+"""
# ``"pk" = ?`` / ``pk = 'v'`` after WHERE, AND, OR or "(", ``pk IN [?, 'v']``; ``'pk': ?`` in an
# INSERT's VALUE tuple.
_PARTIQL_WHERE = re.compile(
    rf"""(?:\bwhere|\band|\bor|\()\s*"?([\w.-]+)"?\s*(?:=\s*({_VALUE})|in\s*[\[(]([^\])]*)[\])])""",
    re.IGNORECASE,
)
_PARTIQL_VALUE = re.compile(rf"""'([\w.-]+)'\s*:\s*({_VALUE})""")
_PARTIQL_ITEM = re.compile(_VALUE)


def _partiql_keys(
    ctx: RequestContext, params: Mapping[str, Any], operation: str, index: int
) -> list[str] | None:
    from overcast.iam.requests import partiql_target

    if operation == "ExecuteStatement":
        statements: list[Any] = [params]
    else:
        statements = list(params.get("Statements") or params.get("TransactStatements") or [])
    # Only the statements ``requests`` could read gave a check: index among those.
    readable = [
        (s, target) for s in statements if (target := partiql_target(str(s.get("Statement", ""))))
    ]
    if index >= len(readable):
        return None
    statement, (verb, table) = readable[index]
    hash_key = _hash_key(ctx, table)
    if hash_key is None:
        return None
    text = str(statement.get("Statement", ""))
    parameters = statement.get("Parameters") or []
    pattern = _PARTIQL_VALUE if verb == "Insert" else _PARTIQL_WHERE
    found: list[str] = []
    for match in pattern.finditer(text):
        if match.group(1) != hash_key:
            continue
        if match.group(2) is not None:
            values = [(match.group(2), match.start(2))]
        else:  # IN [...]
            start = match.start(3)
            values = [(m.group(0), start + m.start()) for m in _PARTIQL_ITEM.finditer(match[3])]
        for literal, offset in values:
            if literal != "?":
                found.append(literal.strip("'").replace("''", "'"))
                continue
            position = text[:offset].count("?")
            if position < len(parameters):
                found.append(_scalar(parameters[position]))
    return found or None


def _hash_key(ctx: RequestContext, name: str) -> str | None:
    if name.startswith("arn:"):
        name = name.split(":table/", 1)[-1].split("/", 1)[0]
    return getattr(_table(ctx, name), "hash_key", None)


def _scalar(value: Any) -> str:
    """A DynamoDB attribute value ({"S": "x"}) as the string IAM compares."""
    if isinstance(value, Mapping) and len(value) == 1:
        inner = next(iter(value.values()))
        return inner if isinstance(inner, str) else str(inner)
    return str(value)


def _provider(ctx: RequestContext, service: str) -> Any:
    try:
        return ctx.env.registry.provider(service)
    except (LookupError, ServiceError):  # a service Overcast does not implement
        return None


def _table(ctx: RequestContext, name: str) -> Any:
    provider = _provider(ctx, "dynamodb")
    lookup = getattr(provider, "_table", None)
    if lookup is None or not name:
        return None
    try:
        return lookup(ctx, name)
    except ServiceError:  # no such table: no tags, no key schema (the operation answers)
        return None
