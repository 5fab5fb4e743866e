"""Tenant rendering speed: 1, 100 and 1,000 tenants, in one run.

Usage: python bench/render.py [--repeat 3] [--yaml] [--cold]
Prints, for each batch size, the best wall time over --repeat runs (spec validation + render_tenant, and with
--yaml also render_yaml; with --cold the parsed-structure cache is emptied before every tenant, the cost of
tenants that share no structure), the cost per tenant, and the per-tenant cost relative to the 100-tenant batch
(close to 1.0 means cost grows linearly). A first, separate line shows the one-time cost: building the Jinja
environment and compiling the templates. The budget is 1,000 tenants in at most 3 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import time

BUDGET_SECONDS = 3.0
SIZES = (1, 100, 1000)


def render_batch(count: int, with_yaml: bool, cold: bool = False) -> int:
    from mlopsctl.manifests import templating
    from mlopsctl.manifests.tenant import TenantSpec, render_tenant, render_yaml

    objects = 0
    for index in range(count):
        if cold:
            templating._SKELETONS.clear()
        rendered = render_tenant(TenantSpec.create(f"tenant-{index}", service_monitor=index % 2 == 0))
        objects += len(rendered)
        if with_yaml:
            render_yaml(rendered)
    return objects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per batch size; the best is reported")
    parser.add_argument("--yaml", action="store_true", help="also serialise every tenant to YAML")
    parser.add_argument("--cold", action="store_true", help="no structure reuse between tenants")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    start = time.perf_counter()
    render_batch(1, args.yaml, args.cold)  # imports, Environment, template compilation: paid once per process
    warmup = time.perf_counter() - start
    print(f"first tenant (imports + template compilation): {warmup * 1000:8.1f} ms")

    results: dict[int, float] = {}
    for size in SIZES:
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            objects = render_batch(size, args.yaml, args.cold)
            best = min(best, time.perf_counter() - start)
        results[size] = best
        line = f"{size:5d} tenants ({objects:6d} objects): {best:8.3f} s  {best / size * 1000:7.3f} ms/tenant"
        if 100 in results:
            line += f"  per-tenant cost vs 100 tenants: {(best / size) / (results[100] / 100):5.2f}"
        print(line)
    verdict = "within" if results[1000] <= BUDGET_SECONDS else "OVER"
    print(f"1,000 tenants: {results[1000]:.2f} s, {verdict} the {BUDGET_SECONDS:.0f} s budget")
    return 0 if results[1000] <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
