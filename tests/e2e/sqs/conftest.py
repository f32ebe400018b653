"""SQS fixtures: a JSON-protocol client, a query-protocol client, unique queue names, and a way
to move the server's clock instead of sleeping."""

from __future__ import annotations

import copy
import itertools
import json
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from overcast.protocol.dialects import SQS
from overcast.protocol.models import load_model_json
from overcast.testing import ServerProcess

_counter = itertools.count()


def query_client(server: ServerProcess, tmp: Path) -> Any:
    """An SQS client whose model copy lists only the query protocol (the old wire format)."""
    model = load_model_json("sqs")
    model["metadata"]["protocols"] = ["query"]
    model["metadata"]["protocol"] = "query"
    model["metadata"].pop("jsonVersion", None)
    model["metadata"].pop("targetPrefix", None)
    model["metadata"]["xmlNamespace"] = "http://queue.amazonaws.com/doc/2012-11-05/"
    _as_old_query_model(model)
    folder = tmp / "query" / "sqs" / model["metadata"]["apiVersion"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()
    session.set_config_variable("data_path", str(tmp / "query"))
    return boto3.Session(botocore_session=session).client(
        "sqs",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _as_old_query_model(model: dict[str, Any]) -> None:
    """Give the output shapes the XML traits SQS's old query model had (result wrappers,
    flattened lists and maps with their element names), as the server's dialect writes them.

    Output shapes are copied (``<Name>Out``) so requests keep the JSON model's query names,
    which are what the server's query parser reads.
    """
    shapes = model["shapes"]
    names = SQS.xml_names
    copied: dict[str, str] = {}

    def out(name: str) -> str:
        if name in copied:
            return copied[name]
        shape = copy.deepcopy(shapes[name])
        if shape["type"] not in ("structure", "list", "map"):
            return name
        new = copied[name] = name + "Out"
        shapes[new] = shape
        traits = names.get(name)
        if traits is not None:
            shape["flattened"] = True
            if shape["type"] == "list":
                shape["member"]["locationName"] = traits["member"]
            else:
                shape["key"]["locationName"] = traits["key"]
                shape["value"]["locationName"] = traits["value"]
        for ref in [*shape.get("members", {}).values(),
                    *[shape[k] for k in ("member", "key", "value") if k in shape]]:  # fmt: skip
            member_traits = names.get(ref["shape"])
            if member_traits is not None and ref is not shape.get("member"):
                ref["locationName"] = member_traits.get("name") or member_traits.get("member")
            ref["shape"] = out(ref["shape"])
        return new

    for op in model["operations"].values():
        if "output" in op:
            wrapper = op["output"]["shape"]
            op["output"]["shape"] = out(wrapper)
            op["output"]["resultWrapper"] = wrapper


@pytest.fixture(params=["json", "query"])
def sqs(request: pytest.FixtureRequest, server: ServerProcess, tmp_path: Path) -> Any:
    if request.param == "json":
        return server.client("sqs")
    return query_client(server, tmp_path)


@pytest.fixture
def name() -> Callable[..., str]:
    def make(suffix: str = "") -> str:
        return f"q{next(_counter)}-{uuid.uuid4().hex[:10]}{suffix}"

    return make


def advance(server: ServerProcess, seconds: float) -> None:
    body = json.dumps({"advance": seconds}).encode()
    req = urllib.request.Request(
        server.endpoint + "/_overcast/clock", data=body, method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


@pytest.fixture
def clock(server: ServerProcess) -> Callable[[float], None]:
    return lambda seconds: advance(server, seconds)
