"""The EC2 protocol end to end: DescribeRegions and DescribeAvailabilityZones."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_describe_regions_lists_partition_regions(client: Any) -> None:
    regions = {r["RegionName"]: r for r in client("ec2").describe_regions()["Regions"]}
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    assert regions["us-east-1"]["Endpoint"] == "ec2.us-east-1.amazonaws.com"
    assert regions["us-east-1"]["OptInStatus"] == "opt-in-not-required"
    assert regions["af-south-1"]["OptInStatus"] == "opted-in"


def test_describe_regions_by_name_and_filter(client: Any) -> None:
    ec2 = client("ec2")
    named = ec2.describe_regions(RegionNames=["eu-west-1", "us-west-2"])["Regions"]
    assert sorted(r["RegionName"] for r in named) == ["eu-west-1", "us-west-2"]
    filtered = ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["eu-*"]}])
    assert filtered["Regions"] and all(
        r["RegionName"].startswith("eu-") for r in filtered["Regions"]
    )


def test_describe_regions_unknown_filter_is_an_error(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client("ec2").describe_regions(Filters=[{"Name": "colour", "Values": ["blue"]}])
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_availability_zones_of_the_request_region(client: Any) -> None:
    zones = client("ec2", region="us-west-2").describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert zones[0]["ZoneId"] == "usw2-az1"
    assert all(z["State"] == "available" for z in zones)
