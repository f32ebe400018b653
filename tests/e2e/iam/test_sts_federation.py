"""AssumeRoleWithWebIdentity against a local OIDC issuer (HTTPS, trusted by thumbprint) and
AssumeRoleWithSAML with assertions signed by a local identity provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.iam.helpers import ACCOUNT, allow, error_code, from_sts, new_role, own_server, unique
from tests.iam.issuers import OidcIssuer, SamlIdp, oidc_issuer, self_signed


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from own_server(tmp_path_factory)


def unsigned(server: ServerProcess, service: str, **kwargs: Any) -> Any:
    from botocore import UNSIGNED

    return server.client(service, config=Config(signature_version=UNSIGNED), **kwargs)


@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[OidcIssuer]:
    with oidc_issuer(tmp_path) as found:
        yield found


def oidc_role(server: ServerProcess, issuer: OidcIssuer, client_id: str, **condition: Any) -> str:
    provider = server.client("iam").create_open_id_connect_provider(
        Url=issuer.url, ClientIDList=[client_id], ThumbprintList=[issuer.tls.thumbprint]
    )["OpenIDConnectProviderArn"]
    host = issuer.url.removeprefix("https://")
    trust = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{host}:aud": client_id, **condition}},
    }
    return new_role(server, trust, allow("sqs:ListQueues"))


def test_web_identity(server: ServerProcess, issuer: OidcIssuer) -> None:
    client_id = unique("app")
    role = oidc_role(server, issuer, client_id)
    sts = unsigned(server, "sts")
    token = issuer.token(sub="user-1", aud=client_id)
    answer = sts.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="web", WebIdentityToken=token
    )
    assert answer["SubjectFromWebIdentityToken"] == "user-1"
    assert answer["Audience"] == client_id
    assert answer["Provider"] == issuer.url
    assert answer["AssumedRoleUser"]["Arn"].endswith("/web")
    session = from_sts(answer["Credentials"])
    server.client("sqs", **session).list_queues()
    with pytest.raises(ClientError):
        server.client("sqs", **session).create_queue(QueueName=unique("q"))


def test_web_identity_rejects_bad_tokens(server: ServerProcess, issuer: OidcIssuer) -> None:
    client_id = unique("app")
    role = oidc_role(server, issuer, client_id)
    sts = unsigned(server, "sts")

    def attempt(token: str) -> str:
        with pytest.raises(ClientError) as exc:
            sts.assume_role_with_web_identity(
                RoleArn=role, RoleSessionName="web", WebIdentityToken=token
            )
        return error_code(exc)

    assert attempt(issuer.token(sub="u", aud="someone-else")) == "InvalidIdentityToken"
    forged = issuer.token(sub="u", aud=client_id)
    head, body, _ = forged.split(".")
    other = issuer.token(sub="v", aud=client_id).split(".")[2]
    assert attempt(f"{head}.{body}.{other}") == "InvalidIdentityToken"
    assert attempt(issuer.token(sub="u", aud=client_id, exp=1000)) == "ExpiredTokenException"
    assert attempt("not-a-jwt") == "InvalidIdentityToken"


def test_web_identity_trust_conditions(server: ServerProcess, issuer: OidcIssuer) -> None:
    client_id = unique("app")
    host = issuer.url.removeprefix("https://")
    role = oidc_role(server, issuer, client_id, **{f"{host}:sub": "alice"})
    sts = unsigned(server, "sts")
    sts.assume_role_with_web_identity(
        RoleArn=role,
        RoleSessionName="ok",
        WebIdentityToken=issuer.token(sub="alice", aud=client_id),
    )
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(
            RoleArn=role,
            RoleSessionName="no",
            WebIdentityToken=issuer.token(sub="mallory", aud=client_id),
        )
    assert error_code(exc) == "AccessDenied"


def saml_setup(server: ServerProcess, idp: SamlIdp) -> tuple[str, str]:
    provider = server.client("iam").create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=idp.metadata()
    )["SAMLProviderArn"]
    trust = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
    }
    return provider, new_role(server, trust, allow("sqs:ListQueues"))


def test_saml(server: ServerProcess) -> None:
    idp = SamlIdp()
    provider, role = saml_setup(server, idp)
    sts = unsigned(server, "sts")
    answer = sts.assume_role_with_saml(
        RoleArn=role, PrincipalArn=provider, SAMLAssertion=idp.assertion(role, provider)
    )
    assert answer["Subject"] == "jdoe"
    assert answer["SubjectType"] == "persistent"
    assert answer["Issuer"] == idp.issuer
    assert answer["Audience"] == "https://signin.aws.amazon.com/saml"
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/jdoe"
    )
    server.client("sqs", **from_sts(answer["Credentials"])).list_queues()


def test_saml_rejects_assertions_signed_by_another_key(server: ServerProcess) -> None:
    idp = SamlIdp()
    provider, role = saml_setup(server, idp)
    forged = idp.assertion(role, provider, signer=self_signed("evil.example.com"))
    with pytest.raises(ClientError) as exc:
        unsigned(server, "sts").assume_role_with_saml(
            RoleArn=role, PrincipalArn=provider, SAMLAssertion=forged
        )
    assert error_code(exc) == "InvalidIdentityToken"
    trust = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithSAML",
    }
    other_role = new_role(server, trust)
    with pytest.raises(ClientError) as exc:  # the assertion names another role
        unsigned(server, "sts").assume_role_with_saml(
            RoleArn=other_role, PrincipalArn=provider, SAMLAssertion=idp.assertion(role, provider)
        )
    assert error_code(exc) == "AccessDenied"
