"""Live RBAC verification: the API server's SubjectAccessReview answer for every tenant service account, check
and scope, compared with the RBAC evaluator on the Roles and bindings read from the cluster and with the tenant
isolation expectations."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlopsctl import constants as c
from mlopsctl.adapters.base import AccessReview, KubeApi
from mlopsctl.analysis.isolation import STANDARD_CHECKS, AccessCheck, rbac_expectation, scopes_for
from mlopsctl.analysis.rbac import RbacModel, Subject
from mlopsctl.progress import NullStatus, Status
from mlopsctl.services.verify import LiveCheck, LiveReport, utc_now
from mlopsctl.services.verify_network import live_tenants
from mlopsctl.services.verify_owners import verify_owners

RBAC_API = "rbac.authorization.k8s.io/v1"
# Besides the tenants, the namespaces a tenant account must have nothing in (when they exist).
PLATFORM_SCOPES = ("default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE, c.SYSTEM_NAMESPACE)


def read_rbac(api: KubeApi) -> RbacModel:
    objects = []
    for kind in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"):
        for obj in api.list(RBAC_API, kind):
            obj.setdefault("kind", kind)
            objects.append(obj)
    return RbacModel.from_objects(objects)


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
        model = read_rbac(api)
    report = LiveReport("rbac", version, started, started)
    checks = list(dict.fromkeys([*STANDARD_CHECKS, *extra_checks]))
    with status.step(f"asking the API server about {len(accounts)} service account(s)"):
        for namespace, name in accounts:
            subject = Subject.service_account(namespace, name)
            for check in checks:
                for scope in scopes_for(check, scopes):
                    asked = now()
                    observed = api.access_review(
                        AccessReview(
                            subject.user,
                            subject.groups,
                            check.verb,
                            check.resource,
                            check.group,
                            check.subresource,
                            scope,
                            check.name,
                        )
                    )
                    decision = model.authorize(subject, check.request(scope))
                    expectation = rbac_expectation(namespace, all_tenants, check, scope, decision)
                    expected_text, rule, expected_ok = expectation if expectation else ("as the evaluator", "", True)
                    if expected_text.startswith("only via"):
                        expected_text = "allowed only by its own Role" if decision.allowed else "denied"
                    detail = decision.reason
                    passed = expected_ok and observed == decision.allowed
                    if observed != decision.allowed:
                        detail = (
                            f"the API server says {'allowed' if observed else 'denied'} but the evaluator says "
                            f"{'allowed' if decision.allowed else 'denied'} ({decision.reason}): another authorizer "
                            "or an object the evaluator did not see"
                        )
                    elif not expected_ok:
                        detail = f"breaks '{rule}': {decision.reason}"
                    where = scope or "cluster scope"
                    report.checks.append(
                        LiveCheck(
                            "rbac",
                            f"{subject.user}: {check.describe()} in {where}",
                            expected_text,
                            "allowed" if observed else "denied",
                            passed,
                            "SubjectAccessReview, compared with the RBAC evaluator",
                            detail,
                            asked,
                            now(),
                            subject.user,
                            scope or "",
                            check.describe(),
                        )
                    )
    with status.step(f"asking the API server about the owners of {len(tenant_names)} tenant(s)"):
        owner_checks, owner_notes = verify_owners(api, model, namespace_objects, tenant_names, scopes, now)
        report.checks.extend(owner_checks)
        report.notes.extend(owner_notes)
    if not accounts:
        report.notes.append("the tenants have no service accounts")
    report.finished = now()
    return report.conclude()
