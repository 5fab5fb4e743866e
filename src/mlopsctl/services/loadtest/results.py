"""What a load test hands back: one second of progress, the HPA's state, and the result (final or partial)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from inference.loadgen.spec import SloResult, SloThreshold, evaluate_slo
from mlopsctl.errors import MlopsctlError


class LoadtestInterrupted(KeyboardInterrupt):
    """Ctrl-C during a load test, after cleaning up; `partial` is the partial result (the CLI prints it, exit 130),
    as on `errors.Interrupted`. It stays a KeyboardInterrupt: the run ends as a Ctrl-C ends any command
    (`mlopsctl: interrupted`)."""

    def __init__(self, partial: LoadtestResult) -> None:
        super().__init__("interrupted")
        self.partial = partial


@dataclass(frozen=True)
class HpaSample:
    t: float  # seconds since the measured load began
    current_replicas: int | None
    desired_replicas: int | None
    cpu_percent: int | None  # current average CPU utilization (of requests)
    cpu_target_percent: int | None
    min_replicas: int | None
    max_replicas: int | None


@dataclass(frozen=True)
class Progress:
    """One second of a run: `interval` is that second (a timeline entry), `summary` the run so far."""

    t: float
    phase: str  # starting (the Job's pod is not running yet) | warmup | run
    interval: dict[str, Any] | None
    summary: dict[str, Any] | None
    hpa: HpaSample | None


@dataclass
class LoadtestResult:
    tenant: str
    mode: str  # in-cluster | url | port-forward
    target: str
    job: str | None
    interrupted: bool
    stopped_early: bool
    slo_passed: bool | None
    slo: list[SloResult]
    report: dict[str, Any]
    hpa: list[HpaSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    workers: int = 1

    def slo_breaches(self) -> list[SloResult]:
        return [result for result in self.slo if not result.passed]


@dataclass
class RunRecord:
    """What has been seen of a run so far, to build the final or the partial result."""

    tenant: str
    mode: str
    target: str
    job: str | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    hpa: list[HpaSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped_early: bool = False
    workers: int = 1

    def progress(self, line: dict[str, Any], hpa: HpaSample | None) -> Progress:
        interval = line.get("interval")
        if line.get("phase") == "run" and interval is not None:
            self.timeline.append(interval)
            self.summary = line.get("summary") or self.summary
        if hpa is not None:
            hpa = dataclasses.replace(hpa, t=float(line.get("t") or 0.0))
            self.hpa.append(hpa)
        return Progress(float(line.get("t") or 0.0), str(line.get("phase")), interval, line.get("summary"), hpa)

    def partial_report(self) -> dict[str, Any]:
        """The last progress line's totals and every second seen; stopped early on purpose is not interrupted."""
        report = dict(self.summary or {})
        report["timeline"] = list(self.timeline)
        report["interrupted"] = not self.stopped_early
        return report

    def result(
        self, report: dict[str, Any] | None, slo: Sequence[SloThreshold], interrupted: bool = False
    ) -> LoadtestResult:
        report = report if report is not None else self.partial_report()
        checks = evaluate_slo(report, tuple(slo)) if slo and report.get("requests") else []
        passed = all(check.passed for check in checks) if checks else None
        return LoadtestResult(
            tenant=self.tenant,
            mode=self.mode,
            target=self.target,
            job=self.job,
            interrupted=interrupted or bool(report.get("interrupted")),
            stopped_early=self.stopped_early,
            slo_passed=passed,
            slo=checks,
            report=report,
            hpa=list(self.hpa),
            notes=list(self.notes),
            workers=self.workers,
        )


def attach_partial(exc: MlopsctlError, result: LoadtestResult | None) -> MlopsctlError:
    """Errors after load began carry what was measured; the CLI prints it before the error."""
    exc.partial = result
    return exc
