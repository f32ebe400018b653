"""SigV4 header signatures made by botocore's signers, verified by the Authenticator."""

from __future__ import annotations

import hashlib
import time

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth

from overcast.errors import (
    ExpiredToken,
    IncompleteSignature,
    InvalidClientTokenId,
    InvalidSignatureException,
    SignatureDoesNotMatch,
)
from overcast.gateway.auth import Authenticator, Credential, StaticCredentials, signing_scope
from overcast.gateway.auth.errors import (
    AuthorizationHeaderMalformed,
    ExpiredTokenException,
    InvalidArgument,
    InvalidToken,
    RequestTimeTooSkewed,
    UnrecognizedClientException,
    XAmzContentSHA256Mismatch,
)
from overcast.protocol.http import BufferedBody, Headers, HttpRequest

from .helpers import (
    ACCOUNT,
    DEFAULT_ACCOUNT,
    KNOWN_KEY,
    PRINCIPAL,
    TEMP_KEY,
    TEMP_SECRET,
    TOKEN,
    authenticator,
    aws_request,
    creds,
    read_all,
    s3_url,
    signed,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.ListTables",
}


def sqs_request(key: str = KNOWN_KEY, secret: str | None = None, **kw: object) -> HttpRequest:
    signer = SigV4Auth(creds(key, secret) if secret else creds(key), "sqs", "eu-west-1")
    body = b"Action=ListQueues&Version=2012-11-05"
    return signed(signer, aws_request("POST", "http://localhost:4566/", body=body, headers=FORM))


def ddb_request(**creds_kw: str) -> HttpRequest:
    signer = SigV4Auth(creds(**creds_kw), "dynamodb", "us-east-1")
    request = aws_request("POST", "http://localhost:4566/", body=b"{}", headers=dict(JSON))
    return signed(signer, request)


def s3_request(method: str, url: str, body: bytes = b"", **creds_kw: str) -> HttpRequest:
    signer = S3SigV4Auth(creds(**creds_kw), "s3", "us-east-1")
    return signed(signer, aws_request(method, url, body=body))


def test_signing_scope_reads_credential() -> None:
    scope = signing_scope(sqs_request())
    assert scope is not None
    assert (scope.access_key, scope.region, scope.service, scope.method) == (
        KNOWN_KEY,
        "eu-west-1",
        "sqs",
        "sigv4-header",
    )
    assert signing_scope(HttpRequest("GET", "/")) is None


def test_known_key_valid_signature_is_verified() -> None:
    identity = authenticator().authenticate(sqs_request(), "query")
    assert identity.verified
    assert identity.account_id == ACCOUNT
    assert identity.principal_arn == PRINCIPAL
    assert identity.access_key == KNOWN_KEY
    assert identity.region == "eu-west-1"
    assert identity.method == "sigv4-header"


def test_unknown_key_passes_unverified_as_default_root() -> None:
    request = sqs_request(key="test", secret="test")
    request.body = b"tampered"  # not checked: the secret is unknown
    identity = authenticator().authenticate(request, "query")
    assert not identity.verified
    assert identity.account_id == DEFAULT_ACCOUNT
    assert identity.principal_arn == f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"
    assert identity.access_key == "test"


def test_anonymous_request() -> None:
    identity = authenticator().authenticate(HttpRequest("GET", "/bucket"), "rest-xml")
    assert identity.method == "anonymous"
    assert identity.access_key is None
    assert not identity.verified


@pytest.mark.parametrize(
    ("protocol", "error"),
    [
        ("query", SignatureDoesNotMatch),
        ("ec2", SignatureDoesNotMatch),
        ("json", InvalidSignatureException),
        ("rest-json", InvalidSignatureException),
        ("smithy-rpc-v2-cbor", InvalidSignatureException),
    ],
)
def test_tampered_body_fails_with_protocol_error(protocol: str, error: type) -> None:
    request = sqs_request()
    request.body = b"Action=DeleteQueue&Version=2012-11-05"
    with pytest.raises(error) as info:
        authenticator().authenticate(request, protocol)
    assert info.value.http_status == 403


def test_wrong_secret_fails() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(sqs_request(secret="not-the-secret"), "query")


def test_tampered_signed_header_fails() -> None:
    request = sqs_request()
    request.headers.set("content-type", "text/plain")
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "query")


def test_unsigned_header_may_change() -> None:
    request = sqs_request()
    request.headers.set("user-agent", "something else")
    assert authenticator().authenticate(request, "query").verified


def test_tampered_path_and_query_fail() -> None:
    request = sqs_request()
    request.path = "/other"
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "query")
    request = s3_request("GET", s3_url("bucket") + "?list-type=2&prefix=a")
    assert authenticator().authenticate(request, "rest-xml").verified
    request = s3_request("GET", s3_url("bucket") + "?list-type=2&prefix=a")
    request.query = "list-type=2&prefix=b"
    with pytest.raises(SignatureDoesNotMatch) as info:
        authenticator().authenticate(request, "rest-xml")
    assert info.value.fields["AWSAccessKeyId"] == KNOWN_KEY
    assert "prefix=a" not in info.value.fields["CanonicalRequest"]


def test_json_protocol_valid() -> None:
    assert authenticator().authenticate(ddb_request(), "json").verified


@pytest.mark.parametrize(
    "key",
    [
        "plain.txt",
        "with space.txt",
        "ünïcödé/κλειδί/日本.bin",
        "a+b=c&d.txt",
        "percent%2Fencoded",
        "dir//double/./dots/../x",
        "tilde~(paren)!*'",
        "colon:semi;comma,at@dollar$",
    ],
)
def test_s3_keys_with_special_characters(key: str) -> None:
    request = s3_request("PUT", s3_url("bucket", key), body=b"data")
    assert authenticator().authenticate(request, "rest-xml").verified


def test_s3_client_that_left_characters_unencoded() -> None:
    # Signed over the AWS-encoded path, sent with "(" and ")" left as they are.
    request = s3_request("GET", s3_url("bucket", "a(b).txt"))
    assert request.path == "/bucket/a%28b%29.txt"
    request.path = "/bucket/a(b).txt"
    assert authenticator().authenticate(request, "rest-xml").verified


def test_non_s3_path_is_normalised_and_double_encoded() -> None:
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"
    signer = SigV4Auth(creds(), "lambda", "us-east-1")
    request = aws_request(
        "POST", f"http://localhost:4566/2015-03-31/functions/{arn}/invocations", body=b"{}"
    )
    assert authenticator().authenticate(signed(signer, request), "rest-json").verified


def test_s3_unsigned_payload_and_signed_payload_hash() -> None:
    request = s3_request("PUT", s3_url("bucket", "k"), body=b"hello")
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert authenticator().authenticate(request, "rest-xml").verified
    request = s3_request("PUT", s3_url("bucket", "k"), body=b"hello")
    request.body = b"HELLO"
    with pytest.raises(XAmzContentSHA256Mismatch):
        authenticator().authenticate(request, "rest-xml")


def test_s3_payload_hash_checked_at_end_of_stream() -> None:
    request = s3_request("PUT", s3_url("bucket", "k"), body=b"hello world")
    request.body, request.stream = b"", BufferedBody(b"hello world")
    assert authenticator().authenticate(request, "rest-xml").verified
    assert read_all(request.stream) == b"hello world"
    request = s3_request("PUT", s3_url("bucket", "k"), body=b"hello world")
    request.body, request.stream = b"", BufferedBody(b"hello WORLD")
    authenticator().authenticate(request, "rest-xml")
    with pytest.raises(XAmzContentSHA256Mismatch):
        read_all(request.stream)


def test_non_s3_stream_signature_checked_at_end_of_stream() -> None:
    request = sqs_request()
    body = request.body
    request.body, request.stream = b"", BufferedBody(body)
    authenticator().authenticate(request, "query")
    assert read_all(request.stream, size=-1) == body
    request = sqs_request()
    request.body, request.stream = b"", BufferedBody(body.upper())
    authenticator().authenticate(request, "query")
    with pytest.raises(SignatureDoesNotMatch):
        read_all(request.stream)


def test_s3_invalid_content_sha256_value() -> None:
    request = s3_request("GET", s3_url("bucket"))
    request.headers.set("x-amz-content-sha256", "nonsense")
    with pytest.raises(InvalidArgument):
        authenticator().authenticate(request, "rest-xml")


def test_clock_skew() -> None:
    with pytest.raises(RequestTimeTooSkewed) as info:
        authenticator(offset=20 * 60).authenticate(s3_request("GET", s3_url("b")), "rest-xml")
    assert info.value.http_status == 403
    with pytest.raises(SignatureDoesNotMatch, match="Signature expired"):
        authenticator(offset=20 * 60).authenticate(sqs_request(), "query")
    with pytest.raises(InvalidSignatureException, match="not yet current"):
        authenticator(offset=-20 * 60).authenticate(ddb_request(), "json")
    # Within 15 minutes is fine; unknown keys are never checked.
    assert authenticator(offset=10 * 60).authenticate(sqs_request(), "query").verified
    unknown = sqs_request(key="test", secret="test")
    assert not authenticator(offset=3600).authenticate(unknown, "query").verified


def test_session_tokens() -> None:
    good = ddb_request(key=TEMP_KEY, secret=TEMP_SECRET, token=TOKEN)
    identity = authenticator().authenticate(good, "json")
    assert identity.verified and identity.session_token == TOKEN
    wrong = {"key": TEMP_KEY, "secret": TEMP_SECRET, "token": "other"}
    with pytest.raises(UnrecognizedClientException):
        authenticator().authenticate(ddb_request(**wrong), "json")
    with pytest.raises(InvalidToken):
        authenticator().authenticate(s3_request("GET", s3_url("b"), **wrong), "rest-xml")
    missing = SigV4Auth(creds(TEMP_KEY, TEMP_SECRET), "sqs", "us-east-1")
    request = signed(missing, aws_request("POST", "http://localhost:4566/", body=b"Action=X"))
    with pytest.raises(InvalidClientTokenId):
        authenticator().authenticate(request, "query")


def test_expired_temporary_credentials() -> None:
    expired = Credential(TEMP_KEY, TEMP_SECRET, ACCOUNT, PRINCIPAL, TOKEN, time.time() - 1)
    auth = Authenticator(StaticCredentials([expired]), DEFAULT_ACCOUNT, time.time)
    with pytest.raises(ExpiredTokenException):
        auth.authenticate(ddb_request(key=TEMP_KEY, secret=TEMP_SECRET, token=TOKEN), "json")
    signer = SigV4Auth(creds(TEMP_KEY, TEMP_SECRET, TOKEN), "sqs", "us-east-1")
    request = signed(signer, aws_request("POST", "http://localhost:4566/", body=b"Action=X"))
    with pytest.raises(ExpiredToken):
        auth.authenticate(request, "query")


def _with_authorization(value: str) -> HttpRequest:
    headers = Headers({"authorization": value, "x-amz-date": time.strftime("%Y%m%dT%H%M%SZ")})
    return HttpRequest("GET", "/", headers=headers)


def test_malformed_authorization_headers() -> None:
    with pytest.raises(IncompleteSignature, match="'Signature' parameter"):
        authenticator().authenticate(
            _with_authorization(
                "AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/sqs/aws4_request"
            ),
            "query",
        )
    with pytest.raises(AuthorizationHeaderMalformed):
        authenticator().authenticate(
            _with_authorization(
                "AWS4-HMAC-SHA256 Credential=AK/bad, SignedHeaders=host, Signature=0"
            ),
            "rest-xml",
        )
    with pytest.raises(InvalidArgument, match="Unsupported Authorization Type"):
        authenticator().authenticate(_with_authorization("Bearer abc"), "rest-xml")
    with pytest.raises(IncompleteSignature):
        authenticator().authenticate(_with_authorization("Bearer abc"), "json")


def test_sigv4a_is_recognised_but_not_verified() -> None:
    request = _with_authorization(
        f"AWS4-ECDSA-P256-SHA256 Credential={KNOWN_KEY}/20240101/s3/aws4_request, "
        "SignedHeaders=host;x-amz-region-set, Signature=3045"
    )
    request.headers.set("x-amz-region-set", "eu-west-1,eu-west-2")
    scope = signing_scope(request)
    assert scope is not None
    assert (scope.service, scope.region, scope.method) == ("s3", "eu-west-1", "sigv4a-header")
    identity = authenticator().authenticate(request, "rest-xml")
    assert identity.account_id == ACCOUNT and not identity.verified


def test_expiring_long_term_credential() -> None:
    expired = Credential(KNOWN_KEY, "s", ACCOUNT, PRINCIPAL, expires_at=time.time() - 1)
    auth = Authenticator(StaticCredentials([expired]), DEFAULT_ACCOUNT, time.time)
    with pytest.raises(ExpiredToken):
        auth.authenticate(sqs_request(), "query")
