"""Evidence files for a live verification: JUnit XML (for CI) and a Markdown report for people: what was checked,
how, what was expected and observed, when, and against which cluster version."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlopsctl.errors import UsageError
from mlopsctl.services.verify import LiveReport


@dataclass(frozen=True)
class WrittenReport:
    junit: Path
    markdown: Path


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
        "",
    ]
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


def write_report(report: LiveReport, directory: Path) -> WrittenReport:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stem = f"verify-{report.kind}"
        junit = directory / f"{stem}.junit.xml"
        junit.write_text(junit_xml(report))
        md = directory / f"{stem}.md"
        md.write_text(markdown(report))
    except OSError as exc:
        raise UsageError(
            f"cannot write the report into {directory}: {exc.strerror}", hint="pick a writable --report DIR"
        ) from exc
    return WrittenReport(junit, md)
