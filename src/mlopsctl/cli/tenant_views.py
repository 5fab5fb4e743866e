"""What the tenant commands print as tables; the same result objects give `-o json|yaml`."""

from __future__ import annotations

from mlopsctl.cli.tables import next_commands


def written_table(result):
    from rich.table import Table

    table = Table(title=f"wrote {len(result.files)} files to {result.directory}", title_justify="left")
    for column in ("KIND", "NAME", "FILE"):
        table.add_column(column)
    for item in result.files:
        table.add_row(item.kind, item.name, item.path.name)
    return table


def objects_table(objects):
    """`tenant render -o table`: what would be applied, in order."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("KIND", "NAMESPACE", "NAME"):
        table.add_column(column)
    for obj in objects:
        metadata = obj.get("metadata") or {}
        table.add_row(str(obj.get("kind")), metadata.get("namespace") or "-", str(metadata.get("name")))
    return table


def changes_table(result):
    from rich.table import Table

    mode = f" (dry run: {result.dry_run})" if result.dry_run else ""
    table = Table(title=f"tenant {result.tenant}{mode}", title_justify="left")
    for column in ("KIND", "NAME", "ACTION"):
        table.add_column(column)
    for change in result.objects:
        table.add_row(change.kind, change.name, change.action)
    if result.ready_replicas is not None:
        table.caption = f"ready replicas: {result.ready_replicas}; in-cluster URL: {result.service_url}"
        table.caption_justify = "left"
    return table


def add_output(result):
    from rich.console import Group

    parts = [changes_table(result)]
    if result.spec_changes:
        from rich.text import Text

        parts.append(Text("spec changes:\n" + "\n".join(f"  {change}" for change in result.spec_changes)))
    if result.next_commands:
        parts.append(next_commands(result.next_commands))
    return Group(*parts)


def _model_table(result, objects_changed: bool):
    """What `tenant add --model` and `tenant set-model` changed: the version, where it comes from, the rollout."""
    from rich.table import Table

    table = Table(title=f"tenant {result.tenant}", title_justify="left", show_header=False)
    table.add_column("FIELD")
    table.add_column("VALUE")
    table.add_row("model version", f"{result.previous_version or '-'} -> {result.version}")
    table.add_row("model uri", result.uri)
    table.add_row("copied from catalog", "yes" if result.copied_from_catalog else "no")
    if objects_changed:
        table.add_row("objects changed", ", ".join(result.applied) or "none")
    table.add_row("rolled out", "yes" if result.rolled_out else "not waited for")
    return table


def _roll_back(result) -> str:
    return f"mlopsctl tenant set-model {result.tenant} {result.previous_version}  # roll back"


def pinned_output(result):
    from rich.console import Group

    lines = [f"mlopsctl tenant status {result.tenant}"]
    if result.previous_version:
        lines.append(_roll_back(result))
    return Group(_model_table(result, objects_changed=True), next_commands(lines))


def hpa(row) -> str:
    if row.hpa_max is None:
        return "-"
    current = "?" if row.hpa_current is None else str(row.hpa_current)
    return f"{current} ({row.hpa_min}-{row.hpa_max})"


def list_table(result):
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("NAME", "READY", "HPA (MIN-MAX)", "MODEL", "AGE"):
        table.add_column(column)
    for row in result.tenants:
        table.add_row(row.name, f"{row.ready}/{row.replicas}", hpa(row), row.model_version, row.age)
    return table


def status_output(result):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    row = result.tenant
    summary = Text(
        f"tenant {row.name}: {row.ready}/{row.replicas} ready, HPA {hpa(row)}, model {row.model_version}, "
        f"age {row.age}\nservice: {result.service_url}"
    )
    pods = Table(title="pods", title_justify="left", box=None, pad_edge=False)
    for column in ("NAME", "PHASE", "READY", "RESTARTS", "NODE"):
        pods.add_column(column)
    for pod in result.pods:
        pods.add_row(pod.name, pod.phase, pod.ready, str(pod.restarts), pod.node)
    objects = Table(title="objects", title_justify="left", box=None, pad_edge=False)
    objects.add_column("KIND")
    objects.add_column("NAME")
    for obj in result.objects:
        objects.add_row(obj.kind, obj.name)
    problems = "".join(f"\nproblem: {problem}" for problem in result.problems)
    conditions = Text("conditions: " + ("; ".join(result.conditions) or "-") + problems)
    return Group(summary, conditions, pods, objects)


def set_model_table(result):
    from rich.console import Group

    table = _model_table(result, objects_changed=False)
    if not result.previous_version:
        return table
    return Group(table, next_commands([_roll_back(result)]))
