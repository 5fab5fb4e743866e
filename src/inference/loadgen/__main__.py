"""`python -m inference.loadgen`: the engine's own command line (what the in-cluster Job runs).

    python -m inference.loadgen --url URL --rate 200 --duration 30s --json
    python -m inference.loadgen --url URL --concurrency 16 --requests 10000
    python -m inference.loadgen --url URL --rate-from 50 --rate-to 500 --duration 2m --stream
    python -m inference.loadgen --url URL --rate 9000 --duration 1m --workers 3 --worker-index 1 --start-at T --json

`--json` prints the final report as one JSON object. `--stream` prints one JSON line per second of progress
(`{"type": "progress", ...}`) and then the report as `{"type": "report", "report": {...}}`; errors before any
load are one line `{"type": "error", "kind": ..., "message": ...}`. Without either, a short text summary.

With `--workers N`, this engine sends request i of the schedule only when i % N is its index (`--worker-index`,
else $JOB_COMPLETION_INDEX), from the wall-clock instant `--start-at`, and its report carries the encoded HDR
histograms that `inference.loadgen.merge` adds up with the other workers'.

Exit codes: 0 done, 2 bad arguments, 3 target unreachable, 6 an --slo threshold was breached, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from inference.loadgen import engine
from inference.loadgen.mix import load_body_file
from inference.loadgen.spec import LoadConfig, SpecError, evaluate_slo, parse_duration, parse_rate, parse_slo

EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_SLO = 6
EXIT_INTERRUPTED = 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m inference.loadgen",
        description="Open-model (fixed arrival rate) or closed-model HTTP load, with HDR-histogram percentiles.",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", required=True, help="base URL of the inference service, e.g. http://127.0.0.1:8080")
    model = p.add_argument_group("load model (exactly one)")
    model.add_argument("--rate", help="open model: requests per second (200, 200/s, 6000/m)")
    model.add_argument("--rate-from", help="open model ramp: starting rate")
    model.add_argument("--rate-to", help="open model ramp: final rate, reached at the end of --duration")
    model.add_argument("--concurrency", type=int, help="closed model: connections each sending back-to-back")
    p.add_argument("--duration", help="measured duration (30s, 2m, 1m30s)")
    p.add_argument("--requests", type=int, help="measured requests (the run ends at whichever limit comes first)")
    p.add_argument("--warmup", default="0", help="unmeasured load before the run, at the starting rate (e.g. 5s)")
    p.add_argument("--mix", default="predict", choices=("predict", "batch"), help="/predict or /predict/batch")
    p.add_argument("--batch-size", type=int, default=16, help="texts per /predict/batch request")
    p.add_argument("--body-file", help="JSON body, or JSON Lines of bodies, to POST instead of the mix's texts")
    p.add_argument("--body", action="append", default=[], help="a JSON body to POST (repeatable)")
    p.add_argument("--path", help="request path (default /predict, or /predict/batch for --mix batch)")
    p.add_argument("--max-in-flight", type=int, default=1000, help="cap on requests in flight (open model)")
    p.add_argument("--connections", type=int, default=128, help="cap on open connections (open model)")
    p.add_argument("--timeout", default="10s", help="per-request timeout")
    p.add_argument("--connect-wait", default="0", help="keep trying to connect this long before giving up")
    p.add_argument("--slo", help='thresholds, e.g. "p99<200ms,errors<1%%": exit 6 when one is breached')
    workers = p.add_argument_group("several generators sharing one schedule (request i goes to worker i %% N)")
    workers.add_argument("--workers", type=int, default=1, help="how many workers share the schedule")
    workers.add_argument(
        "--worker-index", type=int, help="this worker's index (default: $JOB_COMPLETION_INDEX of an Indexed Job, or 0)"
    )
    workers.add_argument("--start-at", type=float, help="wall-clock Unix time at which the shared timeline starts")
    workers.add_argument(
        "--histograms", action="store_true", help="encoded HDR histograms in the report (implied by --workers > 1)"
    )
    p.add_argument("--no-uvloop", action="store_true", help="use the standard asyncio event loop")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--stream", action="store_true", help="JSON lines: progress each second, then the report")
    return p


def _seconds(text: str, option: str, allow_zero: bool = False) -> float:
    if allow_zero and str(text).strip() in ("0", "0s", ""):
        return 0.0
    return parse_duration(text, option)


def _worker_index(args: argparse.Namespace) -> int:
    if args.worker_index is not None:
        return int(args.worker_index)
    text = os.environ.get("JOB_COMPLETION_INDEX", "0")
    try:
        return int(text)
    except ValueError:
        raise SpecError(f"invalid JOB_COMPLETION_INDEX {text!r}: expected a whole number") from None


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    bodies = list(args.body)
    for body in bodies:
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            raise SpecError(f"invalid --body: not JSON ({exc.msg})") from None
    if args.body_file:
        try:
            with open(args.body_file, encoding="utf-8") as handle:
                bodies += load_body_file(handle.read())
        except OSError as exc:
            raise SpecError(f"cannot read --body-file {args.body_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise SpecError(f"invalid --body-file {args.body_file}: {exc}") from None
    return LoadConfig(
        url=args.url,
        rate=parse_rate(args.rate) if args.rate is not None else None,
        rate_from=parse_rate(args.rate_from, "--rate-from") if args.rate_from is not None else None,
        rate_to=parse_rate(args.rate_to, "--rate-to") if args.rate_to is not None else None,
        concurrency=args.concurrency,
        duration=parse_duration(args.duration) if args.duration is not None else None,
        requests=args.requests,
        warmup=_seconds(args.warmup, "--warmup", allow_zero=True),
        mix=args.mix,
        batch_size=args.batch_size,
        bodies=tuple(bodies),
        path=args.path,
        max_in_flight=args.max_in_flight,
        max_connections=args.connections,
        timeout=parse_duration(args.timeout, "--timeout"),
        connect_wait=_seconds(args.connect_wait, "--connect-wait", allow_zero=True),
        workers=args.workers,
        worker_index=_worker_index(args),
        start_at=args.start_at,
        histograms=args.histograms,
    ).validate()


def _line(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def text_summary(report: dict[str, Any]) -> str:
    latency = report["latency_ms"]
    requests = report["requests"]
    target = f" (target {report['target_rate']:.1f}/s)" if report.get("target_rate") else ""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        f"{report['model']} model against {report['url']}{report['path']} for {report['duration_s']:.1f}s"
        + (" (interrupted)" if report["interrupted"] else ""),
        f"  rate      {report['achieved_rate']:.1f}/s achieved{target}",
        f"  requests  {requests['completed']} completed, {requests['ok']} ok, {requests['errors']} errors, "
        f"{requests['dropped']} dropped",
        "  latency   "
        + "  ".join(f"{key} {ms(latency[key])}" for key in ("p50", "p90", "p95", "p99", "p99_9", "max", "mean"))
        + " ms",
    ]
    errors = report["errors"]
    if errors["by_status"] or errors["by_exception"]:
        parts = [f"HTTP {code}: {n}" for code, n in errors["by_status"].items()]
        parts += [f"{kind}: {n}" for kind, n in errors["by_exception"].items()]
        lines.append("  errors    " + ", ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = config_from_args(args)
        slo = parse_slo(args.slo) if args.slo else ()
    except SpecError as exc:
        if args.stream:
            _line({"type": "error", "kind": "usage", "message": str(exc)})
        print(f"loadgen: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    code = 0
    try:
        report = engine.run(config, _line if args.stream else None, handle_sigterm=True, uvloop=not args.no_uvloop)
    except engine.TargetUnreachable as exc:
        if args.stream:
            _line({"type": "error", "kind": "unreachable", "message": str(exc)})
        print(f"loadgen: error: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except engine.Interrupted as exc:
        report, code = exc.report, EXIT_INTERRUPTED
    if slo:
        results = evaluate_slo(report, slo)
        report["slo"] = {"passed": all(r.passed for r in results), "results": [r.__dict__ for r in results]}
        if code == 0 and not report["slo"]["passed"]:
            code = EXIT_SLO
    if args.stream:
        _line({"type": "report", "report": report})
    elif args.json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print(text_summary(report))
    return code


if __name__ == "__main__":
    sys.exit(main())
