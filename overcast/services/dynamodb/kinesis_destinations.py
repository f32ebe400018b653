"""DynamoDB: Kinesis streaming destinations (EnableKinesisStreamingDestination and kin).

Destinations are kept in ``table.settings["kinesis"]`` (stream ARN -> destination) and reported;
records are not sent anywhere yet (Overcast has no Kinesis). A table streams to at most two
destinations at once, as on AWS.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from overcast.services.dynamodb.errors import (
    ResourceInUseException,
    ResourceNotFoundException,
    ValidationException,
)
from overcast.services.dynamodb.models import ACTIVE, Table

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext
    from overcast.services.base import ServiceEnv
    from overcast.services.dynamodb.storage import Catalog

_KINESIS_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[A-Za-z0-9_.-]+$")

Change = Callable[[Table, dict[str, Any], "dict[str, Any] | None"], dict[str, Any]]


class KinesisDestinationOps:
    """Kinesis streaming destinations (a base of GlobalTableOps)."""

    env: ServiceEnv
    catalog: Catalog

    def _kinesis_change(
        self,
        ctx: RequestContext,
        request: dict[str, Any],
        change: Change,
    ) -> dict[str, Any]:
        stream_arn = request["StreamArn"]
        if not _KINESIS_ARN.match(stream_arn):
            raise ValidationException(f"Invalid StreamArn: {stream_arn}")
        name = self._table(ctx, request["TableName"]).name  # type: ignore[attr-defined]

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            table = self.catalog.load(conn, ctx.account_id, ctx.region, name)
            if table is None:
                raise ResourceNotFoundException()
            destinations = dict(table.settings.get("kinesis") or {})
            result = change(table, destinations, destinations.get(stream_arn))
            table.settings["kinesis"] = destinations
            self.catalog.save(conn, table)
            return result

        return self.env.store.write(write)

    def enable_kinesis_streaming_destination(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        config = request.get("EnableKinesisStreamingConfiguration") or {}
        precision = config.get("ApproximateCreationDateTimePrecision") or "MILLISECOND"

        def change(table: Table, dests: dict[str, Any], current: dict | None) -> dict[str, Any]:
            if current is not None and current["DestinationStatus"] == ACTIVE:
                raise ValidationException(
                    f"Table {table.name} is already streaming to {request['StreamArn']}"
                )
            active = [d for d in dests.values() if d["DestinationStatus"] == ACTIVE]
            if len(active) >= 2:
                raise ValidationException("A table can stream to at most 2 Kinesis data streams")
            dests[request["StreamArn"]] = {
                "StreamArn": request["StreamArn"],
                "DestinationStatus": ACTIVE,
                "ApproximateCreationDateTimePrecision": precision,
            }
            return {
                "TableName": table.name,
                "StreamArn": request["StreamArn"],
                "DestinationStatus": "ENABLING",
                "EnableKinesisStreamingConfiguration": {
                    "ApproximateCreationDateTimePrecision": precision
                },
            }

        return self._kinesis_change(ctx, request, change)

    def disable_kinesis_streaming_destination(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        def change(table: Table, dests: dict[str, Any], current: dict | None) -> dict[str, Any]:
            if current is None or current["DestinationStatus"] != ACTIVE:
                raise ResourceNotFoundException(
                    f"Table {table.name} is not streaming to {request['StreamArn']}"
                )
            dests[request["StreamArn"]] = {**current, "DestinationStatus": "DISABLED"}
            return {
                "TableName": table.name,
                "StreamArn": request["StreamArn"],
                "DestinationStatus": "DISABLING",
                "EnableKinesisStreamingConfiguration": {
                    "ApproximateCreationDateTimePrecision": current[
                        "ApproximateCreationDateTimePrecision"
                    ]
                },
            }

        return self._kinesis_change(ctx, request, change)

    def update_kinesis_streaming_destination(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        config = request.get("UpdateKinesisStreamingConfiguration") or {}
        precision = config.get("ApproximateCreationDateTimePrecision")

        def change(table: Table, dests: dict[str, Any], current: dict | None) -> dict[str, Any]:
            if current is None or current["DestinationStatus"] != ACTIVE:
                raise ResourceNotFoundException(
                    f"Table {table.name} is not streaming to {request['StreamArn']}"
                )
            if not precision:
                raise ValidationException(
                    "UpdateKinesisStreamingConfiguration must specify "
                    "ApproximateCreationDateTimePrecision"
                )
            if precision == current["ApproximateCreationDateTimePrecision"]:
                raise ResourceInUseException(
                    "The destination is already configured with "
                    f"ApproximateCreationDateTimePrecision {precision}"
                )
            dests[request["StreamArn"]] = {
                **current,
                "ApproximateCreationDateTimePrecision": precision,
            }
            return {
                "TableName": table.name,
                "StreamArn": request["StreamArn"],
                "DestinationStatus": "UPDATING",
                "UpdateKinesisStreamingConfiguration": {
                    "ApproximateCreationDateTimePrecision": precision
                },
            }

        return self._kinesis_change(ctx, request, change)

    def describe_kinesis_streaming_destination(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        table = self._table(ctx, request["TableName"], describe=True)  # type: ignore[attr-defined]
        dests = table.settings.get("kinesis") or {}
        return {"TableName": table.name, "KinesisDataStreamDestinations": list(dests.values())}
