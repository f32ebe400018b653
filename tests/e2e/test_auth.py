"""Authentication end to end: known keys are verified and map to their account; unknown keys map
to the default account; accounts are isolated from each other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess

KEY, SECRET, ACCOUNT = "AKIAOVERCASTTEST0001", "s3cr3t/key+value", "111111111111"
BODY = json.dumps({"widgets": []})


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[ServerProcess]:
    proc = ServerProcess(extra_args=["--credentials", f"{KEY}:{SECRET}:{ACCOUNT}"]).start()
    yield proc
    proc.stop()


def known(server: ServerProcess, service: str, secret: str = SECRET) -> Any:
    return server.client(service, aws_access_key_id=KEY, aws_secret_access_key=secret)


def test_known_key_maps_to_its_account(keyed_server: ServerProcess) -> None:
    identity = known(keyed_server, "sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert keyed_server.client("sts").get_caller_identity()["Account"] == "000000000000"


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sts", lambda c: c.get_caller_identity(), "SignatureDoesNotMatch"),  # query
        ("ec2", lambda c: c.describe_regions(), "SignatureDoesNotMatch"),  # ec2
        ("cloudwatch", lambda c: c.list_dashboards(), "InvalidSignatureException"),  # cbor
        ("lambda", lambda c: c.get_account_settings(), "InvalidSignatureException"),  # rest-json
    ],
)
def test_wrong_secret_for_known_key_is_refused(
    keyed_server: ServerProcess, service: str, call: Any, code: str
) -> None:
    with pytest.raises(ClientError) as info:
        call(known(keyed_server, service, secret="wrong"))
    assert info.value.response["Error"]["Code"] == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_accounts_do_not_see_each_other(keyed_server: ServerProcess) -> None:
    mine = known(keyed_server, "cloudwatch")
    default = keyed_server.client("cloudwatch")
    mine.put_dashboard(DashboardName="shared-name", DashboardBody=BODY)
    assert default.list_dashboards(DashboardNamePrefix="shared-name")["DashboardEntries"] == []
    default.put_dashboard(DashboardName="shared-name", DashboardBody=json.dumps({"widgets": [1]}))
    assert mine.get_dashboard(DashboardName="shared-name")["DashboardBody"] == BODY


def test_expired_presigned_url_is_refused(keyed_server: ServerProcess) -> None:
    sts = known(keyed_server, "sts")
    # As `aws eks get-token` does: a GET URL (a minute's validity, so a loaded machine's first
    # request is still in time).
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    ok = requests.get(url, timeout=10)
    assert ok.status_code == 200 and ACCOUNT in ok.text
    # Move the shared clock past the expiry instead of sleeping.
    requests.post(keyed_server.endpoint + "/_overcast/clock", json={"advance": 120}, timeout=10)
    try:
        expired = requests.get(url, timeout=10)
    finally:
        now = requests.get(keyed_server.endpoint + "/_overcast/clock", timeout=10).json()["now"]
        requests.post(
            keyed_server.endpoint + "/_overcast/clock", json={"set": now - 120}, timeout=10
        )
    assert expired.status_code == 403
    assert "expired" in expired.text
