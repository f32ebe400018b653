"""Server-side encryption through boto3: bucket default encryption, SSE-S3 and SSE-KMS headers,
SSE-C keys required on every read and copy, wrong keys refused."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def bucket(client: Any) -> tuple[Any, str]:
    s3 = client("s3")
    name = f"enc-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


@pytest.fixture
def sse_c_bucket(bucket: tuple[Any, str]) -> tuple[Any, str]:
    """A bucket that allows SSE-C writes (S3 blocks them by default since April 2026)."""
    s3, name = bucket
    _allow_sse_c(s3, name, True)
    return s3, name


def _allow_sse_c(s3: Any, name: str, allowed: bool) -> None:
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
        "BlockedEncryptionTypes": {"EncryptionType": ["NONE" if allowed else "SSE-C"]},
    }
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})


def test_sse_c_blocked_by_default(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    key = os.urandom(32)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=name, Key="c", Body=b"x", **_sse_c(key))
    assert _code(exc) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as exc:
        s3.create_multipart_upload(Bucket=name, Key="m", **_sse_c(key))
    assert _code(exc) == ("AccessDenied", 403)
    _allow_sse_c(s3, name, True)
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["NONE"]}
    s3.put_object(Bucket=name, Key="c", Body=b"x", **_sse_c(key))
    # Blocking again refuses new SSE-C writes; existing objects still read with their key.
    _allow_sse_c(s3, name, False)
    assert s3.get_object(Bucket=name, Key="c", **_sse_c(key))["Body"].read() == b"x"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=name, Key="d", Body=b"x", **_sse_c(key))
    assert _code(exc) == ("AccessDenied", 403)


def test_default_is_sse_s3(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    config = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
    rule = config["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert rule["BucketKeyEnabled"] is False
    body = b"hello"
    put = s3.put_object(Bucket=name, Key="k", Body=body)
    assert put["ServerSideEncryption"] == "AES256"
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # SSE-S3 keeps the MD5 ETag
    assert s3.head_object(Bucket=name, Key="k")["ServerSideEncryption"] == "AES256"


def test_kms_default_and_headers(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "alias/my-key",
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "alias/my-key"
    assert rule["BucketKeyEnabled"] is True
    body = b"secret"
    put = s3.put_object(Bucket=name, Key="k", Body=body)
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"].endswith(":alias/my-key")
    assert put["BucketKeyEnabled"] is True
    assert put["ETag"] != f'"{hashlib.md5(body).hexdigest()}"'  # not the MD5 under SSE-KMS
    head = s3.head_object(Bucket=name, Key="k")
    assert head["SSEKMSKeyId"] == put["SSEKMSKeyId"]
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == body
    # An explicit SSE-S3 write overrides the default.
    explicit = s3.put_object(Bucket=name, Key="s3", Body=b"x", ServerSideEncryption="AES256")
    assert explicit["ServerSideEncryption"] == "AES256"
    assert "SSEKMSKeyId" not in explicit
    # Deleting the configuration falls back to SSE-S3.
    s3.delete_bucket_encryption(Bucket=name)
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_kms_without_key_uses_aws_managed_key(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    put = s3.put_object(Bucket=name, Key="k", Body=b"x", ServerSideEncryption="aws:kms")
    assert put["SSEKMSKeyId"].startswith("arn:aws:kms:us-east-1:000000000000:key/")
    again = s3.put_object(Bucket=name, Key="k2", Body=b"x", ServerSideEncryption="aws:kms")
    assert again["SSEKMSKeyId"] == put["SSEKMSKeyId"]


def test_configuration_validation(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "AES256",
                            "KMSMasterKeyID": "k",
                        }
                    }
                ]
            },
        )
    assert _code(exc) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=name, Key="k", Body=b"x", SSEKMSKeyId="k")
    assert _code(exc) == ("InvalidArgument", 400)


def _sse_c(key: bytes, prefix: str = "") -> dict[str, Any]:
    # botocore base64-encodes the key and adds its MD5.
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def test_sse_c_key_required_and_checked(sse_c_bucket: tuple[Any, str]) -> None:
    s3, name = sse_c_bucket
    key, wrong = os.urandom(32), os.urandom(32)
    body = b"customer data"
    put = s3.put_object(Bucket=name, Key="c", Body=body, **_sse_c(key))
    key_md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert put["SSECustomerKeyMD5"] == key_md5
    assert "ServerSideEncryption" not in put
    assert put["ETag"] != f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=name, Key="c", **_sse_c(key))
    assert got["Body"].read() == body
    assert got["SSECustomerKeyMD5"] == key_md5
    assert s3.head_object(Bucket=name, Key="c", **_sse_c(key))["ContentLength"] == len(body)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=name, Key="c")
    assert _code(exc) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=name, Key="c")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=name, Key="c", **_sse_c(wrong))
    assert _code(exc) == ("AccessDenied", 403)
    # Copies need the source's key, and may re-encrypt with another.
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=name, Key="c2", CopySource={"Bucket": name, "Key": "c"})
    assert _code(exc) == ("InvalidRequest", 400)
    s3.copy_object(
        Bucket=name,
        Key="c2",
        CopySource={"Bucket": name, "Key": "c"},
        **_sse_c(key, "CopySource"),
        **_sse_c(wrong),
    )
    assert s3.get_object(Bucket=name, Key="c2", **_sse_c(wrong))["Body"].read() == body
    s3.copy_object(
        Bucket=name,
        Key="plain",
        CopySource={"Bucket": name, "Key": "c"},
        **_sse_c(key, "CopySource"),
    )
    assert s3.get_object(Bucket=name, Key="plain")["Body"].read() == body


def test_sse_c_bad_requests(sse_c_bucket: tuple[Any, str]) -> None:
    s3, name = sse_c_bucket
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket=name, Key="k", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey="short"
        )
    assert _code(exc) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket=name,
            Key="k",
            Body=b"x",
            SSECustomerAlgorithm="AES256",
            SSECustomerKey=base64.b64encode(os.urandom(32)).decode(),
            SSECustomerKeyMD5=base64.b64encode(b"0" * 16).decode(),
        )
    assert _code(exc) == ("InvalidArgument", 400)
    s3.put_object(Bucket=name, Key="plain", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=name, Key="plain", **_sse_c(os.urandom(32)))
    assert _code(exc) == ("InvalidRequest", 400)


def test_multipart_takes_bucket_default(bucket: tuple[Any, str]) -> None:
    s3, name = bucket
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    upload = s3.create_multipart_upload(Bucket=name, Key="mp")
    assert upload["ServerSideEncryption"] == "aws:kms"
    part = s3.upload_part(
        Bucket=name, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"p"
    )
    done = s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert done["ServerSideEncryption"] == "aws:kms"
    assert s3.head_object(Bucket=name, Key="mp")["ServerSideEncryption"] == "aws:kms"


def test_sse_c_multipart_parts_need_the_key(sse_c_bucket: tuple[Any, str]) -> None:
    s3, name = sse_c_bucket
    key = os.urandom(32)
    upload = s3.create_multipart_upload(Bucket=name, Key="mp", **_sse_c(key))
    assert upload["SSECustomerAlgorithm"] == "AES256"
    upload_id = upload["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"p")
    assert _code(exc) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as exc:
        s3.upload_part(
            Bucket=name,
            Key="mp",
            UploadId=upload_id,
            PartNumber=1,
            Body=b"p",
            **_sse_c(os.urandom(32)),
        )
    assert _code(exc) == ("InvalidRequest", 400)
    part = s3.upload_part(
        Bucket=name, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"p", **_sse_c(key)
    )
    s3.complete_multipart_upload(
        Bucket=name,
        Key="mp",
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert s3.get_object(Bucket=name, Key="mp", **_sse_c(key))["Body"].read() == b"p"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=name, Key="mp")
    assert _code(exc) == ("InvalidRequest", 400)
