"""Evidence files for a verification: JUnit XML (for CI), a Markdown report and an HTML page (report.html) for
people: what was checked, how, what was expected and observed, when, and against which cluster version. Offline
results are turned into the live report's shape first, so both give the same three files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlopsctl.errors import UsageError
from mlopsctl.services.verify import LiveCheck, LiveReport, NetworkReport, RbacReport, utc_now

HTML_NAME = "report.html"


@dataclass(frozen=True)
class WrittenReport:
    junit: Path
    markdown: Path
    html: Path

    def describe(self) -> str:
        return f"{self.junit}, {self.markdown} and {self.html}"


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    try:
        return max(0.0, (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except ValueError:
        return 0.0


def junit_xml(report: LiveReport) -> str:
    import xml.etree.ElementTree as ET

    failed = sum(1 for check in report.checks if not check.passed) + len(report.findings)
    suites = ET.Element(
        "testsuites",
        name=f"mlopsctl verify {report.kind}",
        tests=str(len(report.checks) + len(report.findings)),
        failures=str(failed),
        time=f"{_seconds(report.started, report.finished):.3f}",
    )
    areas: dict[str, list] = {}
    for check in report.checks:
        areas.setdefault(check.area, []).append(check)
    for area, checks in areas.items():
        failures = sum(1 for check in checks if not check.passed)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"verify.{area}",
            tests=str(len(checks)),
            failures=str(failures),
            errors="0",
            skipped="0",
            timestamp=report.started,
            time=f"{_seconds(report.started, report.finished):.3f}",
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="cluster.version", value=report.cluster_version)
        for check in checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"mlopsctl.verify.{area}",
                name=check.name,
                time=f"{_seconds(check.started, check.finished):.3f}",
            )
            if not check.passed:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"expected {check.expected}, observed {check.observed}",
                    type="VerificationFailed",
                )
                failure.text = check.detail
            out = ET.SubElement(case, "system-out")
            out.text = f"method: {check.method}\nexpected: {check.expected}\nobserved: {check.observed}\n{check.detail}"
    if report.findings:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="verify.findings",
            tests=str(len(report.findings)),
            failures=str(len(report.findings)),
        )
        for finding in report.findings:
            case = ET.SubElement(suite, "testcase", classname="mlopsctl.verify.findings", name=finding.message)
            failure = ET.SubElement(case, "failure", message=finding.message, type="Finding")
            failure.text = finding.hint
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: LiveReport) -> str:
    failed = [check for check in report.checks if not check.passed]
    lines = [
        f"# mlopsctl verify {report.kind}: {'PASSED' if report.passed else 'FAILED'}",
        "",
        f"- Cluster version: {report.cluster_version}",
        f"- Started: {report.started}",
        f"- Finished: {report.finished}",
        f"- Checks: {len(report.checks)} ({len(report.checks) - len(failed)} passed, {len(failed)} failed)",
    ]
    if report.phases:
        lines.append("- Time: " + ", ".join(f"{row['phase']} {row['seconds']:.1f} s" for row in report.phases))
    lines.append("")
    if report.findings:
        lines += ["## Findings", ""]
        for finding in report.findings:
            lines.append(f"- **{finding.message}**" + (f"  \n  Hint: {finding.hint}" if finding.hint else ""))
        lines.append("")
    if report.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in report.notes] + [""]
    areas: dict[str, list] = {}
    for check in report.checks:
        areas.setdefault(check.area, []).append(check)
    for area, checks in areas.items():
        lines += [
            f"## {area}",
            "",
            "| Result | Check | Expected | Observed | How | When | Why |",
            "|---|---|---|---|---|---|---|",
        ]
        for check in checks:
            lines.append(
                "| "
                + " | ".join(
                    _cell(value)
                    for value in (
                        "PASS" if check.passed else "**FAIL**",
                        check.name,
                        check.expected,
                        check.observed,
                        check.method,
                        check.started,
                        check.detail,
                    )
                )
                + " |"
            )
        lines.append("")
    if report.timeline:
        lines += ["## Scaling timeline", "", "| Tenant | Phase | At | Seconds | Replicas | Desired | CPU % |"]
        lines.append("|---|---|---|---|---|---|---|")
        for row in report.timeline:
            cpu = "-" if row.get("cpu_percent") is None else row["cpu_percent"]
            lines.append(
                f"| {row['tenant']} | {row['phase']} | {row['at']} | {row['seconds']} | {row['replicas']} | "
                f"{row['desired']} | {cpu} |"
            )
        lines.append("")
    return "\n".join(lines)


def html_page(report: LiveReport) -> str:
    from mlopsctl import __version__
    from mlopsctl.output import to_data
    from mlopsctl.report.html import verify_page

    return verify_page(to_data(report), report.loads, version=__version__, generated=utc_now())


def write_report(report: LiveReport, directory: Path) -> WrittenReport:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stem = f"verify-{report.kind}"
        junit = directory / f"{stem}.junit.xml"
        junit.write_text(junit_xml(report))
        md = directory / f"{stem}.md"
        md.write_text(markdown(report))
        html = directory / HTML_NAME
        html.write_text(html_page(report), encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the report into {directory}: {exc.strerror}", hint="pick a writable --report DIR"
        ) from exc
    return WrittenReport(junit, md, html)


# --- offline results in the live report's shape ----------------------------------------------------------------


def _offline_check(area: str, name: str, expectation, method: str, at: str, placement: tuple[str, str, str]):
    get = expectation.get if isinstance(expectation, dict) else lambda key: getattr(expectation, key)
    return LiveCheck(
        area,
        name,
        str(get("expected")),
        str(get("observed")),
        bool(get("passed")),
        method,
        f"{get('rule')}: {get('reason')}",
        at,
        at,
        *placement,
    )


def offline_report(result: NetworkReport | RbacReport, manifests: Path, started: str) -> LiveReport:
    """An offline verdict as a LiveReport: one check per isolation expectation, the evaluator's verdict as what
    was observed; the verdict stays the offline one (no tenants in DIR means nothing failed)."""
    finished = utc_now()
    source = f"offline: manifests in {manifests} (evaluators only, no cluster)"
    if isinstance(result, NetworkReport):
        report = LiveReport("network", source, started, finished, notes=[*result.synthesized, *result.warnings])
        by_check = {e.check: e for e in result.expectations}
        for row in result.connections:
            name = f"{row['from']} -> {row['to']} {row['port']}/{row['protocol']}"
            expectation = by_check.get(name)
            if expectation is not None:
                placement = (row["from"], row["to"], f"{row['port']}/{row['protocol']}")
                method = f"NetworkPolicy evaluator over {manifests}"
                report.checks.append(_offline_check("network", name, expectation, method, finished, placement))
    else:
        report = LiveReport("rbac", source, started, finished, notes=list(result.notes))
        for item in result.expectations:
            where = item["namespace"] or "cluster scope"
            name = f"{item['subject']}: {item['check']} in {where}"
            placement = (item["subject"], item["namespace"] or "", item["check"])
            method = f"RBAC evaluator over {manifests}"
            report.checks.append(_offline_check("rbac", name, item, method, finished, placement))
    report.passed = result.passed
    return report
