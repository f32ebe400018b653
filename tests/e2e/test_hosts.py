"""Host headers the gateway answers, and URLs built from the external host or the request's Host.

No DNS is needed: requests go to 127.0.0.1 with the Host header a client resolving the name
would send, SigV4-signed for it (unknown keys are not verified, but the signature is real).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.testing import ServerProcess

CREDENTIALS = Credentials("test", "test")


class Raw:
    """An HTTP answer: status, headers (lower-case names) and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def xml_text(self, tag: str) -> str:
        root = ElementTree.fromstring(self.body)
        for element in root.iter():
            if element.tag.rsplit("}", 1)[-1] == tag:
                return element.text or ""
        raise AssertionError(f"no <{tag}> in {self.body[:300]!r}")


def send(
    port: int,
    host: str,
    method: str,
    path: str,
    *,
    service: str,
    region: str = "us-east-1",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    sign: bool = True,
) -> Raw:
    """``method path`` to 127.0.0.1:port as if sent to ``host`` (``host`` has no port)."""
    url = f"http://{host}:{port}{path}"
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if sign:
        SigV4Auth(CREDENTIALS, service, region).add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        sent = {"Host": f"{host}:{port}", **dict(request.headers.items())}
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return Raw(
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            response.read(),
        )
    finally:
        conn.close()


@pytest.fixture(scope="module")
def bucket(server: ServerProcess) -> str:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="hosts-bucket")
    s3.put_object(Bucket="hosts-bucket", Key="dir/hello.txt", Body=b"hello hosts")
    return "hosts-bucket"


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("localhost", "/hosts-bucket/dir/hello.txt"),
        ("127.0.0.1", "/hosts-bucket/dir/hello.txt"),
        ("localhost.localstack.cloud", "/hosts-bucket/dir/hello.txt"),
        ("s3.localhost.localstack.cloud", "/hosts-bucket/dir/hello.txt"),
        ("hosts-bucket.s3.localhost.localstack.cloud", "/dir/hello.txt"),
        ("hosts-bucket.s3.us-east-1.localhost.localstack.cloud", "/dir/hello.txt"),
        ("hosts-bucket.localhost", "/dir/hello.txt"),
        ("hosts-bucket.s3.localhost", "/dir/hello.txt"),
        ("s3.amazonaws.com", "/hosts-bucket/dir/hello.txt"),
        ("s3.us-east-1.amazonaws.com", "/hosts-bucket/dir/hello.txt"),
        ("hosts-bucket.s3.amazonaws.com", "/dir/hello.txt"),
        ("hosts-bucket.s3.us-east-1.amazonaws.com", "/dir/hello.txt"),
    ],
)
def test_s3_object_through_every_host_shape(
    server: ServerProcess, bucket: str, host: str, path: str
) -> None:
    response = send(server.port, host, "GET", path, service="s3")
    assert response.status == 200, response.body[:300]
    assert response.body == b"hello hosts"
    assert response.headers["x-localstack"] == "true"


def test_s3_bucket_listing_on_a_virtual_host(server: ServerProcess, bucket: str) -> None:
    response = send(server.port, f"{bucket}.s3.localhost.localstack.cloud", "GET", "/?list-type=2",
                    service="s3")  # fmt: skip
    assert response.status == 200
    assert response.xml_text("Key") == "dir/hello.txt"
    assert response.xml_text("Name") == bucket


def test_s3_put_through_a_localhost_virtual_host(server: ServerProcess, bucket: str) -> None:
    put = send(server.port, f"{bucket}.localhost", "PUT", "/new.txt", service="s3", body=b"new")
    assert put.status == 200
    got = server.client("s3").get_object(Bucket=bucket, Key="new.txt")["Body"].read()
    assert got == b"new"


@pytest.mark.parametrize(
    "host",
    [
        "sqs.us-east-1.localhost.localstack.cloud",
        "sqs.us-east-1.amazonaws.com",
        "localhost.localstack.cloud",
        "localhost",
    ],
)
def test_sqs_queue_url_follows_the_request_host(server: ServerProcess, host: str) -> None:
    name = "hosts-" + host.replace(".", "-")
    form = f"Action=CreateQueue&QueueName={name}&Version=2012-11-05".encode()
    response = send(server.port, host, "POST", "/", service="sqs", body=form,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status == 200, response.body[:300]
    expected_host = (
        f"sqs.us-east-1.localhost.localstack.cloud:{server.port}"
        if host == "localhost.localstack.cloud"  # LocalStack's default queue URL shape
        else f"{host}:{server.port}"
    )
    assert response.xml_text("QueueUrl") == f"http://{expected_host}/000000000000/{name}"


def test_sqs_regional_localstack_host_in_another_region(server: ServerProcess) -> None:
    body = json.dumps({"QueueName": "hosts-eu"}).encode()
    response = send(server.port, "sqs.eu-west-1.localhost.localstack.cloud", "POST", "/",
                    service="sqs", region="eu-west-1", body=body,
                    headers={"X-Amz-Target": "AmazonSQS.CreateQueue",
                             "Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
    assert response.status == 200
    url = response.json()["QueueUrl"]
    assert (
        url
        == f"http://sqs.eu-west-1.localhost.localstack.cloud:{server.port}/000000000000/hosts-eu"
    )
    eu = server.client("sqs", region="eu-west-1")
    assert eu.get_queue_url(QueueName="hosts-eu")["QueueUrl"].endswith("/000000000000/hosts-eu")


def test_dynamodb_on_its_regional_aws_host(server: ServerProcess) -> None:
    response = send(server.port, "dynamodb.us-east-1.amazonaws.com", "POST", "/",
                    service="dynamodb", body=b"{}",
                    headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
                             "Content-Type": "application/x-amz-json-1.0"})  # fmt: skip
    assert response.status == 200, response.body[:300]
    assert "TableNames" in response.json()


def test_unsigned_sts_routed_by_its_host(server: ServerProcess) -> None:
    # AssumeRoleWithWebIdentity-style unsigned query call: the host names the service.
    response = send(server.port, "sts.amazonaws.com", "GET",
                    "/?Action=GetCallerIdentity&Version=2011-06-15", service="sts")  # fmt: skip
    assert response.status == 200
    assert response.xml_text("Account") == "000000000000"


@pytest.mark.parametrize(
    "host",
    ["abc123.execute-api.localhost.localstack.cloud", "abc123.execute-api.us-east-1.amazonaws.com"],
)
def test_execute_api_hosts_answer_not_implemented(server: ServerProcess, host: str) -> None:
    response = send(server.port, host, "GET", "/prod/pets", service="execute-api", sign=False)
    assert response.status == 501
    assert response.json()["__type"] == "NotImplemented"
    assert "abc123" in response.json()["message"]
    post = send(server.port, host, "POST", "/prod/pets", service="execute-api", body=b'{"a":1}')
    assert post.status == 501
    assert server.healthy()


# --- the external host -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def external(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("external")
    proc = ServerProcess(
        extra_args=["--external-host", "localhost.localstack.cloud"],
        log_file=root / "overcast.log",
    ).start()
    yield proc
    proc.stop()


def test_external_host_names_queue_urls(external: ServerProcess) -> None:
    sqs = external.client("sqs")
    url = sqs.create_queue(QueueName="ext")["QueueUrl"]
    assert (
        url == f"http://sqs.us-east-1.localhost.localstack.cloud:{external.port}/000000000000/ext"
    )
    assert sqs.list_queues()["QueueUrls"] == [url]
    # The URL it handed out works as a QueueUrl, whatever host the client really called.
    sqs.send_message(QueueUrl=url, MessageBody="m")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "m"


def test_external_host_names_s3_locations(external: ServerProcess) -> None:
    s3 = external.client("s3", region="eu-west-1")
    location = s3.create_bucket(
        Bucket="ext-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )["Location"]
    assert location == f"http://localhost.localstack.cloud:{external.port}/ext-bucket/"
    upload = s3.create_multipart_upload(Bucket="ext-bucket", Key="a b.txt")["UploadId"]
    part = s3.upload_part(Bucket="ext-bucket", Key="a b.txt", UploadId=upload, PartNumber=1,
                          Body=b"data")  # fmt: skip
    done = s3.complete_multipart_upload(
        Bucket="ext-bucket", Key="a b.txt", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert (
        done["Location"]
        == f"http://localhost.localstack.cloud:{external.port}/ext-bucket/a%20b.txt"
    )


def test_external_host_virtual_style_location(external: ServerProcess) -> None:
    external.client("s3").create_bucket(Bucket="ext-virtual")
    port = external.port
    start = send(port, "ext-virtual.s3.localhost.localstack.cloud", "POST", "/k?uploads",
                 service="s3")  # fmt: skip
    upload = start.xml_text("UploadId")
    part = send(port, "ext-virtual.s3.localhost.localstack.cloud", "PUT",
                f"/k?partNumber=1&uploadId={upload}", service="s3", body=b"x")  # fmt: skip
    etag = part.headers["etag"]
    xml = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
           "</CompleteMultipartUpload>").encode()  # fmt: skip
    done = send(port, "ext-virtual.s3.localhost.localstack.cloud", "POST",
                f"/k?uploadId={upload}", service="s3", body=xml)  # fmt: skip
    assert done.status == 200, done.body[:300]
    assert done.xml_text("Location") == (
        f"http://ext-virtual.s3.localhost.localstack.cloud:{port}/k"
    )


def test_external_host_names_sns_links(external: ServerProcess) -> None:
    sns, sqs = external.client("sns"), external.client("sqs")
    topic = sns.create_topic(Name="ext-topic")["TopicArn"]
    url = sqs.create_queue(QueueName="ext-sub")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hello")
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    envelope = json.loads(messages[0]["Body"])
    for field in ("SigningCertURL", "UnsubscribeURL"):
        parts = urlsplit(envelope[field])
        assert parts.netloc == f"sns.us-east-1.localhost.localstack.cloud:{external.port}", field


def test_request_host_wins_without_external_host(client: Callable[..., Any]) -> None:
    url = client("sqs").create_queue(QueueName="hosts-plain")["QueueUrl"]
    assert urlsplit(url).hostname == "127.0.0.1"


def test_offline_hosts_file_lines_are_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "compatibility.md").read_text()
    assert "127.0.0.1 localhost.localstack.cloud" in doc
