"""The gateway's fast paths give the answers of the slow ones: DynamoDB items serialized as the
provider built them, and REST operation matches remembered per request shape."""

from __future__ import annotations

import base64
import json

from overcast.protocol.http import Headers, HttpRequest
from overcast.protocol.models import service_model
from overcast.protocol.operations import find_operation
from overcast.protocol.serializers.json import JsonSerializer


def test_attribute_values_go_out_as_built_with_binaries_base64_encoded() -> None:
    operation = service_model("dynamodb").operation_model("GetItem")
    item = {
        "pk": {"S": "k"},
        "b": {"B": b"\x00\x01"},
        "bs": {"BS": [b"a", b"b"]},
        "m": {"M": {"n": {"N": "1"}, "l": {"L": [{"B": b"z"}, {"NULL": True}]}}},
    }
    response = JsonSerializer().serialize({"Item": item}, operation, "rid")
    got = json.loads(response.body)["Item"]
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    assert got == {
        "pk": {"S": "k"},
        "b": {"B": b64(b"\x00\x01")},
        "bs": {"BS": [b64(b"a"), b64(b"b")]},
        "m": {"M": {"n": {"N": "1"}, "l": {"L": [{"B": b64(b"z")}, {"NULL": True}]}}},
    }


def _s3(method: str, path: str, query: str = "", **headers: str) -> str | None:
    request = HttpRequest(method, path, query, Headers({"host": "localhost", **headers}))
    return find_operation(request, service_model("s3"), "rest-xml").name


def test_remembered_rest_matches_still_tell_requests_apart() -> None:
    for _ in range(2):  # the second round is answered from the memo
        assert _s3("GET", "/bkt") == "ListObjects"
        assert _s3("GET", "/bkt", "list-type=2") == "ListObjectsV2"
        assert _s3("GET", "/bkt", "list-type=2&prefix=a") == "ListObjectsV2"
        assert _s3("GET", "/bkt/key") == "GetObject"
        assert _s3("GET", "/bkt/key", "tagging") == "GetObjectTagging"
        assert _s3("PUT", "/bkt/key") == "PutObject"
        assert _s3("PUT", "/bkt/key", **{"x-amz-copy-source": "/a/b"}) == "CopyObject"
        assert _s3("PUT", "/bkt/key", "partNumber=1&uploadId=u") == "UploadPart"
        assert (
            _s3("PUT", "/bkt/key", "partNumber=1&uploadId=u", **{"x-amz-copy-source": "/a/b"})
            == "UploadPartCopy"
        )
