"""A bare ASGI app: the ceiling any Overcast request rate is compared with.

It answers every request with a small, valid STS ``GetCallerIdentity`` XML body (so the bench
clients can parse it like a real endpoint), and ``GET /_overcast/health`` with JSON (so the startup
bench can be smoke-tested against it). It speaks the lifespan protocol like the real gateway.

Run it under any server through the same runner Overcast uses::

    python -m bench.hello_app --server uvicorn --port 4599
"""

from __future__ import annotations

import argparse
from typing import Any

_BODY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn>"
    b"<UserId>000000000000</UserId><Account>000000000000</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
    b"</ResponseMetadata></GetCallerIdentityResponse>"
)
_XML_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"text/xml"),
        (b"content-length", str(len(_BODY)).encode()),
        (b"x-amzn-requestid", b"00000000-0000-0000-0000-000000000000"),
    ],
}
_XML_BODY = {"type": "http.response.body", "body": _BODY}
_HEALTH = b'{"status": "running"}'
_HEALTH_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_HEALTH)).encode()),
    ],
}
_HEALTH_BODY = {"type": "http.response.body", "body": _HEALTH}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI callable."""
    kind = scope["type"]
    if kind == "http":
        # Drain the request body so keep-alive connections stay in sync.
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if scope["path"] == "/_overcast/health":
            await send(_HEALTH_START)
            await send(_HEALTH_BODY)
        else:
            await send(_XML_START)
            await send(_XML_BODY)
    elif kind == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: list[str] | None = None) -> int:
    """Serve the hello app with ``overcast.server.serve``."""
    from overcast.server import SERVERS, ServerStartError, serve

    parser = argparse.ArgumentParser(prog="python -m bench.hello_app")
    parser.add_argument("--server", choices=SERVERS, default="uvicorn")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4599)
    args = parser.parse_args(argv)
    try:
        serve(
            app,
            [(args.host, args.port)],
            server=args.server,
            on_ready=lambda: print(f"ready on {args.host}:{args.port}", flush=True),
        )
    except ServerStartError as exc:
        print(f"error: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
