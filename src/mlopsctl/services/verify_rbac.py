"""Live RBAC verification: the API server's SubjectAccessReview answer for every tenant identity, check and scope,
compared with the RBAC evaluator on the Roles, ClusterRoles (the built-in ones included, as the cluster has them)
and bindings read from the cluster, and with the tenant isolation expectations.

Positive controls come first in meaning: for each identity, checks the evaluator allows (the built-in
`system:basic-user` grant, what the tenant's own Role grants) must come back allowed. A review path that says no
to everything fails the run instead of passing it, and a tenant for which no control can be made is a finding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlopsctl import constants as c
from mlopsctl.adapters.base import AccessReview, KubeApi
from mlopsctl.analysis.rbac import Binding, Decision, RbacModel, Subject
from mlopsctl.analysis.rbac_contract import (
    OWN_ROLE_ONLY,
    OWNER_ROLE_ONLY,
    STANDARD_CHECKS,
    AccessCheck,
    account_name,
    dangling_expectations,
    positive_controls,
    rbac_expectation,
    scopes_for,
    tenant_identities,
)
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services.verify import Finding, LiveCheck, LiveReport, utc_now
from mlopsctl.services.verify_network import live_tenants
from mlopsctl.services.verify_owners import verify_owners

RBAC_API = "rbac.authorization.k8s.io/v1"
# Besides the tenants, the namespaces a tenant account must have nothing in (when they exist).
PLATFORM_SCOPES = ("default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE, c.SYSTEM_NAMESPACE)
# How an allowed answer that a Role of the tenant's own grants reads in the live report.
LIVE_EXPECTED = {
    OWN_ROLE_ONLY: "allowed only by its own Role",
    OWNER_ROLE_ONLY: f"allowed only by its {c.TENANT_OWNER} Role",
}
METHOD = "SubjectAccessReview, compared with the RBAC evaluator"
CONTROL_HINT = (
    "a SubjectAccessReview that denies what RBAC grants means another authorizer (a webhook, Node, ABAC) answers "
    "first, or the reviews are not evaluated: the denials of this run prove nothing until the controls pass"
)


def read_rbac(api: KubeApi) -> RbacModel:
    objects = []
    for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):
        for obj in api.list(RBAC_API, kind):
            obj.setdefault("kind", kind)
            objects.append(obj)
    return RbacModel.from_objects(objects)


def _ask(api: KubeApi, subject: Subject, check: AccessCheck, scope: str | None) -> bool:
    return api.access_review(
        AccessReview(
            subject.user, subject.groups, check.verb, check.resource, check.group, check.subresource, scope, check.name
        )
    )


def _disagreement(observed: bool, decision: Decision) -> str:
    return (
        f"the API server says {'allowed' if observed else 'denied'} but the evaluator says "
        f"{'allowed' if decision.allowed else 'denied'} ({decision.reason}): another authorizer or an object the "
        "evaluator did not see"
    )


def verify_rbac(
    api: KubeApi,
    *,
    tenants: Sequence[str] | None = None,
    extra_checks: Sequence[AccessCheck] = (),
    status: Status | None = None,
    now: Callable[[], str] = utc_now,
) -> LiveReport:
    status = status or NullStatus()
    started = now()
    with status.step("reading tenants, service accounts, Roles and bindings"):
        version = api.server_version()
        namespace_objects, tenant_names = live_tenants(api, tenants)
        existing = {ns["metadata"]["name"] for ns in namespace_objects}
        all_tenants = sorted(
            ns["metadata"]["name"] for ns in namespace_objects if c.TENANT_LABEL in (ns["metadata"].get("labels") or {})
        )
        scopes = [*all_tenants, *(ns for ns in PLATFORM_SCOPES if ns in existing)]
        accounts = [
            (tenant, sa["metadata"]["name"])
            for tenant in tenant_names
            for sa in api.list("v1", "ServiceAccount", tenant)
        ]
        identities = [(ns, name) for ns, name, _ in tenant_identities(accounts, tenant_names)]
        model = read_rbac(api)
    report = LiveReport("rbac", version, started, started)
    checks = list(dict.fromkeys([*STANDARD_CHECKS, *extra_checks]))
    controls_made = controls_passed = 0
    with status.step(f"asking the API server about {len(identities)} tenant identities"):
        for namespace, name in identities:
            subject = Subject.service_account(namespace, name)
            controls = positive_controls(model, subject, namespace)
            if not controls:
                report.checks.append(
                    LiveCheck(
                        "rbac",
                        f"{subject.user}: a positive control",
                        "at least one check that must be allowed",
                        "none can be made",
                        False,
                        "RBAC evaluator over the cluster's objects",
                        "nothing grants this identity anything, not even the built-in system:basic-user",
                        now(),
                        now(),
                        subject.user,
                        namespace,
                        "a positive control",
                    )
                )
            for check, scope in controls:
                asked = now()
                observed = _ask(api, subject, check, scope)
                decision = model.authorize(subject, check.request(scope))
                controls_made += 1
                controls_passed += observed
                detail = decision.reason if observed else _disagreement(observed, decision)
                report.checks.append(
                    _answered_check(
                        subject, check, scope, "allowed", observed, observed, detail, asked, now, " (control)"
                    )
                )
            for check in checks:
                for scope in scopes_for(check, scopes):
                    report.checks.append(_matrix_check(api, model, subject, namespace, all_tenants, check, scope, now))
    if controls_made and not controls_passed:
        report.findings.append(
            Finding(
                f"the API server denied all {controls_made} positive control(s): it says no to everything, so "
                "its denials prove nothing",
                CONTROL_HINT,
            )
        )
    subjects = [Subject.service_account(ns, name) for ns, name in identities]

    def concerns_tenants(binding: Binding) -> bool:
        return binding.namespace in all_tenants or any(binding.applies_to(s) for s in subjects)

    for item in dangling_expectations(model, "in the cluster", concerns_tenants):
        report.findings.append(Finding(str(item["reason"]), "delete the binding or create the role it names"))
    with status.step(f"asking the API server about the owners of {len(tenant_names)} tenant(s)"):
        owner_checks, owner_notes = verify_owners(api, model, namespace_objects, tenant_names, scopes, now)
        report.checks.extend(owner_checks)
        report.notes.extend(owner_notes)
    if not identities:
        report.notes.append("the tenants have no service accounts")
    report.finished = now()
    return report.conclude()


def _matrix_check(
    api: KubeApi,
    model: RbacModel,
    subject: Subject,
    namespace: str,
    tenants: Sequence[str],
    check: AccessCheck,
    scope: str | None,
    now: Callable[[], str],
) -> LiveCheck:
    asked = now()
    observed = _ask(api, subject, check, scope)
    decision = model.authorize(subject, check.request(scope))
    expectation = rbac_expectation(namespace, account_name(subject), tenants, check, scope, decision)
    expected_text, rule, expected_ok = expectation if expectation else ("as the evaluator", "", True)
    if expected_text in LIVE_EXPECTED:
        expected_text = LIVE_EXPECTED[expected_text] if decision.allowed else "denied"
    detail = decision.reason
    passed = expected_ok and observed == decision.allowed
    if observed != decision.allowed:
        detail = _disagreement(observed, decision)
    elif not expected_ok:
        detail = f"breaks '{rule}': {decision.reason}"
    return _answered_check(subject, check, scope, expected_text, observed, passed, detail, asked, now)


def _answered_check(
    subject: Subject,
    check: AccessCheck,
    scope: str | None,
    expected: str,
    observed: bool,
    passed: bool,
    detail: str,
    asked: str,
    now: Callable[[], str],
    suffix: str = "",
) -> LiveCheck:
    """One check the API server answered; `suffix` marks a positive control in its name and check."""
    return LiveCheck(
        "rbac",
        f"{subject.user}: {check.describe()} in {scope or 'cluster scope'}{suffix}",
        expected,
        "allowed" if observed else "denied",
        passed,
        METHOD,
        detail,
        asked,
        now(),
        subject.user,
        scope or "",
        f"{check.describe()}{suffix}",
    )
