"""Offline verification: NetworkPolicy connectivity and RBAC over manifests in a directory, with the mlopsctl
tenant isolation expectations checked on top. Live verification lives in verify_network, verify_rbac and
verify_autoscaling; the shared result types are here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopsctl.analysis.builtin_rbac import bootstrap_policy
from mlopsctl.analysis.inventory import Inventory, build_inventory
from mlopsctl.analysis.isolation import Expectation, tenant_namespaces
from mlopsctl.analysis.netpol import PolicyError
from mlopsctl.analysis.network_contract import judge_contract
from mlopsctl.analysis.owners import PLATFORM_SCOPES, owner_probes, tenant_owners
from mlopsctl.analysis.rbac import RbacModel, Subject
from mlopsctl.analysis.rbac_contract import (
    STANDARD_CHECKS,
    AccessCheck,
    dangling_expectations,
    parse_checks,
    positive_controls,
    rbac_expectation,
    scopes_for,
    tenant_identities,
)
from mlopsctl.errors import UsageError
from mlopsctl.services.manifest_files import MANIFEST_SUFFIXES, read_manifests

__all__ = ["MANIFEST_SUFFIXES", "load_manifests", "network_offline", "rbac_offline"]


@dataclass
class NetworkReport:
    """`verify network --offline`: every connection, and the tenant expectations checked against them."""

    peers: list[str]
    connections: list[dict[str, Any]]
    tenants: list[str] = field(default_factory=list)
    synthesized: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    expectations: list[Expectation] = field(default_factory=list)
    failures: int = 0
    passed: bool = True


@dataclass
class RbacReport:
    """`verify rbac --offline`: every check for every tenant identity and scope, and the tenant expectations."""

    checks: list[dict[str, Any]]
    tenants: list[str] = field(default_factory=list)
    expectations: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0
    passed: bool = True
    owners: dict[str, list[str]] = field(default_factory=dict)  # tenant -> its owners (analysis/owners.py)
    notes: list[str] = field(default_factory=list)


def load_manifests(directory: Path) -> list[dict[str, Any]]:
    """Every object in the YAML/JSON files under `directory`, each checked (see `read_manifests`)."""
    return read_manifests(directory)


def inventory_of(objects: Sequence[dict[str, Any]]) -> Inventory:
    try:
        return build_inventory(objects)
    except (PolicyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UsageError(f"invalid manifest: {exc}") from exc


def network_offline(objects: Sequence[dict[str, Any]]) -> NetworkReport:
    inventory = inventory_of(objects)
    tenants = tenant_namespaces(inventory)
    result = judge_contract(
        inventory.namespaces, inventory.peers, inventory.policies, tenants, synthesize_platform=True
    )
    rows = [
        {
            "from": source.id,
            "to": destination.id,
            "port": port,
            "protocol": protocol,
            "allowed": verdict.allowed,
            "reason": verdict.reason,
        }
        for source, destination, port, protocol, verdict in result.connections
    ]
    failures = len(result.failures)
    return NetworkReport(
        peers=[p.id for p in result.peers],
        connections=rows,
        tenants=tenants,
        synthesized=result.notes,
        warnings=result.network.dead_selectors(),
        expectations=result.expectations,
        failures=failures,
        passed=failures == 0,
    )


def read_checks(path: Path) -> list[AccessCheck]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"--checks {path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise UsageError(f"cannot read --checks {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"--checks {path}: not valid YAML") from exc
    try:
        return parse_checks(data, str(path))
    except ValueError as exc:
        raise UsageError(
            f"invalid --checks file: {exc}", hint="each check: {verb, resource, group?, subresource?}"
        ) from exc


def _row(subject: Subject, check: AccessCheck, namespace: str | None, allowed: bool, rule: str) -> dict[str, Any]:
    return {
        "subject": subject.user,
        "namespace": namespace,
        "verb": check.verb,
        "group": check.group,
        "resource": check.resource,
        "subresource": check.subresource,
        "allowed": allowed,
        "rule": rule,
    }


def _expectation(subject: Subject, namespace: str | None, check: str, rule: str, expected: str, allowed: bool,
                 passed: bool, reason: str) -> dict[str, Any]:  # fmt: skip
    return {
        "subject": subject.user,
        "namespace": namespace,
        "check": check,
        "rule": rule,
        "expected": expected,
        "observed": "allowed" if allowed else "denied",
        "passed": passed,
        "reason": reason,
    }


CONTROL_RULE = "positive control: must be allowed (an authorizer that denies everything must not pass)"


def rbac_offline(objects: Sequence[dict[str, Any]], extra_checks: Sequence[AccessCheck] = ()) -> RbacReport:
    inventory = inventory_of(objects)
    policy = bootstrap_policy()
    model = RbacModel.from_objects(inventory.rbac, policy.objects)
    tenants = tenant_namespaces(inventory)
    namespaces = sorted({*inventory.all_namespaces(), *tenants})
    checks = list(dict.fromkeys([*STANDARD_CHECKS, *extra_checks]))
    identities = [(ns, name) for ns, name in inventory.service_accounts if ns not in tenants]
    identities += [(ns, name) for ns, name, _ in tenant_identities(inventory.service_accounts, tenants)]
    rows: list[dict[str, Any]] = []
    expectations: list[dict[str, Any]] = []
    for sa_namespace, sa_name in sorted(identities):
        subject = Subject.service_account(sa_namespace, sa_name)
        for check in checks:
            for namespace in scopes_for(check, namespaces):
                decision = model.authorize(subject, check.request(namespace))
                rows.append(_row(subject, check, namespace, decision.allowed, decision.reason))
                expectation = rbac_expectation(sa_namespace, sa_name, tenants, check, namespace, decision)
                if expectation is not None:
                    expected, rule, passed = expectation
                    expectations.append(
                        _expectation(
                            subject,
                            namespace,
                            check.describe(),
                            rule,
                            expected,
                            decision.allowed,
                            passed,
                            decision.reason,
                        )
                    )
        if sa_namespace in tenants:
            expectations.extend(_controls(model, subject, sa_namespace, rows))
    expectations.extend(dangling_expectations(model, "in the manifests"))
    owners = owner_expectations(inventory, model, tenants, rows, expectations)
    failures = sum(1 for e in expectations if not e["passed"])
    notes = [f"built-in ClusterRoles and ClusterRoleBindings: {policy.describe()} ({policy.source})"]
    return RbacReport(
        checks=rows,
        tenants=tenants,
        expectations=expectations,
        failures=failures,
        passed=failures == 0,
        owners=owners,
        notes=notes,
    )


def _controls(model: RbacModel, subject: Subject, tenant: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    controls = positive_controls(model, subject, tenant)
    if not controls:
        return [
            _expectation(subject, tenant, "positive control", CONTROL_RULE, "allowed", False, False,
                         "no check can be made whose answer must be allowed: nothing grants this identity anything")
        ]  # fmt: skip
    found = []
    for check, scope in controls:
        decision = model.authorize(subject, check.request(scope))
        rows.append(_row(subject, check, scope, decision.allowed, decision.reason))
        found.append(
            _expectation(
                subject,
                scope,
                check.describe(),
                CONTROL_RULE,
                "allowed",
                decision.allowed,
                decision.allowed,
                decision.reason,
            )
        )
    return found


def owner_expectations(
    inventory: Inventory,
    model: RbacModel,
    tenants: Sequence[str],
    rows: list[dict[str, Any]],
    expectations: list[dict[str, Any]],
) -> dict[str, list[str]]:
    """The owners' probes of every tenant (analysis/owners.py) as check rows and expectations; its owners."""
    scopes = sorted(set(inventory.all_namespaces()) | set(PLATFORM_SCOPES))
    found: dict[str, list[str]] = {}
    for tenant in tenants:
        owners = tenant_owners(
            tenant, inventory.namespace_objects.get(tenant), inventory.rbac, inventory.service_accounts
        )
        found[tenant] = [owner.text for owner in owners]
        for probe in owner_probes(tenant, owners, scopes):
            decision = model.authorize(probe.subject, probe.request())
            check = probe.check
            rows.append(
                {
                    "subject": probe.owner.text,
                    "namespace": probe.namespace,
                    "verb": check.verb,
                    "group": check.group,
                    "resource": check.resource,
                    "subresource": check.subresource,
                    "allowed": decision.allowed,
                    "rule": decision.reason,
                }
            )
            expectations.append(
                {
                    "subject": probe.owner.text,
                    "namespace": probe.namespace,
                    "check": check.describe(),
                    "rule": probe.rule,
                    "expected": "allowed" if probe.expected else "denied",
                    "observed": "allowed" if decision.allowed else "denied",
                    "passed": decision.allowed == probe.expected,
                    "reason": decision.reason,
                }
            )
    return found
    return found


# --- live verification results -------------------------------------------------------------------------------


@dataclass
class LiveCheck:
    """One check against the live cluster: what was expected, what was seen, and how it was checked."""

    area: str  # network, rbac, autoscaling
    name: str
    expected: str
    observed: str
    passed: bool
    method: str = ""
    detail: str = ""
    started: str = ""
    finished: str = ""
    # Where the check sits in a matrix (the HTML report): network: source peer, destination, "PORT/PROTOCOL";
    # rbac: the identity, the namespace ("" for cluster scope), the verb and resource.
    subject: str = ""
    target: str = ""
    action: str = ""


@dataclass
class Finding:
    """A conclusion drawn from several checks (for example: the CNI does not enforce NetworkPolicy)."""

    message: str
    hint: str = ""


@dataclass
class LiveReport:
    kind: str  # network, rbac, autoscaling, isolation, all
    cluster_version: str
    started: str
    finished: str
    checks: list[LiveCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)  # the load runs a check drove (loadtest results)
    passed: bool = True
    # Where the time went: [{"phase": "network: probe", "seconds": 3.2}, ...] (live network runs).
    phases: list[dict[str, Any]] = field(default_factory=list)
    # How the network was probed: probes, sources, execs, rate, parallelism, equivalent pods not probed.
    probing: dict[str, Any] = field(default_factory=dict)

    def conclude(self) -> LiveReport:
        self.passed = bool(self.checks) and all(c.passed for c in self.checks) and not self.findings
        return self


def utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def merge_reports(kind: str, reports: Sequence[LiveReport]) -> LiveReport:
    merged = LiveReport(
        kind=kind,
        cluster_version=reports[0].cluster_version if reports else "",
        started=reports[0].started if reports else utc_now(),
        finished=reports[-1].finished if reports else utc_now(),
    )
    for report in reports:
        merged.checks.extend(report.checks)
        merged.findings.extend(report.findings)
        merged.notes.extend(report.notes)
        merged.timeline.extend(report.timeline)
        merged.loads.extend(report.loads)
        merged.phases.extend(report.phases)
        merged.probing.update(report.probing)
    return merged.conclude()
