"""CLI start-up time: `mlopsctl --help` and `mlopsctl tenant --help` against an anchor, paired, in one run.

Usage: python bench/cli_startup.py [--runs 15]

The anchor is `kubectl --help` when kubectl is on PATH (the tool our users compare us with), else the bare
interpreter (`python -c pass`). Each round runs the anchor and every mlopsctl command back to back, so a busy
machine slows both sides of a pair alike; the script prints each command's median and the median of its per-round
ratio to the anchor. `(cold)` rows run without the stored help screen (`cli/help_cache.py`), as a first run
does. The goal: `mlopsctl --help` and `mlopsctl tenant --help` no slower than `kubectl --help`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (("--help",), ("tenant", "--help"), ("--version",))


def wall_time(argv: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, env=env)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    # The console script next to this interpreter: a version manager's shim on PATH would add its own start-up.
    beside = Path(sys.executable).parent / "mlopsctl"
    mlopsctl = str(beside) if beside.is_file() else shutil.which("mlopsctl")
    if mlopsctl is None:
        print("mlopsctl is not installed: run `pip install .` first", file=sys.stderr)
        return 2
    kubectl = shutil.which("kubectl")
    anchor_name, anchor = (
        ("kubectl --help", [kubectl, "--help"]) if kubectl else ("python -c pass", [sys.executable, "-c", "pass"])
    )
    cold = {**os.environ, "MLOPSCTL_NO_HELP_CACHE": "1"}
    runs: dict[str, tuple[list[str], dict[str, str] | None]] = {anchor_name: (anchor, None)}
    if kubectl:
        runs["python -c pass"] = ([sys.executable, "-c", "pass"], None)
    for command in COMMANDS:
        runs["mlopsctl " + " ".join(command)] = ([mlopsctl, *command], None)
        if command[-1] == "--help":  # without the stored help screen: what the first run costs
            runs["mlopsctl " + " ".join(command) + " (cold)"] = ([mlopsctl, *command], cold)
    for argv, env in runs.values():
        wall_time(argv, env)  # warm the page cache, and store the help screens
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.runs):
        for name, (argv, env) in runs.items():
            samples[name].append(wall_time(argv, env))

    print(f"{'command':<31} {'median':>9} {'x ' + anchor_name:>18}   ({args.runs} paired rounds)")
    for name, times in samples.items():
        ratio = statistics.median(t / a for t, a in zip(times, samples[anchor_name], strict=True))
        print(f"{name:<31} {statistics.median(times) * 1000:>7.1f}ms {ratio:>17.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
