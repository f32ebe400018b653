"""Federation: OpenID Connect and SAML identity providers that STS trusts."""

from __future__ import annotations

import re
import sqlite3
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import datetime
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.iam import storage
from overcast.services.iam.common import (
    IamBase,
    check_name,
    iam_arn,
    merge_tags,
    remove_tags,
    tags_page,
)
from overcast.services.iam.errors import (
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
    ValidationError,
)

Doc = dict[str, Any]
MAX_THUMBPRINTS = 5
MAX_CLIENT_IDS = 100
_THUMBPRINT = re.compile(r"[0-9A-Fa-f]{40}")
_SAML_NAME = re.compile(r"[\w._-]+")
_CLIENT_ID_QUOTA = f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"
_VALID_FOR = 100 * 365 * 86400.0  # metadata without validUntil: AWS shows a far-future date


def _oidc_key(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")


def _check_thumbprints(prints: list[str]) -> None:
    if len(prints) > MAX_THUMBPRINTS:
        raise LimitExceeded(
            f"Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: {MAX_THUMBPRINTS}"
        )
    for value in prints:
        if not _THUMBPRINT.fullmatch(value):
            raise ValidationError(
                f"1 validation error detected: Value '{value}' at 'thumbprintList' failed to "
                "satisfy constraint: Member must have length greater than or equal to 40"
            )


def _oidc(conn: sqlite3.Connection, ctx: RequestContext, arn: str) -> Doc:
    doc = storage.get(conn, ctx.account_id, storage.OIDC, arn.split(":oidc-provider/", 1)[-1])
    if doc is None or doc["Arn"] != arn:
        raise NoSuchEntity(f"OpenIDConnect Provider not found for arn {arn}")
    return doc


def _saml(conn: sqlite3.Connection, ctx: RequestContext, arn: str) -> Doc:
    doc = storage.get(conn, ctx.account_id, storage.SAML, arn.split(":saml-provider/", 1)[-1])
    if doc is None or doc["Arn"] != arn:
        raise NoSuchEntity(f"Manifest not found for arn {arn}")
    return doc


def _metadata_valid_until(document: str, now: float) -> float:
    """Check that the document is SAML metadata; its validUntil (or a far-future date)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        raise InvalidInput("Could not parse metadata") from None
    if not root.tag.endswith(("EntityDescriptor", "EntitiesDescriptor")):
        raise InvalidInput("Could not parse metadata")
    until = root.get("validUntil")
    if until:
        try:
            return datetime.fromisoformat(until.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise InvalidInput("Could not parse metadata") from None
    return now + _VALID_FOR


class IdentityProviders(IamBase):
    # -- OpenID Connect ------------------------------------------------------------------------

    def create_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        url = request["Url"]
        if not url.startswith("https://") or len(url) <= len("https://"):
            raise ValidationError("Invalid Open ID Connect Provider URL")
        client_ids = list(dict.fromkeys(request.get("ClientIDList") or []))
        if len(client_ids) > MAX_CLIENT_IDS:
            raise LimitExceeded(_CLIENT_ID_QUOTA)
        prints = list(request.get("ThumbprintList") or [])
        _check_thumbprints(prints)
        key = _oidc_key(url)
        doc: Doc = {
            "Arn": iam_arn(ctx, "oidc-provider", "/", key),
            "Url": f"https://{key}",
            "ClientIDList": client_ids,
            "ThumbprintList": prints,
            "CreateDate": self._now(),
            "Tags": merge_tags([], request.get("Tags") or []),
        }

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.OIDC, key, doc):
                raise EntityAlreadyExists(f"Provider with url {url} already exists.")

        self._write(write)
        out: Doc = {"OpenIDConnectProviderArn": doc["Arn"]}
        if doc["Tags"]:
            out["Tags"] = doc["Tags"]
        return out

    def get_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["OpenIDConnectProviderArn"]
        doc = self._read(lambda conn: _oidc(conn, ctx, arn))
        out: Doc = {
            "Url": _oidc_key(doc["Url"]),
            "ClientIDList": doc["ClientIDList"],
            "ThumbprintList": doc["ThumbprintList"],
            "CreateDate": doc["CreateDate"],
        }
        if doc.get("Tags"):
            out["Tags"] = doc["Tags"]
        return out

    def list_open_id_connect_providers(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        docs = self._read(lambda conn: storage.all_of(conn, ctx.account_id, storage.OIDC))
        return {"OpenIDConnectProviderList": [{"Arn": d["Arn"]} for d in docs]}

    def delete_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["OpenIDConnectProviderArn"]

        def write(conn: sqlite3.Connection) -> None:
            doc = _oidc(conn, ctx, arn)
            storage.delete(conn, ctx.account_id, storage.OIDC, _oidc_key(doc["Url"]))

        self._write(write)
        return {}

    def add_client_id_to_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        client_id = request["ClientID"]

        def change(doc: Doc) -> None:
            if client_id not in doc["ClientIDList"]:
                if len(doc["ClientIDList"]) >= MAX_CLIENT_IDS:
                    raise LimitExceeded(_CLIENT_ID_QUOTA)
                doc["ClientIDList"].append(client_id)

        self._edit_oidc(ctx, request["OpenIDConnectProviderArn"], change)
        return {}

    def remove_client_id_from_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        client_id = request["ClientID"]
        self._edit_oidc(
            ctx, request["OpenIDConnectProviderArn"],
            lambda d: d.update(ClientIDList=[c for c in d["ClientIDList"] if c != client_id]),
        )  # fmt: skip
        return {}

    def update_open_id_connect_provider_thumbprint(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        prints = list(request["ThumbprintList"])
        _check_thumbprints(prints)
        self._edit_oidc(
            ctx, request["OpenIDConnectProviderArn"], lambda d: d.update(ThumbprintList=prints)
        )
        return {}

    def tag_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        tags = request["Tags"]
        self._edit_oidc(ctx, request["OpenIDConnectProviderArn"],
                        lambda d: d.update(Tags=merge_tags(d["Tags"], tags)))  # fmt: skip
        return {}

    def untag_open_id_connect_provider(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        keys = request["TagKeys"]
        self._edit_oidc(ctx, request["OpenIDConnectProviderArn"],
                        lambda d: d.update(Tags=remove_tags(d["Tags"], keys)))  # fmt: skip
        return {}

    def list_open_id_connect_provider_tags(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["OpenIDConnectProviderArn"]
        return tags_page(self._read(lambda conn: _oidc(conn, ctx, arn)), request)

    def _edit_oidc(self, ctx: RequestContext, arn: str, change: Callable[[Doc], Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            doc = _oidc(conn, ctx, arn)
            change(doc)
            storage.put(conn, ctx.account_id, storage.OIDC, _oidc_key(doc["Url"]), doc)

        self._write(write)

    # -- SAML ----------------------------------------------------------------------------------

    def create_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        name = request["Name"]
        if not _SAML_NAME.fullmatch(name):
            check_name(name, "name")
        now = self._now()
        metadata = request["SAMLMetadataDocument"]
        doc: Doc = {
            "Arn": iam_arn(ctx, "saml-provider", "/", name),
            "Name": name,
            "SAMLProviderUUID": str(uuid.uuid4()),
            "SAMLMetadataDocument": metadata,
            "ValidUntil": _metadata_valid_until(metadata, now),
            "CreateDate": now,
            "Tags": merge_tags([], request.get("Tags") or []),
        }

        def write(conn: sqlite3.Connection) -> None:
            if not storage.insert(conn, ctx.account_id, storage.SAML, name, doc):
                raise EntityAlreadyExists(f"SAMLProvider {name} already exists")

        self._write(write)
        out: Doc = {"SAMLProviderArn": doc["Arn"]}
        if doc["Tags"]:
            out["Tags"] = doc["Tags"]
        return out

    def get_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        doc = self._read(lambda conn: _saml(conn, ctx, arn))
        out = {
            k: doc[k]
            for k in ("SAMLProviderUUID", "SAMLMetadataDocument", "CreateDate", "ValidUntil")
        }
        if doc.get("Tags"):
            out["Tags"] = doc["Tags"]
        return out

    def update_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        metadata = request.get("SAMLMetadataDocument")
        until = _metadata_valid_until(metadata, self._now()) if metadata else None

        def change(doc: Doc) -> None:
            if metadata:
                doc.update(SAMLMetadataDocument=metadata, ValidUntil=until)

        self._edit_saml(ctx, arn, change)
        return {"SAMLProviderArn": arn}

    def delete_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]

        def write(conn: sqlite3.Connection) -> None:
            doc = _saml(conn, ctx, arn)
            storage.delete(conn, ctx.account_id, storage.SAML, doc["Name"])

        self._write(write)
        return {}

    def list_saml_providers(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        docs = self._read(lambda conn: storage.all_of(conn, ctx.account_id, storage.SAML))
        return {
            "SAMLProviderList": [
                {"Arn": d["Arn"], "ValidUntil": d["ValidUntil"], "CreateDate": d["CreateDate"]}
                for d in docs
            ]
        }

    def tag_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        tags = request["Tags"]
        self._edit_saml(ctx, request["SAMLProviderArn"],
                        lambda d: d.update(Tags=merge_tags(d["Tags"], tags)))  # fmt: skip
        return {}

    def untag_saml_provider(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        keys = request["TagKeys"]
        self._edit_saml(ctx, request["SAMLProviderArn"],
                        lambda d: d.update(Tags=remove_tags(d["Tags"], keys)))  # fmt: skip
        return {}

    def list_saml_provider_tags(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        arn = request["SAMLProviderArn"]
        return tags_page(self._read(lambda conn: _saml(conn, ctx, arn)), request)

    def _edit_saml(self, ctx: RequestContext, arn: str, change: Callable[[Doc], Any]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            doc = _saml(conn, ctx, arn)
            change(doc)
            storage.put(conn, ctx.account_id, storage.SAML, doc["Name"], doc)

        self._write(write)
