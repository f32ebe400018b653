"""Regions and availability zones, from botocore's partition data.

Opt-in regions (launched after March 2019) are reported as ``opted-in``: the emulated account has
every region enabled, but keeps AWS's distinction so scripts that filter on it behave the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from overcast.protocol.models import botocore_data_dir

# Regions AWS ships disabled by default (each must be opted into).
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
        "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
    }
)  # fmt: skip

# Zone letters where a region does not have the usual a, b, c.
_ZONE_LETTERS = {"us-east-1": "abcdef", "us-west-1": "ac", "ap-northeast-1": "acd"}

_DIRECTIONS = {
    "east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw", "gov": "g",
}  # fmt: skip


@dataclass(frozen=True)
class Zone:
    name: str
    zone_id: str
    region: str


@cache
def partition_regions() -> dict[str, tuple[str, ...]]:
    """partition name -> its region names."""
    data = json.loads((botocore_data_dir() / "endpoints.json").read_text())
    return {p["partition"]: tuple(sorted(p["regions"])) for p in data["partitions"]}


def regions_of(partition: str) -> tuple[str, ...]:
    return partition_regions().get(partition, ())


def opt_in_status(region: str) -> str:
    return "opted-in" if region in OPT_IN_REGIONS else "opt-in-not-required"


def _zone_id_prefix(region: str) -> str:
    # us-east-1 -> use1, ap-northeast-2 -> apne2, us-gov-west-1 -> usgw1
    parts = region.split("-")
    return parts[0] + "".join(_DIRECTIONS.get(p, p[:1]) for p in parts[1:-1]) + parts[-1]


def zones_of(region: str) -> tuple[Zone, ...]:
    prefix = _zone_id_prefix(region)
    letters = _ZONE_LETTERS.get(region, "abc")
    return tuple(
        Zone(name=f"{region}{letter}", zone_id=f"{prefix}-az{i}", region=region)
        for i, letter in enumerate(letters, start=1)
    )
