"""Presigned SigV4 URLs and S3 SigV2 (header and query), signed by botocore."""

from __future__ import annotations

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4QueryAuth, SigV4QueryAuth

from overcast.errors import AccessDenied, SignatureDoesNotMatch
from overcast.gateway.auth import signing_scope
from overcast.gateway.auth.errors import AuthorizationQueryParametersError, RequestTimeTooSkewed
from overcast.protocol.http import HttpRequest

from .helpers import (
    ACCOUNT,
    KNOWN_KEY,
    TEMP_KEY,
    TEMP_SECRET,
    TOKEN,
    authenticator,
    aws_request,
    creds,
    s3_url,
    signed,
)


def presigned_get(object_key: str = "obj.txt", expires: int = 60, **creds_kw: str) -> HttpRequest:
    signer = S3SigV4QueryAuth(creds(**creds_kw), "s3", "us-east-1", expires=expires)
    return signed(signer, aws_request("GET", s3_url("bucket", object_key)))


def test_presigned_scope() -> None:
    scope = signing_scope(presigned_get())
    assert scope is not None
    assert (scope.access_key, scope.service, scope.method) == (KNOWN_KEY, "s3", "sigv4-query")


@pytest.mark.parametrize("key", ["obj.txt", "with space/ünï+=.txt", "a&b?c#d"])
def test_presigned_url_valid(key: str) -> None:
    identity = authenticator().authenticate(presigned_get(object_key=key), "rest-xml")
    assert identity.verified and identity.account_id == ACCOUNT
    assert identity.method == "sigv4-query"


def test_presigned_url_with_session_token() -> None:
    request = presigned_get(key=TEMP_KEY, secret=TEMP_SECRET, token=TOKEN)
    identity = authenticator().authenticate(request, "rest-xml")
    assert identity.verified and identity.session_token == TOKEN


def test_presigned_url_tampered() -> None:
    request = presigned_get()
    request.path = "/bucket/other.txt"
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "rest-xml")
    request = presigned_get()
    request.query = request.query.replace("X-Amz-Expires=60", "X-Amz-Expires=600")
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "rest-xml")


@pytest.mark.parametrize("key", [KNOWN_KEY, "test"])
def test_presigned_url_expiry_checked_for_every_key(key: str) -> None:
    request = presigned_get(key=key, expires=60)
    assert authenticator(offset=30).authenticate(request, "rest-xml")
    with pytest.raises(AccessDenied, match="Request has expired") as info:
        authenticator(offset=120).authenticate(request, "rest-xml")
    assert info.value.http_status == 403
    assert info.value.fields["X-Amz-Expires"] == "60"


def test_presigned_url_expires_at_most_a_week() -> None:
    request = presigned_get(key="test", expires=604801)
    with pytest.raises(AuthorizationQueryParametersError):
        authenticator().authenticate(request, "rest-xml")


def test_presigned_url_missing_parameter() -> None:
    request = presigned_get(key="test")
    request.query = "&".join(p for p in request.query.split("&") if "X-Amz-Date" not in p)
    with pytest.raises(AuthorizationQueryParametersError):
        authenticator().authenticate(request, "rest-xml")


def test_presigned_non_s3() -> None:
    signer = SigV4QueryAuth(creds(), "sts", "us-east-1", expires=300)
    request = aws_request(
        "GET", "http://localhost:4566/?Action=GetCallerIdentity&Version=2011-06-15"
    )
    request = signed(signer, request)
    assert authenticator().authenticate(request, "query").verified
    request.query = request.query.replace("GetCallerIdentity", "GetSessionToken")
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "query")


def sigv2_put(url: str, auth_path: str | None = None, **creds_kw: str) -> HttpRequest:
    request = aws_request(
        "PUT",
        url,
        body=b"data",
        headers={"Content-Type": "text/plain", "x-amz-meta-Colour": " blue ", "Content-MD5": "x"},
        auth_path=auth_path,
    )
    return signed(HmacV1Auth(creds(**creds_kw)), request)


@pytest.mark.parametrize("key", ["plain", "with space/ünï+=.txt"])
def test_sigv2_header_valid(key: str) -> None:
    request = sigv2_put(s3_url("bucket", key) + "?tagging&x-id=PutObjectTagging")
    scope = signing_scope(request)
    assert scope is not None and scope.method == "sigv2-header" and scope.region is None
    identity = authenticator().authenticate(request, "rest-xml")
    assert identity.verified and identity.method == "sigv2-header"


def test_sigv2_virtual_hosted() -> None:
    request = sigv2_put("http://my.bucket.s3.amazonaws.com/key", auth_path="/my.bucket/key")
    assert authenticator().authenticate(request, "rest-xml").verified


def test_sigv2_header_tampered() -> None:
    request = sigv2_put(s3_url("bucket", "key"))
    request.headers.set("x-amz-meta-colour", "red")
    with pytest.raises(SignatureDoesNotMatch) as info:
        authenticator().authenticate(request, "rest-xml")
    assert "x-amz-meta-colour:red" in info.value.fields["StringToSign"]
    request = sigv2_put(s3_url("bucket", "key"), secret="wrong")
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "rest-xml")
    unknown = sigv2_put(s3_url("bucket", "key"), key="test", secret="test")
    assert not authenticator().authenticate(unknown, "rest-xml").verified


def test_sigv2_header_skew() -> None:
    with pytest.raises(RequestTimeTooSkewed):
        authenticator(offset=3600).authenticate(sigv2_put(s3_url("b", "k")), "rest-xml")


def sigv2_presigned(expires: int = 60, **creds_kw: str) -> HttpRequest:
    request = aws_request("GET", s3_url("bucket", "dir/ob j+.txt") + "?versionId=3")
    return signed(HmacV1QueryAuth(creds(**creds_kw), expires=expires), request)


def test_sigv2_query() -> None:
    request = sigv2_presigned()
    scope = signing_scope(request)
    assert scope is not None and scope.method == "sigv2-query"
    assert authenticator().authenticate(request, "rest-xml").verified
    token_request = sigv2_presigned(key=TEMP_KEY, secret=TEMP_SECRET, token=TOKEN)
    assert authenticator().authenticate(token_request, "rest-xml").session_token == TOKEN
    request.query = request.query.replace("versionId=3", "versionId=4")
    with pytest.raises(SignatureDoesNotMatch):
        authenticator().authenticate(request, "rest-xml")


@pytest.mark.parametrize("key", [KNOWN_KEY, "test"])
def test_sigv2_query_expiry(key: str) -> None:
    request = sigv2_presigned(key=key, expires=60)
    with pytest.raises(AccessDenied, match="Request has expired"):
        authenticator(offset=120).authenticate(request, "rest-xml")
