"""Identity providers served by the tests: an OpenID Connect issuer over HTTPS (self-signed, so
STS must trust it by thumbprint) and a SAML identity provider that signs assertions."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class KeyPair:
    key_pem: bytes
    cert_pem: bytes
    cert_der: bytes

    @property
    def thumbprint(self) -> str:
        return hashlib.sha1(self.cert_der).hexdigest()


def self_signed(common_name: str = "127.0.0.1") -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.DER),
    )


# --- OpenID Connect ------------------------------------------------------------------------------


class OidcIssuer:
    def __init__(self, url: str, tls: KeyPair) -> None:
        from joserfc.jwk import RSAKey

        self.url = url
        self.tls = tls
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key"})

    def token(self, **claims: Any) -> str:
        from joserfc import jwt

        now = int(dt.datetime.now(dt.UTC).timestamp())
        body = {"iss": self.url, "iat": now, "exp": now + 3600, **claims}
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, body, self.key)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}


@contextmanager
def oidc_issuer(tmp_path: Path) -> Iterator[OidcIssuer]:
    """An HTTPS issuer on a free port, serving its discovery document and JWKS."""
    tls = self_signed()
    (tmp_path / "cert.pem").write_bytes(tls.cert_pem)
    (tmp_path / "key.pem").write_bytes(tls.key_pem)
    holder: dict[str, OidcIssuer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer = holder["issuer"]
            if self.path == "/.well-known/openid-configuration":
                body: Any = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
            elif self.path == "/jwks":
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    holder["issuer"] = OidcIssuer(f"https://127.0.0.1:{httpd.server_address[1]}", tls)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["issuer"]
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- SAML ---------------------------------------------------------------------------------------

_METADATA = """<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
  entityID="{issuer}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""

_RESPONSE = """<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
  xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_{response_id}" Version="2.0"
  IssueInstant="{now}">
  <saml:Issuer>{issuer}</saml:Issuer>
  <saml:Assertion ID="_{assertion_id}" Version="2.0" IssueInstant="{now}">
    <saml:Issuer>{issuer}</saml:Issuer>
    <saml:Subject>
      <saml:NameID
        Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{subject}</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
        <saml:SubjectConfirmationData NotOnOrAfter="{until}"
          Recipient="https://signin.aws.amazon.com/saml"/>
      </saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="{before}" NotOnOrAfter="{until}">
      <saml:AudienceRestriction>
        <saml:Audience>https://signin.aws.amazon.com/saml</saml:Audience>
      </saml:AudienceRestriction>
    </saml:Conditions>
    <saml:AttributeStatement>
      <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">
        <saml:AttributeValue>{role},{provider}</saml:AttributeValue>
      </saml:Attribute>
      <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">
        <saml:AttributeValue>{session}</saml:AttributeValue>
      </saml:Attribute>
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>"""


class SamlIdp:
    def __init__(self, issuer: str = "https://idp.example.com/saml") -> None:
        self.issuer = issuer
        self.keys = self_signed("idp.example.com")

    def metadata(self) -> str:
        body = "".join(self.keys.cert_pem.decode().splitlines()[1:-1])
        return _METADATA.format(issuer=self.issuer, certificate=body)

    def assertion(
        self,
        role: str,
        provider: str,
        *,
        subject: str = "jdoe",
        session: str = "jdoe",
        valid_for: int = 300,
        signer: KeyPair | None = None,
    ) -> str:
        """A signed SAML Response, base64 as AssumeRoleWithSAML takes it."""
        from lxml import etree
        from signxml import XMLSigner  # type: ignore[import-untyped]

        now = dt.datetime.now(dt.UTC)
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        xml = _RESPONSE.format(
            response_id=uuid.uuid4().hex,
            assertion_id=uuid.uuid4().hex,
            now=now.strftime(fmt),
            before=(now - dt.timedelta(minutes=5)).strftime(fmt),
            until=(now + dt.timedelta(seconds=valid_for)).strftime(fmt),
            issuer=self.issuer,
            subject=subject,
            role=role,
            provider=provider,
            session=session,
        )
        keys = signer or self.keys
        signed = XMLSigner().sign(etree.fromstring(xml), key=keys.key_pem, cert=keys.cert_pem)
        return base64.b64encode(etree.tostring(signed)).decode()
