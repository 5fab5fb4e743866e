"""Live `verify network` at platform scale, simulated: 3, 6, 20 and 50 tenants in the fake API, in one run.

Usage: python bench/verify_live.py [--sizes 3,6,20,50] [--replicas 2] [--parallel 16] [--exec-latency 0.35]
                                   [--timeout 2.0] [--exhaustive]

Each size is a cluster of rendered tenants (`--replicas` inference pods each) with kube-dns, Prometheus, an
object store and the API server, in the in-memory fake API. The network is the hand-written table of what an
enforcing CNI lets through (tests/unit/services/verify_cluster.py); an exec costs `--exec-latency` seconds (the
exec round trip and the start of the probe process) plus, for each wave of the batch's probes, the probe timeout
when one of them is denied (a dropping CNI makes a denied probe wait its full timeout; all the batch's probes wait
at once). So the probe phase's wall time is what a cluster with that exec latency would show; the other phases are
mlopsctl's own cost over the fake API (no pod start-up: on a real cluster the probe pods take a few seconds).

Printed per size: probes, source pods, execs, the probes of an exhaustive run (how much equivalence saves),
connections the evaluator judged, time per phase, total, and probes per second (scheduled and answered). The
budget from the issue: 50 tenants within 60 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_SECONDS = 60.0
# Measured before one exec per source (one exec per probe, in sequence), on a single-node v1.28 cluster.
BEFORE = {3: (36, 14.6), 6: (102, 65.4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,6,20,50", help="comma-separated tenant counts")
    parser.add_argument("--replicas", type=int, default=2, help="inference pods per tenant")
    parser.add_argument("--parallel", type=int, default=16, help="source pods probed at once")
    parser.add_argument("--exec-latency", type=float, default=0.35, help="seconds per exec before its probes")
    parser.add_argument("--timeout", type=float, default=2.0, help="probe timeout: how long a denied probe waits")
    parser.add_argument("--exhaustive", action="store_true", help="probe every pod")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if not sizes or min(sizes) < 1 or args.replicas < 1 or args.parallel < 1:
        parser.error("sizes, --replicas and --parallel must be at least 1")

    from tests.unit.services.verify_cluster import ScriptedNetwork, batch_probes, cluster, enforced_connections

    from mlopsctl.services.network_probes.plan import build_plan
    from mlopsctl.services.network_probes.program import waves
    from mlopsctl.services.network_probes.snapshot import snapshot
    from mlopsctl.services.verify_network import verify_network

    print(f"{'tenants':>7} {'probes':>6} {'srcs':>4} {'execs':>5} {'exhaust.':>8} {'judged':>7} "
          f"{'pods s':>6} {'read s':>6} {'plan s':>6} {'probe s':>7} {'total s':>7} {'sched/s':>8} {'done/s':>7}")  # fmt: skip
    worst = 0.0
    for size in sizes:
        tenants = [f"t{index:03d}" for index in range(size)]
        api = cluster(tenants, args.replicas)
        table = ScriptedNetwork(enforced_connections(tenants, args.replicas))

        def exec_with_latency(namespace, pod, command, table=table):
            result = table(namespace, pod, command)
            denied = '"connected": false' in result.stdout
            time.sleep(args.exec_latency + (waves(len(batch_probes(command))) * args.timeout if denied else 0.0))
            return result

        api.exec_handler = exec_with_latency
        started = time.perf_counter()
        report = verify_network(api, parallel=args.parallel, exhaustive=args.exhaustive, timeout=args.timeout)
        total = time.perf_counter() - started
        assert report.passed, [(c.name, c.observed) for c in report.checks if not c.passed][:5]
        seconds = {row["phase"].removeprefix("network: "): row["seconds"] for row in report.phases}
        plan_only = time.perf_counter()
        exhaustive = len(build_plan(snapshot(api, None), exhaustive=True).probes)
        plan_only = time.perf_counter() - plan_only
        probing = report.probing
        scheduled = probing["probes"] / max(seconds["plan"] + seconds["read"], 1e-9)
        worst = max(worst, total)
        print(f"{size:>7} {probing['probes']:>6} {probing['sources']:>4} {probing['execs']:>5} {exhaustive:>8} "
              f"{probing['matrix_connections']:>7} {seconds['probe pods']:>6.2f} {seconds['read']:>6.2f} "
              f"{seconds['plan']:>6.2f} {seconds['probe']:>7.2f} {total:>7.2f} {scheduled:>8.0f} "
              f"{probing['probes_per_second'] or 0:>7.0f}")  # fmt: skip
    for size, (probes, seconds) in BEFORE.items():
        print(f"before (one exec per probe, in sequence, real cluster): {size} tenants, {probes} probes, {seconds} s")
    print(f"largest run {worst:.1f} s (budget {BUDGET_SECONDS:.0f} s for 50 tenants): "
          f"{'within' if worst <= BUDGET_SECONDS else 'OVER'} budget")  # fmt: skip
    return 0 if worst <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
