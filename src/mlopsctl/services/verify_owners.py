"""Tenant owners on a live cluster: who they are (the recorded spec and the `tenant-owner` RoleBinding) and the
API server's SubjectAccessReview answer to every owner probe (analysis/owners.py), compared with the evaluator."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import AccessReview, KubeApi
from mlopsctl.analysis.owners import OwnerProbe, owner_probes, tenant_owners
from mlopsctl.analysis.rbac import Decision, RbacModel
from mlopsctl.manifests.owners import Owner
from mlopsctl.services.verify import LiveCheck

RBAC_API = "rbac.authorization.k8s.io/v1"


def live_owners(api: KubeApi, tenant: str, namespace: Mapping[str, Any] | None) -> list[Owner]:
    bindings = api.list(RBAC_API, "RoleBinding", tenant)
    for binding in bindings:
        binding.setdefault("kind", "RoleBinding")
    accounts = [(tenant, sa["metadata"]["name"]) for sa in api.list("v1", "ServiceAccount", tenant)]
    return tenant_owners(tenant, namespace, bindings, accounts)


def ask(api: KubeApi, probe: OwnerProbe) -> bool:
    """The API server's answer to one probe (a SubjectAccessReview)."""
    subject, check = probe.subject, probe.check
    return api.access_review(
        AccessReview(
            subject.user,
            subject.groups,
            check.verb,
            check.resource,
            check.group,
            check.subresource,
            probe.namespace,
            check.name,
        )
    )


def judge(probe: OwnerProbe, observed: bool, decision: Decision) -> tuple[bool, str]:
    """(passed, detail): the server must answer as the contract demands and as the evaluator predicts."""
    if observed != decision.allowed:
        said = "allowed" if observed else "denied"
        predicted = "allowed" if decision.allowed else "denied"
        return False, (
            f"the API server says {said} but the evaluator says {predicted} ({decision.reason}): another "
            "authorizer or an object the evaluator did not see"
        )
    if observed != probe.expected:
        return False, f"breaks '{probe.rule}': {decision.reason}"
    return True, decision.reason


def verify_owners(
    api: KubeApi,
    model: RbacModel,
    namespaces: Sequence[Mapping[str, Any]],
    tenants: Sequence[str],
    scopes: Sequence[str],
    now: Callable[[], str],
) -> tuple[list[LiveCheck], list[str]]:
    """One check per owner probe of every tenant in `tenants`; and a note per tenant without owners."""
    by_name = {ns["metadata"]["name"]: ns for ns in namespaces}
    checks: list[LiveCheck] = []
    notes: list[str] = []
    for tenant in tenants:
        owners = live_owners(api, tenant, by_name.get(tenant))
        if not owners:
            notes.append(f"tenant {tenant} has no owners and no {c.TENANT_OWNER} account (rendered before owners?)")
        for probe in owner_probes(tenant, owners, scopes):
            asked = now()
            observed = ask(api, probe)
            passed, detail = judge(probe, observed, model.authorize(probe.subject, probe.request()))
            checks.append(
                LiveCheck(
                    "rbac",
                    probe.describe(),
                    "allowed" if probe.expected else "denied",
                    "allowed" if observed else "denied",
                    passed,
                    "SubjectAccessReview, compared with the RBAC evaluator",
                    detail,
                    asked,
                    now(),
                )
            )
    return checks, notes
