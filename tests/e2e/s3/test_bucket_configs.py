"""Inventory, analytics, metrics, Intelligent-Tiering and accelerate configurations: stored,
validated, listed and deleted as S3 does."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def s3(client: Any) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"configs-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


INVENTORY = {
    "Destination": {
        "S3BucketDestination": {
            "Bucket": "arn:aws:s3:::inventory-target",
            "Format": "CSV",
            "Prefix": "inv",
        }
    },
    "IsEnabled": True,
    "Id": "daily",
    "IncludedObjectVersions": "Current",
    "OptionalFields": ["Size", "ETag"],
    "Schedule": {"Frequency": "Daily"},
}


def test_inventory_round_trip_list_and_delete(s3: Any, bucket: str) -> None:
    s3.put_bucket_inventory_configuration(
        Bucket=bucket, Id="daily", InventoryConfiguration=INVENTORY
    )
    got = s3.get_bucket_inventory_configuration(Bucket=bucket, Id="daily")
    assert got["InventoryConfiguration"] == INVENTORY
    listed = s3.list_bucket_inventory_configurations(Bucket=bucket)
    assert listed["IsTruncated"] is False
    assert [c["Id"] for c in listed["InventoryConfigurationList"]] == ["daily"]
    s3.delete_bucket_inventory_configuration(Bucket=bucket, Id="daily")
    with pytest.raises(ClientError) as err:
        s3.get_bucket_inventory_configuration(Bucket=bucket, Id="daily")
    assert _code(err) == "NoSuchConfiguration"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        s3.delete_bucket_inventory_configuration(Bucket=bucket, Id="daily")
    assert _code(err) == "NoSuchConfiguration"


def test_inventory_validation(s3: Any, bucket: str) -> None:
    bad = {**INVENTORY, "Schedule": {"Frequency": "Hourly"}}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_inventory_configuration(Bucket=bucket, Id="daily", InventoryConfiguration=bad)
    assert _code(err) == "MalformedXML"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_inventory_configuration(
            Bucket=bucket, Id="other", InventoryConfiguration=INVENTORY
        )
    assert _code(err) == "InvalidArgument"


def test_metrics_pages_of_100(s3: Any, bucket: str) -> None:
    for i in range(105):
        s3.put_bucket_metrics_configuration(
            Bucket=bucket,
            Id=f"m{i:03d}",
            MetricsConfiguration={"Id": f"m{i:03d}", "Filter": {"Prefix": f"p{i}/"}},
        )
    first = s3.list_bucket_metrics_configurations(Bucket=bucket)
    assert first["IsTruncated"] is True
    assert len(first["MetricsConfigurationList"]) == 100
    second = s3.list_bucket_metrics_configurations(
        Bucket=bucket, ContinuationToken=first["NextContinuationToken"]
    )
    assert second["IsTruncated"] is False
    assert [c["Id"] for c in second["MetricsConfigurationList"]] == [
        f"m{i:03d}" for i in range(100, 105)
    ]
    got = s3.get_bucket_metrics_configuration(Bucket=bucket, Id="m007")
    assert got["MetricsConfiguration"] == {"Id": "m007", "Filter": {"Prefix": "p7/"}}


def test_analytics(s3: Any, bucket: str) -> None:
    config = {
        "Id": "a1",
        "Filter": {"Prefix": "docs/"},
        "StorageClassAnalysis": {
            "DataExport": {
                "OutputSchemaVersion": "V_1",
                "Destination": {
                    "S3BucketDestination": {"Format": "CSV", "Bucket": "arn:aws:s3:::dest"}
                },
            }
        },
    }
    s3.put_bucket_analytics_configuration(Bucket=bucket, Id="a1", AnalyticsConfiguration=config)
    got = s3.get_bucket_analytics_configuration(Bucket=bucket, Id="a1")
    assert got["AnalyticsConfiguration"] == config
    listed = s3.list_bucket_analytics_configurations(Bucket=bucket)
    assert [c["Id"] for c in listed["AnalyticsConfigurationList"]] == ["a1"]


def test_intelligent_tiering(s3: Any, bucket: str) -> None:
    config = {
        "Id": "tiers",
        "Status": "Enabled",
        "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}],
    }
    s3.put_bucket_intelligent_tiering_configuration(
        Bucket=bucket, Id="tiers", IntelligentTieringConfiguration=config
    )
    got = s3.get_bucket_intelligent_tiering_configuration(Bucket=bucket, Id="tiers")
    assert got["IntelligentTieringConfiguration"] == config
    too_soon = {**config, "Tierings": [{"Days": 30, "AccessTier": "ARCHIVE_ACCESS"}]}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_intelligent_tiering_configuration(
            Bucket=bucket, Id="tiers", IntelligentTieringConfiguration=too_soon
        )
    assert _code(err) == "InvalidArgument"
    s3.delete_bucket_intelligent_tiering_configuration(Bucket=bucket, Id="tiers")
    listed = s3.list_bucket_intelligent_tiering_configurations(Bucket=bucket)
    assert "IntelligentTieringConfigurationList" not in listed


def test_accelerate(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    s3.put_bucket_accelerate_configuration(
        Bucket=bucket, AccelerateConfiguration={"Status": "Enabled"}
    )
    assert s3.get_bucket_accelerate_configuration(Bucket=bucket)["Status"] == "Enabled"
    s3.put_bucket_accelerate_configuration(
        Bucket=bucket, AccelerateConfiguration={"Status": "Suspended"}
    )
    assert s3.get_bucket_accelerate_configuration(Bucket=bucket)["Status"] == "Suspended"
    dotted = f"dotted.{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=dotted)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_accelerate_configuration(
            Bucket=dotted, AccelerateConfiguration={"Status": "Enabled"}
        )
    assert _code(err) == "InvalidRequest"


def test_configurations_of_a_missing_bucket(s3: Any) -> None:
    with pytest.raises(ClientError) as err:
        s3.list_bucket_metrics_configurations(Bucket=f"missing-{uuid.uuid4().hex[:8]}")
    assert _code(err) == "NoSuchBucket"
