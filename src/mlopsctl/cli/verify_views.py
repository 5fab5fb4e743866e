"""How `verify` results read as tables: the network matrix, the RBAC checks, a live report."""

from __future__ import annotations

from typing import Any


def _mark(passed: bool) -> Any:
    from rich.text import Text

    return Text("PASS", style="green") if passed else Text("FAIL", style="red")


def network_table(report):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    matrix = Table(title="NetworkPolicy connectivity (rows: from, columns: to)", title_justify="left")
    matrix.add_column("FROM \\ TO")
    for peer in report.peers:
        matrix.add_column(peer)
    cells: dict[tuple[str, str], list[Text]] = {}
    for row in report.connections:
        colour = "green" if row["allowed"] else "red"
        mark = "✓" if row["allowed"] else "✗"
        cells.setdefault((row["from"], row["to"]), []).append(Text(f"{mark} {row['port']}/{row['protocol']}", colour))
    for source in report.peers:
        matrix.add_row(source, *(Text("\n").join(cells.get((source, dest), [Text("-")])) for dest in report.peers))
    parts: list[Any] = [matrix]
    if report.synthesized:
        parts.append("\n".join(f"note: {note}" for note in report.synthesized))
    if report.warnings:
        parts.append(Text("\n").join(Text.assemble(("warning:", "yellow"), f" {w}") for w in report.warnings))
    if report.expectations:
        failed = [e for e in report.expectations if not e.passed]
        title = f"Tenant isolation (network): {len(report.expectations) - len(failed)} passed, {len(failed)} failed"
        parts.append(_expectations_table(title, failed) if failed else title)
    return Group(*parts)


def _field(item: Any, key: str) -> Any:
    """One field of an expectation: a dict's key (None when absent) or an object's attribute."""
    return item.get(key) if isinstance(item, dict) else getattr(item, key)


def _expectations_table(title: str, expectations):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("RESULT", "CHECK", "RULE", "EXPECTED", "OBSERVED", "WHY"):
        table.add_column(column, overflow="fold")
    for item in expectations:
        check = _field(item, "check")
        if isinstance(item, dict) and item.get("subject"):
            where = item.get("namespace") or "cluster"
            check = f"{item['subject']} {check} ({where})"
        table.add_row(
            _mark(_field(item, "passed")),
            check,
            _field(item, "rule"),
            _field(item, "expected"),
            _field(item, "observed"),
            _field(item, "reason"),
        )
    return table


def rbac_table(report):
    from rich.console import Group
    from rich.table import Table

    granted = [row for row in report.checks if row["allowed"]]
    table = Table(
        title=f"RBAC: {len(report.checks)} checks, {len(granted)} allowed (denied checks: -o json)",
        title_justify="left",
    )
    for column in ("SUBJECT", "NAMESPACE", "VERB", "RESOURCE", "RULE"):
        table.add_column(column, overflow="fold")
    for row in granted:
        resource = f"{row['resource']}/{row['subresource']}" if row["subresource"] else row["resource"]
        if row["group"]:
            resource = f"{resource}.{row['group']}"
        table.add_row(row["subject"], row["namespace"] or "(cluster)", row["verb"], resource, row["rule"])
    parts: list[Any] = [table]
    if report.notes:
        parts.append("\n".join(f"note: {note}" for note in report.notes))
    if report.expectations:
        failed = [e for e in report.expectations if not e["passed"]]
        title = f"Tenant isolation (RBAC): {len(report.expectations) - len(failed)} passed, {len(failed)} failed"
        parts.append(_expectations_table(title, failed) if failed else title)
    return Group(*parts)


def live_table(report):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"mlopsctl verify {report.kind} ({report.cluster_version})", title_justify="left")
    for column in ("RESULT", "AREA", "CHECK", "EXPECTED", "OBSERVED", "DETAIL"):
        table.add_column(column, overflow="fold")
    for check in report.checks:
        table.add_row(_mark(check.passed), check.area, check.name, check.expected, check.observed, check.detail)
    parts: list[Any] = [table]
    if report.timeline:
        timeline = Table(title="Scaling timeline", title_justify="left")
        for column in ("TENANT", "PHASE", "SECONDS", "REPLICAS", "DESIRED", "CPU %"):
            timeline.add_column(column)
        for row in report.timeline:
            cpu = "-" if row.get("cpu_percent") is None else str(row["cpu_percent"])
            timeline.add_row(
                row["tenant"], row["phase"], f"{row['seconds']:g}", str(row["replicas"]), str(row["desired"]), cpu
            )
        parts.append(timeline)
    for finding in report.findings:
        hint = f"\n  hint: {finding.hint}" if finding.hint else ""
        parts.append(Text.assemble(("finding:", "red"), f" {finding.message}{hint}"))
    for note in report.notes:
        parts.append(f"note: {note}")
    if report.phases:
        parts.append("time: " + ", ".join(f"{row['phase']} {row['seconds']:.1f}s" for row in report.phases))
    failed = sum(1 for c in report.checks if not c.passed)
    parts.append(f"{len(report.checks) - failed} passed, {failed} failed")
    return Group(*parts)
