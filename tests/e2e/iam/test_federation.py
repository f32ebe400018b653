"""OpenID Connect and SAML providers, and server certificates."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.iam.conftest import error

METADATA = (
    '<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"'
    ' entityID="https://idp.example.com/" validUntil="2031-01-01T00:00:00Z">'
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"'
    ' Location="https://idp.example.com/sso"/></md:IDPSSODescriptor>'
    + "<!-- " + "padding " * 120 + "-->"
    + "</md:EntityDescriptor>"
)  # fmt: skip


def self_signed(days: int = 30) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    return pem, private


def test_oidc_provider(iam: Any, name: Callable[..., str]) -> None:
    host = f"{name('idp')}.example.com"
    arn = iam.create_open_id_connect_provider(
        Url=f"https://{host}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40],
        Tags=[{"Key": "k", "Value": "v"}],
    )["OpenIDConnectProviderArn"]  # fmt: skip
    assert arn == f"arn:aws:iam::000000000000:oidc-provider/{host}"
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == host
    assert got["ClientIDList"] == ["sts.amazonaws.com"]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="app")
    iam.remove_client_id_from_open_id_connect_provider(
        OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com"
    )
    iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=arn, ThumbprintList=["b" * 40]
    )
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["app"] and got["ThumbprintList"] == ["b" * 40]
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "k", "Value": "v"}
    ]
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed
    with pytest.raises(ClientError) as info:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ClientIDList=["x"])
    assert error(info)[0] == "EntityAlreadyExists"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as info:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error(info)[0] == "NoSuchEntity"


def test_saml_provider(iam: Any, name: Callable[..., str]) -> None:
    provider = name("saml")
    arn = iam.create_saml_provider(Name=provider, SAMLMetadataDocument=METADATA)["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::000000000000:saml-provider/{provider}"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == METADATA
    assert got["ValidUntil"].year == 2031
    listed = {p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]}
    assert arn in listed
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "a", "Value": "1"}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "a", "Value": "1"}]
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["a"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == []
    with pytest.raises(ClientError) as info:
        iam.create_saml_provider(Name=name("bad"), SAMLMetadataDocument="x" * 1000)
    assert error(info)[0] == "InvalidInput"
    iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=METADATA)
    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(ClientError) as info:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error(info)[0] == "NoSuchEntity"


def test_server_certificates(iam: Any, name: Callable[..., str]) -> None:
    cert_name = name("cert")
    body, key = self_signed(days=30)
    meta = iam.upload_server_certificate(
        ServerCertificateName=cert_name, Path="/lb/", CertificateBody=body, PrivateKey=key
    )["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::000000000000:server-certificate/lb/{cert_name}"
    assert meta["ServerCertificateId"].startswith("ASCA")
    now = datetime.datetime.now(datetime.UTC)
    assert 29 <= (meta["Expiration"] - now).days <= 30
    got = iam.get_server_certificate(ServerCertificateName=cert_name)["ServerCertificate"]
    assert got["CertificateBody"] == body
    names = [
        m["ServerCertificateName"]
        for m in iam.list_server_certificates(PathPrefix="/lb/")["ServerCertificateMetadataList"]
    ]
    assert cert_name in names
    iam.tag_server_certificate(ServerCertificateName=cert_name, Tags=[{"Key": "a", "Value": "1"}])
    tags = iam.list_server_certificate_tags(ServerCertificateName=cert_name)["Tags"]
    assert tags == [{"Key": "a", "Value": "1"}]
    iam.untag_server_certificate(ServerCertificateName=cert_name, TagKeys=["a"])
    assert iam.list_server_certificate_tags(ServerCertificateName=cert_name)["Tags"] == []
    iam.update_server_certificate(ServerCertificateName=cert_name, NewPath="/moved/")
    moved = iam.get_server_certificate(ServerCertificateName=cert_name)["ServerCertificate"]
    assert moved["ServerCertificateMetadata"]["Path"] == "/moved/"
    iam.delete_server_certificate(ServerCertificateName=cert_name)
    with pytest.raises(ClientError) as info:
        iam.get_server_certificate(ServerCertificateName=cert_name)
    assert error(info) == (
        "NoSuchEntity",
        f"The Server Certificate with name {cert_name} cannot be found.",
        404,
    )


def test_server_certificate_errors(iam: Any, name: Callable[..., str]) -> None:
    body, _ = self_signed()
    _, other_key = self_signed()
    with pytest.raises(ClientError) as info:
        iam.upload_server_certificate(
            ServerCertificateName=name("c"), CertificateBody=body, PrivateKey=other_key
        )
    assert error(info)[0] == "KeyPairMismatch"
    with pytest.raises(ClientError) as info:
        iam.upload_server_certificate(
            ServerCertificateName=name("c"), CertificateBody="-----BEGIN CERTIFICATE-----\nnope",
            PrivateKey=other_key,
        )  # fmt: skip
    assert error(info)[0] == "MalformedCertificate"
