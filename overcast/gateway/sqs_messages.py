"""LocalStack's SQS developer endpoint, ``/_aws/sqs/messages``: every message of a queue, peeked
(``services.sqs.peek``: no visibility change, no receive count), in LocalStack's shapes.

Three ways in, as LocalStack accepts them:

* ``GET /_aws/sqs/messages?QueueUrl=<url>`` or ``GET /_aws/sqs/messages/<region>/<account>/<name>``
  (``ShowInvisible``, ``ShowDelayed`` query flags): ReceiveMessage's XML, or with
  ``Accept: application/json`` that XML as JSON (``{"ReceiveMessageResponse": ...}``, a single
  message as an object, as an XML-to-JSON conversion gives it);
* an SDK whose endpoint is ``http://localhost:4566/_aws/sqs/messages``: its ``ReceiveMessage``
  (query or JSON protocol) answers every message, ``MaxNumberOfMessages`` ignored; any other
  action is ``InvalidRequest``. A browser-style GET's ``Action`` is not looked at.

Queue URLs are read as LocalStack reads them: ``<host>/<account>/<name>`` (the region from a
``sqs.<region>.`` or ``<region>.queue.`` host, ``us-east-1`` for a ``queue.`` host) and its path
strategy ``<host>/queue/<region>/<account>/<name>``; a URL without a region takes the request's
signing region, else the default one. Any account and region may be peeked at, the caller's or
not (a developer tool, as in LocalStack). Errors: no ``QueueUrl``, or no such queue in that
account and region, ``AWS.SimpleQueueService.NonExistentQueue`` (400); a ``QueueUrl`` that is no
queue URL, ``InvalidAddress`` (404).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from overcast import errors, ids
from overcast.protocol.http import Headers, HttpRequest, HttpResponse

if TYPE_CHECKING:
    from overcast.gateway.app import Gateway
    from overcast.gateway.asgi import Scope

PATH = "/_aws/sqs/messages"
InvalidRequest = errors.error_class("InvalidRequest", 400)


def sqs_messages(gw: Gateway, scope: Scope, query: str, body: bytes) -> HttpResponse:
    from overcast.protocol.models import service_model
    from overcast.protocol.serializers import get_serializer
    from overcast.services.sqs import peek
    from overcast.services.sqs.errors import QueueDoesNotExist

    headers = Headers.from_asgi(scope.get("headers", ()))
    params, protocol, action = _request(headers, query, body)
    signed_region = _signing_region(headers, query)
    as_json = protocol == "query" and "application/json" in headers.get("accept", "")
    model = service_model("sqs")
    operation = model.operation_model("ReceiveMessage")
    request_id = ids.request_id()
    try:
        if action != "ReceiveMessage":
            raise InvalidRequest("This endpoint only accepts ReceiveMessage calls")
        region, account, name = _queue(scope["path"], params)
        if not name:
            raise QueueDoesNotExist()
        region = region or signed_region
        gw.env.registry.provider("sqs")  # creates SQS's tables on first use
        messages = peek.peek(
            gw.env.store,
            account,
            region,
            name,
            now=gw.env.clock.now(),
            default_region=gw.settings.default_region,
            show_invisible=_flag(params.get("ShowInvisible")),
            show_delayed=_flag(params.get("ShowDelayed")),
        )
    except errors.ServiceError as exc:
        if as_json:
            return _json_error(exc, model, request_id)
        return get_serializer(protocol).serialize_error(exc, model, operation, request_id)
    if as_json:
        return _json_messages(messages, request_id)
    return get_serializer(protocol).serialize({"Messages": messages}, operation, request_id)


def _request(headers: Headers, query: str, body: bytes) -> tuple[dict[str, Any], str, str]:
    """``(parameters, protocol, action)`` of a browser-style GET or an SDK's call."""
    target = headers.get("x-amz-target")
    if target:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return (params if isinstance(params, dict) else {}), "json", target.rsplit(".", 1)[-1]
    params = dict(parse_qsl(query))
    if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # An SDK's query-protocol call: its Action must be ReceiveMessage.
        params.update(parse_qsl(body.decode("utf-8", "replace")))
        return params, "query", params.get("Action", "ReceiveMessage")
    return params, "query", "ReceiveMessage"  # a browser or curl: parameters only


def _signing_region(headers: Headers, query: str) -> str | None:
    """The region of the request's SigV4 credential scope (an SDK's), if it is signed."""
    from overcast.gateway.auth.scope import signing_scope

    signer = signing_scope(HttpRequest("GET", PATH, query=query, headers=headers))
    return signer.region if signer is not None else None


def _queue(path: str, params: dict[str, Any]) -> tuple[str | None, str, str]:
    """``(region or None, account, name)`` from the path or the ``QueueUrl`` parameter."""
    rest = [p for p in path[len(PATH) :].split("/") if p]
    if len(rest) == 3:
        return rest[0], rest[1], rest[2]
    url = params.get("QueueUrl")
    if not url:
        return None, "", ""
    return queue_from_url(str(url))


def queue_from_url(url: str) -> tuple[str | None, str, str]:
    """A queue URL in any of LocalStack's endpoint strategies; InvalidAddress for others."""
    from overcast.services.sqs.errors import InvalidAddress

    parts = urlsplit(url.rstrip("/")) if "://" in url else None
    segments = (parts.path if parts else url.rstrip("/")).lstrip("/").split("/")
    host = (parts.hostname or "").lower() if parts else ""
    if len(segments) == 4 and segments[0] == "queue" and all(segments):  # path strategy
        return segments[1], segments[2], segments[3]
    if len(segments) != 2 or not all(segments):
        raise InvalidAddress(f"The address {url} is not valid for this endpoint.")
    labels = host.split(".")
    region = None
    if host.startswith("sqs.") and len(labels) > 2:  # standard: sqs.<region>.<domain>
        region = labels[1]
    elif len(labels) > 2 and labels[1] == "queue":  # domain: <region>.queue.<domain>
        region = labels[0]
    elif host.startswith("queue."):  # domain strategy in the default region
        region = "us-east-1"
    return region, segments[0], segments[1]


def _flag(value: Any) -> bool:
    return str(value).lower() in ("true", "1") if value is not None else False


def _json_messages(messages: list[dict[str, Any]], request_id: str) -> HttpResponse:
    rendered = [_xml_like(m) for m in messages]
    result: Any = None
    if len(rendered) == 1:
        result = {"Message": rendered[0]}
    elif rendered:
        result = {"Message": rendered}
    body = {
        "ReceiveMessageResponse": {
            "ReceiveMessageResult": result,
            "ResponseMetadata": {"RequestId": request_id},
        }
    }
    return _json_response(200, body)


def _xml_like(message: dict[str, Any]) -> dict[str, Any]:
    """A message as the query protocol's XML names its members (``Attribute``, ``Name``...)."""
    out: dict[str, Any] = {
        k: message[k] for k in ("MessageId", "ReceiptHandle", "MD5OfBody", "Body") if k in message
    }
    if "MD5OfMessageAttributes" in message:
        out["MD5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    out["Attribute"] = [{"Name": k, "Value": v} for k, v in message.get("Attributes", {}).items()]
    if message.get("MessageAttributes"):
        out["MessageAttribute"] = [
            {"Name": k, "Value": v} for k, v in message["MessageAttributes"].items()
        ]
    return out


def _json_error(exc: errors.ServiceError, model: Any, request_id: str) -> HttpResponse:
    from overcast.protocol.serializers.base import resolve_error

    info = resolve_error(exc, model)
    body = {
        "ErrorResponse": {
            "Error": {
                "Type": info.fault,
                "Code": info.query_code,
                "Message": exc.error_message,
            },
            "RequestId": request_id,
        }
    }
    return _json_response(info.status, body)


def _json_response(status: int, body: Any) -> HttpResponse:
    return HttpResponse(
        status=status,
        headers=Headers({"content-type": "application/json"}),
        body=json.dumps(body).encode(),
    )
