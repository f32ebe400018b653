"""The cost of IAM enforcement without the network: the gateway called in process.

``python -m bench.iam_inprocess`` builds an ephemeral Overcast app in this process, stores a
1 KiB object, creates an IAM user with an inline policy (``--condition`` adds a condition, so
each request's context is evaluated), and calls the ASGI app directly with botocore-signed
GetObject requests: as the root through a verified ``--credentials`` key, and as the IAM user.
It reports the process CPU time per request, the best of ``--rounds`` rounds of ``--requests``
each, alternating, and the Python function calls per request (counted by cProfile: the same on
an idle or a busy machine). Without sockets, client and load generator, what remains is the pipeline
itself, which makes this the steadier number on a busy machine (bench.iam measures over HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import re
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import bench.signing
from bench.signing import SignedRequest, sign_request

ENDPOINT = "http://127.0.0.1:4566"
ROOT = ("AKIABENCHROOT0000000", "bench-root-secret")


async def _call(app: Any, request: SignedRequest) -> tuple[int, bytes]:
    parts = urlsplit(request.url)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    scope = {
        "type": "http",
        "method": request.method,
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": [*headers, (b"host", parts.netloc.encode())],
        "scheme": "http",
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 4566),
        "http_version": "1.1",
    }
    sent = False
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": request.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return messages[0]["status"], body


def _signed(op: str, params: dict[str, Any], key: tuple[str, str]) -> SignedRequest:
    bench.signing.ACCESS_KEY, bench.signing.SECRET_KEY = key
    return sign_request(ENDPOINT, op, params)


async def _run(args: argparse.Namespace) -> dict[str, list[float]]:
    from overcast.gateway.app import create_app
    from overcast.settings import Settings, StaticKey

    app = create_app(Settings(data_dir=None, static_keys=(StaticKey(*ROOT),), log_level="error"))
    test = ("test", "test")
    for op, params in (
        ("s3.CreateBucket", {"Bucket": "bench-iam"}),
        ("s3.PutObject", {"Bucket": "bench-iam", "Key": "1k", "Body": b"x" * 1024}),
        ("iam.CreateUser", {"UserName": "bench"}),
    ):
        await _call(app, _signed(op, params, test))
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bench-iam/*",
    }
    if args.condition:
        statement["Condition"] = {"Bool": {"aws:SecureTransport": "false"}}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    put = {"UserName": "bench", "PolicyName": "get", "PolicyDocument": document}
    await _call(app, _signed("iam.PutUserPolicy", put, test))
    _, body = await _call(app, _signed("iam.CreateAccessKey", {"UserName": "bench"}, test))
    text = body.decode()
    user = (
        re.search(r"<AccessKeyId>(.*?)</AccessKeyId>", text).group(1),  # type: ignore[union-attr]
        re.search(r"<SecretAccessKey>(.*?)</SecretAccessKey>", text).group(1),  # type: ignore[union-attr]
    )
    get = {"Bucket": "bench-iam", "Key": "1k"}
    requests = {
        "root": _signed("s3.GetObject", get, ROOT),
        "iam-user": _signed("s3.GetObject", get, user),
    }
    for label, request in requests.items():
        status, _ = await _call(app, request)
        if status != 200:
            raise SystemExit(f"{label}: GetObject answered {status}")
    results: dict[str, list[float]] = {label: [] for label in requests}
    for label, request in requests.items():
        # Function calls per request: a deterministic measure of the work, whatever the load.
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(100):
            await _call(app, request)
        profile.disable()
        calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
        results[f"{label} calls"] = [calls / 100]
    for _ in range(args.rounds):
        for label, request in requests.items():
            started = time.process_time()
            for _ in range(args.requests):
                await _call(app, request)
            results[label].append((time.process_time() - started) / args.requests * 1e6)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.iam_inprocess", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--condition", action="store_true", help="a condition in the policy")
    args = parser.parse_args(argv)
    results = asyncio.run(_run(args))
    best = {label: min(runs) for label, runs in results.items()}
    for label in ("root", "iam-user"):
        runs = [round(r) for r in results[label]]
        print(
            f"{label:9s} best {best[label]:7.1f} us CPU/request  runs {runs}  "
            f"{best[label + ' calls']:.0f} Python calls/request"
        )
    print(f"enforcement overhead, CPU: {(best['iam-user'] / best['root'] - 1) * 100:+.1f}%")
    calls = best["iam-user calls"] / best["root calls"] - 1
    print(f"enforcement overhead, Python calls: {calls * 100:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
