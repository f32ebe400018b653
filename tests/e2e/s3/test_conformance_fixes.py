"""Regressions found by running an independent S3 conformance suite (Ceph's s3-tests) against
Overcast: each test pins the AWS rule the suite caught us breaking (docs/s3-conformance.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess
from tests.e2e.s3.access_helpers import KEY, SECRET, error_of, new_bucket

# --- browser POST uploads (PostObject) ---------------------------------------------------------


def _signed_form(policy: dict[str, Any], **fields: str) -> dict[str, str]:
    """Form fields signed with SigV2 (HMAC-SHA1 over the base64 policy), as old browsers send."""
    encoded = base64.b64encode(json.dumps(policy).encode())
    signature = base64.b64encode(hmac.new(SECRET.encode(), encoded, hashlib.sha1).digest())
    return {
        "AWSAccessKeyId": KEY,
        "policy": encoded.decode(),
        "signature": signature.decode(),
        **fields,
    }


def _expiry(seconds: int = 600) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _post(
    endpoint: str, bucket: str, fields: dict[str, str], filename: str = "f.txt"
) -> requests.Response:
    files = {"file": (filename, b"bar")}
    return requests.post(f"{endpoint}/{bucket}", data=fields, files=files, timeout=10)


def test_post_policy_conditions_see_the_key_after_filename_substitution(
    keyed_server: ServerProcess, other: Any
) -> None:
    # AWS substitutes ${filename} in the key field, then checks the policy against the result.
    name = new_bucket(other)
    policy = {
        "expiration": _expiry().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [{"bucket": name}, ["starts-with", "$key", "up/"]],
    }
    form = _signed_form(policy, key="up/${filename}")
    response = _post(keyed_server.endpoint, name, form, filename="photo.png")
    assert response.status_code == 204, response.text
    assert other.get_object(Bucket=name, Key="up/photo.png")["Body"].read() == b"bar"


def test_post_policy_without_a_bucket_condition_is_refused(
    keyed_server: ServerProcess, other: Any
) -> None:
    # Every form field, the bucket included, must be covered by a condition:
    # 403 "Invalid according to Policy: Extra input fields: bucket".
    name = new_bucket(other)
    policy = {
        "expiration": _expiry().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "conditions": [["starts-with", "$key", ""]],
    }
    response = _post(keyed_server.endpoint, name, _signed_form(policy, key="k"))
    assert response.status_code == 403
    assert "Extra input fields: bucket" in response.text


def test_post_policy_expiration_must_be_iso8601(keyed_server: ServerProcess, other: Any) -> None:
    # The expiration is an ISO 8601 date-time ("2007-12-01T12:00:00.000Z"); Python's str()
    # form with a space is an invalid policy document (400), not a valid date.
    name = new_bucket(other)
    conditions = [{"bucket": name}, ["starts-with", "$key", ""]]
    policy = {"expiration": str(_expiry()), "conditions": conditions}
    response = _post(keyed_server.endpoint, name, _signed_form(policy, key="k"))
    assert response.status_code == 400
    assert "InvalidPolicyDocument" in response.text


def test_post_policy_simple_condition_needs_exactly_one_property(
    keyed_server: ServerProcess, other: Any
) -> None:
    # {} (or a two-key object) in "conditions" is 400 InvalidPolicyDocument, "Invalid
    # Simple-Condition: Simple-Conditions must have exactly one property specified."
    name = new_bucket(other)
    policy = {"expiration": _expiry().strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": [{}]}
    response = _post(keyed_server.endpoint, name, _signed_form(policy, key="k"))
    assert response.status_code == 400
    assert "Simple-Conditions must have exactly one property" in response.text


# --- access: 404 versus 403 for a missing key -------------------------------------------------


def test_anonymous_reader_of_a_listable_bucket_learns_a_key_is_missing(
    keyed_server: ServerProcess, s3: Any
) -> None:
    # S3 answers 404 NoSuchKey to whoever holds s3:ListBucket (here AllUsers READ on the
    # bucket ACL), 403 only to callers who may not list.
    name = new_bucket(s3, public=True, acls=True)
    s3.put_bucket_acl(Bucket=name, ACL="public-read")
    missing = requests.get(f"{keyed_server.endpoint}/{name}/nope", timeout=10)
    assert missing.status_code == 404
    assert "<Code>NoSuchKey</Code>" in missing.text
    s3.put_bucket_acl(Bucket=name, ACL="private")
    hidden = requests.get(f"{keyed_server.endpoint}/{name}/nope", timeout=10)
    assert hidden.status_code == 403


# --- CopyObject onto itself -------------------------------------------------------------------


def test_copy_onto_itself_with_replaced_metadata_keeps_the_bytes(s3: Any) -> None:
    # Copying an object onto itself is how S3 users change its metadata
    # (MetadataDirective=REPLACE): the body must survive, in unversioned and versioned buckets.
    for versioned in (False, True):
        name = new_bucket(s3)
        if versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=name, Key="k", Body=b"payload")
        s3.copy_object(
            Bucket=name,
            Key="k",
            CopySource={"Bucket": name, "Key": "k"},
            Metadata={"colour": "blue"},
            MetadataDirective="REPLACE",
        )
        got = s3.get_object(Bucket=name, Key="k")
        assert got["Body"].read() == b"payload"
        assert got["Metadata"] == {"colour": "blue"}


# --- ACL grants by e-mail address -------------------------------------------------------------


def test_grant_to_an_unknown_email_address_is_unresolvable(s3: Any) -> None:
    # S3 resolves an AmazonCustomerByEmail grantee to its account, and answers 400
    # UnresolvableGrantByEmailAddress for an address no account has (no account here has one).
    name = new_bucket(s3, acls=True)
    acl = s3.get_bucket_acl(Bucket=name)
    grant = {
        "Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "nobody@example.invalid"},
        "Permission": "READ",
    }
    policy = {"Owner": acl["Owner"], "Grants": [*acl["Grants"], grant]}
    with pytest.raises(ClientError) as body_grant:
        s3.put_bucket_acl(Bucket=name, AccessControlPolicy=policy)
    assert error_of(body_grant) == ("UnresolvableGrantByEmailAddress", 400)
    with pytest.raises(ClientError) as header_grant:
        s3.put_bucket_acl(Bucket=name, GrantRead='emailAddress="nobody@example.invalid"')
    assert error_of(header_grant) == ("UnresolvableGrantByEmailAddress", 400)
    assert s3.get_bucket_acl(Bucket=name)["Grants"] == acl["Grants"]


# --- tagging ----------------------------------------------------------------------------------


def test_tagging_header_reads_a_bare_name_as_an_empty_value(s3: Any) -> None:
    # x-amz-tagging is a URL query string; "foo=bar&bar" tags "bar" with an empty value.
    name = new_bucket(s3)

    def add_header(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["x-amz-tagging"] = "foo=bar&bar"

    s3.meta.events.register_first("before-call.s3.PutObject", add_header)
    try:
        s3.put_object(Bucket=name, Key="k", Body=b"x")
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", add_header)
    tags = s3.get_object_tagging(Bucket=name, Key="k")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("bar", ""), ("foo", "bar")]


def _allow_when_public(s3: Any, name: str, action: str, condition_key: str) -> None:
    """A bucket policy allowing anyone `action` on the bucket's objects when `condition_key`
    is "public"."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": action,
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"StringEquals": {condition_key: "public"}},
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def test_policy_condition_on_existing_object_tag(s3: Any, other: Any) -> None:
    # s3:ExistingObjectTag/<key> compares the tags of the object the request names.
    name = new_bucket(s3, public=True)
    _allow_when_public(s3, name, "s3:GetObject", "s3:ExistingObjectTag/security")
    s3.put_object(Bucket=name, Key="open", Body=b"o", Tagging="security=public")
    s3.put_object(Bucket=name, Key="closed", Body=b"c", Tagging="security=private")
    assert other.get_object(Bucket=name, Key="open")["Body"].read() == b"o"
    with pytest.raises(ClientError) as closed:
        other.get_object(Bucket=name, Key="closed")
    assert error_of(closed) == ("AccessDenied", 403)


def test_a_max_keys_that_is_not_an_integer_is_an_invalid_argument(
    keyed_server: ServerProcess, s3: Any
) -> None:
    from botocore.config import Config

    bucket = new_bucket(s3)
    raw = keyed_server.client("s3", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as exc:
        raw.list_objects(Bucket=bucket, MaxKeys="blah")
    error = exc.value.response["Error"]
    assert error_of(exc) == ("InvalidArgument", 400)
    assert error["Message"] == "Provided max-keys not an integer or within integer range"
    assert (error["ArgumentName"], error["ArgumentValue"]) == ("max-keys", "blah")


def test_a_retried_complete_answers_as_the_first_did(s3: Any) -> None:
    """CompleteMultipartUpload is idempotent on S3: a client that retries after a timeout gets
    the first answer, not NoSuchUpload; a different part list still gets NoSuchUpload."""
    bucket = new_bucket(s3)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big")["UploadId"]
    etag = s3.upload_part(
        Bucket=bucket, Key="big", UploadId=upload, PartNumber=1, Body=b"only part"
    )["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    first = s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload, MultipartUpload=parts
    )
    again = s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload, MultipartUpload=parts
    )
    assert (again["ETag"], again["Key"], again["Bucket"]) == (first["ETag"], "big", bucket)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == b"only part"
    other = {"Parts": [{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}]}
    with pytest.raises(ClientError) as info:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=upload, MultipartUpload=other
        )
    assert info.value.response["Error"]["Code"] == "NoSuchUpload"


@pytest.mark.parametrize(
    ("operation", "argument", "message"),
    [
        ("list_multipart_uploads", "max-uploads", "Provided max-uploads not an integer"),
        ("list_parts", "max-parts", "Provided max-parts not an integer"),
        ("list_parts", "part-number-marker", "Provided part-number-marker not an integer"),
    ],
)
def test_other_mistyped_list_integers_are_invalid_arguments(
    keyed_server: ServerProcess, s3: Any, operation: str, argument: str, message: str
) -> None:
    # S3's wording for each integer query argument: "Provided <name> not an integer or within
    # integer range", naming the argument and echoing its value.
    bucket = new_bucket(s3)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    raw = keyed_server.client("s3")
    suffix = f"&{argument}=abc"

    def add_argument(params: dict[str, Any], **_: Any) -> None:
        params["url"] += suffix

    raw.meta.events.register("before-call.s3.*", add_argument)
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if operation == "list_parts":
        kwargs |= {"Key": "k", "UploadId": upload}
    with pytest.raises(ClientError) as exc:
        getattr(raw, operation)(**kwargs)
    error = exc.value.response["Error"]
    assert error_of(exc) == ("InvalidArgument", 400)
    assert error["Message"] == f"{message} or within integer range"
    assert (error["ArgumentName"], error["ArgumentValue"]) == (argument, "abc")


def _first_status_line(server: ServerProcess, path: str) -> str:
    """Send a PUT's headers with `Expect: 100-continue`, no body; the first line answered."""
    host, port = server.endpoint.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            f"PUT {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 123\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        return conn.recv(1024).decode().split("\r\n", 1)[0]


def test_a_refused_upload_gets_its_error_without_100_continue(
    keyed_server: ServerProcess, s3: Any
) -> None:
    # S3 decides on the headers: a client waiting for 100 must get the refusal instead, and
    # must not be invited to send a body that will be thrown away.
    bucket = new_bucket(s3)
    assert _first_status_line(keyed_server, f"/{bucket}/obj").endswith(" 403 Forbidden")
    assert " 404 " in _first_status_line(keyed_server, f"/{bucket}-missing/obj")
    public = new_bucket(s3, public=True, acls=True)
    s3.put_bucket_acl(Bucket=public, ACL="public-read-write")
    assert _first_status_line(keyed_server, f"/{public}/obj").endswith(" 100 Continue")


def test_sigv2_bucket_requests_are_accepted_as_boto_signs_them(
    keyed_server: ServerProcess,
) -> None:
    # botocore's SigV2 signer names a path-style bucket `/bucket/` in the string to sign while
    # requesting `/bucket`; S3 accepts both forms.
    from botocore.config import Config

    v2 = keyed_server.client(
        "s3",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3"),
    )
    name = f"sigv2-{uuid.uuid4().hex[:12]}"
    v2.create_bucket(Bucket=name)
    v2.put_object(Bucket=name, Key="k", Body=b"v")
    assert [o["Key"] for o in v2.list_objects(Bucket=name)["Contents"]] == ["k"]
    v2.head_bucket(Bucket=name)


def test_an_empty_content_md5_is_an_invalid_digest(s3: Any) -> None:
    # An empty Content-MD5 header is a digest that does not decode to 16 bytes, not no digest.
    bucket = new_bucket(s3)

    def empty_md5(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["Content-MD5"] = ""

    s3.meta.events.register("before-call.s3.PutObject", empty_md5)
    try:
        with pytest.raises(ClientError) as exc:
            s3.put_object(Bucket=bucket, Key="k", Body=b"bar")
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", empty_md5)
    assert error_of(exc) == ("InvalidDigest", 400)


@pytest.mark.parametrize("date", ["", "Tue, 07 Jul 1950 21:53:04 GMT"])
def test_sigv2_refuses_an_empty_or_pre_epoch_x_amz_date(
    keyed_server: ServerProcess, date: str
) -> None:
    # With x-amz-date present, S3 takes the date from it alone (an empty one is no date, not
    # a reason to fall back on Date); a date before the epoch is refused outright.
    from botocore.config import Config

    v2 = keyed_server.client(
        "s3",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3"),
    )

    def set_date(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["x-amz-date"] = date

    v2.meta.events.register("before-call.s3.CreateBucket", set_date)
    with pytest.raises(ClientError) as exc:
        v2.create_bucket(Bucket=f"sigv2-{uuid.uuid4().hex[:12]}")
    assert error_of(exc) == ("AccessDenied", 403)


def test_a_read_naming_sse_s3_or_kms_is_refused(s3: Any) -> None:
    # The encryption of SSE-S3/SSE-KMS objects is chosen on write; S3 answers a GET or HEAD
    # that sends x-amz-server-side-encryption with 400 InvalidArgument.
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", ServerSideEncryption="aws:kms")

    def sse_header(params: dict[str, Any], **_: Any) -> None:
        params["headers"]["x-amz-server-side-encryption"] = "aws:kms"

    for event in ("before-call.s3.GetObject", "before-call.s3.HeadObject"):
        s3.meta.events.register(event, sse_header)
    try:
        with pytest.raises(ClientError) as got:
            s3.get_object(Bucket=bucket, Key="k")
        with pytest.raises(ClientError) as head:
            s3.head_object(Bucket=bucket, Key="k")
    finally:
        for event in ("before-call.s3.GetObject", "before-call.s3.HeadObject"):
            s3.meta.events.unregister(event, sse_header)
    assert error_of(got) == ("InvalidArgument", 400)
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def test_a_lifecycle_rule_without_an_id_is_given_one(s3: Any) -> None:
    bucket = new_bucket(s3)
    rules = [
        {"Expiration": {"Days": 31}, "Filter": {"Prefix": "a/"}, "Status": "Enabled"},
        {"Expiration": {"Days": 9}, "Filter": {"Prefix": "b/"}, "Status": "Enabled"},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    ids = [rule["ID"] for rule in got]
    assert len(ids) == 2 and all(ids) and ids[0] != ids[1]
    assert [rule["Expiration"]["Days"] for rule in got] == [31, 9]


_CUSTOMER_KEY = base64.b64encode(bytes(range(32))).decode()
_CUSTOMER_MD5 = base64.b64encode(hashlib.md5(bytes(range(32))).digest()).decode()


def test_post_upload_encrypts_as_its_sse_fields_ask(
    keyed_server: ServerProcess, other: Any
) -> None:
    # POST Object takes the PutObject encryption headers as form fields (SSE-KMS and SSE-C).
    name = new_bucket(other)
    other.put_bucket_encryption(  # SSE-C is blocked on new buckets: allow it
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]},
                }
            ]
        },
    )
    sse_c = {
        "x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": _CUSTOMER_KEY,
        "x-amz-server-side-encryption-customer-key-md5": _CUSTOMER_MD5,
    }
    kms = {"x-amz-server-side-encryption": "aws:kms"}
    for key, extra in (("c.txt", sse_c), ("kms.txt", kms)):
        conditions: list[Any] = [{"bucket": name}, {"key": key}]
        conditions += [["starts-with", f"${field}", ""] for field in extra]
        policy = {"expiration": _expiry().strftime("%Y-%m-%dT%H:%M:%SZ"), "conditions": conditions}
        response = _post(keyed_server.endpoint, name, _signed_form(policy, key=key, **extra))
        assert response.status_code == 204, response.text
    with pytest.raises(ClientError) as keyless:
        other.get_object(Bucket=name, Key="c.txt")
    assert error_of(keyless) == ("InvalidRequest", 400)
    read = other.get_object(
        Bucket=name, Key="c.txt", SSECustomerAlgorithm="AES256", SSECustomerKey=bytes(range(32))
    )
    assert read["Body"].read() == b"bar"
    assert other.head_object(Bucket=name, Key="kms.txt")["ServerSideEncryption"] == "aws:kms"


def test_object_tags_are_listed_by_key(s3: Any) -> None:
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v", Tagging="zeta=1&alpha=2&mid=3")
    tags = s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"]
    assert [tag["Key"] for tag in tags] == ["alpha", "mid", "zeta"]


def test_bucket_policy_condition_on_request_object_tag(s3: Any, other: Any) -> None:
    # s3:RequestObjectTag/<key> is the tag a PutObject sets (x-amz-tagging).
    name = new_bucket(s3, public=True)
    _allow_when_public(s3, name, "s3:PutObject", "s3:RequestObjectTag/security")
    with pytest.raises(ClientError) as untagged:
        other.put_object(Bucket=name, Key="k", Body=b"x")
    assert error_of(untagged) == ("AccessDenied", 403)
    other.put_object(Bucket=name, Key="k", Body=b"x", Tagging="security=public")
    with pytest.raises(ClientError) as wrong:
        other.put_object(Bucket=name, Key="k", Body=b"x", Tagging="security=private")
    assert error_of(wrong) == ("AccessDenied", 403)


def test_changing_governance_retention_to_compliance_takes_the_bypass(s3: Any) -> None:
    name = f"lock-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    until = datetime.now(UTC) + timedelta(days=1)
    s3.put_object(
        Bucket=name,
        Key="k",
        Body=b"v",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )
    stricter = {"Mode": "COMPLIANCE", "RetainUntilDate": until}
    with pytest.raises(ClientError) as exc:
        s3.put_object_retention(Bucket=name, Key="k", Retention=stricter)
    assert error_of(exc) == ("AccessDenied", 403)
    s3.put_object_retention(
        Bucket=name, Key="k", Retention=stricter, BypassGovernanceRetention=True
    )
    assert s3.get_object_retention(Bucket=name, Key="k")["Retention"]["Mode"] == "COMPLIANCE"


def test_a_key_whose_escapes_are_not_utf8_is_invalid_uri(
    keyed_server: ServerProcess, s3: Any
) -> None:
    """S3 answers 400 InvalidURI "Couldn't parse the specified URI." (not a 404 for a key made
    of replacement characters); escapes that are UTF-8 still name keys."""
    name = new_bucket(s3)
    s3.put_object(Bucket=name, Key="caf\u00e9 %", Body=b"x")  # sent as caf%C3%A9%20%25
    bad = requests.get(f"{keyed_server.endpoint}/{name}/%AE%8A-", timeout=10)
    assert bad.status_code == 400
    assert "<Code>InvalidURI</Code>" in bad.text
    assert "Couldn't parse the specified URI." in bad.text
    assert s3.get_object(Bucket=name, Key="caf\u00e9 %")["Body"].read() == b"x"
