"""Server certificates: X.509 certificates (PEM, parsed by ``cryptography``) for load balancers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import (
    IamBase,
    check_name,
    check_new_name_and_path,
    check_path,
    iam_arn,
    merge_tags,
    move,
    new_id,
    page,
    remove_tags,
    require,
    tags_page,
)
from overcast.services.iam.errors import (
    EntityAlreadyExists,
    KeyPairMismatch,
    MalformedCertificate,
)

Doc = dict[str, Any]
_PUBLIC = serialization.PublicFormat.SubjectPublicKeyInfo
_DER = serialization.Encoding.DER


def parse_certificate(body: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(body.strip().encode())
    except ValueError:
        raise MalformedCertificate("Certificate body is invalid") from None


def check_key_pair(cert: x509.Certificate, private_key: str) -> None:
    """The private key must parse and belong to the certificate's public key."""
    try:
        key = serialization.load_pem_private_key(private_key.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise MalformedCertificate("Private key is invalid") from None
    if key.public_key().public_bytes(_DER, _PUBLIC) != cert.public_key().public_bytes(
        _DER, _PUBLIC
    ):
        raise KeyPairMismatch("Public key certificate and private key doesn't match.")


def _get(conn: sqlite3.Connection, ctx: RequestContext, name: str) -> Doc:
    missing = f"The Server Certificate with name {name} cannot be found."
    return require(conn, ctx, storage.SERVER_CERT, name, "", missing)


def _metadata(doc: Doc) -> Doc:
    return {
        k: doc[k]
        for k in ("Path", "ServerCertificateName", "ServerCertificateId", "Arn", "UploadDate",
                  "Expiration")
    }  # fmt: skip


class ServerCertificates(IamBase):
    def upload_server_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        path = request.get("Path") or "/"
        check_name(name, "serverCertificateName")
        check_path(path)
        body = request["CertificateBody"]
        cert = parse_certificate(body)
        check_key_pair(cert, request["PrivateKey"])
        chain = request.get("CertificateChain")
        if chain:
            parse_certificate(chain)
        doc: Doc = {
            "Path": path,
            "ServerCertificateName": name,
            "ServerCertificateId": new_id("ASCA"),
            "Arn": iam_arn(ctx, "server-certificate", path, name),
            "UploadDate": self._now(),
            "Expiration": cert.not_valid_after_utc.timestamp(),
            "CertificateBody": body,
            "Tags": merge_tags([], request.get("Tags") or []),
        }
        if chain:
            doc["CertificateChain"] = chain

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.SERVER_CERT, name, doc):
                raise EntityAlreadyExists(
                    f"The Server Certificate with name {name} already exists."
                )

        self._write(write)
        out: Doc = {"ServerCertificateMetadata": _metadata(doc)}
        if doc["Tags"]:
            out["Tags"] = doc["Tags"]
        return out

    def get_server_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        doc = self._read(lambda conn: _get(conn, ctx, name))
        cert: Doc = {
            "ServerCertificateMetadata": _metadata(doc),
            "CertificateBody": doc["CertificateBody"],
        }
        if doc.get("CertificateChain"):
            cert["CertificateChain"] = doc["CertificateChain"]
        if doc.get("Tags"):
            cert["Tags"] = doc["Tags"]
        return {"ServerCertificate": cert}

    def list_server_certificates(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        prefix = request.get("PathPrefix") or "/"
        docs = self._read(lambda conn: storage.all_of(conn, ctx.account_id, storage.SERVER_CERT))
        chosen = [_metadata(d) for d in docs if d["Path"].startswith(prefix)]
        return page(
            chosen,
            request,
            lambda m: m["ServerCertificateName"].lower(),
            "ServerCertificateMetadataList",
        )

    def update_server_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        new_name = request.get("NewServerCertificateName")
        check_new_name_and_path(request, "NewServerCertificateName", "newServerCertificateName")

        def write(conn: sqlite3.Connection) -> None:
            doc = _get(conn, ctx, name)
            taken = f"The Server Certificate with name {new_name} already exists."
            new_path = request.get("NewPath")
            move(conn, ctx, storage.SERVER_CERT, doc, name, new_name, new_path, taken)

        self._write(write)
        return {}

    def delete_server_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ServerCertificateName"]

        def write(conn: sqlite3.Connection) -> None:
            _get(conn, ctx, name)
            storage.delete(conn, ctx.account_id, storage.SERVER_CERT, name)

        self._write(write)
        return {}

    def tag_server_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        tags = request["Tags"]
        self._edit_certificate(ctx, request["ServerCertificateName"],
                   lambda d: d.update(Tags=merge_tags(d["Tags"], tags)))  # fmt: skip
        return {}

    def untag_server_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        keys = request["TagKeys"]
        self._edit_certificate(ctx, request["ServerCertificateName"],
                   lambda d: d.update(Tags=remove_tags(d["Tags"], keys)))  # fmt: skip
        return {}

    def list_server_certificate_tags(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = request["ServerCertificateName"]
        return tags_page(self._read(lambda conn: _get(conn, ctx, name)), request)

    def _edit_certificate(
        self, ctx: RequestContext, name: str, change: Callable[[Doc], Any]
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            doc = _get(conn, ctx, name)
            change(doc)
            storage.put(conn, ctx.account_id, storage.SERVER_CERT, name, doc)

        self._write(write)
