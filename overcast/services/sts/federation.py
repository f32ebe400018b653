"""AssumeRoleWithWebIdentity (OIDC) and AssumeRoleWithSAML: roles for identities IAM trusts
through a provider, without AWS credentials (both calls are unsigned).

Web identity: the token's issuer names the account's OIDC provider
(``arn:aws:iam::<account>:oidc-provider/<issuer host/path>``); the token's ``aud`` must be one of
the provider's client ids; its signature is verified with the issuer's keys, fetched over HTTP(S)
from ``<issuer>/.well-known/openid-configuration`` -> ``jwks_uri`` (a server whose certificate no
CA vouches for is accepted when its certificate's SHA-1 thumbprint is one of the provider's, as
IAM's thumbprints work); ``exp`` is checked on the shared clock.

SAML: the assertion's XML signature is verified (signxml) against the signing certificates in
the SAML provider's metadata document; the assertion's ``Role`` attribute must pair the role with
the provider, its conditions must hold on the clock, and the trust policy is evaluated with the
``saml:*`` keys.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import http.client
import json
import re
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from overcast.gateway.auth.credentials import PrincipalInfo, SessionInfo
from overcast.gateway.context import RequestContext
from overcast.iam.matching import ContextValue
from overcast.iam.policy import Principal
from overcast.services.sts import common
from overcast.services.sts.errors import (
    AccessDenied,
    ExpiredTokenException,
    IDPCommunicationErrorException,
    InvalidIdentityTokenException,
    ValidationError,
)

if TYPE_CHECKING:
    from overcast.services.base import ServiceEnv
    from overcast.services.iam.directory import Directory, PrincipalRecord

_FETCH_TIMEOUT = 5.0
_KEY_ERROR = (
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements"
)
_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
_ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/"


def _b64url_json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def _get(url: str, thumbprints: list[str]) -> bytes:
    """GET ``url``; HTTPS servers must have a CA-trusted certificate or a known thumbprint."""
    parts = urlparse(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host = parts.hostname or ""
    if parts.scheme == "http":
        conn: http.client.HTTPConnection = http.client.HTTPConnection(
            host, parts.port or 80, timeout=_FETCH_TIMEOUT
        )
    else:
        context = ssl.create_default_context()
        if thumbprints:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(
            host, parts.port or 443, timeout=_FETCH_TIMEOUT, context=context
        )
    try:
        conn.request("GET", path, headers={"accept": "application/json"})
        if thumbprints and isinstance(conn, http.client.HTTPSConnection):
            sock = conn.sock
            der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
            if der is None or hashlib.sha1(der).hexdigest().lower() not in thumbprints:
                raise ValueError("certificate thumbprint not trusted")
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        return body
    finally:
        conn.close()


def fetch_jwks(issuer: str, thumbprints: list[str]) -> dict[str, Any]:
    prints = [t.lower() for t in thumbprints]
    config = json.loads(_get(issuer.rstrip("/") + "/.well-known/openid-configuration", prints))
    jwks = json.loads(_get(config["jwks_uri"], prints))
    if not isinstance(jwks, dict) or "keys" not in jwks:
        raise ValueError("no keys")
    return jwks


def _verify_jwt(token: str, jwks: dict[str, Any]) -> None:
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        jwt.decode(token, KeySet.import_key_set(jwks))  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError):
        raise InvalidIdentityTokenException(_KEY_ERROR) from None


class FederationMixin:
    env: ServiceEnv
    directory: Directory

    def _federated_session(
        self,
        ctx: RequestContext,
        role: PrincipalRecord,
        name: str,
        request: dict[str, Any],
        provider_arn: str,
        claims: dict[str, str],
        source_identity: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> tuple[PrincipalInfo, dict[str, Any], int | None]:
        duration = int(request.get("DurationSeconds") or 3600)
        if duration > role.max_session_duration:
            raise ValidationError(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            )
        policies = common.session_policies(self.env, self.directory, request)
        packed = common.packed_size(policies, tags or {})
        now = self.env.clock.now()
        session_arn = f"arn:{ctx.partition}:sts::{role.account_id}:assumed-role/{role.name}/{name}"
        principal = PrincipalInfo(
            kind="assumed-role",
            arn=session_arn,
            user_id=f"{role.id}:{name}",
            name=role.name,
            source_arn=role.arn,
            tags={**role.tags, **(tags or {})},
            session=SessionInfo(
                kind="assumed-role",
                name=name,
                issued_at=now,
                expires_at=now + duration,
                policies=policies,
                tags=tags or {},
                source_identity=source_identity,
                federated_provider=provider_arn,
                web_identity=claims,
            ),
        )
        _, credentials = common.issue(self.env, role.account_id, principal, duration)
        return principal, credentials, packed

    def _federated_role(self, role_arn: str, action: str) -> PrincipalRecord:
        record = self.directory.principal(role_arn)
        if record is None or record.kind != "role":
            raise AccessDenied(f"Not authorized to perform {action}")
        return record

    # --- OIDC -----------------------------------------------------------------------------

    async def assume_role_with_web_identity(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        token = request["WebIdentityToken"]
        action = "sts:AssumeRoleWithWebIdentity"
        try:
            header_segment, claims_segment, _ = token.split(".")
            _b64url_json(header_segment)
            claims = _b64url_json(claims_segment)
        except ValueError:
            raise InvalidIdentityTokenException(
                "The ID Token provided is not a valid JWT. (You may see this error if you sent "
                "an Access Token)"
            ) from None
        issuer = str(claims.get("iss", ""))
        host = re.sub(r"^https?://", "", issuer).rstrip("/")
        role_arn = request["RoleArn"]
        role_parts = role_arn.split(":")
        account = role_parts[4] if len(role_parts) > 5 else ctx.account_id
        provider_arn = f"arn:{ctx.partition}:iam::{account}:oidc-provider/{host}"
        provider = self.directory.oidc_provider(account, provider_arn)
        if provider is None:
            raise InvalidIdentityTokenException(
                f"No OpenIDConnect provider found in your account for {issuer}"
            )
        audiences = claims.get("aud")
        auds = audiences if isinstance(audiences, list) else [audiences]
        audience = next((a for a in auds if a in provider.client_ids), None)
        if audience is None:
            raise InvalidIdentityTokenException("Incorrect token audience")
        try:
            jwks = await asyncio.to_thread(fetch_jwks, issuer, provider.thumbprints)
        except (OSError, ValueError, KeyError, TypeError):
            raise IDPCommunicationErrorException(_KEY_ERROR) from None
        _verify_jwt(token, jwks)
        now = self.env.clock.now()
        expires = claims.get("exp")
        if not isinstance(expires, int | float) or expires < now:
            raise ExpiredTokenException(
                f"Token expired: current date/time {int(now)} must be before the expiration "
                f"date/time{expires}"
            )
        role = self._federated_role(role_arn, action)
        subject = str(claims.get("sub", ""))
        keys: dict[str, str] = {f"{host}:aud": audience, f"{host}:sub": subject}
        if "amr" in claims:
            amr = claims["amr"]
            keys[f"{host}:amr"] = amr[0] if isinstance(amr, list) and amr else str(amr)
        if "azp" in claims:
            keys[f"{host}:azp"] = str(claims["azp"])
        context: dict[str, ContextValue] = {**keys, "aws:FederatedProvider": provider_arn}
        who = Principal(federated=provider_arn)
        denied = f"Not authorized to perform {action}"
        common.check_trust(self.env, role.trust_policy, role.arn, who, [action], context, denied)
        principal, credentials, packed = self._federated_session(
            ctx, role, request["RoleSessionName"], request, provider_arn, keys
        )
        out: dict[str, Any] = {
            "Credentials": credentials,
            "SubjectFromWebIdentityToken": subject,
            "AssumedRoleUser": {"AssumedRoleId": principal.user_id, "Arn": principal.arn},
            "Provider": issuer,
            "Audience": audience,
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        return out

    # --- SAML -----------------------------------------------------------------------------

    def assume_role_with_saml(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        from overcast.services.sts import saml

        action = "sts:AssumeRoleWithSAML"
        provider_arn = request["PrincipalArn"]
        role_arn = request["RoleArn"]
        parts = provider_arn.split(":")
        account = parts[4] if len(parts) > 5 else ctx.account_id
        provider = self.directory.saml_provider(account, provider_arn)
        if provider is None:
            raise InvalidIdentityTokenException("Specified provider doesn't exist")
        assertion = saml.verify(request["SAMLAssertion"], provider.metadata_document)
        now = self.env.clock.now()
        if assertion.not_on_or_after is not None and now >= assertion.not_on_or_after:
            raise ExpiredTokenException("Token expired: the SAML assertion is no longer valid.")
        if assertion.not_before is not None and now < assertion.not_before:
            raise InvalidIdentityTokenException("Assertion is not yet valid.")
        if (role_arn, provider_arn) not in assertion.roles:
            raise AccessDenied(f"Not authorized to perform {action}")
        role = self._federated_role(role_arn, action)
        name_qualifier = base64.b64encode(
            hashlib.sha1(f"{assertion.issuer}{account}/{provider.name}".encode()).digest()
        ).decode()
        keys: dict[str, str] = {
            "saml:aud": assertion.audience or "",
            "saml:sub": assertion.subject,
            "saml:sub_type": assertion.subject_type,
            "saml:iss": assertion.issuer,
            "saml:namequalifier": name_qualifier,
        }
        context: dict[str, ContextValue] = {**keys, "aws:FederatedProvider": provider_arn}
        for key, value in assertion.tags.items():
            context[f"aws:RequestTag/{key}"] = value
        actions = [action] + (["sts:TagSession"] if assertion.tags else [])
        if assertion.source_identity:
            actions.append("sts:SetSourceIdentity")
        who = Principal(federated=provider_arn)
        denied = f"Not authorized to perform {action}"
        common.check_trust(self.env, role.trust_policy, role.arn, who, actions, context, denied)
        if assertion.session_duration and not request.get("DurationSeconds"):
            request = {**request, "DurationSeconds": min(assertion.session_duration, 43200)}
        if not assertion.session_name:
            raise InvalidIdentityTokenException(
                "SAML assertion is missing the RoleSessionName attribute"
            )
        principal, credentials, packed = self._federated_session(
            ctx,
            role,
            assertion.session_name,
            request,
            provider_arn,
            keys,
            source_identity=assertion.source_identity,
            tags=assertion.tags,
        )
        out: dict[str, Any] = {
            "Credentials": credentials,
            "AssumedRoleUser": {"AssumedRoleId": principal.user_id, "Arn": principal.arn},
            "Subject": assertion.subject,
            "SubjectType": assertion.subject_type,
            "Issuer": assertion.issuer,
            "Audience": assertion.audience or "",
            "NameQualifier": name_qualifier,
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        if assertion.source_identity:
            out["SourceIdentity"] = assertion.source_identity
        return out
