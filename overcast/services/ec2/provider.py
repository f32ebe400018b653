"""EC2: regions and availability zones (the rest of EC2 is future work)."""

from __future__ import annotations

from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.base import Provider
from overcast.services.ec2.filters import InvalidParameterValue, apply_filters
from overcast.services.ec2.regions import Zone, opt_in_status, regions_of, zones_of


class Ec2Provider(Provider):
    service = "ec2"

    def describe_regions(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        regions = list(regions_of(ctx.partition))
        wanted = request.get("RegionNames")
        if wanted:
            unknown = [r for r in wanted if r not in regions]
            if unknown:
                raise InvalidParameterValue(f"Invalid region names: {', '.join(unknown)}")
            regions = [r for r in regions if r in wanted]
        regions = apply_filters(
            regions,
            request.get("Filters"),
            {
                "region-name": lambda r: r,
                "endpoint": lambda r: _endpoint(r),
                "opt-in-status": opt_in_status,
            },
        )
        return {
            "Regions": [
                {"RegionName": r, "Endpoint": _endpoint(r), "OptInStatus": opt_in_status(r)}
                for r in regions
            ]
        }

    def describe_availability_zones(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        zones = list(zones_of(ctx.region))
        for key, attr in (("ZoneNames", "name"), ("ZoneIds", "zone_id")):
            wanted = request.get(key)
            if wanted:
                known = {getattr(z, attr) for z in zones}
                missing = [w for w in wanted if w not in known]
                if missing:
                    raise InvalidParameterValue(f"The zone '{missing[0]}' does not exist.")
                zones = [z for z in zones if getattr(z, attr) in wanted]
        zones = apply_filters(
            zones,
            request.get("Filters"),
            {
                "zone-name": lambda z: z.name,
                "zone-id": lambda z: z.zone_id,
                "region-name": lambda z: z.region,
                "state": lambda z: "available",
                "zone-type": lambda z: "availability-zone",
                "group-name": lambda z: z.region,
                "opt-in-status": lambda z: "opt-in-not-required",
            },
        )
        return {"AvailabilityZones": [_zone_shape(z) for z in zones]}


def _endpoint(region: str) -> str:
    return f"ec2.{region}.amazonaws.com"


def _zone_shape(zone: Zone) -> dict[str, Any]:
    return {
        "State": "available",
        "OptInStatus": "opt-in-not-required",
        "Messages": [],
        "RegionName": zone.region,
        "ZoneName": zone.name,
        "ZoneId": zone.zone_id,
        "GroupName": zone.region,
        "NetworkBorderGroup": zone.region,
        "ZoneType": "availability-zone",
    }
