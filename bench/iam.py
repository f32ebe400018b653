"""The cost of IAM policy enforcement on a 1 KiB S3 GetObject.

``python -m bench.iam`` starts Overcast (ephemeral), stores a 1 KiB object, creates an IAM user
whose inline policy allows ``s3:GetObject`` on the bucket, and measures GetObject at
``--concurrency`` keep-alive connections, alternating between three callers, ``--rounds`` times
each: the account's root through an unknown key (``test``: signature not checked, no
enforcement), the root through a ``--credentials`` key (signature checked, no enforcement: the
fair baseline) and the IAM user (signature checked with its secret, identity policies
evaluated). It reports requests per second and per server CPU-second (the steadier number on a
shared machine), the best round of each, and the enforcement overhead against the fair
baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import bench.signing
from bench.rate import run_rate
from bench.report import RateResult

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bench-iam/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def _as(access_key: str, secret: str) -> None:
    """Sign the next runs with this key (bench.signing reads its globals when it signs; the
    load workers are forked afterwards and inherit them)."""
    bench.signing.ACCESS_KEY = access_key
    bench.signing.SECRET_KEY = secret


def _setup(server: Any) -> tuple[str, str]:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="bench-iam")
    s3.put_object(Bucket="bench-iam", Key="1k", Body=b"x" * 1024)
    iam = server.client("iam")
    iam.create_user(UserName="bench")
    iam.put_user_policy(UserName="bench", PolicyName="get", PolicyDocument=json.dumps(POLICY))
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _measure(endpoint: str, pid: int, args: argparse.Namespace, label: str) -> RateResult:
    return run_rate(
        endpoint,
        "s3.GetObject",
        {"Bucket": "bench-iam", "Key": "1k"},
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=1.0,
        processes=args.processes,
        label=label,
        server_pid=pid,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.iam", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, alternating")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    args = parser.parse_args(argv)

    from overcast.testing import ServerProcess

    static = ("AKIABENCHROOT0000000", "bench-root-secret")
    extra = ["--log-level", "warning", "--credentials", f"{static[0]}:{static[1]}"]
    with ServerProcess(extra_args=extra) as server:
        assert server.process is not None
        pid = server.process.pid
        access_key, secret = _setup(server)
        callers = {
            "root-unknown": ("test", "test"),
            "root": static,
            "iam-user": (access_key, secret),
        }
        results: dict[str, list[RateResult]] = {label: [] for label in callers}
        for _ in range(args.rounds):
            for label, key in callers.items():
                _as(*key)
                results[label].append(_measure(server.endpoint, pid, args, label))
    best: dict[str, tuple[float, float, int]] = {}
    for label, runs in results.items():
        rps = max(r.rps for r in runs)
        per_cpu = max(float(r.extra.get("rps_per_cpu") or 0.0) for r in runs)
        errors = sum(r.errors for r in runs)
        best[label] = (rps, per_cpu, errors)
        print(
            f"{label:12s} best {rps:8.1f} req/s  {per_cpu:8.1f} req/CPU-s  errors {errors}  "
            f"runs {[round(r.rps) for r in runs]}"
        )
    root, user = best["root"], best["iam-user"]
    if root[1] and user[1]:
        print(
            f"enforcement overhead (server CPU per request): {(root[1] / user[1] - 1) * 100:+.1f}%"
        )
    print(f"enforcement overhead (req/s): {(root[0] / user[0] - 1) * 100:+.1f}%")
    return 1 if root[2] or user[2] else 0


if __name__ == "__main__":
    sys.exit(main())
