"""`tenant add` cost on the client side: API requests and wall time per tenant, through the real kubernetes
adapter against the HTTP fake API server on 127.0.0.1 (no cluster: this measures mlopsctl and the client
library, not a real API server's latency).

Usage: python bench/tenant_apply.py [--tenants 10]
Prints, for a first add of N tenants and for an idempotent re-run: requests per tenant by method and the wall
time per tenant. Anchor: `kubectl apply --server-side -f` sends one PATCH per object plus discovery; the ratio
line compares mlopsctl's requests per tenant with that (objects + 0), so the extra cost of pruning and the
namespace check is visible.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    args = parser.parse_args()

    from tests.integration.adapters.fake_apiserver import FakeApiServer

    from mlopsctl.adapters.kube import connect
    from mlopsctl.manifests.tenant import TenantSpec, render_tenant
    from mlopsctl.progress import NullStatus
    from mlopsctl.services import tenant as service

    server = FakeApiServer().start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "kubeconfig"
            path.write_text(server.kubeconfig())
            api = connect(context="fake", kubeconfig=str(path))
            api.server_version()  # discovery once, as any long-lived client would
            specs = [TenantSpec.create(f"tenant-{index}") for index in range(args.tenants)]
            objects = len(render_tenant(specs[0]))
            print(f"{args.tenants} tenants, {objects} objects each")
            for label in ("first add", "re-run"):
                server.requests.clear()
                started = time.perf_counter()
                for spec in specs:
                    service.add_tenant(api, spec, NullStatus(), wait=False)
                seconds = time.perf_counter() - started
                methods = Counter(request.method for request in server.requests)
                per_tenant = {method: count / args.tenants for method, count in sorted(methods.items())}
                total = sum(per_tenant.values())
                detail = ", ".join(f"{method} {count:.1f}" for method, count in per_tenant.items())
                print(
                    f"{label:>9}: {total:.1f} requests/tenant ({detail}); {seconds / args.tenants * 1000:.1f} ms/tenant;"
                    f" {total / objects:.2f}x the {objects} PATCHes of kubectl apply --server-side"
                )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
