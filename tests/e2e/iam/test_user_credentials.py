"""A user's signing certificates, SSH public keys and service-specific credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.e2e.iam.conftest import error
from tests.e2e.iam.test_federation import self_signed


def ssh_key() -> str:
    public = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return raw.decode()


def test_signing_certificates(iam: Any, name: Callable[..., str]) -> None:
    user = name("sc")
    iam.create_user(UserName=user)
    body, _ = self_signed()
    cert = iam.upload_signing_certificate(UserName=user, CertificateBody=body)["Certificate"]
    assert cert["Status"] == "Active" and cert["UserName"] == user
    with pytest.raises(ClientError) as info:
        iam.upload_signing_certificate(UserName=user, CertificateBody=body)
    assert error(info)[0] == "DuplicateCertificate"
    iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed()[0])
    with pytest.raises(ClientError) as info:
        iam.upload_signing_certificate(UserName=user, CertificateBody=self_signed()[0])
    assert error(info)[0] == "LimitExceeded"
    iam.update_signing_certificate(
        UserName=user, CertificateId=cert["CertificateId"], Status="Inactive"
    )
    listed = iam.list_signing_certificates(UserName=user)["Certificates"]
    assert {c["CertificateId"]: c["Status"] for c in listed}[cert["CertificateId"]] == "Inactive"
    with pytest.raises(ClientError) as info:
        iam.delete_user(UserName=user)
    assert error(info)[0] == "DeleteConflict"
    for c in listed:
        iam.delete_signing_certificate(UserName=user, CertificateId=c["CertificateId"])
    iam.delete_user(UserName=user)


def test_ssh_public_keys(iam: Any, name: Callable[..., str]) -> None:
    user = name("ssh")
    iam.create_user(UserName=user)
    body = ssh_key()
    key = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]
    assert key["SSHPublicKeyId"].startswith("APKA") and len(key["SSHPublicKeyId"]) == 20
    assert len(key["Fingerprint"].split(":")) == 16
    with pytest.raises(ClientError) as info:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)
    assert error(info)[0] == "DuplicateSSHPublicKey"
    with pytest.raises(ClientError) as info:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody="ssh-rsa not-a-key")
    assert error(info)[0] == "InvalidPublicKey"
    key_id = key["SSHPublicKeyId"]
    pem = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="PEM")
    assert pem["SSHPublicKey"]["SSHPublicKeyBody"].startswith("-----BEGIN PUBLIC KEY-----")
    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Status="Inactive")
    listed = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert [(k["SSHPublicKeyId"], k["Status"]) for k in listed] == [(key_id, "Inactive")]
    iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=key_id)
    with pytest.raises(ClientError) as info:
        iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=key_id, Encoding="SSH")
    assert error(info)[0] == "NoSuchEntity"


def test_service_specific_credentials(iam: Any, name: Callable[..., str]) -> None:
    user = name("ssc")
    iam.create_user(UserName=user)
    cred = iam.create_service_specific_credential(
        UserName=user, ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    assert cred["ServiceUserName"] == f"{user}-at-000000000000"
    assert cred["ServicePassword"] and cred["Status"] == "Active"
    cred_id = cred["ServiceSpecificCredentialId"]
    reset = iam.reset_service_specific_credential(
        UserName=user, ServiceSpecificCredentialId=cred_id
    )
    assert reset["ServiceSpecificCredential"]["ServicePassword"] != cred["ServicePassword"]
    listed = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [cred_id]
    assert "ServicePassword" not in listed[0]
    with pytest.raises(ClientError) as info:
        iam.create_service_specific_credential(UserName=user, ServiceName="s3.amazonaws.com")
    assert error(info)[0] == "NotSupportedService"
    iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=cred_id)
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"] == []
