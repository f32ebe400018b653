"""SAML 2.0 assertions for AssumeRoleWithSAML: signature verification and the attributes AWS reads.

The XML signature (of the Response or of the Assertion) is verified with signxml against each
signing certificate of the provider's metadata document; only what the signature covers is read
afterwards, so an unsigned element wrapped around a signed one cannot smuggle attributes in.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from overcast.services.sts.errors import InvalidIdentityTokenException

_NS = {
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
_ATTRIBUTES = "https://aws.amazon.com/SAML/Attributes/"
_FORMATS = {
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent": "persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient": "transient",
}


@dataclass(frozen=True)
class Assertion:
    issuer: str
    subject: str
    subject_type: str
    audience: str | None
    not_before: float | None
    not_on_or_after: float | None
    roles: frozenset[tuple[str, str]]  # (role ARN, provider ARN)
    session_name: str | None
    session_duration: int | None
    source_identity: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


def _invalid(message: str = "Invalid SAML response") -> InvalidIdentityTokenException:
    return InvalidIdentityTokenException(message)


def _certificates(metadata: str) -> list[str]:
    from lxml import etree  # type: ignore[import-untyped]

    try:
        root = etree.fromstring(metadata.encode())
    except etree.XMLSyntaxError:
        return []
    pems = []
    for node in root.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate"):
        body = "".join((node.text or "").split())
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        pems.append(
            "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
        )
    return pems


def _time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def verify(encoded: str, metadata: str) -> Assertion:
    """The verified assertion of a base64 SAML Response; InvalidIdentityToken otherwise."""
    from signxml import XMLVerifier  # type: ignore[import-untyped]
    from signxml.exceptions import InvalidInput, InvalidSignature  # type: ignore[import-untyped]

    try:
        document = base64.b64decode(encoded, validate=False)
    except (binascii.Error, ValueError):
        raise _invalid() from None
    certificates = _certificates(metadata)
    if not certificates:
        raise _invalid("No signing certificate in the SAML provider's metadata")
    signed: Any = None
    for pem in certificates:
        try:
            result = XMLVerifier().verify(document, x509_cert=pem)
            signed = (result[0] if isinstance(result, list) else result).signed_xml
            break
        except (InvalidSignature, InvalidInput, ValueError):
            continue
    if signed is None:
        raise _invalid("Response signature invalid")
    assertion = signed if signed.tag == f"{{{_NS['saml']}}}Assertion" else None
    if assertion is None:
        assertion = signed.find("saml:Assertion", _NS)
    if assertion is None:
        raise _invalid("Assertion missing")
    return _read(assertion)


def _read(assertion: Any) -> Assertion:
    issuer = (assertion.findtext("saml:Issuer", "", _NS) or "").strip()
    name_id = assertion.find("saml:Subject/saml:NameID", _NS)
    subject = (name_id.text or "").strip() if name_id is not None else ""
    fmt = name_id.get("Format", "") if name_id is not None else ""
    conditions = assertion.find("saml:Conditions", _NS)
    audience = None
    not_before = not_after = None
    if conditions is not None:
        audience = conditions.findtext("saml:AudienceRestriction/saml:Audience", None, _NS)
        not_before = _time(conditions.get("NotBefore"))
        not_after = _time(conditions.get("NotOnOrAfter"))
    confirmation = assertion.find(
        "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", _NS
    )
    if confirmation is not None and confirmation.get("NotOnOrAfter"):
        bound = _time(confirmation.get("NotOnOrAfter"))
        not_after = bound if not_after is None or bound is None else min(not_after, bound)
    attributes: dict[str, list[str]] = {}
    for attribute in assertion.iterfind("saml:AttributeStatement/saml:Attribute", _NS):
        values = [(v.text or "").strip() for v in attribute.iterfind("saml:AttributeValue", _NS)]
        attributes[attribute.get("Name", "")] = values
    roles = set()
    for value in attributes.get(_ATTRIBUTES + "Role", []):
        pair = [p.strip() for p in value.split(",")]
        if len(pair) == 2:
            role, provider = pair if ":role/" in pair[0] else (pair[1], pair[0])
            roles.add((role, provider))
    names = attributes.get(_ATTRIBUTES + "RoleSessionName") or []
    durations = attributes.get(_ATTRIBUTES + "SessionDuration") or []
    sources = attributes.get(_ATTRIBUTES + "SourceIdentity") or []
    tags = {
        name.rsplit(":", 1)[-1]: values[0]
        for name, values in attributes.items()
        if name.startswith(_ATTRIBUTES + "PrincipalTag:") and values
    }
    return Assertion(
        issuer=issuer,
        subject=subject,
        subject_type=_FORMATS.get(fmt, fmt or "unspecified"),
        audience=audience,
        not_before=not_before,
        not_on_or_after=not_after,
        roles=frozenset(roles),
        session_name=names[0] if names else None,
        session_duration=int(durations[0]) if durations and durations[0].isdigit() else None,
        source_identity=sources[0] if sources else None,
        tags=tags,
    )
