"""Key schemas and secondary indexes: their validation at CreateTable/UpdateTable, with AWS's
messages, and the checks an item's index key attributes must pass on every write."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from overcast.errors import ValidationException
from overcast.services.dynamodb.models import PROVISIONED, Index, Table

MAX_GSIS = 20
MAX_LSIS = 5
MAX_PROJECTED = 100  # NonKeyAttributes over all indexes of a table
_INVALID = "One or more parameter values were invalid: "


def key_schema(schema: Sequence[Mapping[str, str]]) -> tuple[str, str | None]:
    """(hash key, range key) of a KeySchema, checked as AWS checks it."""
    if not schema:
        raise ValidationException(_INVALID + "KeySchema must not be empty")
    if len(schema) > 2:
        shown = ", ".join(
            f"KeySchemaElement(attributeName={e.get('AttributeName')}, keyType={e.get('KeyType')})"
            for e in schema
        )
        raise ValidationException(
            f"1 validation error detected: Value '[{shown}]' at 'keySchema' failed to satisfy "
            "constraint: Member must have length less than or equal to 2"
        )
    # A repeated name is reported before the key types (AWS: [a HASH, a HASH] is "same name").
    if len(schema) == 2 and schema[0].get("AttributeName") == schema[1].get("AttributeName"):
        raise ValidationException(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name"
        )
    if schema[0].get("KeyType") != "HASH":
        raise ValidationException(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
        )
    if len(schema) == 1:
        return schema[0]["AttributeName"], None
    if schema[1].get("KeyType") != "RANGE":
        raise ValidationException(
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"
        )
    return schema[0]["AttributeName"], schema[1]["AttributeName"]


def attribute_types(definitions: Sequence[Mapping[str, str]]) -> dict[str, str]:
    types: dict[str, str] = {}
    for d in definitions:
        name = d["AttributeName"]
        if name in types:
            raise ValidationException(
                f"{_INVALID}Duplicate AttributeName in AttributeDefinitions: {name}"
            )
        types[name] = d["AttributeType"]
    return types


def check_defined(names: Iterable[str], types: Mapping[str, str]) -> None:
    names = list(names)
    if any(n not in types for n in names):
        raise ValidationException(
            f"{_INVALID}Some index key attributes are not defined in AttributeDefinitions. "
            f"Keys: [{', '.join(names)}], AttributeDefinitions: [{', '.join(types)}]"
        )


def projection(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    """A Projection as stored and described, checked."""
    spec = dict(spec or {})
    kind = spec.get("ProjectionType")
    if kind is None:
        raise ValidationException(f"{_INVALID}Unknown ProjectionType: null")
    non_key = spec.get("NonKeyAttributes")
    if kind == "INCLUDE":
        if not non_key:
            raise ValidationException(
                f"{_INVALID}ProjectionType is INCLUDE, but NonKeyAttributes is not specified"
            )
        if len(set(non_key)) != len(non_key):
            raise ValidationException(
                f"{_INVALID}Duplicate attribute names in NonKeyAttributes: {non_key}"
            )
        return {"ProjectionType": kind, "NonKeyAttributes": list(non_key)}
    if non_key is not None:
        raise ValidationException(
            f"{_INVALID}ProjectionType is {kind}, but NonKeyAttributes is specified"
        )
    return {"ProjectionType": kind}


def throughput(spec: Mapping[str, Any] | None) -> dict[str, Any]:
    spec = spec or {}
    return {
        "ReadCapacityUnits": int(spec.get("ReadCapacityUnits", 0)),
        "WriteCapacityUnits": int(spec.get("WriteCapacityUnits", 0)),
        "NumberOfDecreasesToday": 0,
    }


def build_index(
    spec: Mapping[str, Any],
    *,
    local: bool,
    number: int,
    types: Mapping[str, str],
    table_hash: str,
    billing_mode: str,
) -> Index:
    """An Index from a GlobalSecondaryIndex/LocalSecondaryIndex spec (AWS's checks)."""
    name = spec["IndexName"]
    hash_key, range_key = key_schema(spec["KeySchema"])
    check_defined([hash_key, *([range_key] if range_key else [])], types)
    if local:
        if hash_key != table_hash:
            raise ValidationException(
                f"{_INVALID}Index KeySchema does not have the same leading hash key as table "
                f"KeySchema for index: {name}. index hash key: {hash_key}, table hash key: "
                f"{table_hash}"
            )
        if range_key is None:
            raise ValidationException(
                f"{_INVALID}Index KeySchema for a local secondary index must have a range key: "
                f"{name}"
            )
    index = Index(
        name=name,
        local=local,
        number=number,
        hash_key=hash_key,
        hash_type=types[hash_key],
        range_key=range_key,
        range_type=types[range_key] if range_key else None,
        projection=projection(spec.get("Projection")),
    )
    if not local:
        given = spec.get("ProvisionedThroughput")
        if billing_mode == PROVISIONED:
            if not given:
                raise ValidationException(
                    f"{_INVALID}ProvisionedThroughput must be specified for index: {name}"
                )
            index.throughput = throughput(given)
        else:
            if given:
                raise ValidationException(
                    f"{_INVALID}ProvisionedThroughput should not be specified for index: {name} "
                    "when BillingMode is PAY_PER_REQUEST"
                )
            index.throughput = throughput(None)
        if spec.get("OnDemandThroughput"):
            index.on_demand = dict(spec["OnDemandThroughput"])
    return index


def check_projected_total(table: Table) -> None:
    total = sum(len(i.projection.get("NonKeyAttributes") or []) for i in table.indexes)
    if total > MAX_PROJECTED:
        raise ValidationException(
            f"{_INVALID}The number of projected attributes in all indexes exceeds the per-table "
            f"limit of {MAX_PROJECTED}"
        )


def key_attribute_names(table: Table) -> set[str]:
    """Every attribute used in a key of the table or its indexes (AttributeDefinitions must be
    exactly these)."""
    names = set(table.key_names)
    for index in table.indexes:
        names.update(index.key_names)
    return names


def check_definitions_used(table: Table) -> None:
    used = key_attribute_names(table)
    defined = {d["AttributeName"] for d in table.attribute_definitions}
    if defined != used:
        raise ValidationException(
            f"{_INVALID}Number of attributes in KeySchema does not exactly match number of "
            "attributes defined in AttributeDefinitions"
        )


# --- items -------------------------------------------------------------------------------------

MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024


def _key_value_size(value: Mapping[str, Any]) -> int:
    if "S" in value:
        text: str = value["S"]
        return len(text) if text.isascii() else len(text.encode("utf-8"))
    if "B" in value:
        return len(value["B"])
    return 0  # numbers are at most 21 bytes


def check_key_sizes(table: Table, item: Mapping[str, Any]) -> None:
    """Partition keys up to 2048 bytes, sort keys up to 1024 (AWS's messages)."""
    if _key_value_size(item[table.hash_key]) > MAX_HASH_KEY_BYTES:
        raise ValidationException(
            f"{_INVALID}Size of hashkey has exceeded the maximum size limit of"
            f"{MAX_HASH_KEY_BYTES} bytes"
        )
    if table.range_key is not None and (
        _key_value_size(item[table.range_key]) > MAX_RANGE_KEY_BYTES
    ):
        raise ValidationException(
            f"{_INVALID}Aggregated size of all range keys has exceeded the size limit of "
            f"{MAX_RANGE_KEY_BYTES} bytes"
        )


def check_item_keys(table: Table, item: Mapping[str, Any]) -> None:
    """An item written to ``table`` has its primary key with the right types, and any index key
    attribute it has is of the index's type and not empty."""
    for name, kind in ((table.hash_key, table.hash_type), (table.range_key, table.range_type)):
        if name is None:
            continue
        value = item.get(name)
        if value is None:
            raise ValidationException(f"{_INVALID}Missing the key {name} in the item")
        actual = next(iter(value))
        if actual != kind:
            raise ValidationException(
                f"{_INVALID}Type mismatch for key {name} expected: {kind} actual: {actual}"
            )
        if (actual == "S" and value["S"] == "") or (actual == "B" and len(value["B"]) == 0):
            kind_text = "string" if actual == "S" else "binary"
            raise ValidationException(
                "One or more parameter values are not valid. The AttributeValue for a key "
                f"attribute cannot contain an empty {kind_text} value. Key: {name}"
            )
    check_key_sizes(table, item)
    # AWS names the alphabetically first index whose key the item breaks.
    ordered = table.indexes
    if len(ordered) > 1:
        ordered = sorted(ordered, key=lambda index: index.name)
    for index in ordered:
        for name, kind in ((index.hash_key, index.hash_type), (index.range_key, index.range_type)):
            if name is None or name in table.key_names:
                continue
            value = item.get(name)
            if value is None:
                continue
            actual = next(iter(value))
            if actual != kind:
                raise ValidationException(
                    f"{_INVALID}Type mismatch for Index Key {name} Expected: {kind} "
                    f"Actual: {actual} IndexName: {index.name}"
                )
            if (actual == "S" and value["S"] == "") or (actual == "B" and len(value["B"]) == 0):
                kind_text = "string" if actual == "S" else "binary"
                raise ValidationException(
                    "One or more parameter values are not valid. A value specified for a "
                    "secondary index key is not supported. The AttributeValue for a key "
                    f"attribute cannot contain an empty {kind_text} value. IndexName: "
                    f"{index.name}, IndexKey: {name}"
                )
