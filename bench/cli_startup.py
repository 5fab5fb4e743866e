"""CLI start-up time: `mlopsctl --help` and `mlopsctl --version` against `python -c pass`, in one run.

Usage: python bench/cli_startup.py [--runs 30]
Prints the median wall time of each command and its ratio to the bare interpreter's start-up.
The budget for `mlopsctl --help` is a median of 0.15 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

BUDGET_SECONDS = 0.15


def median_wall_time(argv: list[str], runs: int) -> float:
    subprocess.run(argv, capture_output=True, check=True)  # warm the page cache once
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if args.runs < 20:
        parser.error("--runs must be at least 20")
    mlopsctl = shutil.which("mlopsctl")
    if mlopsctl is None:
        print("mlopsctl is not installed: run `pip install .` first", file=sys.stderr)
        return 2

    baseline = median_wall_time([sys.executable, "-c", "pass"], args.runs)
    rows = [("python -c pass", baseline)]
    for flag in ("--help", "--version"):
        rows.append((f"mlopsctl {flag}", median_wall_time([mlopsctl, flag], args.runs)))

    print(f"{'command':<20} {'median':>9} {'x python':>9}   ({args.runs} runs each)")
    for name, seconds in rows:
        print(f"{name:<20} {seconds * 1000:>7.1f}ms {seconds / baseline:>8.2f}x")
    help_time = rows[1][1]
    verdict = "within" if help_time <= BUDGET_SECONDS else "OVER"
    print(f"mlopsctl --help: {help_time * 1000:.1f} ms, {verdict} the {BUDGET_SECONDS * 1000:.0f} ms budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
