"""URLs the server hands out (queue URLs, S3 ``Location``, SNS subscribe links) point back here.

The host is ``settings.external_host`` (``--external-host``, ``OVERCAST_HOST``, or
LocalStack's ``LOCALSTACK_HOST``) when configured, its port defaulting to the listening port;
otherwise the request's ``Host`` header as the client sent it. The scheme is the request's:
``https`` when it came over TLS.

``localhost.localstack.cloud`` (and any name under it) resolves to 127.0.0.1 in public DNS, so
service prefixes may be added to it (``sqs.us-east-1.localhost.localstack.cloud:4566``, as
LocalStack's default queue URLs); any other host is used as given, path style, since a made-up
prefix would not resolve.

The configured host is ``name``, ``name:port``, ``[v6]`` or ``[v6]:port``; an unbracketed IPv6
literal (``::1``, ``fe80::1``) is an address without a port (``::1:4566`` is itself an IPv6
address: a port needs the brackets). IPv6 literals are bracketed in URLs (``http://[::1]:4566``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote

from overcast.gateway.routing import host_without_port, is_ip

if TYPE_CHECKING:
    from overcast.gateway.context import RequestContext

LOCALSTACK_DOMAIN = "localhost.localstack.cloud"


def external_host(ctx: RequestContext, fallback: str = "localhost") -> str:
    """``host[:port]`` for URLs: the configured external host, else the request's Host."""
    settings = ctx.env.settings
    configured = settings.external_host
    if configured:
        return url_host(configured, settings.port)
    return ctx.request.host or fallback


def local_endpoint(host: str, port: int) -> str:
    """``http://host:port`` reaching a listener bound to ``host`` from this machine: a wildcard
    address is reached on loopback, an IPv6 literal is bracketed (``http://[::1]:4566``)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{url_host(host, port)}"


@lru_cache(maxsize=16)
def url_host(configured: str, port: int) -> str:
    """A configured ``HOST[:PORT]`` as a URL's authority, ``port`` when it names none."""
    host = configured.strip()
    if host.startswith("["):  # [v6] or [v6]:port
        name, _, rest = host[1:].partition("]")
        return f"[{name}]{rest}" if rest.startswith(":") and rest[1:] else f"[{name}]:{port}"
    if host.count(":") > 1 and is_ip(host):  # a bare IPv6 literal: no port in it
        return f"[{host}]:{port}"
    return host if host.count(":") == 1 else f"{host}:{port}"


def base_url(ctx: RequestContext, service: str | None = None) -> str:
    """``scheme://host[:port]`` of this server as the client should call it back.

    With ``service``, the bare LocalStack domain gets the service's regional name
    (``sqs.<region>.localhost.localstack.cloud``); the fallback host without any Host header
    is the AWS one (``sqs.<region>.amazonaws.com``).
    """
    fallback = f"{service}.{ctx.region}.amazonaws.com" if service else "localhost"
    host = external_host(ctx, fallback)
    if service and _name(host) == LOCALSTACK_DOMAIN:
        host = f"{service}.{ctx.region}.{host}"
    return f"{ctx.request.scheme}://{host}"


def s3_url(ctx: RequestContext, bucket: str, key: str = "") -> str:
    """The URL of ``bucket`` (or of ``key`` in it), in the request's addressing style.

    Virtual-hosted requests (``bucket.s3.localhost.localstack.cloud``) get virtual-hosted URLs,
    path-style ones (``127.0.0.1:4566/bucket``) path-style URLs; a configured external host that
    is an IP address or a bare ``localhost`` always gets path style (no bucket label fits).
    """
    path = quote(key, safe="/~")
    scheme = ctx.request.scheme
    virtual = ctx.request.host.lower().startswith(bucket.lower() + ".")
    configured = ctx.env.settings.external_host
    if not configured:
        host = ctx.request.host or "localhost"
        if virtual:
            return f"{scheme}://{host}/{path}"
        return f"{scheme}://{host}/{bucket}/{path}"
    host = external_host(ctx)
    name = _name(host)
    if virtual and not is_ip(name) and name != "localhost":
        s3 = host if name.startswith("s3.") else f"s3.{host}"
        return f"{scheme}://{bucket}.{s3}/{path}"
    return f"{scheme}://{host}/{bucket}/{path}"


def s3_bucket_location(ctx: RequestContext, bucket: str) -> str:
    """CreateBucket's ``Location`` outside us-east-1: AWS's global virtual-hosted URL, or the
    bucket's URL on the configured external host (LocalStack answers the same way)."""
    if ctx.env.settings.external_host:
        return s3_url(ctx, bucket)
    return f"http://{bucket}.s3.amazonaws.com/"


def _name(host: str) -> str:
    """The host without its port, lower case."""
    return host_without_port(host).lower()
