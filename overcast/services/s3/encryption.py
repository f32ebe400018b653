"""Server-side encryption: the bucket's default encryption (Put/Get/DeleteBucketEncryption) and
the SSE headers of object writes and reads (SSE-S3, SSE-KMS, SSE-C).

A version's encryption is resolved when it is written and kept in ``meta["sse"]``:
``{"ServerSideEncryption": "AES256" | "aws:kms" | "aws:kms:dsse", "SSEKMSKeyId": arn,
"BucketKeyEnabled": bool}`` or, for SSE-C, ``{"SSECustomerAlgorithm": "AES256",
"SSECustomerKeyMD5": b64}`` (the key itself is never stored, only its MD5, which every later
GET/HEAD/copy of the version must match). A write without SSE headers takes the bucket's default
(SSE-S3 when none is configured, as on AWS since January 2023).

KMS: key ids are stored as given, normalised to a key ARN in the request's account and region;
``kms_key_arn`` is the seam where the KMS service will check the key and generate data keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Any

from overcast.gateway.context import RequestContext
from overcast.services.base import ServiceEnv
from overcast.services.s3 import sse_at_rest
from overcast.services.s3.common import S3Base
from overcast.services.s3.errors import (
    AccessDenied,
    InvalidArgument,
    InvalidRequest,
    MalformedXML,
)
from overcast.services.s3.models import Bucket, ObjectVersion

CONFIG_KEY = "encryption"  # Bucket.config: {"Rules": [...]} as PutBucketEncryption sent it
ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
KMS = ("aws:kms", "aws:kms:dsse")
# Since April 2026 S3 blocks SSE-C writes in new buckets until PutBucketEncryption unblocks it.
BLOCK_SSE_C: dict[str, Any] = {"EncryptionType": ["SSE-C"]}
DEFAULT_RULE: dict[str, Any] = {
    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
    "BucketKeyEnabled": False,
    "BlockedEncryptionTypes": BLOCK_SSE_C,
}
_SSE_C_NEEDED = (
    "The object was stored using a form of Server Side Encryption. The correct parameters must "
    "be provided to retrieve the object."
)


def kms_key_arn(key_id: str, account_id: str, region: str) -> str:
    """The ARN of a KMS key named by id, alias or ARN (the KMS service will check it here)."""
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        return f"arn:aws:kms:{region}:{account_id}:{key_id}"
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def aws_managed_key(account_id: str, region: str) -> str:
    """The ``aws/s3`` AWS managed key's ARN, stable per account and region."""
    digest = hashlib.sha256(f"aws/s3:{account_id}:{region}".encode()).hexdigest()
    key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def customer_key(
    request: dict[str, Any], prefix: str = "", *, header: str = "x-amz-server-side-encryption"
) -> str | None:
    """Check the SSE-C headers named ``{prefix}SSECustomer*``; the key's MD5 (base64) or None."""
    algorithm = request.get(f"{prefix}SSECustomerAlgorithm")
    key = request.get(f"{prefix}SSECustomerKey")
    given_md5 = request.get(f"{prefix}SSECustomerKeyMD5")
    if algorithm is None and key is None and given_md5 is None:
        return None
    if algorithm is None:
        raise InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide "
            "a valid encryption algorithm.",
            ArgumentName=f"{header}-customer-algorithm",
        )
    if algorithm != "AES256":
        raise InvalidArgument(
            "The encryption algorithm specified is not supported.",
            ArgumentName=f"{header}-customer-algorithm",
            ArgumentValue=algorithm,
        )
    if key is None:
        raise InvalidArgument(
            "Requests specifying Server Side Encryption with Customer provided keys must provide "
            "an appropriate secret key.",
            ArgumentName=f"{header}-customer-key",
        )
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise InvalidArgument(
            "The secret key was invalid for the specified algorithm.",
            ArgumentName=f"{header}-customer-key",
        )
    md5 = base64.b64encode(hashlib.md5(raw).digest()).decode()
    if given_md5 is not None and given_md5 != md5:
        raise InvalidArgument(
            "The calculated MD5 hash of the key did not match the hash that was provided.",
            ArgumentName=f"{header}-customer-key-MD5",
        )
    return md5


def requested(request: dict[str, Any]) -> dict[str, Any]:
    """The encryption a write asks for, checked (the bucket's default is applied later)."""
    sse: dict[str, Any] = {}
    algorithm = request.get("ServerSideEncryption")
    key_md5 = customer_key(request)
    if key_md5 is not None:
        if algorithm or request.get("SSEKMSKeyId"):
            raise InvalidArgument(
                "Server Side Encryption with Customer provided key is incompatible with the "
                "encryption method specified",
                ArgumentName="x-amz-server-side-encryption",
                ArgumentValue=algorithm or "",
            )
        return {"SSECustomerAlgorithm": "AES256", "SSECustomerKeyMD5": key_md5}
    if algorithm:
        if algorithm not in ALGORITHMS:
            raise InvalidArgument(
                "The encryption method specified is not supported",
                ArgumentName="x-amz-server-side-encryption",
                ArgumentValue=algorithm,
            )
        sse["ServerSideEncryption"] = algorithm
    if request.get("SSEKMSKeyId"):
        if algorithm not in KMS:
            raise InvalidArgument(
                "Server Side Encryption with AWS Key Management Service managed key requires "
                "HTTP header x-amz-server-side-encryption : aws:kms",
                ArgumentName="x-amz-server-side-encryption-aws-kms-key-id",
            )
        sse["SSEKMSKeyId"] = request["SSEKMSKeyId"]
    if request.get("BucketKeyEnabled") is not None:
        sse["BucketKeyEnabled"] = bool(request["BucketKeyEnabled"])
    if request.get("SSEKMSEncryptionContext"):
        sse["SSEKMSEncryptionContext"] = request["SSEKMSEncryptionContext"]
    return sse


def default_rule(bucket: Bucket) -> dict[str, Any]:
    rules = (bucket.config.get(CONFIG_KEY) or {}).get("Rules") or [DEFAULT_RULE]
    return rules[0]


def resolve(bucket: Bucket, obj: ObjectVersion, account_id: str) -> None:
    """Complete a new version's ``meta["sse"]`` (``resolve_meta``), and give SSE-C and SSE-KMS
    versions an ETag that is not the MD5 of their data, as S3 does."""
    sse = resolve_meta(bucket, obj.meta, account_id)
    encrypted_by_key = "SSECustomerAlgorithm" in sse or sse.get("ServerSideEncryption") in KMS
    if encrypted_by_key and not obj.meta.get("parts") and obj.etag:
        obj.etag = f'"{hashlib.md5(obj.etag.encode() + secrets.token_bytes(16)).hexdigest()}"'


def resolve_meta(bucket: Bucket, meta: dict[str, Any], account_id: str) -> dict[str, Any]:
    """Complete ``meta["sse"]`` with the bucket default and the KMS key's ARN; returns it.
    An SSE-C write to a bucket that blocks SSE-C is refused (403)."""
    sse = meta.get("sse") or {}
    if "SSECustomerAlgorithm" in sse:
        blocked = default_rule(bucket).get("BlockedEncryptionTypes") or {}
        if "SSE-C" in (blocked.get("EncryptionType") or ()):
            raise AccessDenied()
    else:
        rule = default_rule(bucket)
        if "ServerSideEncryption" not in sse:
            by_default = rule.get("ApplyServerSideEncryptionByDefault") or {}
            sse["ServerSideEncryption"] = by_default.get("SSEAlgorithm", "AES256")
            if by_default.get("KMSMasterKeyID") and sse["ServerSideEncryption"] in KMS:
                sse.setdefault("SSEKMSKeyId", by_default["KMSMasterKeyID"])
            if rule.get("BucketKeyEnabled") and sse["ServerSideEncryption"] in KMS:
                sse.setdefault("BucketKeyEnabled", True)
        if sse["ServerSideEncryption"] in KMS:
            key = sse.get("SSEKMSKeyId")
            sse["SSEKMSKeyId"] = (
                kms_key_arn(key, account_id, bucket.region)
                if key
                else aws_managed_key(account_id, bucket.region)
            )
        else:
            sse.pop("BucketKeyEnabled", None)
    meta["sse"] = sse
    return sse


def members(meta: dict[str, Any]) -> dict[str, Any]:
    """The SSE output members (headers) of a version or upload."""
    sse = meta.get("sse") or {}
    if "SSECustomerAlgorithm" in sse:
        return {
            "SSECustomerAlgorithm": sse["SSECustomerAlgorithm"],
            "SSECustomerKeyMD5": sse["SSECustomerKeyMD5"],
        }
    out: dict[str, Any] = {"ServerSideEncryption": sse.get("ServerSideEncryption", "AES256")}
    if "SSEKMSKeyId" in sse:
        out["SSEKMSKeyId"] = sse["SSEKMSKeyId"]
    if "BucketKeyEnabled" in sse:
        out["BucketKeyEnabled"] = sse["BucketKeyEnabled"]
    return out


def check_key_for(meta: dict[str, Any], request: dict[str, Any], prefix: str = "") -> None:
    """A read (or copy source, ``prefix="CopySource"``) of an SSE-C version must present the
    same key; a key sent for a version that has none is refused too."""
    header = (
        "x-amz-copy-source-server-side-encryption" if prefix else "x-amz-server-side-encryption"
    )
    given = customer_key(request, prefix, header=header)
    stored = (meta.get("sse") or {}).get("SSECustomerKeyMD5")
    if stored is None:
        if given is not None:
            raise InvalidRequest("The encryption parameters are not applicable to this object.")
        return
    if given is None:
        raise InvalidRequest(_SSE_C_NEEDED)
    if given != stored:
        raise AccessDenied()


def check_part_key(upload_meta: dict[str, Any], request: dict[str, Any]) -> None:
    """UploadPart of an SSE-C upload needs the key the upload was created with."""
    given = customer_key(request)
    stored = (upload_meta.get("sse") or {}).get("SSECustomerKeyMD5")
    if given != stored:
        raise InvalidRequest(
            "The provided encryption parameters did not match the ones used originally."
        )


def _check_rules(config: dict[str, Any]) -> list[dict[str, Any]]:
    rules = config.get("Rules") or []
    if len(rules) != 1:
        raise MalformedXML()
    rule = dict(rules[0])
    by_default = rule.get("ApplyServerSideEncryptionByDefault")
    if not by_default:
        raise MalformedXML()
    algorithm = by_default.get("SSEAlgorithm")
    if algorithm not in ALGORITHMS:
        raise MalformedXML()
    if by_default.get("KMSMasterKeyID") and algorithm not in KMS:
        raise InvalidArgument(
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or "
            "aws:kms:dsse",
            ArgumentName="ApplyServerSideEncryptionByDefault",
        )
    rule["BucketKeyEnabled"] = bool(rule.get("BucketKeyEnabled", False))
    blocked = rule.get("BlockedEncryptionTypes")
    types = (blocked or BLOCK_SSE_C).get("EncryptionType") or []
    if any(t not in ("NONE", "SSE-C") for t in types) or ("NONE" in types and len(types) > 1):
        raise MalformedXML()
    rule["BlockedEncryptionTypes"] = {"EncryptionType": list(types) or ["NONE"]}
    return [rule]


class Encryption(S3Base):
    def __init__(self, env: ServiceEnv) -> None:
        super().__init__(env)
        sse_at_rest.migrate(env.store)
        env.store.write(sse_at_rest.collect_orphans)  # before this provider serves any write

    def put_bucket_encryption(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        rules = _check_rules(request.get("ServerSideEncryptionConfiguration") or {})
        self._write_config(
            ctx, request, "s3:PutEncryptionConfiguration", CONFIG_KEY, {"Rules": rules}
        )
        return {}

    def get_bucket_encryption(self, ctx: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        bucket = self._config_bucket(ctx, request, "s3:GetEncryptionConfiguration")
        return {"ServerSideEncryptionConfiguration": {"Rules": [default_rule(bucket)]}}

    def delete_bucket_encryption(
        self, ctx: RequestContext, request: dict[str, Any]
    ) -> dict[str, Any]:
        # The bucket falls back to SSE-S3 with SSE-C blocked: GetBucketEncryption answers that.
        self._write_config(ctx, request, "s3:PutEncryptionConfiguration", CONFIG_KEY)
        return {}
