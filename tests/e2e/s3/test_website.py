"""S3 static website hosting: the configuration API and the website endpoint.

The endpoint is reached as a browser would: a plain HTTP GET on the server's port with the Host
header of the website, ``<bucket>.s3-website.localhost:<port>`` (no signature).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from overcast.testing import ServerProcess


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def visit(
    server: ServerProcess,
    bucket: str,
    path: str = "/",
    *,
    method: str = "GET",
    host: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    host = host or f"{bucket}.s3-website.localhost:{server.port}"
    return requests.request(
        method,
        f"http://127.0.0.1:{server.port}{path}",
        headers={"Host": host, **(headers or {})},
        allow_redirects=False,
        timeout=10,
    )


def error_code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error.get("Message", "")


@pytest.fixture
def s3(client: Any) -> Any:
    return client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = unique("site")
    s3.create_bucket(Bucket=name)
    return name


# --- configuration -----------------------------------------------------------------------------


def test_put_get_delete_website(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as info:
        s3.get_bucket_website(Bucket=bucket)
    assert error_code(info)[0] == "NoSuchWebsiteConfiguration"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    rules = [
        {
            "Condition": {"KeyPrefixEquals": "docs/"},
            "Redirect": {"ReplaceKeyPrefixWith": "documents/"},
        },
        {
            "Condition": {"HttpErrorCodeReturnedEquals": "404"},
            "Redirect": {
                "HostName": "example.com",
                "Protocol": "https",
                "HttpRedirectCode": "302",
                "ReplaceKeyWith": "missing.html",
            },
        },
    ]
    config = {
        "IndexDocument": {"Suffix": "index.html"},
        "ErrorDocument": {"Key": "error.html"},
        "RoutingRules": rules,
    }
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
    got = s3.get_bucket_website(Bucket=bucket)
    assert got["IndexDocument"] == {"Suffix": "index.html"}
    assert got["ErrorDocument"] == {"Key": "error.html"}
    assert got["RoutingRules"] == rules
    assert "RedirectAllRequestsTo" not in got
    # A new configuration replaces the old one whole.
    everything = {"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}}
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=everything)
    got = s3.get_bucket_website(Bucket=bucket)
    assert got["RedirectAllRequestsTo"] == everything["RedirectAllRequestsTo"]
    assert "IndexDocument" not in got
    for _ in range(2):  # deleting twice is fine
        s3.delete_bucket_website(Bucket=bucket)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_website(Bucket=bucket)
    assert error_code(info)[0] == "NoSuchWebsiteConfiguration"
    with pytest.raises(ClientError) as info:
        s3.get_bucket_website(Bucket=unique("nothing"))
    assert error_code(info)[0] == "NoSuchBucket"


INDEX = {"IndexDocument": {"Suffix": "index.html"}}


def test_expected_bucket_owner(s3: Any, bucket: str) -> None:
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=INDEX, ExpectedBucketOwner="0" * 12)
    with pytest.raises(ClientError) as info:
        s3.get_bucket_website(Bucket=bucket, ExpectedBucketOwner="111111111111")
    assert error_code(info)[0] == "AccessDenied"
    with pytest.raises(ClientError) as info:
        s3.delete_bucket_website(Bucket=bucket, ExpectedBucketOwner="111111111111")
    assert error_code(info)[0] == "AccessDenied"
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == INDEX["IndexDocument"]


def with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    return {**INDEX, "RoutingRules": list(rules)}


@pytest.mark.parametrize(
    ("config", "code", "message"),
    [
        (
            {},
            "InvalidArgument",
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        ),
        ({"ErrorDocument": {"Key": "e.html"}}, "InvalidArgument", "A value for IndexDocument"),
        (
            {"IndexDocument": {"Suffix": "a/index.html"}},
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            {"IndexDocument": {"Suffix": ""}},
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            {**INDEX, "RedirectAllRequestsTo": {"HostName": "example.com"}},
            "InvalidArgument",
            "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        ),
        (
            {"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "ftp"}},
            "InvalidRequest",
            "Invalid protocol, protocol can be http or https.",
        ),
        (
            with_rules(*[{"Redirect": {"HostName": "example.com"}}] * 51),
            "InvalidRequest",
            "51 routing rules provided, the number of routing rules in a website configuration "
            "is limited to 50.",
        ),
        (
            with_rules({"Redirect": {"HttpRedirectCode": "300"}}),
            "InvalidRequest",
            "The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300.",
        ),
        (
            with_rules({"Redirect": {"HttpRedirectCode": "200"}}),
            "InvalidRequest",
            "The provided HTTP redirect code (200) is not valid.",
        ),
        (
            with_rules({"Redirect": {"ReplaceKeyWith": "a", "ReplaceKeyPrefixWith": "b/"}}),
            "InvalidRequest",
            "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        ),
        (
            with_rules(
                {
                    "Condition": {"HttpErrorCodeReturnedEquals": "302"},
                    "Redirect": {"HostName": "example.com"},
                }
            ),
            "InvalidRequest",
            "The provided HTTP error code (302) is not valid. Valid codes are 4XX or 5XX.",
        ),
        (
            with_rules({"Condition": {}, "Redirect": {"HostName": "example.com"}}),
            "InvalidRequest",
            "Condition cannot be empty.",
        ),
        (
            with_rules({"Redirect": {"HttpRedirectCode": "abc"}}),
            "MalformedXML",
            "The XML you provided was not well-formed",
        ),
    ],
    ids=lambda v: "" if not isinstance(v, str) or len(v) > 30 else v,
)
def test_invalid_configurations_are_refused(
    s3: Any, bucket: str, config: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as info:
        s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
    got_code, got_message = error_code(info)
    assert got_code == code
    assert got_message.startswith(message)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as info:
        s3.get_bucket_website(Bucket=bucket)
    assert error_code(info)[0] == "NoSuchWebsiteConfiguration"  # nothing was stored


# --- the endpoint: what needs no public content --------------------------------------------------


def test_not_a_website_and_no_bucket(server: ServerProcess, bucket: str) -> None:
    answer = visit(server, bucket)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert answer.headers["x-amz-error-code"] == "NoSuchWebsiteConfiguration"
    assert "<title>404 Not Found</title>" in answer.text
    assert "<li>Code: NoSuchWebsiteConfiguration</li>" in answer.text
    assert f"<li>BucketName: {bucket}</li>" in answer.text
    assert "<li>RequestId: " in answer.text and "<li>HostId: " in answer.text
    missing = unique("nothing")
    answer = visit(server, missing, "/index.html")
    assert answer.status_code == 404
    assert answer.headers["x-amz-error-code"] == "NoSuchBucket"
    assert f"<li>BucketName: {missing}</li>" in answer.text
    # HEAD: the same status and headers, no body.
    answer = visit(server, missing, method="HEAD")
    assert (answer.status_code, answer.content) == (404, b"")
    assert answer.headers["x-amz-error-code"] == "NoSuchBucket"


def test_bare_endpoint_redirects_to_s3_home(server: ServerProcess) -> None:
    answer = visit(server, "", host=f"s3-website.localhost:{server.port}")
    assert answer.status_code == 301
    assert answer.headers["Location"] == "https://aws.amazon.com/s3/"


def test_only_get_and_head(server: ServerProcess, s3: Any, bucket: str) -> None:
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=INDEX)
    for method in ("POST", "PUT", "DELETE"):
        answer = visit(server, bucket, "/index.html", method=method)
        assert answer.status_code == 405
        assert answer.headers["x-amz-error-code"] == "MethodNotAllowed"
        assert f"<li>Method: {method}</li>" in answer.text
        assert "<li>ResourceType: OBJECT</li>" in answer.text
    # The S3 API is untouched: the object was not deleted or written through the website.
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_redirect_all_requests(server: ServerProcess, s3: Any, bucket: str) -> None:
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "www.example.com"}},
    )
    answer = visit(server, bucket, "/a/b%20c.html")
    assert answer.status_code == 301
    assert answer.headers["Location"] == "http://www.example.com/a/b%20c.html"
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}
        },
    )
    assert visit(server, bucket).headers["Location"] == "https://www.example.com/"


@pytest.mark.parametrize(
    "host",
    [
        "{bucket}.s3-website-us-east-1.amazonaws.com",
        "{bucket}.s3-website.us-east-1.amazonaws.com",
        "{bucket}.s3-website.localhost.localstack.cloud:{port}",
        "{bucket}.S3-Website.localhost:{port}",
    ],
)
def test_website_host_shapes(server: ServerProcess, s3: Any, bucket: str, host: str) -> None:
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "x.test"}}
    )
    answer = visit(server, bucket, "/k", host=host.format(bucket=bucket, port=server.port))
    assert (answer.status_code, answer.headers["Location"]) == (301, "http://x.test/k")


def test_routing_rules_without_error_condition(server: ServerProcess, s3: Any, bucket: str) -> None:
    s3.put_bucket_website(
        Bucket=bucket,
        WebsiteConfiguration=with_rules(
            {
                "Condition": {"KeyPrefixEquals": "docs/"},
                "Redirect": {"ReplaceKeyPrefixWith": "documents/"},
            },
            {
                "Condition": {"KeyPrefixEquals": "old"},
                "Redirect": {
                    "HostName": "new.example.com",
                    "Protocol": "https",
                    "HttpRedirectCode": "307",
                    "ReplaceKeyWith": "landing.html",
                },
            },
            {"Condition": {"KeyPrefixEquals": "same/"}, "Redirect": {"HostName": "h.test"}},
        ),
    )
    host = f"{bucket}.s3-website.localhost:{server.port}"
    answer = visit(server, bucket, "/docs/a/b.html")
    assert (answer.status_code, answer.headers["Location"]) == (
        301,
        f"http://{host}/documents/a/b.html",
    )
    answer = visit(server, bucket, "/old-page")
    assert (answer.status_code, answer.headers["Location"]) == (
        307,
        "https://new.example.com/landing.html",
    )
    answer = visit(server, bucket, "/same/x%2By")
    assert answer.headers["Location"] == "http://h.test/same/x%2By"


def test_private_content_is_forbidden(server: ServerProcess, s3: Any, bucket: str) -> None:
    """Without a policy or ACL letting anybody read, nothing is served, even to the owner."""
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"home", ContentType="text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=INDEX)
    for path in ("/", "/index.html", "/missing"):
        answer = visit(server, bucket, path)
        assert answer.status_code == 403, path
        assert answer.headers["x-amz-error-code"] == "AccessDenied"
        assert "<title>403 Forbidden</title>" in answer.text
        assert "<li>Message: Access Denied</li>" in answer.text


# --- the endpoint: public content --------------------------------------------------------------


def make_public(s3: Any, bucket: str, *, listable: bool = True, deny: str | None = None) -> None:
    """Let anybody read (and list) ``bucket``, as a website's owner does on AWS."""
    s3.delete_public_access_block(Bucket=bucket)
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }
    ]
    if listable:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
            }
        )
    if deny:
        statements.append(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{deny}",
            }
        )
    policy = {"Version": "2012-10-17", "Statement": statements}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


@pytest.fixture
def site(s3: Any, bucket: str) -> str:
    """A public website: an index, a folder, an error document, one private folder."""
    make_public(s3, bucket, deny="private/*")
    for key, body in [
        ("index.html", "home"),
        ("about/index.html", "about"),
        ("error.html", "not here"),
        ("private/index.html", "secret"),
        ("style.css", "body {}"),
    ]:
        kind = "text/css" if key.endswith(".css") else "text/html"
        s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=kind)
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={**INDEX, "ErrorDocument": {"Key": "error.html"}}
    )
    return bucket


def test_serves_index_documents_and_objects(server: ServerProcess, s3: Any, site: str) -> None:
    answer = visit(server, site, "/")
    assert (answer.status_code, answer.text) == (200, "home")
    assert answer.headers["Content-Type"] == "text/html"
    assert answer.headers["ETag"] == s3.head_object(Bucket=site, Key="index.html")["ETag"]
    assert visit(server, site, "/about/").text == "about"
    assert visit(server, site, "/index.html").text == "home"
    css = visit(server, site, "/style.css")
    assert (css.text, css.headers["Content-Type"]) == ("body {}", "text/css")
    head = visit(server, site, "/style.css", method="HEAD")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == "7"
    # A folder without its slash is sent to it.
    answer = visit(server, site, "/about")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/about/")


def test_error_document_with_the_original_status(server: ServerProcess, s3: Any, site: str) -> None:
    answer = visit(server, site, "/missing.html")
    assert (answer.status_code, answer.text) == (404, "not here")
    assert answer.headers["x-amz-error-code"] == "NoSuchKey"
    answer = visit(server, site, "/private/")
    assert (answer.status_code, answer.text) == (403, "not here")
    assert answer.headers["x-amz-error-code"] == "AccessDenied"
    # Not a folder anybody may read: no redirect.
    assert visit(server, site, "/private").status_code == 404
    # Without the error document: S3's page, saying why the document could not be sent.
    s3.delete_object(Bucket=site, Key="error.html")
    answer = visit(server, site, "/missing.html")
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    page = answer.text
    assert page.startswith("<html>\n<head><title>404 Not Found</title></head>\n<body>\n")
    assert (
        "<li>Code: NoSuchKey</li>\n<li>Message: The specified key does not exist.</li>\n"
        "<li>Key: missing.html</li>\n<li>RequestId: "
    ) in page
    assert (
        "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>\n<ul>\n"
        "<li>Code: NoSuchKey</li>\n<li>Message: The specified key does not exist.</li>\n"
        "<li>Key: error.html</li>\n</ul>"
    ) in page


def test_missing_keys_are_forbidden_unless_listable(
    server: ServerProcess, s3: Any, bucket: str
) -> None:
    make_public(s3, bucket, listable=False)
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"home")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=INDEX)
    assert visit(server, bucket).status_code == 200
    answer = visit(server, bucket, "/nope")
    assert (answer.status_code, answer.headers["x-amz-error-code"]) == (403, "AccessDenied")


def test_error_code_routing_rule(server: ServerProcess, s3: Any, site: str) -> None:
    s3.put_bucket_website(
        Bucket=site,
        WebsiteConfiguration=with_rules(
            {
                "Condition": {"HttpErrorCodeReturnedEquals": "404", "KeyPrefixEquals": "blog/"},
                "Redirect": {"HostName": "blog.example.com", "ReplaceKeyPrefixWith": "posts/"},
            },
            {
                "Condition": {"HttpErrorCodeReturnedEquals": "404"},
                "Redirect": {"ReplaceKeyWith": "index.html", "HttpRedirectCode": "302"},
            },
        ),
    )
    host = f"{site}.s3-website.localhost:{server.port}"
    answer = visit(server, site, "/blog/first")
    assert (answer.status_code, answer.headers["Location"]) == (
        301,
        "http://blog.example.com/posts/first",
    )
    answer = visit(server, site, "/gone")
    assert (answer.status_code, answer.headers["Location"]) == (302, f"http://{host}/index.html")
    # Existing objects are served: the rules only apply on errors.
    assert visit(server, site, "/style.css").status_code == 200


def test_object_redirect_location(server: ServerProcess, s3: Any, site: str) -> None:
    s3.put_object(Bucket=site, Key="moved.html", Body=b"", WebsiteRedirectLocation="/about/")
    s3.put_object(
        Bucket=site, Key="away", Body=b"", WebsiteRedirectLocation="https://example.com/x"
    )
    answer = visit(server, site, "/moved.html")
    assert (answer.status_code, answer.headers["Location"]) == (301, "/about/")
    assert visit(server, site, "/away").headers["Location"] == "https://example.com/x"


def test_conditional_and_range_requests(server: ServerProcess, site: str) -> None:
    answer = visit(server, site, "/", headers={"Range": "bytes=1-2"})
    assert (answer.status_code, answer.text) == (206, "om")
    assert answer.headers["Content-Range"] == "bytes 1-2/4"
    assert visit(server, site, "/", headers={"Range": "bytes=-3"}).text == "ome"
    answer = visit(server, site, "/", headers={"Range": "bytes=10-"})
    assert (answer.status_code, answer.headers["x-amz-error-code"]) == (416, "InvalidRange")
    etag = visit(server, site, "/", method="HEAD").headers["ETag"]
    answer = visit(server, site, "/", headers={"If-None-Match": etag})
    assert (answer.status_code, answer.headers["ETag"]) == (304, etag)
    answer = visit(server, site, "/", headers={"If-Match": '"nope"'})
    assert answer.status_code == 412
