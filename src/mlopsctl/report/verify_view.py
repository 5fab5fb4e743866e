"""What a verification report shows, built from the report as plain data (`-o json`): the connectivity matrix
(sources x destinations), the RBAC matrix (identities x namespaces x sensitive verbs), the failures first, and
every check. Checks carry `subject`, `target` and `action` when they belong in a matrix; older reports without
them still give the failure and check tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl.report.svg import Chart, Series

CLUSTER_SCOPE = "(cluster)"
# Beyond writes, exec and escalation, the reads that matter: secrets (and anything a failed check names).
SENSITIVE_READ_RESOURCES = ("secrets",)
READ_VERBS = ("get", "list", "watch")


@dataclass(frozen=True)
class Cell:
    """One connection or one access decision: what was expected, what was observed, and why."""

    label: str  # shown beside the mark: "8080/TCP"; empty in the RBAC matrix
    expected: str  # "allowed", "denied", ... or "" when no expectation applies
    observed: str
    allowed: bool | None  # the observation as a verdict, None when the check could not tell
    passed: bool | None  # None: nothing was expected of it
    why: str = ""


@dataclass
class Matrix:
    ident: str
    title: str
    row_headers: tuple[str, ...]  # the header columns, e.g. ("from",) or ("identity", "namespace")
    columns: list[str]
    rows: list[tuple[tuple[str, ...], list[list[Cell]]]] = field(default_factory=list)

    def failed_cells(self) -> int:
        return sum(1 for _, cells in self.rows for column in cells for cell in column if cell.passed is False)


@dataclass(frozen=True)
class CheckRow:
    area: str
    name: str
    expected: str
    observed: str
    passed: bool
    why: str
    how: str
    when: str


@dataclass
class VerifyView:
    title: str
    passed: bool
    facts: list[tuple[str, str]]
    findings: list[tuple[str, str]]
    notes: list[str]
    failures: list[CheckRow]
    checks: list[CheckRow]
    matrices: list[Matrix]
    timeline: list[dict[str, Any]]


def observed_verdict(observed: str) -> bool | None:
    """A probe's or a review's observation as allowed (True) / denied (False), None when it proves neither."""
    text = observed.strip().lower()
    if text in ("allowed", "connected") or text.startswith("egress allowed"):
        return True
    if text in ("denied",) or text.startswith("blocked"):
        return False
    return None


def is_sensitive(action: str) -> bool:
    """Writes, exec, escalation and secret reads: the verbs a reviewer looks at first."""
    verb, _, resource = action.partition(" ")
    name = resource.split(".", 1)[0].split("/", 1)[0].split(" ", 1)[0]
    if verb not in READ_VERBS:
        return True
    return name in SENSITIVE_READ_RESOURCES


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _row(check: Mapping[str, Any]) -> CheckRow:
    return CheckRow(
        area=_text(check.get("area")),
        name=_text(check.get("name")),
        expected=_text(check.get("expected")),
        observed=_text(check.get("observed")),
        passed=bool(check.get("passed")),
        why=_text(check.get("detail")),
        how=_text(check.get("method")),
        when=_text(check.get("started")),
    )


def _cell(check: Mapping[str, Any], label: str) -> Cell:
    observed = _text(check.get("observed"))
    return Cell(
        label=label,
        expected=_text(check.get("expected")),
        observed=observed,
        allowed=observed_verdict(observed),
        passed=bool(check.get("passed")),
        why=_text(check.get("detail")),
    )


def _ordered(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def connectivity_matrix(checks: Sequence[Mapping[str, Any]]) -> Matrix | None:
    placed = [c for c in checks if c.get("area") == "network" and c.get("subject") and c.get("target")]
    if not placed:
        return None
    sources = sorted(_ordered([str(c["subject"]) for c in placed]))
    destinations = _ordered([str(c["target"]) for c in placed])
    grid: dict[tuple[str, str], list[Cell]] = {}
    for check in placed:
        grid.setdefault((str(check["subject"]), str(check["target"])), []).append(
            _cell(check, _text(check.get("action")))
        )
    matrix = Matrix(
        "connectivity",
        "Connectivity matrix: sources (rows) x destinations (columns), expected vs observed",
        ("from",),
        destinations,
    )
    for source in sources:
        matrix.rows.append(((source,), [grid.get((source, dest), []) for dest in destinations]))
    return matrix


def rbac_matrix(checks: Sequence[Mapping[str, Any]]) -> Matrix | None:
    placed = [c for c in checks if c.get("area") == "rbac" and c.get("subject") and c.get("action")]
    if not placed:
        return None
    failed_actions = {str(c["action"]) for c in placed if not c.get("passed")}
    actions = [a for a in _ordered([str(c["action"]) for c in placed]) if is_sensitive(a) or a in failed_actions]
    grid: dict[tuple[str, str, str], Cell] = {}
    identities: list[str] = []
    scopes: dict[str, list[str]] = {}
    for check in placed:
        identity, scope = str(check["subject"]), _text(check.get("target")) or CLUSTER_SCOPE
        identities.append(identity)
        scopes.setdefault(identity, []).append(scope)
        grid[(identity, scope, str(check["action"]))] = _cell(check, "")
    matrix = Matrix(
        "rbac",
        "RBAC matrix: identities x namespaces x sensitive verbs, expected vs observed",
        ("identity", "namespace"),
        actions,
    )
    for identity in sorted(_ordered(identities)):
        for scope in sorted(_ordered(scopes[identity]), key=lambda s: (s == CLUSTER_SCOPE, s)):
            cells = [[grid[key]] if (key := (identity, scope, action)) in grid else [] for action in actions]
            matrix.rows.append(((identity, scope), cells))
    return matrix


def verify_view(report: Mapping[str, Any], mlopsctl_version: str) -> VerifyView:
    """The page's content for a verification report given as plain data."""
    checks = [c for c in report.get("checks") or [] if isinstance(c, Mapping)]
    rows = [_row(c) for c in checks]
    failures = [row for row in rows if not row.passed]
    passed = bool(report.get("passed"))
    kind = _text(report.get("kind")) or "verify"
    facts = [
        ("Verdict", "✓ PASSED" if passed else "✗ FAILED"),
        ("Cluster version", _text(report.get("cluster_version")) or "unknown"),
        ("mlopsctl version", mlopsctl_version),
        ("Started", _text(report.get("started"))),
        ("Finished", _text(report.get("finished"))),
        ("Checks", f"{len(rows)} ({len(rows) - len(failures)} passed, {len(failures)} failed)"),
    ]
    findings = [
        (_text(f.get("message")), _text(f.get("hint"))) for f in report.get("findings") or [] if isinstance(f, Mapping)
    ]
    matrices = [m for m in (connectivity_matrix(checks), rbac_matrix(checks)) if m is not None]
    return VerifyView(
        title=f"mlopsctl verify {kind}: {'PASSED' if passed else 'FAILED'}",
        passed=passed,
        facts=facts,
        findings=findings,
        notes=[_text(n) for n in report.get("notes") or []],
        failures=failures,
        checks=rows,
        matrices=matrices,
        timeline=[dict(r) for r in report.get("timeline") or [] if isinstance(r, Mapping)],
    )


def scaling_charts(timeline: Sequence[Mapping[str, Any]]) -> list[tuple[Chart, list[Mapping[str, Any]]]]:
    """Per tenant: the HPA's replicas (current and desired) and CPU at each poll of `verify autoscaling --load`,
    with the rows behind the chart."""
    charts: list[tuple[Chart, list[Mapping[str, Any]]]] = []
    tenants = _ordered([_text(row.get("tenant")) for row in timeline])
    for index, tenant in enumerate(tenants):
        rows = [row for row in timeline if _text(row.get("tenant")) == tenant]

        def series(key: str, name: str, rows: Sequence[Mapping[str, Any]] = rows) -> Series:
            return Series(name, [(float(r.get("seconds") or 0), _number(r.get(key))) for r in rows])

        table_id = f"scaling-table-{index}"
        chart = (
            Chart(
                f"{tenant}: HPA replicas and CPU during the autoscaling check",
                x_label="seconds since the load began",
                y_label="replicas / CPU %",
                series=[series("replicas", "replicas"), series("desired", "desired"), series("cpu_percent", "CPU %")],
                ident=f"scaling-{index}",
                table_id=table_id,
            ),
            rows,
        )
        charts.append(chart)
    return charts


def _number(value: Any) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)
