"""One real operation end to end in every protocol family.

CloudWatch's model lists three protocols (smithy-rpc-v2-cbor, json, query); botocore picks the
first, so the json and query variants are driven through a copy of the model listing only that one
protocol. STS is query, EC2 is ec2, Lambda is rest-json; rest-xml is S3's (tests/e2e/s3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError

from overcast.protocol.models import load_model_json
from overcast.testing import ServerProcess

BODY = json.dumps({"widgets": [{"type": "text", "x": 0, "y": 0, "properties": {"markdown": "hi"}}]})


def cloudwatch_client(server: ServerProcess, protocol: str, tmp: Path) -> Any:
    model = load_model_json("cloudwatch")
    model["metadata"]["protocols"] = [protocol]
    model["metadata"]["protocol"] = protocol
    folder = tmp / protocol / "cloudwatch" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.set_config_variable("data_path", str(tmp / protocol))
    return boto3.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.mark.parametrize("protocol", ["smithy-rpc-v2-cbor", "json", "query"])
def test_cloudwatch_dashboards_in_each_protocol(
    server: ServerProcess, tmp_path: Path, protocol: str
) -> None:
    cw = cloudwatch_client(server, protocol, tmp_path)
    assert cw.meta.service_model.protocol == protocol
    name = f"dash-{protocol}"
    assert (
        cw.put_dashboard(DashboardName=name, DashboardBody=BODY)["DashboardValidationMessages"]
        == []
    )
    got = cw.get_dashboard(DashboardName=name)
    assert got["DashboardBody"] == BODY
    assert got["DashboardArn"] == f"arn:aws:cloudwatch::000000000000:dashboard/{name}"
    entries = cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    assert [e["DashboardName"] for e in entries] == [name]
    assert entries[0]["Size"] == len(BODY)
    with pytest.raises(ClientError) as info:
        cw.get_dashboard(DashboardName=name + "-missing")
    # The query-compatible code, whatever the wire protocol.
    assert info.value.response["Error"]["Code"] == "ResourceNotFound"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    cw.delete_dashboards(DashboardNames=[name])
    assert cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"] == []


def test_invalid_dashboard_body_is_refused(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client("cloudwatch").put_dashboard(DashboardName="bad", DashboardBody="not json")
    assert info.value.response["Error"]["Code"] == "InvalidParameterInput"


def test_delete_dashboards_is_all_or_nothing(client: Any) -> None:
    cw = client("cloudwatch")
    cw.put_dashboard(DashboardName="keep-me", DashboardBody=BODY)
    with pytest.raises(ClientError):
        cw.delete_dashboards(DashboardNames=["keep-me", "never-existed"])
    assert cw.get_dashboard(DashboardName="keep-me")["DashboardName"] == "keep-me"


def test_rest_json_lambda_account_settings(client: Any) -> None:
    settings = client("lambda").get_account_settings()
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountUsage"]["FunctionCount"] == 0
