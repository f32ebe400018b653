"""The directory over a real (ephemeral) store: what the gateway and STS learn from IAM's state,
and that its cache follows IAM's writes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from overcast.clock import Clock
from overcast.services.iam import storage, totp
from overcast.services.iam.directory import Directory
from overcast.state import Store

ACCOUNT = "123456789012"
S3_READ_ONLY = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"


def policy(action: str) -> str:
    statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def store() -> Iterator[Store]:
    s = Store.open(None)
    yield s
    s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True)


@pytest.fixture
def directory(store: Store, clock: Clock) -> Directory:
    return Directory(SimpleNamespace(store=store, clock=clock))  # type: ignore[arg-type]


def write(store: Store) -> Callable[[Callable[[sqlite3.Connection], Any]], Any]:
    return lambda fn: storage.write(store, fn)


def user_doc(name: str, **extra: Any) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper():0<17}"[:21], "Path": "/",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "Tags": [], "InlinePolicies": {},
            **extra}  # fmt: skip


def test_unknown_things_are_none(directory: Directory) -> None:
    assert directory.access_key("AKIAUNKNOWN000000000") is None
    assert directory.user(ACCOUNT, "nobody") is None
    assert directory.role(ACCOUNT, "nobody") is None
    assert directory.principal("arn:aws:iam::123456789012:user/nobody") is None
    assert directory.principal("not an arn") is None
    assert directory.mfa_device("arn:aws:iam::123456789012:mfa/none") is None
    assert directory.verify_totp("arn:aws:iam::123456789012:mfa/none", "123456") is False


def test_user_policies_include_groups_and_managed(store: Store, directory: Directory) -> None:
    managed = {"PolicyName": "mine", "Arn": f"arn:aws:iam::{ACCOUNT}:policy/mine",
               "DefaultVersionId": "v2", "Versions": [
                   {"VersionId": "v1", "Document": policy("s3:Old")},
                   {"VersionId": "v2", "Document": policy("s3:New")}]}  # fmt: skip

    def setup(conn: sqlite3.Connection) -> None:
        storage.insert(conn, ACCOUNT, storage.USER, "Alice",
                       user_doc("Alice", InlinePolicies={"i": policy("sqs:*")}))  # fmt: skip
        storage.insert(conn, ACCOUNT, storage.GROUP, "devs",
                       {"GroupName": "devs", "InlinePolicies": {"g": policy("sns:*")}})  # fmt: skip
        storage.insert(conn, ACCOUNT, storage.POLICY, "mine", managed)
        storage.add_member(conn, ACCOUNT, "devs", "Alice")
        storage.attach(conn, ACCOUNT, storage.USER, "Alice", S3_READ_ONLY)
        storage.attach(conn, ACCOUNT, storage.GROUP, "devs", managed["Arn"])

    write(store)(setup)
    record = directory.user(ACCOUNT, "alice")
    assert record is not None and record.name == "Alice" and record.kind == "user"
    actions = [json.loads(p)["Statement"][0]["Action"] for p in record.policies]
    assert actions == ["sqs:*", ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*",
                                 "s3-object-lambda:List*"], "sns:*", "s3:New"]  # fmt: skip
    assert directory.principal(f"arn:aws:iam::{ACCOUNT}:user/Alice") == record


def test_cache_follows_writes(store: Store, directory: Directory) -> None:
    write(store)(lambda c: storage.insert(c, ACCOUNT, storage.USER, "bob", user_doc("bob")))
    assert directory.user(ACCOUNT, "bob").policies == []  # type: ignore[union-attr]

    def add_inline(conn: sqlite3.Connection) -> None:
        doc = storage.get(conn, ACCOUNT, storage.USER, "bob")
        assert doc is not None
        doc["InlinePolicies"]["p"] = policy("s3:*")
        storage.put(conn, ACCOUNT, storage.USER, "bob", doc)

    write(store)(add_inline)
    assert len(directory.user(ACCOUNT, "bob").policies) == 1  # type: ignore[union-attr]
    write(store)(lambda c: storage.delete(c, ACCOUNT, storage.USER, "bob"))
    assert directory.user(ACCOUNT, "bob") is None
    store.reset()
    assert directory.user(ACCOUNT, "bob") is None


def test_roles_by_name_and_session_arn(store: Store, directory: Directory) -> None:
    statement = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                 "Action": "sts:AssumeRole"}  # fmt: skip
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    role = {"RoleName": "app", "RoleId": "AROAEXAMPLE000000000", "Path": "/svc/",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/svc/app", "AssumeRolePolicyDocument": trust,
            "MaxSessionDuration": 7200, "Tags": [{"Key": "team", "Value": "x"}],
            "InlinePolicies": {},
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy",
                                    "PermissionsBoundaryArn": S3_READ_ONLY}}  # fmt: skip
    write(store)(lambda c: storage.insert(c, ACCOUNT, storage.ROLE, "app", role))
    record = directory.role(ACCOUNT, "APP")
    assert record is not None
    assert (record.trust_policy, record.max_session_duration) == (trust, 7200)
    assert record.tags == {"team": "x"}
    assert record.permissions_boundary is not None and "s3:Get*" in record.permissions_boundary
    assert directory.principal(f"arn:aws:iam::{ACCOUNT}:role/svc/app") == record
    assert directory.principal(f"arn:aws:iam::{ACCOUNT}:role/app") is None  # wrong path
    assert directory.principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session") == record


def test_access_keys_and_last_used(store: Store, directory: Directory, clock: Clock) -> None:
    key = {"AccessKeyId": "AKIAEXAMPLE000000001", "SecretAccessKey": "s" * 40,
           "Status": "Active", "UserName": "carol", "CreateDate": 1.0}  # fmt: skip

    def setup(conn: sqlite3.Connection) -> None:
        storage.insert(conn, ACCOUNT, storage.USER, "carol", user_doc("carol"))
        storage.insert_key(conn, ACCOUNT, "carol", key)

    write(store)(setup)
    record = directory.access_key(key["AccessKeyId"])
    assert record is not None
    assert (record.secret, record.status, record.account_id) == ("s" * 40, "Active", ACCOUNT)
    assert record.user_arn == f"arn:aws:iam::{ACCOUNT}:user/carol"
    directory.record_key_used(key["AccessKeyId"], "s3", "eu-west-1")
    found = storage.read(store, lambda c: storage.get_key(c, key["AccessKeyId"]))
    assert found is not None and found[1]["LastUsed"]["ServiceName"] == "s3"
    # Buffered: the same place within a minute is not written again.
    clock.advance(30)
    directory.record_key_used(key["AccessKeyId"], "s3", "eu-west-1")
    found = storage.read(store, lambda c: storage.get_key(c, key["AccessKeyId"]))
    assert found is not None and found[1]["LastUsed"]["LastUsedDate"] == clock.now() - 30


def test_providers_and_mfa(store: Store, directory: Directory, clock: Clock) -> None:
    oidc_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/idp.example.com"
    saml_arn = f"arn:aws:iam::{ACCOUNT}:saml-provider/corp"
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/phone"
    seed = totp.new_seed()

    def setup(conn: sqlite3.Connection) -> None:
        storage.insert(conn, ACCOUNT, storage.OIDC, "idp.example.com", {
            "Arn": oidc_arn, "Url": "https://idp.example.com", "ClientIDList": ["app"],
            "ThumbprintList": ["a" * 40]})  # fmt: skip
        storage.insert(conn, ACCOUNT, storage.SAML, "corp", {
            "Arn": saml_arn, "Name": "corp", "SAMLMetadataDocument": "<md/>"})  # fmt: skip
        storage.insert(conn, ACCOUNT, storage.MFA, "phone", {
            "SerialNumber": serial, "Name": "phone", "Seed": seed,
            "UserArn": f"arn:aws:iam::{ACCOUNT}:user/dan", "UserName": "dan"})  # fmt: skip

    write(store)(setup)
    oidc = directory.oidc_provider(ACCOUNT, oidc_arn)
    assert oidc is not None and oidc.url == "https://idp.example.com"
    assert oidc.client_ids == ["app"] and oidc.thumbprints == ["a" * 40]
    assert directory.oidc_provider("999999999999", oidc_arn) is None
    saml = directory.saml_provider(ACCOUNT, saml_arn)
    assert saml is not None and saml.metadata_document == "<md/>"
    device = directory.mfa_device(serial)
    assert device is not None and device.enabled and device.seed == seed
    now = clock.now()
    assert directory.verify_totp(serial, totp.code_now(seed, now))
    assert directory.verify_totp(serial, totp.code_now(seed, now - 30))  # one step of drift
    assert not directory.verify_totp(serial, totp.code_now(seed, now - 300))
    assert not directory.verify_totp(serial, "abcdef")


def test_role_last_used(store: Store, directory: Directory, clock: Clock) -> None:
    role = {"RoleName": "used", "RoleId": "AROAEXAMPLE000000001", "Path": "/",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/used", "AssumeRolePolicyDocument": "{}",
            "InlinePolicies": {}, "RoleLastUsed": {}}  # fmt: skip
    write(store)(lambda c: storage.insert(c, ACCOUNT, storage.ROLE, "used", role))
    directory.record_role_used(ACCOUNT, "used", "us-west-2")
    doc = storage.read(store, lambda c: storage.get(c, ACCOUNT, storage.ROLE, "used"))
    assert doc is not None
    assert doc["RoleLastUsed"] == {"LastUsedDate": clock.now(), "Region": "us-west-2"}
    directory.record_role_used(ACCOUNT, "missing", "us-west-2")  # an unknown role: nothing
