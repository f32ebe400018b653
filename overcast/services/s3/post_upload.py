"""Browser-based uploads: POST /bucket with multipart/form-data and a signed POST policy.

The form's ``policy`` (base64 JSON with ``expiration`` and ``conditions``) is checked as S3 checks
it: not expired; every condition (exact ``{"field": value}``, ``["eq", "$f", v]``,
``["starts-with", "$f", prefix]``, ``["content-length-range", min, max]``) holds; every form field
other than the exempt ones is covered by a condition. The signature (SigV4 ``x-amz-signature`` over
the base64 policy, or SigV2 ``signature``) is verified for keys the server knows; unknown keys pass
unverified as everywhere else in Overcast. A form without a policy is an anonymous upload. A form
signed with an IAM principal's key (IAM user, STS session) acts as that principal: its policies
must allow ``s3:PutObject`` on the key, as the gateway's authorize step decides for PutObject.

The file part streams into the blob store; the object is then committed like PutObject.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import json
import sqlite3
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from overcast.gateway.asgi import AsgiBodyStream, Receive
from overcast.gateway.auth import Identity
from overcast.gateway.auth.credentials import Credential
from overcast.gateway.auth.signing import hmac_hex, signatures_equal, signing_key
from overcast.gateway.auth.style import ErrorStyle
from overcast.gateway.authorize import authorize_operation
from overcast.gateway.context import RequestContext
from overcast.gateway.urls import s3_url
from overcast.protocol.http import Headers, HttpResponse
from overcast.services.s3 import body as bodies
from overcast.services.s3 import object_hooks, store
from overcast.services.s3.common import meta_of
from overcast.services.s3.errors import (
    AccessDenied,
    EntityTooLarge,
    EntityTooSmall,
    InvalidAccessKeyId,
    InvalidArgument,
    InvalidPolicyDocument,
    MalformedXML,
    NoSuchBucket,
    SignatureDoesNotMatch,
)
from overcast.services.s3.events_out import object_event
from overcast.services.s3.models import ObjectVersion
from overcast.services.s3.object_common import sse_of
from overcast.services.s3.ownership import object_owner
from overcast.services.s3.post_form import StreamBody, boundary_of, read_form
from overcast.services.s3.sse_at_rest import DataKey
from overcast.services.s3.tagging import validate_tags

if TYPE_CHECKING:
    from overcast.services.s3.access import Access

# Fields that need no condition in the policy (S3's documented exemptions).
_EXEMPT = {"policy", "x-amz-signature", "signature", "awsaccesskeyid", "file"}
_META_FIELDS = {
    "content-type": "ContentType",
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
}
# Encryption fields, named as the PutObject members they stand for.
_SSE_FIELDS = {
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-server-side-encryption-aws-kms-key-id": "SSEKMSKeyId",
    "x-amz-server-side-encryption-context": "SSEKMSEncryptionContext",
    "x-amz-server-side-encryption-customer-algorithm": "SSECustomerAlgorithm",
    "x-amz-server-side-encryption-customer-key": "SSECustomerKey",
    "x-amz-server-side-encryption-customer-key-md5": "SSECustomerKeyMD5",
}


def _denied(reason: str) -> AccessDenied:
    return AccessDenied(f"Invalid according to Policy: {reason}")


def _condition_text(parts: list[Any]) -> str:
    return "[" + ", ".join(json.dumps(p) for p in parts) + "]"


def _missing(name: str) -> InvalidArgument:
    return InvalidArgument(
        f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the "
        "order of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


class _Policy:
    """A decoded POST policy: checks fields now and the file's length once received."""

    def __init__(self, encoded: str, now: float) -> None:
        try:
            document = json.loads(base64.b64decode(encoded, validate=False))
        except (binascii.Error, ValueError):
            raise InvalidPolicyDocument("Invalid Policy: Invalid JSON.") from None
        if not isinstance(document, dict):
            raise InvalidPolicyDocument("Invalid Policy: Invalid JSON.")
        expiration = document.get("expiration")
        if expiration is None:
            raise InvalidPolicyDocument("Invalid Policy: Policy missing expiration.")
        try:
            # ISO 8601 with the 'T' separator, as AWS requires ("2007-12-01T12:00:00.000Z").
            if "T" not in str(expiration):
                raise ValueError(expiration)
            expires = datetime.fromisoformat(str(expiration).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidPolicyDocument(
                f"Invalid Policy: Invalid 'expiration' value: '{expiration}'"
            ) from None
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if expires.timestamp() < now:
            raise _denied("Policy expired.")
        conditions = document.get("conditions")
        if not isinstance(conditions, list):
            raise InvalidPolicyDocument("Invalid Policy: Policy missing conditions.")
        self.conditions = conditions
        self.length_range: tuple[int, int] | None = None

    def check(self, fields: dict[str, str]) -> None:
        """``fields``: lower-cased name -> value, the bucket included."""
        covered: set[str] = set()
        for condition in self.conditions:
            if isinstance(condition, dict):
                if len(condition) != 1:
                    raise InvalidPolicyDocument(
                        "Invalid Policy: Invalid Simple-Condition: "
                        "Simple-Conditions must have exactly one property specified."
                    )
                for name, expected in condition.items():
                    field = name.lower()
                    covered.add(field)
                    if fields.get(field) != str(expected):
                        raise _denied(
                            "Policy Condition failed: "
                            + _condition_text(["eq", f"${name}", expected])
                        )
            elif isinstance(condition, list) and condition:
                self._check_list(condition, fields, covered)
            else:
                raise InvalidPolicyDocument("Invalid Policy: Invalid Simple-Condition.")
        for name in fields:
            # The bucket counts as a form field: a policy without a bucket condition is refused.
            if name in _EXEMPT or name.startswith("x-ignore-"):
                continue
            if name not in covered:
                raise _denied(f"Extra input fields: {name}")

    def _check_list(self, condition: list[Any], fields: dict[str, str], covered: set[str]) -> None:
        op = str(condition[0]).lower()
        if op == "content-length-range":
            if len(condition) != 3:
                raise InvalidPolicyDocument("Invalid Policy: Invalid content-length-range.")
            try:
                self.length_range = (int(condition[1]), int(condition[2]))
            except (TypeError, ValueError):
                raise InvalidPolicyDocument(
                    "Invalid Policy: Invalid content-length-range."
                ) from None
            return
        if op not in ("eq", "starts-with") or len(condition) != 3:
            raise InvalidPolicyDocument(
                f"Invalid Policy: Invalid Condition: {_condition_text(condition)}"
            )
        target = str(condition[1])
        if not target.startswith("$"):
            raise InvalidPolicyDocument(
                f"Invalid Policy: Invalid Condition: {_condition_text(condition)}"
            )
        field = target[1:].lower()
        covered.add(field)
        value = fields.get(field, "")
        expected = str(condition[2])
        if op == "eq":
            ok = value == expected
        elif field == "content-type":
            # A comma-separated Content-Type list: each element must start with the prefix.
            ok = all(v.strip().startswith(expected) for v in value.split(","))
        else:
            ok = value.startswith(expected)
        if not ok:
            raise _denied("Policy Condition failed: " + _condition_text(condition))

    def check_length(self, size: int) -> None:
        if self.length_range is None:
            return
        low, high = self.length_range
        if size > high:
            raise EntityTooLarge(ProposedSize=size, MaxSizeAllowed=high)
        if size < low:
            raise EntityTooSmall(ProposedSize=size, MinSizeAllowed=low)


def _identity(provider: Access, ctx: RequestContext, fields: dict[str, str]) -> Identity:
    """Who the form is signed by; anonymous without a policy."""
    settings = provider.env.settings
    encoded = fields.get("policy")
    v4 = "x-amz-credential" in fields or "x-amz-signature" in fields
    if encoded is None:
        if v4 or "signature" in fields or "awsaccesskeyid" in fields:
            raise _missing("policy")
        return Identity(settings.default_account, "", None, None, "anonymous", verified=False)
    if v4:
        for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"):
            if name not in fields:
                raise _missing(name)
        if fields["x-amz-algorithm"] != "AWS4-HMAC-SHA256":
            raise InvalidArgument(
                "POST form fields x-amz-algorithm must be AWS4-HMAC-SHA256",
                ArgumentName="x-amz-algorithm",
                ArgumentValue=fields["x-amz-algorithm"],
            )
        parts = fields["x-amz-credential"].split("/")
        if len(parts) != 5:
            raise InvalidArgument(
                "Invalid argument.",
                ArgumentName="x-amz-credential",
                ArgumentValue=fields["x-amz-credential"],
            )
        access_key, date, region, service, _ = parts
        provided, method = fields["x-amz-signature"], "sigv4-post"
    else:
        for name in ("awsaccesskeyid", "signature"):
            if name not in fields:
                raise _missing("AWSAccessKeyId" if name == "awsaccesskeyid" else name)
        access_key, region = fields["awsaccesskeyid"], None
        provided, method = fields["signature"], "sigv2-post"
    known = provider.env.credentials.lookup(access_key)
    if known is None:
        account = settings.default_account
        return Identity(
            account, f"arn:aws:iam::{account}:root", access_key, region, method, verified=False
        )
    _check_credential(provider, known, access_key, fields)
    if v4:
        key = signing_key(known.secret_key, date, region or "", service)
        ok = signatures_equal(hmac_hex(key, encoded), provided)
    else:
        digest = hmac.new(known.secret_key.encode(), encoded.encode(), hashlib.sha1).digest()
        ok = hmac.compare_digest(base64.b64encode(digest).decode(), provided)
    if not ok:
        raise SignatureDoesNotMatch(AWSAccessKeyId=access_key, StringToSign=encoded)
    return Identity(
        known.account_id,
        known.principal_arn or f"arn:aws:iam::{known.account_id}:root",
        access_key,
        region,
        method,
        verified=True,
        session_token=fields.get("x-amz-security-token"),
        principal=known.principal,  # an IAM principal's upload is enforced (``handle``)
    )


def _check_credential(
    provider: Access, known: Credential, access_key: str, fields: dict[str, str]
) -> None:
    """The authenticator's checks of a key, for the key that signed the form's policy: IAM's
    inactive and deleted keys, STS keys without their token or expired."""
    if known.status != "Active":
        raise InvalidAccessKeyId(AWSAccessKeyId=access_key)
    style = ErrorStyle("rest-xml", True)
    token = fields.get("x-amz-security-token")
    if known.session_token is not None and token != known.session_token:
        raise style.invalid_token()
    if known.expires_at is not None and known.expires_at < provider._now():
        raise style.expired_token()


def _tags(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        raise MalformedXML() from None
    pairs = []
    for tag in root.iter():
        if tag.tag.rsplit("}", 1)[-1] == "Tag":
            key = value = ""
            for child in tag:
                name = child.tag.rsplit("}", 1)[-1]
                if name == "Key":
                    key = child.text or ""
                elif name == "Value":
                    value = child.text or ""
            pairs.append((key, value))
    return validate_tags(pairs)


def _meta(fields: dict[str, str], originals: list[tuple[str, str]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for field, member in _META_FIELDS.items():
        if fields.get(field):
            params[member] = fields[field]
    user = {
        name[len("x-amz-meta-") :].lower(): value
        for name, value in originals
        if name.lower().startswith("x-amz-meta-")
    }
    if user:
        params["Metadata"] = user
    meta = meta_of(params)
    if fields.get("expires"):
        meta["expires"] = fields["expires"]
    return meta


def _location(ctx: RequestContext, bucket: str, key: str) -> str:
    return s3_url(ctx, bucket, key)


def _success(
    ctx: RequestContext, fields: dict[str, str], bucket: str, key: str, obj: ObjectVersion
) -> HttpResponse:
    location = _location(ctx, bucket, key)
    headers = Headers({"ETag": obj.etag, "Location": location, "x-amz-request-id": ctx.request_id})
    if obj.version_id and obj.version_id != "null":
        headers.set("x-amz-version-id", obj.version_id)
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and urlsplit(redirect).scheme in ("http", "https"):
        query = urlencode({"bucket": bucket, "key": key, "etag": obj.etag})
        headers.set("Location", redirect + ("&" if "?" in redirect else "?") + query)
        return HttpResponse(status=303, headers=headers, body=b"")
    status = fields.get("success_action_status")
    if status == "200":
        return HttpResponse(status=200, headers=headers, body=b"")
    if status == "201":
        headers.set("Content-Type", "application/xml")
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Location>{escape(location)}</Location><Bucket>{escape(bucket)}</Bucket>"
            f"<Key>{escape(key)}</Key><ETag>{escape(obj.etag)}</ETag></PostResponse>"
        )
        return HttpResponse(status=201, headers=headers, body=document.encode())
    return HttpResponse(status=204, headers=headers, body=b"")


async def handle(
    provider: Access, ctx: RequestContext, name: str, receive: Receive
) -> HttpResponse:
    form, buffer = await read_form(
        AsgiBodyStream(receive), boundary_of(ctx.request.headers["content-type"])
    )
    assert form.file is not None
    fields = {n.lower(): v for n, v in form.fields}
    bucket = provider._store.read(lambda c: store.get_bucket(c, name))
    if bucket is None:
        raise NoSuchBucket(BucketName=name)
    raw_key = fields.get("key")
    if raw_key is None:
        raise _missing("key")
    key = raw_key.replace("${filename}", form.file.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    if not key:
        raise InvalidArgument(
            "User key must have a length greater than 0.", ArgumentName="key", ArgumentValue=""
        )
    identity = _identity(provider, ctx, fields)
    ctx.params["Key"], ctx.identity = key, identity  # what the server access log records
    post_ctx = dataclasses.replace(ctx, identity=identity, params={})
    policy = None
    if "policy" in fields:
        policy = _Policy(fields["policy"], provider._now())
        # Conditions apply to the key after ${filename} is substituted.
        policy.check({**fields, "key": key, "bucket": name})
    acl_request = {"Bucket": name, "ACL": fields.get("acl")} if fields.get("acl") else None
    owner = identity.account_id
    tags = _tags(fields.get("tagging"))
    if identity.principal is not None:  # IAM's authorize step, as for PutObject
        put = {"Bucket": name, "Key": key, "ACL": fields.get("acl"), "Tagging": urlencode(tags)}
        authorize_operation(post_ctx, "PutObject", put)
    provider._store.read(lambda c: provider._access(post_ctx, c, name, "s3:PutObject", key=key))
    acl = provider._acl_from_request(post_ctx, acl_request, owner) if acl_request else None
    meta = _meta(fields, form.fields)
    sse = sse_of({member: fields[f] for f, member in _SSE_FIELDS.items() if f in fields})
    if sse:
        meta["sse"] = sse
    high = policy.length_range[1] if policy and policy.length_range else bodies.MAX_SINGLE_PUT
    data_key = DataKey.new()  # encrypted at rest, as a PutObject body
    try:
        received = await bodies.receive(
            provider._store,
            StreamBody(form.file.stream),
            max_size=min(high, bodies.MAX_SINGLE_PUT),
            encryptor=data_key.cipher_at(0),
        )
    except EntityTooLarge:
        await buffer.drain()
        raise
    await buffer.drain()
    try:
        if policy is not None:
            policy.check_length(received.blob.size)
        meta["owner"] = owner
        if acl is not None:
            meta["acl"] = acl
        if tags:
            meta["tags"] = tags
        obj = ObjectVersion(
            bucket=name,
            key=key,
            version_id="",
            last_modified=provider._now(),
            size=received.blob.size,
            etag=received.etag,
            storage_class=fields.get("x-amz-storage-class") or "STANDARD",
            segments=[(received.blob.id, received.blob.size)] if received.blob.size else [],
            meta=meta,
        )

        def commit(conn: sqlite3.Connection) -> ObjectVersion:
            current = provider._access(post_ctx, conn, name, "s3:PutObject", key=key)
            obj.meta["owner"] = object_owner(current, owner, fields.get("acl"))
            hooks_request = {object_hooks.DATA_KEY: data_key}
            object_hooks.on_write(post_ctx, current, obj, hooks_request, provider._now(), conn)
            store.put_version(conn, provider._store, current, obj)
            object_event(post_ctx, conn, provider.env, current, key, "ObjectCreated:Post", obj)
            return obj

        obj = provider._store.write(commit)
    except BaseException:
        bodies.discard(provider._store, received)
        raise
    if not received.blob.size:
        bodies.discard(provider._store, received)
    return _success(ctx, fields, name, key, obj)
