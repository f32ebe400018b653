"""``python -m bench``: rate, wrk, startup, servers and compare benchmarks.

Examples::

    python -m bench rate --endpoint http://127.0.0.1:4566 --op sts.GetCallerIdentity \\
        --concurrency 16 --duration 10
    python -m bench wrk --endpoint http://127.0.0.1:4566 --op sts.GetCallerIdentity
    python -m bench startup --cmd "overcast start --ephemeral --port {port}"
    python -m bench servers
    python -m bench compare --op sts.GetCallerIdentity --repeat 3
    python -m bench profile --op sts.GetCallerIdentity
    python -m bench s3 --tests small,large
    python -m bench sqs --depth 1000000

``--json`` writes the results to bench/results/<kind>-<time>.json (or ``--json-path FILE``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any


def _cpus(value: str | None) -> tuple[int, ...] | None:
    if not value:
        return None
    return tuple(int(c) for c in value.split(","))


def _add_common(p: argparse.ArgumentParser, *, endpoint: bool = True) -> None:
    if endpoint:
        p.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:4566")
    p.add_argument("--op", default="sts.GetCallerIdentity", help="service.Operation")
    p.add_argument("--params", default=None, help="operation parameters as a JSON object")
    p.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    p.add_argument("--cpus", default=None, help="pin the load generator, e.g. 1 or 1,2")
    p.add_argument("--label", default="")
    p.add_argument("--repeat", type=int, default=1, help="runs; the fastest is reported")
    _add_json(p)


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="write JSON to bench/results/")
    p.add_argument("--json-path", default=None, help="write JSON to this file")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("rate", help="Python clients, every request botocore-signed")
    _add_common(p)
    p.add_argument("--processes", type=int, default=None, help="client processes (default: cpus)")
    p.add_argument("--client", choices=("signed", "sdk"), default="signed")

    p = sub.add_parser("wrk", help="replay one signed request with wrk (raw server rate)")
    _add_common(p)
    p.add_argument("--threads", type=int, default=1, help="wrk threads")

    p = sub.add_parser("startup", help="spawn-to-healthy time and idle RSS of a command")
    p.add_argument("--cmd", required=True, help='command with {port}, e.g. "overcast start ..."')
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--path", default="/_overcast/health", help="health path to poll")
    p.add_argument("--idle", type=float, default=1.0, help="seconds before reading RSS")
    p.add_argument("--cpus", default=None, help="pin the server, e.g. 0")
    _add_json(p)

    p = sub.add_parser("servers", help="hello app under uvicorn/granian/hypercorn with wrk")
    p.add_argument("--only", default=None, help="comma-separated server names")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--startup-runs", type=int, default=3)
    p.add_argument("--repeat", type=int, default=1, help="wrk runs; the fastest is reported")
    _add_json(p)

    p = sub.add_parser("profile", help="py-spy profile of a server under wrk load")
    p.add_argument("--cmd", default=None, help="server command with {port} (default: Overcast)")
    p.add_argument("--op", default="sts.GetCallerIdentity")
    p.add_argument("--params", default=None)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--match", default="", help="only inclusive entries containing this")
    _add_json(p)

    sub.add_parser("s3", help="S3 throughput suite vs moto (see python -m bench s3 --help)")
    sub.add_parser("sqs", help="SQS throughput suite vs moto (see python -m bench sqs --help)")
    sub.add_parser("dynamodb", help="DynamoDB suite vs moto (python -m bench dynamodb --help)")
    p = sub.add_parser("compare", help="Overcast vs moto vs hello app, same op and load")
    _add_common(p, endpoint=False)
    p.add_argument("--server", default="uvicorn", help="server for the hello-app baseline")
    p.add_argument("--only", default=None, help="comma-separated target names")
    p.add_argument("--tools", default="wrk,python", help="wrk, python or both")
    p.add_argument("--overcast-cmd", default=None, help="override the Overcast command ({port})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["s3"]:  # the S3 suite has its own options: python -m bench s3 --help
        from bench.s3 import main as s3_main

        return s3_main(argv[1:])
    if argv[:1] == ["sqs"]:  # likewise: python -m bench sqs --help
        from bench.sqs import main as sqs_main

        return sqs_main(argv[1:])
    if argv[:1] == ["dynamodb"]:
        from bench.dynamodb import main as dynamodb_main

        return dynamodb_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from bench.wrk import WrkMissingError

        if isinstance(exc, WrkMissingError | ValueError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, RuntimeError | TimeoutError):  # a server or wrk failed mid-run
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


def _dispatch(args: argparse.Namespace) -> int:
    from bench import report
    from bench.signing import parse_params

    payload: dict[str, Any]
    if args.command in ("rate", "wrk"):
        params = parse_params(args.params)
        if args.command == "rate":
            from bench.rate import run_rate

            result = report.best_of(
                args.repeat,
                lambda: run_rate(
                    args.endpoint,
                    args.op,
                    params,
                    concurrency=args.concurrency,
                    duration=args.duration,
                    warmup=args.warmup,
                    processes=args.processes,
                    client=args.client,
                    cpus=_cpus(args.cpus),
                    label=args.label,
                ),
            )
        else:
            from bench.wrk import run_wrk

            result = report.best_of(
                args.repeat,
                lambda: run_wrk(
                    args.endpoint,
                    args.op,
                    params,
                    concurrency=args.concurrency,
                    duration=args.duration,
                    warmup=args.warmup,
                    threads=args.threads,
                    cpus=_cpus(args.cpus),
                    label=args.label,
                ),
            )
        print(report.rate_table([result]))
        if result.extra.get("first_error"):
            print(f"first error: {result.extra['first_error']}")
        payload = {"results": [asdict(result)]}
    elif args.command == "startup":
        from bench.startup import run_startup, startup_table

        sresult = run_startup(
            args.cmd, runs=args.runs, path=args.path, idle=args.idle, cpus=_cpus(args.cpus)
        )
        print(startup_table([sresult]))
        payload = {"results": [asdict(sresult)]}
    elif args.command == "servers":
        from bench.servers import run_servers, servers_table

        rows = run_servers(
            args.only.split(",") if args.only else None,
            concurrency=args.concurrency,
            duration=args.duration,
            startup_runs=args.startup_runs,
            repeat=args.repeat,
        )
        print(servers_table(rows))
        payload = {"results": [asdict(r) for r in rows]}
    elif args.command == "profile":
        from bench.profile import default_cmd, profile_text, run_profile

        prof = run_profile(
            args.cmd or default_cmd(),
            args.op,
            parse_params(args.params),
            duration=args.duration,
            concurrency=args.concurrency,
            top=args.top,
            match=args.match,
        )
        print(profile_text(prof))
        payload = {"results": [asdict(prof)]}
    else:
        from bench.compare import Target, default_targets, run_compare

        targets = default_targets(args.server)
        if args.overcast_cmd:
            targets[0] = Target("overcast", args.overcast_cmd, targets[0].ready_path)
        if args.only:
            targets = [t for t in targets if t.name in args.only.split(",")]
        cresult = run_compare(
            targets,
            args.op,
            parse_params(args.params),
            concurrency=args.concurrency,
            duration=args.duration,
            tools=tuple(args.tools.split(",")),
            repeat=args.repeat,
        )
        print(report.rate_table(cresult.rows))
        for name, error in cresult.failures.items():
            print(f"{name}: FAILED: {error}")
        payload = {"results": [asdict(r) for r in cresult.rows], "failures": cresult.failures}
    if args.json or args.json_path:
        path = report.save_json(args.command, payload, args.json_path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
