"""The local certificate authority and the server certificate for HTTPS on the main port.

On first start a CA (``ca.pem``/``ca.key``) and a server certificate signed by it
(``server-<digest>.pem``/``.key``, the digest naming the set of host names it covers) are
generated with ``cryptography`` and kept in:

* ``<data dir>/tls/`` for a server with a data directory;
* ``<temp dir>/overcast-<uid>/tls/`` for an ephemeral one: state stays in memory, but the CA
  a user told their tools to trust (``AWS_CA_BUNDLE``) survives restarts until the temp dir is
  cleaned (usually a reboot), and ``overcast cert --ephemeral`` finds it without a server.

The CA is kept for ten years; the server certificate is re-issued (same CA) when it nears its end,
and another one is issued for other names (``--host``, ``--external-host``). Generation happens
under an exclusive file lock, so servers starting together never pair a certificate with another
CA.

The server certificate names every host shape the gateway routes (``gateway.routing``): local
names, ``*.localhost.localstack.cloud`` shapes, and ``*.amazonaws.com`` shapes for every region
botocore knows, so clients that pin a real AWS host name through a proxy or ``/etc/hosts`` also
verify. Loading an existing pair costs no ``cryptography`` import (startup stays fast).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

    from overcast.settings import Settings

# Bump when the fixed name list below changes: existing server certificates are then re-issued.
_NAMES_VERSION = "1"
CA_DAYS = 3650
SERVER_DAYS = 825  # the longest validity Apple platforms accept for a private CA's certificate
RENEW_BEFORE_DAYS = 30

LOCAL_NAMES = (
    "localhost",
    "localhost.localstack.cloud",
    "*.localhost.localstack.cloud",
    "s3.localhost.localstack.cloud",
    "*.s3.localhost.localstack.cloud",
    "*.execute-api.localhost.localstack.cloud",
    "s3.localhost",
    "*.s3.localhost",
    "*.localhost",  # accepted by few verifiers (one label under a TLD-like name); harmless
    "amazonaws.com",
    "*.amazonaws.com",
    "*.s3.amazonaws.com",
)
LOCAL_IPS = ("127.0.0.1", "::1")


def tls_dir(settings: Settings) -> Path:
    """Where the CA and the server certificate live (see the module docstring)."""
    if settings.data_dir is not None:
        return Path(settings.data_dir) / "tls"
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"overcast-{uid}" / "tls"


def ca_certificate_path(settings: Settings) -> Path:
    """The CA certificate to trust (``AWS_CA_BUNDLE``); it may not exist before a first start."""
    return tls_dir(settings) / "ca.pem"


def ensure_certificates(settings: Settings) -> tuple[Path, Path, Path]:
    """``(server cert, server key, CA cert)``, generating whatever is missing or stale."""
    folder = tls_dir(settings)
    # One certificate per set of names: servers with other names (an external host) that share
    # the folder (ephemeral ones) never swap a certificate under each other's feet.
    stem = f"server-{_names_digest(settings)}"
    cert, key, ca = folder / f"{stem}.pem", folder / f"{stem}.key", folder / "ca.pem"
    if _current(cert, key, ca):
        return cert, key, ca
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _locked(folder / ".lock"):
        if not _current(cert, key, ca):  # another process may have done it meanwhile
            _generate(folder, settings, stem)
    return cert, key, ca


def server_context(settings: Settings) -> ssl.SSLContext:
    """An ``SSLContext`` serving the certificate (HTTP/1.1 only: what the gateway speaks)."""
    import ssl

    cert, key, _ = ensure_certificates(settings)
    # Not create_default_context(): it loads the system's CA store (~10 ms), which a server
    # that asks for no client certificate never reads.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


# ---------------------------------------------------------------------------------------------


def _extra_names(settings: Settings) -> list[str]:
    """Names beyond the fixed list: the listen hosts and the external host; when listening on
    every address (0.0.0.0, ::), also this machine's name (other machines and containers)."""
    from overcast.gateway.routing import host_without_port

    hosts = [settings.host, *(h for h, _ in settings.extra_listeners), settings.external_host]
    names: list[str] = []
    for host in hosts:
        if not host:
            continue
        name = host_without_port(host)
        if name in ("0.0.0.0", "::", ""):
            name = _host_label()
        if name not in names:
            names.append(name)
    return names


def _names_digest(settings: Settings) -> str:
    import hashlib

    text = "\n".join([f"v{_NAMES_VERSION}", *sorted(_extra_names(settings))])
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _current(cert: Path, key: Path, ca: Path) -> bool:
    """Whether the pair on disk exists and is not near its end. The issue time is the file's
    mtime (written once, at issue, after its key): no certificate parsing, no ``cryptography``
    import on the startup path."""
    try:
        if not key.exists() or not ca.exists():
            return False
        issued = cert.stat().st_mtime
    except OSError:
        return False
    import time

    return time.time() - issued < (SERVER_DAYS - RENEW_BEFORE_DAYS) * 86400


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Write through a temp file and rename: a reader never sees half a PEM."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _generate(folder: Path, settings: Settings, stem: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca_cert_path, ca_key_path = folder / "ca.pem", folder / "ca.key"
    ca_cert, ca_key = _load_ca(ca_cert_path, ca_key_path)
    if ca_cert is None or ca_key is None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _issue_ca(ca_key)
        _write(ca_key_path, _key_pem(ca_key), private=True)
        _write(ca_cert_path, ca_cert.public_bytes(serialization.Encoding.PEM), private=False)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue_server(key, ca_cert, ca_key, settings)
    _write(folder / f"{stem}.key", _key_pem(key), private=True)
    _write(folder / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM), private=False)


def _key_pem(key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_ca(cert_path: Path, key_path: Path) -> tuple[object | None, object | None]:
    """The existing CA when it is whole and not near its end (else a new one is made)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None, None
    if cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC) < datetime.timedelta(
        days=SERVER_DAYS + RENEW_BEFORE_DAYS
    ):
        return None, None
    return cert, key


def _issue_ca(key: object) -> object:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Overcast"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Overcast local CA ({_host_label()})"),
        ]
    )
    public = key.public_key()  # type: ignore[attr-defined]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )


def _issue_server(key: object, ca_cert: object, ca_key: object, settings: Settings) -> object:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = []
    seen: set[str] = set()
    for name in [*LOCAL_NAMES, *_region_names(), *_extra_names(settings)]:
        if name in seen:
            continue
        seen.add(name)
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    for ip in LOCAL_IPS:
        if ip not in seen:
            sans.append(x509.IPAddress(ipaddress.ip_address(ip)))
    public = key.public_key()  # type: ignore[attr-defined]
    ca_public = ca_cert.public_key()  # type: ignore[attr-defined]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)  # type: ignore[attr-defined]
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public), critical=False
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )


def _key_usage(*, ca: bool) -> object:
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,  # ECDHE with an EC key
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _region_names() -> list[str]:
    """``*.<region>.amazonaws.com`` (``sqs.us-east-1.amazonaws.com``), S3's virtual hosts per
    region and the LocalStack-style ``*.<region>.localhost.localstack.cloud``."""
    names: list[str] = []
    for region in _regions():
        names += [
            f"*.{region}.amazonaws.com",
            f"*.s3.{region}.amazonaws.com",
            f"*.s3-website-{region}.amazonaws.com",
            f"*.s3-website.{region}.amazonaws.com",
            f"*.{region}.localhost.localstack.cloud",
            f"*.s3.{region}.localhost.localstack.cloud",
        ]
    return names


def _regions() -> list[str]:
    from botocore.loaders import create_loader

    try:
        endpoints = create_loader().load_data("endpoints")
    except Exception:  # botocore without endpoint data: the common regions still work
        return ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1"]
    regions: list[str] = []
    for partition in endpoints.get("partitions", ()):
        if partition.get("partition") in ("aws", "aws-cn", "aws-us-gov"):
            regions += sorted(partition.get("regions", {}))
    return regions


def _host_label() -> str:
    import socket

    return socket.gethostname() or "localhost"
