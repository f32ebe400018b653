"""Which service a request is for, on the single endpoint.

Indicators, strongest first (each cheap; models are only loaded to break ties):
1. ``X-Amz-Target`` (json) or the RPCv2 path ``/service/<target prefix>/operation/<op>`` (cbor):
   the target prefix names the service.
2. The SigV4 credential scope's signing name (S3 Control, which signs as "s3", by its
   ``x-amz-account-id`` header); when several services share it (``s3``/``s3control``,
   ``apigateway``/``apigatewayv2``, ``rds``/``neptune``/``docdb``), the one whose model has the
   requested operation wins, preferring the service named like the signing name.
3. The Host header (``<service>.<region>.amazonaws.com`` shapes, S3's virtual hosts, the same
   shapes under ``localhost.localstack.cloud``; ``<bucket>.localhost`` and
   ``<bucket>.s3.localhost`` are S3 virtual hosts). API Gateway invoke hosts
   (``<id>.execute-api...``) are answered before routing (``gateway.compat``).
4. An unsigned query ``Action`` (STS AssumeRoleWithWebIdentity is sent unsigned).
5. Anything else is S3 (anonymous/presigned-v2 requests, browser POST uploads).

S3 virtual-host-style requests are rewritten to path style here, so the operation matcher only
ever sees ``/<bucket>/<key>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from urllib.parse import parse_qsl

from overcast.protocol.http import HttpRequest
from overcast.protocol.models import ServiceInfo, service_index, service_model

_DOMAIN_SUFFIXES = (
    ".localhost.localstack.cloud",
    ".localhost",
    ".amazonaws.com.cn",
    ".amazonaws.com",
)


@dataclass(frozen=True)
class _Index:
    by_target: dict[str, tuple[ServiceInfo, ...]]
    by_signing_name: dict[str, tuple[ServiceInfo, ...]]
    by_endpoint_prefix: dict[str, tuple[ServiceInfo, ...]]


@cache
def _routing_index() -> _Index:
    by_target: dict[str, list[ServiceInfo]] = {}
    by_signing: dict[str, list[ServiceInfo]] = {}
    by_prefix: dict[str, list[ServiceInfo]] = {}
    for info in service_index().values():
        if info.target_prefix:
            by_target.setdefault(info.target_prefix, []).append(info)
        by_signing.setdefault(info.signing_name, []).append(info)
        by_prefix.setdefault(info.endpoint_prefix, []).append(info)

    def ranked(table: dict[str, list[ServiceInfo]]) -> dict[str, tuple[ServiceInfo, ...]]:
        # The service named exactly like the key first (s3 before s3control, rds before neptune).
        return {k: tuple(sorted(v, key=lambda i: (i.name != k, i.name))) for k, v in table.items()}

    return _Index(ranked(by_target), ranked(by_signing), ranked(by_prefix))


def resolve_service(
    request: HttpRequest,
    signing_service: str | None,
    has_operation: Callable[[ServiceInfo, HttpRequest], bool],
) -> ServiceInfo | None:
    """The service of ``request``; ``has_operation`` breaks ties between candidates."""
    index = _routing_index()
    headers = request.headers

    target = headers.get("x-amz-target")
    if target and "." in target:
        found = _pick(index.by_target.get(target.rsplit(".", 1)[0], ()), request, has_operation)
        if found:
            return found
    if request.path.startswith("/service/") and "smithy-protocol" in headers:
        parts = request.path.split("/")
        if len(parts) >= 5 and parts[3] == "operation":
            found = _pick(index.by_target.get(parts[2], ()), request, has_operation)
            if found:
                return found

    if signing_service == "s3":
        # S3 Control signs as "s3" and its paths also parse as S3 object keys; every S3 Control
        # request names its account in this header, which S3 requests never carry. Deciding
        # here spares S3's hot path a trial match against both models.
        return service_index().get("s3control" if "x-amz-account-id" in headers else "s3")

    if signing_service:
        candidates = index.by_signing_name.get(signing_service) or index.by_endpoint_prefix.get(
            signing_service, ()
        )
        found = _pick(candidates, request, has_operation)
        if found:
            return found

    host_service = _service_from_host(request.host)
    if host_service:
        found = _pick(index.by_endpoint_prefix.get(host_service, ()), request, has_operation)
        if found:
            return found

    action = _query_action(request)
    if action:
        for info in service_index().values():
            if info.protocol in ("query", "ec2") and action in _operation_names(info.name):
                return info

    return service_index().get("s3")


def _pick(
    candidates: tuple[ServiceInfo, ...],
    request: HttpRequest,
    has_operation: Callable[[ServiceInfo, HttpRequest], bool],
) -> ServiceInfo | None:
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for info in candidates:
        if has_operation(info, request):
            return info
    return candidates[0]


@cache
def _operation_names(service: str) -> frozenset[str]:
    return frozenset(service_model(service).operation_names)


def _query_action(request: HttpRequest) -> str | None:
    for key, value in request.query_items:
        if key == "Action":
            return value
    content_type = request.headers.get("content-type", "")
    if request.body and content_type.startswith("application/x-www-form-urlencoded"):
        for key, value in parse_qsl(request.body.decode("utf-8", "replace")):
            if key == "Action":
                return value
    return None


def host_without_port(host: str) -> str:
    if host.startswith("["):  # [::1]:4566
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _split_domain(host: str) -> str | None:
    """The labels before a known AWS/local domain suffix, or None for any other host."""
    name = host_without_port(host).lower().rstrip(".")
    for suffix in _DOMAIN_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def _service_from_host(host: str) -> str | None:
    """``sqs.us-east-1.amazonaws.com`` -> "sqs"; S3 virtual hosts -> "s3";
    ``<api id>.execute-api.<domain>`` -> "execute-api"."""
    labels = _split_domain(host)
    if not labels:
        return None
    parts = labels.split(".")
    if len(parts) > 1 and parts[1] == "execute-api":
        return "execute-api"
    if _s3_label_index(parts) is not None:
        return "s3"
    return parts[0]


@lru_cache(maxsize=1024)
def execute_api_id(host: str) -> str | None:
    """The API id of an API Gateway invoke host (``<id>.execute-api.localhost.localstack.cloud``,
    ``<id>.execute-api.<region>.amazonaws.com``), or None for any other host."""
    labels = _split_domain(host)
    if not labels:
        return None
    parts = labels.split(".")
    if len(parts) >= 2 and parts[1] == "execute-api" and parts[0]:
        return parts[0]
    return None


def _s3_label_index(parts: list[str]) -> int | None:
    # The last label that names S3: "s3", "s3-website", "s3-us-west-2", "s3-accesspoint".
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "s3" or parts[i].startswith("s3-"):
            return i
    return None


def is_ip(name: str) -> bool:
    if not name or not (name[0].isdigit() or ":" in name):
        return False  # a cheap test first: ipaddress costs an import on the startup path
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def s3_bucket_from_host(host: str) -> str | None:
    """The bucket of an S3 virtual-host-style request, or None for path style.

    ``my.bucket.s3.us-east-1.amazonaws.com``, ``bucket.s3.localhost.localstack.cloud``,
    ``bucket.s3.localhost`` and ``bucket.localhost`` name a bucket; ``s3.amazonaws.com``,
    ``localhost`` and IP addresses do not.
    """
    name = host_without_port(host)
    if is_ip(name):
        return None
    labels = _split_domain(name)
    if not labels:
        return None
    parts = labels.split(".")
    i = _s3_label_index(parts)
    if i is None:
        # "<bucket>.localhost": only for the local domains, never a bare AWS service host.
        if name.lower().endswith(".localhost") and labels:
            return labels
        return None
    return ".".join(parts[:i]) or None


def rewrite_s3_virtual_host(request: HttpRequest) -> str | None:
    """Turn a virtual-host-style S3 request into path style in place; returns the bucket."""
    bucket = s3_bucket_from_host(request.host)
    if bucket:
        suffix = "" if request.path in ("", "/") else request.path
        request.path = f"/{bucket}{suffix}"
        request.__dict__.pop("decoded_path", None)  # drop the cached_property
    return bucket
