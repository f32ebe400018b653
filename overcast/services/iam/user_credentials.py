"""A user's other credentials: X.509 signing certificates, SSH public keys (CodeCommit) and
service-specific credentials (CodeCommit, Keyspaces, Bedrock)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import sqlite3
import string
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.access_keys import caller_user
from overcast.services.iam.certificates import parse_certificate
from overcast.services.iam.common import IamBase, new_id, page, require
from overcast.services.iam.errors import (
    DuplicateCertificate,
    DuplicateSSHPublicKey,
    InvalidInput,
    InvalidPublicKey,
    LimitExceeded,
    NoSuchEntity,
    NotSupportedService,
)

Doc = dict[str, Any]
SIGNING_CERT = "signing-cert"
SSH_KEY = "ssh-key"
SERVICE_CREDENTIAL = "service-credential"
KINDS = (SIGNING_CERT, SSH_KEY, SERVICE_CREDENTIAL)
MAX_SIGNING_CERTS = 2
MAX_SSH_KEYS = 5
MAX_SERVICE_CREDENTIALS = 2  # per user and service
SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")
_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "+/="


def _user_name(ctx: RequestContext, request: dict[str, Any]) -> str:
    name = request.get("UserName") or caller_user(ctx)
    if not name:
        raise InvalidInput("Must specify userName when calling with non-User credentials")
    return str(name)


def owned_by(conn: sqlite3.Connection, account: str, kind: str, user: str) -> list[Doc]:
    return [d for d in storage.all_of(conn, account, kind) if d["UserName"].lower() == user.lower()]


def _status(value: str) -> str:
    if value not in ("Active", "Inactive"):
        raise InvalidInput(f"Invalid status {value}")
    return value


def _ssh_fingerprint(body: str) -> str:
    """The MD5 fingerprint of the key blob, colon-separated, as IAM shows it."""
    parts = body.split()
    if len(parts) < 2:
        raise InvalidPublicKey("The specified SSH public key is invalid.")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except ValueError:
        raise InvalidPublicKey("The specified SSH public key is invalid.") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


def _ssh_pem(body: str) -> str:
    key = serialization.load_ssh_public_key(body.encode())
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class UserCredentials(IamBase):
    def _own_credential(
        self, conn: sqlite3.Connection, ctx: RequestContext, kind: str, user: str, id_: str,
        missing: str,
    ) -> Doc:  # fmt: skip
        require(conn, ctx, storage.USER, user, "user")
        doc = storage.get(conn, ctx.account_id, kind, id_)
        if doc is None or doc["UserName"].lower() != user.lower():
            raise NoSuchEntity(missing)
        return doc

    def _edit_credential(
        self, ctx: RequestContext, kind: str, user: str, id_: str, missing: str,
        change: Callable[[Doc], Any],
    ) -> Doc:  # fmt: skip
        def write(conn: sqlite3.Connection) -> Doc:
            doc = self._own_credential(conn, ctx, kind, user, id_, missing)
            change(doc)
            storage.put(conn, ctx.account_id, kind, id_, doc)
            return doc

        return self._write(write)

    def _delete_credential(
        self, ctx: RequestContext, kind: str, user: str, id_: str, missing: str
    ) -> None:
        def write(conn: sqlite3.Connection) -> None:
            self._own_credential(conn, ctx, kind, user, id_, missing)
            storage.delete(conn, ctx.account_id, kind, id_)

        self._write(write)

    # -- signing certificates ------------------------------------------------------------------

    def upload_signing_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = _user_name(ctx, request)
        body = request["CertificateBody"]
        parse_certificate(body)
        cert_id = new_id("") + new_id("")[:7]  # 24 characters, as IAM's certificate ids

        def write(conn: sqlite3.Connection) -> Doc:
            user = require(conn, ctx, storage.USER, name, "user")
            mine = owned_by(conn, ctx.account_id, SIGNING_CERT, name)
            if any(c["CertificateBody"].strip() == body.strip() for c in mine):
                raise DuplicateCertificate("The same certificate is already uploaded for the user.")
            if len(mine) >= MAX_SIGNING_CERTS:
                raise LimitExceeded(
                    f"Cannot exceed quota for CertificatesPerUser: {MAX_SIGNING_CERTS}"
                )
            doc = {
                "UserName": user["UserName"], "CertificateId": cert_id, "CertificateBody": body,
                "Status": "Active", "UploadDate": self._now(),
            }  # fmt: skip
            storage.insert(conn, ctx.account_id, SIGNING_CERT, cert_id, doc)
            return doc

        return {"Certificate": self._write(write)}

    def list_signing_certificates(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = _user_name(ctx, request)

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, storage.USER, name, "user")
            return owned_by(conn, ctx.account_id, SIGNING_CERT, name)

        return page(self._read(read), request, lambda c: c["CertificateId"], "Certificates")

    def update_signing_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        cert_id, status = request["CertificateId"], _status(request["Status"])
        self._edit_credential(ctx, SIGNING_CERT, _user_name(ctx, request), cert_id,
                   f"The Certificate with id {cert_id} cannot be found.",
                   lambda d: d.update(Status=status))  # fmt: skip
        return {}

    def delete_signing_certificate(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        cert_id = request["CertificateId"]
        self._delete_credential(ctx, SIGNING_CERT, _user_name(ctx, request), cert_id,
                     f"The Certificate with id {cert_id} cannot be found.")  # fmt: skip
        return {}

    # -- SSH public keys -----------------------------------------------------------------------

    def upload_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["UserName"]
        body = request["SSHPublicKeyBody"].strip()
        try:
            _ssh_pem(body)
        except (ValueError, TypeError):
            raise InvalidPublicKey("The specified SSH public key is invalid.") from None
        fingerprint = _ssh_fingerprint(body)
        key_id = new_id("APKA")[:20]

        def write(conn: sqlite3.Connection) -> Doc:
            user = require(conn, ctx, storage.USER, name, "user")
            mine = owned_by(conn, ctx.account_id, SSH_KEY, name)
            if any(k["Fingerprint"] == fingerprint for k in mine):
                raise DuplicateSSHPublicKey("The SSH public key specified is already in use.")
            if len(mine) >= MAX_SSH_KEYS:
                raise LimitExceeded(f"Cannot exceed quota for KeysPerUser: {MAX_SSH_KEYS}")
            doc = {"UserName": user["UserName"], "SSHPublicKeyId": key_id,
                   "Fingerprint": fingerprint, "SSHPublicKeyBody": body, "Status": "Active",
                   "UploadDate": self._now()}  # fmt: skip
            storage.insert(conn, ctx.account_id, SSH_KEY, key_id, doc)
            return doc

        return {"SSHPublicKey": self._write(write)}

    def get_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name, key_id = request["UserName"], request["SSHPublicKeyId"]
        doc = self._read(lambda conn: self._own_credential(
            conn, ctx, SSH_KEY, name, key_id, f"The Public Key with id {key_id} cannot be found."
        ))  # fmt: skip
        if request.get("Encoding") == "PEM":
            doc = {**doc, "SSHPublicKeyBody": _ssh_pem(doc["SSHPublicKeyBody"])}
        return {"SSHPublicKey": doc}

    def list_ssh_public_keys(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = _user_name(ctx, request)

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, storage.USER, name, "user")
            return [
                {k: d[k] for k in ("UserName", "SSHPublicKeyId", "Status", "UploadDate")}
                for d in owned_by(conn, ctx.account_id, SSH_KEY, name)
            ]

        return page(self._read(read), request, lambda k: k["SSHPublicKeyId"], "SSHPublicKeys")

    def update_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        key_id, status = request["SSHPublicKeyId"], _status(request["Status"])
        self._edit_credential(ctx, SSH_KEY, request["UserName"], key_id,
                   f"The Public Key with id {key_id} cannot be found.",
                   lambda d: d.update(Status=status))  # fmt: skip
        return {}

    def delete_ssh_public_key(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        key_id = request["SSHPublicKeyId"]
        self._delete_credential(ctx, SSH_KEY, request["UserName"], key_id,
                     f"The Public Key with id {key_id} cannot be found.")  # fmt: skip
        return {}

    # -- service-specific credentials ----------------------------------------------------------

    def create_service_specific_credential(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name, service = request["UserName"], request["ServiceName"]
        if service not in SERVICES:
            raise NotSupportedService(f"Unsupported service name: {service}")
        cred_id = new_id("ACCA")

        def write(conn: sqlite3.Connection) -> Doc:
            user = require(conn, ctx, storage.USER, name, "user")
            mine = [c for c in owned_by(conn, ctx.account_id, SERVICE_CREDENTIAL, name)
                    if c["ServiceName"] == service]  # fmt: skip
            if len(mine) >= MAX_SERVICE_CREDENTIALS:
                raise LimitExceeded(
                    f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: "
                    f"{MAX_SERVICE_CREDENTIALS}"
                )
            doc = {
                "CreateDate": self._now(), "ServiceName": service,
                "ServiceUserName": f"{user['UserName']}-at-{ctx.account_id}",
                "ServicePassword": _new_password(), "ServiceSpecificCredentialId": cred_id,
                "UserName": user["UserName"], "Status": "Active",
            }  # fmt: skip
            storage.insert(conn, ctx.account_id, SERVICE_CREDENTIAL, cred_id, doc)
            return doc

        return {"ServiceSpecificCredential": self._write(write)}

    def list_service_specific_credentials(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        name = _user_name(ctx, request)
        service = request.get("ServiceName")

        def read(conn: sqlite3.Connection) -> list[Doc]:
            require(conn, ctx, storage.USER, name, "user")
            return [
                {k: v for k, v in d.items() if k != "ServicePassword"}
                for d in owned_by(conn, ctx.account_id, SERVICE_CREDENTIAL, name)
                if service is None or d["ServiceName"] == service
            ]

        return page(
            self._read(read), request, lambda c: c["ServiceSpecificCredentialId"],
            "ServiceSpecificCredentials",
        )  # fmt: skip

    def update_service_specific_credential(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        cred_id, status = request["ServiceSpecificCredentialId"], _status(request["Status"])
        self._edit_credential(ctx, SERVICE_CREDENTIAL, _user_name(ctx, request), cred_id,
                   _no_credential(cred_id), lambda d: d.update(Status=status))  # fmt: skip
        return {}

    def reset_service_specific_credential(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        cred_id = request["ServiceSpecificCredentialId"]
        doc = self._edit_credential(ctx, SERVICE_CREDENTIAL, _user_name(ctx, request), cred_id,
                         _no_credential(cred_id),
                         lambda d: d.update(ServicePassword=_new_password()))  # fmt: skip
        return {"ServiceSpecificCredential": doc}

    def delete_service_specific_credential(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        cred_id = request["ServiceSpecificCredentialId"]
        self._delete_credential(ctx, SERVICE_CREDENTIAL, _user_name(ctx, request), cred_id,
                     _no_credential(cred_id))  # fmt: skip
        return {}


def _no_credential(cred_id: str) -> str:
    return f"No such credential {cred_id} exists"


def _new_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(44))
