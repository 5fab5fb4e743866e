"""`mlopsctl tenant access|kubeconfig`: what a tenant's owners may do, and a kubeconfig for its tenant-owner
account. cli/tenant.py registers both on the tenant sub-app; the logic is in services/tenant_access.py and
services/tenant_kubeconfig.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlopsctl.cli import context as cli_context
from mlopsctl.cli.store_access import kube_api
from mlopsctl.cli.tenant_spec import NameArgument


def _grouped(checks: list[str]) -> str:
    """`get pods`, `list pods` -> `pods: get, list`: one line per resource, verbs in the order asked."""
    verbs: dict[str, list[str]] = {}
    for check in checks:
        verb, _, resource = check.partition(" ")
        verbs.setdefault(resource, []).append(verb)
    return "\n".join(f"{resource}: {', '.join(names)}" for resource, names in verbs.items())


def _access_table(result):
    from rich.table import Table

    title = f"tenant {result.tenant}: owners ({result.source})"
    table = Table(title=title, title_justify="left", show_lines=True)
    for column in ("OWNER", f"MAY (in {result.tenant})", f"MAY NOT (in {result.tenant})", "ELSEWHERE", "AS EXPECTED"):
        table.add_column(column)
    for row in result.owners:
        unexpected = "yes" if not row.unexpected else "no:\n" + "\n".join(row.unexpected)
        table.add_row(row.owner, _grouped(row.may), _grouped(row.may_not), "\n".join(row.elsewhere) or "nothing",
                      unexpected)  # fmt: skip
    if not result.owners:
        table.caption = f"tenant {result.tenant} has no owners (add them with `tenant add {result.tenant} --owner ...`)"
    return table


def access(
    ctx: typer.Context,
    name: NameArgument,
    offline: Annotated[
        bool, typer.Option("--offline", help="Ask the RBAC evaluator over --manifests instead of the cluster.")
    ] = False,
    manifests: Annotated[
        Path | None, typer.Option("--manifests", help="With --offline: a directory of rendered manifests.")
    ] = None,
) -> None:
    """The tenant's owners and what each may do: in its namespace, elsewhere, against the owners' contract."""
    from mlopsctl.errors import UsageError
    from mlopsctl.services import tenant_access as service

    if offline != (manifests is not None):
        raise UsageError("--offline and --manifests DIR go together", hint=f"mlopsctl tenant access {name} "
                         "--offline --manifests manifests/, or neither to ask the cluster")  # fmt: skip
    if manifests is not None:
        from mlopsctl.services.verify import load_manifests

        result = service.access_offline(load_manifests(manifests), name)
    else:
        result = service.access_live(kube_api(ctx), name)
    cli_context.emit(ctx, result, _access_table)


def _kubeconfig_table(result):
    from rich.table import Table

    table = Table(title=f"kubeconfig for tenant {result.tenant}", title_justify="left", show_header=False)
    table.add_column("FIELD")
    table.add_column("VALUE")
    for label, value in (
        ("file", f"{result.file} (mode 0600)"),
        ("service account", result.service_account),
        ("server", result.server),
        ("namespace", result.namespace),
        ("expires", result.expires + (f" ({result.note})" if result.note else "")),
        ("use", f"KUBECONFIG={result.file} kubectl get pods"),
    ):
        table.add_row(label, value)
    return table


def kubeconfig(
    ctx: typer.Context,
    name: NameArgument,
    duration: Annotated[
        str, typer.Option("--duration", help="Token lifetime, 10m..24h (for example 1h, 30m, 1h30m).")
    ] = "1h",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the kubeconfig to this file (mode 0600), not stdout.")
    ] = None,
) -> None:
    """A kubeconfig for the tenant's tenant-owner account: a short-lived TokenRequest token, default namespace."""
    import json
    import sys

    from mlopsctl.output import render_data
    from mlopsctl.services import tenant_kubeconfig as service

    seconds = service.parse_duration(duration)
    result, config = service.issue_kubeconfig(kube_api(ctx), name, seconds)
    status = cli_context.status(ctx)
    if out is None:
        fmt = cli_context.settings(ctx).output
        sys.stdout.write(json.dumps(config, indent=2) + "\n" if fmt == "json" else render_data(config, "yaml"))
        sys.stdout.flush()
        status.note(f"token for {result.service_account} expires {result.expires}")
    else:
        service.write_private(out, render_data(config, "yaml"))
        result.file = str(out)
        cli_context.emit(ctx, result, _kubeconfig_table)
    if result.note:
        status.note(result.note)
