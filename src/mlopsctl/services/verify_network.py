"""Live NetworkPolicy verification: probe from inside running pods and compare with the evaluator.

The run starts its probe pods (an outsider in a scratch namespace, a later pod without the inference labels in each
tenant namespace), reads the cluster, has the evaluator judge every source, destination and port against the
isolation rules, and probes a plan that covers every tenant pair, every platform peer and every class of
equivalent pods (everything with `exhaustive`): one exec per source pod runs all its probes, sources in parallel.
Every expected verdict comes from the evaluator run on the objects read from the cluster. The parts live in
services/network_probes/.

Enforcement lags behind pod start on some CNIs: a source's negatives count only after its positive controls
connect, and probes that disagree with the evaluator are retried with a bounded exponential backoff. A connection
the policies deny that still succeeds means the CNI does not enforce NetworkPolicy.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mlopsctl.adapters.base import KubeApi
from mlopsctl.analysis.isolation import TenantIndex
from mlopsctl.analysis.netpol import DEFAULT_POD_CIDRS
from mlopsctl.analysis.network_contract import judge_contract
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services.network_probes.equivalence import describe_equivalence
from mlopsctl.services.network_probes.execute import DEFAULT_PARALLEL, ProbeProgress, Settings, SourceRun, run_all
from mlopsctl.services.network_probes.expectations import MatrixJudgement, judge_matrix
from mlopsctl.services.network_probes.plan import Plan, Probe, build_plan
from mlopsctl.services.network_probes.pods import (
    DEFAULT_START_TIMEOUT,
    ProbePods,
    delete_probe_pods,
    start_probe_pods,
    tenant_images,
)
from mlopsctl.services.network_probes.snapshot import ClusterSnapshot, live_tenants, snapshot
from mlopsctl.services.verify import Finding, LiveCheck, LiveReport, utc_now

__all__ = ["CNI_HINT", "DEFAULT_PARALLEL", "live_tenants", "verify_network"]

CNI_HINT = (
    "kind's default CNI (kindnetd) enforces NetworkPolicy only from kind v0.24.0 on; older kind, or a cluster whose "
    "default CNI is disabled without Calico or Cilium installed, silently ignores policies. Upgrade kind "
    "(`mlopsctl doctor`) and recreate the cluster, or install a CNI that enforces NetworkPolicy."
)


class Phases:
    """Wall time per phase, for the report."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.rows: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = self.clock()
        try:
            yield
        finally:
            self.rows.append({"phase": f"network: {name}", "seconds": round(self.clock() - start, 3)})


def verify_network(
    api: KubeApi,
    *,
    tenants: Sequence[str] | None = None,
    status: Status | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
    timeout: float = 2.0,
    parallel: int = DEFAULT_PARALLEL,
    exhaustive: bool = False,
    start_timeout: float = DEFAULT_START_TIMEOUT,
    run_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], str] = utc_now,
    clock: Callable[[], float] = time.monotonic,
) -> LiveReport:
    status = status or NullStatus()
    started = now()
    phases = Phases(clock)
    run = run_id or secrets.token_hex(3)
    settings = Settings(attempts, backoff, timeout, parallel, sleep, now, clock)
    pods = ProbePods(run)
    cleanup: list[str] = []
    try:
        with phases("probe pods"), status.step("start the probe pods: an outsider and a later pod per tenant"):
            _, names = live_tenants(api, tenants)
            images = tenant_images(api, names)
            start_probe_pods(api, pods, names, images, timeout=start_timeout, sleep=sleep, clock=clock)
        with phases("read"), status.step("read namespaces, pods, services and NetworkPolicies"):
            snap = snapshot(api, tenants, run)
        with phases("plan"):
            plan = build_plan(snap, exhaustive=exhaustive)
            index = TenantIndex(snap.all_tenants or snap.tenants)
            matrix = judge_matrix(snap.network, snap.network.peers, index, focus=set(snap.tenants))
            contract = contract_checks(snap, _pod_cidrs(api), {b.key for b in matrix.breaks}, now)
        title = f"probe {len(plan.probes)} connections from {len(plan.sources)} pods, {parallel} at a time"
        progress = ProbeProgress(status, len(plan.probes), clock)
        with phases("probe"), status.step(title):
            runs = run_all(api, plan.probes, settings, progress)
            progress.finish()
    finally:
        with phases("cleanup"):
            cleanup = delete_probe_pods(api, pods)
    report = LiveReport("network", snap.version, started, started)
    _report_pods(report, pods, snap)
    _report_probes(report, runs)
    _report_matrix(report, matrix, plan)
    report.checks.extend(contract[0])
    report.notes.append(contract[1])
    report.notes.extend(cleanup)
    report.phases = phases.rows
    probe_seconds = next((row["seconds"] for row in phases.rows if row["phase"] == "network: probe"), 0)
    report.probing = {
        "probes": len(plan.probes),
        "sources": len(plan.sources),
        "execs": sum(r.execs for r in runs),
        "parallel": parallel,
        "exhaustive": exhaustive,
        "pods_represented_by_an_equivalent_pod": plan.represented,
        "matrix_connections": matrix.connections,
        "probes_per_second": round(len(plan.probes) / probe_seconds, 1) if probe_seconds else None,
    }
    report.finished = now()
    return report.conclude()


def _report_pods(report: LiveReport, pods: ProbePods, snap: ClusterSnapshot) -> None:
    for (namespace, name), problem in sorted(pods.problems.items()):
        role = pods.roles.get((namespace, name), name)
        where = f"{namespace}/{name}" if namespace else name
        report.checks.append(
            LiveCheck("network", f"probe pod {where} ({role}) running", "running", problem, False,
                      "create the pod and watch its status",
                      "the probes from and to this pod could not run: a breach from there would go unseen")
        )  # fmt: skip
    for tenant in snap.tenants:
        if not any(peer.namespace == tenant and not peer.role for peer in snap.peers.values()):
            report.checks.append(
                LiveCheck("network", f"{tenant}: a running pod to probe from", "a running, ready pod", "none", False,
                          "list pods")
            )  # fmt: skip
    if snap.apiserver is None:
        report.notes.append("the API server's endpoints (default/kubernetes) could not be read, so it was not probed")
    report.notes.extend(f"warning: {warning}" for warning in snap.network.dead_selectors())


def _placement(probe: Probe) -> tuple[str, str, str]:
    """(source, destination, port) of a probe: its cell in the connectivity matrix."""
    return probe.source.id, probe.target.description, f"{probe.target.port}/{probe.target.protocol}"


def _report_probes(report: LiveReport, runs: Sequence[SourceRun]) -> None:
    breaches: list[str] = []
    for run in runs:
        for probe, outcome in zip(run.probes, run.outcomes, strict=True):
            expected_text = {True: "allowed", False: "denied", None: "mixed"}[probe.expected]
            method = (
                f"exec `wget` batch in {run.source.id}" if probe.http else f"exec python probe batch in {run.source.id}"
            )
            if run.failed_control and not probe.control:
                report.checks.append(
                    LiveCheck("network", probe.name, expected_text, "not counted", False, method,
                              f"positive control failed first: {run.failed_control}", outcome.started, outcome.finished,
                              *_placement(probe))
                )  # fmt: skip
                continue
            detail = probe.reason
            passed = outcome.connected is not None and outcome.connected == probe.expected
            if probe.isolation is not None and not probe.isolation_ok:
                passed = False
                wanted = "allowed" if probe.isolation.expected else "denied"
                detail = (
                    f"the policies break the isolation rule '{probe.isolation.rule}' (should be {wanted}): {detail}"
                )
            if probe.expected is False and outcome.connected:
                breaches.append(probe.name)
                detail = f"denied by policy but connected: the CNI does not enforce NetworkPolicy. {detail}"
            report.checks.append(
                LiveCheck("network", probe.name, expected_text, outcome.observed, passed,
                          f"{method}, {outcome.attempts} attempt(s)", detail, outcome.started, outcome.finished,
                          *_placement(probe))
            )  # fmt: skip
    if breaches:
        report.findings.append(
            Finding(
                f"CNI does not enforce NetworkPolicy: {len(breaches)} connection(s) denied by policy "
                f"succeeded (first: {breaches[0]})",
                CNI_HINT,
            )
        )
    for run in runs:
        if run.failed_control:
            report.findings.append(
                Finding(
                    f"positive control failed from {run.source.id}, so its negative probes were not counted: "
                    f"{run.failed_control}",
                    "check that the pods are ready and that DNS works; then retry (enforcement may lag pod start)",
                )
            )


def _report_matrix(report: LiveReport, matrix: MatrixJudgement, plan: Plan) -> None:
    """Rule breaks the probes did not already report, and how the matrix was covered."""
    reported = {
        (probe.source.id, peer.id, port, probe.target.protocol)
        for probe in plan.probes
        if not probe.isolation_ok
        for peer, port in probe.target.backends
    }
    for item in matrix.breaks:
        if item.key in reported:
            continue
        wanted = "allowed" if item.rule.expected else "denied"
        report.checks.append(
            LiveCheck(
                "network",
                f"{item.source.id} -> {item.destination.id} {item.port}/{item.protocol} (evaluator)",
                wanted,
                item.observed,
                False,
                "NetworkPolicy evaluator over the live objects",
                f"the policies break the isolation rule '{item.rule.rule}' (should be {wanted}): {item.reason}",
                subject=item.source.id,
                target=f"{item.destination.id} (evaluator)",
                action=f"{item.port}/{item.protocol}",
            )
        )
    report.notes.append(
        f"the evaluator judged {matrix.connections} connection(s) of the live matrix (every pod, destination and "
        f"port the isolation rules cover); {len(plan.probes)} probed live from {len(plan.sources)} pod(s)"
    )
    report.notes.extend(describe_equivalence(plan.classes))


# --- the isolation contract over the live objects, beyond what the probe pods stand for -----------------------

CONTRACT_METHOD = "NetworkPolicy evaluator over the objects read from the cluster"


def _pod_cidrs(api: KubeApi) -> list[str]:
    """The nodes' pod ranges (what the synthesized pods' addresses would be in), or kind's default."""
    cidrs = [
        cidr
        for node in api.list("v1", "Node")
        for cidr in (node.get("spec") or {}).get("podCIDRs") or [(node.get("spec") or {}).get("podCIDR")]
        if cidr
    ]
    return sorted(set(cidrs)) or list(DEFAULT_POD_CIDRS)


def contract_checks(
    snap: ClusterSnapshot, pod_cidrs: Sequence[str], known: set[tuple[str, str, int, str]], now: Callable[[], str]
) -> tuple[list[LiveCheck], str]:
    """The same contract as `verify --offline` (analysis.network_contract.judge_contract) over the live objects,
    with its own outsider, later pods and the world (ipBlock peers: public addresses and everything outside the
    pod and service ranges) added: a failed check per broken connection from or to the selected tenants that the
    matrix judgement (`known`) did not already report, and a note of what was judged."""
    result = judge_contract(
        snap.namespaces,
        snap.network.peers,
        snap.network.policies,
        snap.all_tenants or snap.tenants,
        synthesize_platform=False,
        pod_cidrs=pod_cidrs,
    )
    stamp = now()
    focus = set(snap.tenants)
    broken = []
    for e in result.failures:
        source, _, rest = e.check.partition(" -> ")
        destination, _, port = rest.rpartition(" ")
        number, _, protocol = port.partition("/")
        if (source, destination, int(number), protocol) in known:
            continue
        if source.split("/")[0] not in focus and destination.split("/")[0] not in focus:
            continue
        broken.append(
            LiveCheck(
                "network",
                f"contract: {e.check}",
                e.expected,
                e.observed,
                False,
                CONTRACT_METHOD,
                f"the policies break the isolation rule '{e.rule}': {e.reason}",
                stamp,
                stamp,
                source,
                destination,
                port,
            )
        )
    note = (
        f"isolation contract over the cluster's objects: {len(result.expectations)} connections judged, "
        f"{len(result.failures)} broken ({'; '.join(result.notes)})"
    )
    return broken, note
