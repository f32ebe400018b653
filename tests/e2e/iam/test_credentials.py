"""Access keys, login profiles, the password policy and the credential report."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.iam.conftest import advance, error


def test_access_keys(iam: Any, name: Callable[..., str]) -> None:
    user = name("k")
    iam.create_user(UserName=user)
    first = iam.create_access_key(UserName=user)["AccessKey"]
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", first["AccessKeyId"])
    assert len(first["SecretAccessKey"]) == 40
    assert first["Status"] == "Active"
    second = iam.create_access_key(UserName=user)["AccessKey"]
    with pytest.raises(ClientError) as info:
        iam.create_access_key(UserName=user)
    assert error(info) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
    listed = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all("SecretAccessKey" not in k for k in listed)
    iam.update_access_key(UserName=user, AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)[
        "AccessKeyMetadata"]}  # fmt: skip
    assert statuses[first["AccessKeyId"]] == "Inactive"
    iam.delete_access_key(UserName=user, AccessKeyId=first["AccessKeyId"])
    with pytest.raises(ClientError) as info:
        iam.delete_access_key(UserName=user, AccessKeyId=first["AccessKeyId"])
    assert error(info) == (
        "NoSuchEntity",
        f"The Access Key with id {first['AccessKeyId']} cannot be found.",
        404,
    )


def test_access_key_last_used(iam: Any, server: ServerProcess, name: Callable[..., str]) -> None:
    user = name("lu")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    never = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert never["UserName"] == user
    assert never["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    # A request signed with the key records where it was used (the gateway reports it).
    sts = server.client("sts", region="eu-west-1", aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip
    assert sts.get_caller_identity()["Arn"].endswith(f":user/{user}")
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "sts"
    assert used["Region"] == "eu-west-1"
    assert "LastUsedDate" in used


def test_login_profiles(iam: Any, name: Callable[..., str]) -> None:
    user = name("lp")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as info:
        iam.get_login_profile(UserName=user)
    assert error(info)[0] == "NoSuchEntity"
    profile = iam.create_login_profile(
        UserName=user, Password="Correct-Horse-9", PasswordResetRequired=True
    )["LoginProfile"]
    assert profile["UserName"] == user and profile["PasswordResetRequired"] is True
    with pytest.raises(ClientError) as info:
        iam.create_login_profile(UserName=user, Password="another-one-1")
    assert error(info)[0] == "EntityAlreadyExists"
    iam.update_login_profile(UserName=user, PasswordResetRequired=False)
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=user)
    assert error(info)[1] == "Cannot delete entity, must delete login profile first."
    iam.delete_login_profile(UserName=user)
    iam.delete_user(UserName=user)


def test_password_policy(server: ServerProcess, name: Callable[..., str]) -> None:
    # A fresh server: the password policy is account-wide.
    with ServerProcess() as own:
        iam = own.client("iam")
        with pytest.raises(ClientError) as info:
            iam.get_account_password_policy()
        assert error(info)[0] == "NoSuchEntity"
        iam.update_account_password_policy(
            MinimumPasswordLength=10, RequireNumbers=True, RequireSymbols=True, MaxPasswordAge=90
        )
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        assert policy["MinimumPasswordLength"] == 10
        assert policy["RequireNumbers"] is True and policy["RequireUppercaseCharacters"] is False
        assert policy["ExpirePasswords"] is True and policy["MaxPasswordAge"] == 90
        iam.create_user(UserName="pw")
        with pytest.raises(ClientError) as info:
            iam.create_login_profile(UserName="pw", Password="short1!")
        code, message, status = error(info)
        assert (code, status) == ("PasswordPolicyViolation", 400)
        assert "at least 10 characters" in message
        iam.create_login_profile(UserName="pw", Password="long-enough-1!")
        iam.delete_account_password_policy()
        with pytest.raises(ClientError):
            iam.delete_account_password_policy()


def test_credential_report(server: ServerProcess) -> None:
    with ServerProcess() as own:
        iam = own.client("iam")
        with pytest.raises(ClientError) as info:
            iam.get_credential_report()
        assert error(info)[0] == "ReportNotPresent"
        iam.create_user(UserName="rep")
        iam.create_login_profile(UserName="rep", Password="a-password-1")
        iam.create_access_key(UserName="rep")
        assert iam.generate_credential_report()["State"] == "STARTED"
        assert iam.generate_credential_report()["State"] == "COMPLETE"
        report = iam.get_credential_report()
        assert report["ReportFormat"] == "text/csv"
        rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
        assert [r["user"] for r in rows] == ["<root_account>", "rep"]
        row = rows[1]
        assert row["arn"] == "arn:aws:iam::000000000000:user/rep"
        assert row["password_enabled"] == "true"
        assert row["access_key_1_active"] == "true"
        assert row["access_key_2_active"] == "false"
        assert row["mfa_active"] == "false"
        assert list(rows[0]) == [
            "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
            "password_last_changed", "password_next_rotation", "mfa_active",
            "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
            "access_key_1_last_used_region", "access_key_1_last_used_service",
            "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
            "access_key_2_last_used_region", "access_key_2_last_used_service",
            "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
        ]  # fmt: skip
        # Four hours on the clock later the report has expired; generating starts a new one.
        advance(own, 4 * 3600 + 1)
        with pytest.raises(ClientError) as info:
            iam.get_credential_report()
        assert error(info) == (
            "ReportExpired",
            "Credential report has expired. Use GenerateCredentialReport to generate a new one.",
            410,
        )
        assert iam.generate_credential_report()["State"] == "STARTED"
        assert iam.get_credential_report()["ReportFormat"] == "text/csv"


def test_a_user_acting_on_itself(iam: Any, server: ServerProcess, name: Callable[..., str]) -> None:
    """Operations without UserName act on the calling user (GetUser, access keys, passwords)."""
    user = name("self")
    iam.create_user(UserName=user)
    arn = f"arn:aws:iam::000000000000:user/{user}"
    iam.put_user_policy(UserName=user, PolicyName="self", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": arn}],
    }))  # fmt: skip
    iam.create_login_profile(UserName=user, Password="first-password-1")
    key = iam.create_access_key(UserName=user)["AccessKey"]
    me = server.client("iam", aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])  # fmt: skip
    assert me.get_user()["User"]["Arn"] == arn
    listed = me.list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    with pytest.raises(ClientError) as info:
        me.change_password(OldPassword="wrong-password-1", NewPassword="second-password-2")
    assert error(info)[0] == "InvalidInput"
    me.change_password(OldPassword="first-password-1", NewPassword="second-password-2")
    with pytest.raises(ClientError) as info:
        iam.change_password(OldPassword="x", NewPassword="y")  # the root is no IAM user
    assert error(info)[0] == "InvalidUserType"
