"""Offline verification speed: `verify network|rbac --offline` on 2, 10 and 30 rendered tenants, in one run.

Usage: python bench/verify_offline.py [--repeat 3] [--sizes 2,10,30]
For each tenant count: the best wall time over --repeat runs of the NetworkPolicy matrix (every ordered pair of
peers, every declared port, plus the isolation expectations) and of the RBAC matrix (every service account x
check x scope), the number of connections / checks, the cost per connection / check, and that cost relative to
the smallest size (close to 1.0: the cost per verdict does not grow with the cluster; the number of verdicts
grows with the square of the peers). Both matrices include what the isolation contract adds (the outsider, a
later pod per tenant, the world; every tenant identity with its positive controls, on top of the built-in RBAC
policy). The budget: 30 tenants verified, network and RBAC together, in at most 5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import time

BUDGET_SECONDS = 5.0


def objects_for(count: int) -> list[dict]:
    from mlopsctl.manifests.tenant import TenantSpec, render_tenant

    return [obj for index in range(count) for obj in render_tenant(TenantSpec.create(f"tenant-{index}"))]


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best is reported")
    parser.add_argument("--sizes", default="2,10,30", help="comma-separated tenant counts")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if args.repeat < 1 or not sizes or min(sizes) < 1:
        parser.error("--repeat and every size must be at least 1")

    from mlopsctl.services.verify import network_offline, rbac_offline

    base_network = base_rbac = None
    worst = 0.0
    print(f"{'tenants':>7} {'connections':>11} {'network s':>9} {'us/conn':>8} {'ratio':>6}   "
          f"{'checks':>6} {'rbac s':>7} {'us/check':>8} {'ratio':>6}")  # fmt: skip
    for size in sizes:
        objects = objects_for(size)
        network_time, network = best(lambda objects=objects: network_offline(objects), args.repeat)
        rbac_time, rbac = best(lambda objects=objects: rbac_offline(objects), args.repeat)
        assert network.passed and rbac.passed, "the rendered tenants must pass"
        per_connection = network_time / len(network.connections) * 1e6
        per_check = rbac_time / len(rbac.checks) * 1e6
        base_network = base_network or per_connection
        base_rbac = base_rbac or per_check
        worst = max(worst, network_time + rbac_time)
        print(
            f"{size:>7} {len(network.connections):>11} {network_time:>9.3f} {per_connection:>8.1f} "
            f"{per_connection / base_network:>6.2f}   {len(rbac.checks):>6} {rbac_time:>7.3f} {per_check:>8.1f} "
            f"{per_check / base_rbac:>6.2f}"
        )
    verdict = "within" if worst <= BUDGET_SECONDS else "OVER"
    print(f"slowest network + RBAC {worst:.2f}s: {verdict} the {BUDGET_SECONDS:.0f}s budget")
    return 0 if worst <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
