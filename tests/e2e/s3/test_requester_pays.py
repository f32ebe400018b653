"""Requester Pays: the bucket setting, and other accounts refused (403) unless they send
``x-amz-request-payer: requester``; the owner never needs it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import ACCOUNT, anonymous_get, error_of, new_bucket


def _shared_bucket(s3: Any) -> str:
    """A Requester Pays bucket whose policy lets the other account read and write."""
    name = new_bucket(s3)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
            }
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    s3.put_object(Bucket=name, Key="data", Body=b"paid")
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"})
    return name


def test_setting_round_trip(s3: Any) -> None:
    name = new_bucket(s3)
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"})
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "Requester"
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    assert s3.get_bucket_request_payment(Bucket=name)["Payer"] == "BucketOwner"
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_request_payment(
            Bucket=name, RequestPaymentConfiguration={"Payer": "Somebody"}
        )
    assert error_of(exc) == ("MalformedXML", 400)


def test_owner_needs_no_header(s3: Any) -> None:
    name = _shared_bucket(s3)
    assert s3.get_object(Bucket=name, Key="data")["Body"].read() == b"paid"


def test_other_account_must_agree_to_pay(s3: Any, other: Any) -> None:
    name = _shared_bucket(s3)
    with pytest.raises(ClientError) as exc:
        other.get_object(Bucket=name, Key="data")
    assert error_of(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        other.list_objects_v2(Bucket=name)
    assert error_of(exc) == ("AccessDenied", 403)
    response = other.get_object(Bucket=name, Key="data", RequestPayer="requester")
    assert response["Body"].read() == b"paid"
    assert response["RequestCharged"] == "requester"
    other.put_object(Bucket=name, Key="up", Body=b"x", RequestPayer="requester")
    listed = other.list_objects_v2(Bucket=name, RequestPayer="requester")
    assert {o["Key"] for o in listed["Contents"]} == {"data", "up"}


def test_anonymous_refused(s3: Any, keyed_server: ServerProcess) -> None:
    name = new_bucket(s3, public=True)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{name}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    s3.put_object(Bucket=name, Key="open", Body=b"x")
    assert anonymous_get(keyed_server, f"/{name}/open").status_code == 200
    s3.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"})
    assert anonymous_get(keyed_server, f"/{name}/open").status_code == 403
