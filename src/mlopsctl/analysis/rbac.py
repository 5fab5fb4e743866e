"""RBAC (rbac.authorization.k8s.io/v1) authorization: may this subject do this, where, and which rule says so.

Follows the upstream RBAC authorizer:
- ClusterRoleBindings grant their ClusterRole everywhere (every namespace and cluster scope);
- RoleBindings grant their Role, or a ClusterRole's rules, in the binding's namespace only;
- subjects: User by name, Group by membership, ServiceAccount by `system:serviceaccount:NS:NAME` (a RoleBinding's
  ServiceAccount subject without a namespace means the binding's namespace); a service account also belongs to
  `system:serviceaccounts`, `system:serviceaccounts:NS` and `system:authenticated`;
- a rule matches when verb, API group and resource match (`*` matches any; `*/sub` matches that subresource
  of any resource; `pods/log` names a subresource) and, when it lists resourceNames, the requested name is one
  of them; nonResourceURLs match paths exactly or by a trailing `*`;
- a ClusterRole with an aggregationRule holds the union of the rules of the ClusterRoles its selectors match
  (what the aggregation controller writes), aggregated roles nested in turn;
- a binding whose role does not exist grants nothing today, but grants whatever that role will say once someone
  creates it: `dangling()` names such bindings so that verification can refuse them.

Offline, the cluster's built-in ClusterRoles and ClusterRoleBindings come from `builtin_rbac` (the bootstrap policy
of a Kubernetes minor); objects of the same name in the manifests replace them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl.analysis.selectors import matches

ALL = "*"

# Cluster-scoped resources of the built-in API groups: a request for them never carries a namespace.
CLUSTER_SCOPED_RESOURCES = frozenset(
    {
        ("", "namespaces"),
        ("", "nodes"),
        ("", "persistentvolumes"),
        ("", "componentstatuses"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ("storage.k8s.io", "storageclasses"),
        ("storage.k8s.io", "csidrivers"),
        ("storage.k8s.io", "csinodes"),
        ("storage.k8s.io", "volumeattachments"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("apiregistration.k8s.io", "apiservices"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("certificates.k8s.io", "certificatesigningrequests"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
        ("networking.k8s.io", "ingressclasses"),
        ("node.k8s.io", "runtimeclasses"),
        ("flowcontrol.apiserver.k8s.io", "flowschemas"),
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
        ("authentication.k8s.io", "tokenreviews"),
        ("authentication.k8s.io", "selfsubjectreviews"),
    }
)


def is_cluster_scoped(group: str, resource: str) -> bool:
    return (group, resource) in CLUSTER_SCOPED_RESOURCES


@dataclass(frozen=True)
class Subject:
    """Who asks: a user name and the groups the authenticator gave it."""

    user: str
    groups: tuple[str, ...] = ()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> Subject:
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        )


@dataclass(frozen=True)
class Request:
    verb: str
    resource: str = ""
    group: str = ""
    subresource: str = ""
    namespace: str | None = None  # None: cluster scope (or all namespaces for a namespaced resource)
    name: str = ""
    path: str = ""  # a non-resource request (for example /healthz) when set

    def describe(self) -> str:
        if self.path:
            return f"{self.verb} {self.path}"
        resource = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        if self.group:
            resource = f"{resource}.{self.group}"
        where = f"in {self.namespace}" if self.namespace else "cluster-wide"
        name = f" {self.name}" if self.name else ""
        return f"{self.verb} {resource}{name} {where}"


@dataclass(frozen=True)
class PolicyRule:
    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PolicyRule:
        def strings(key: str) -> tuple[str, ...]:
            return tuple(str(v) for v in raw.get(key) or [])

        return cls(
            strings("verbs"),
            strings("apiGroups"),
            strings("resources"),
            strings("resourceNames"),
            strings("nonResourceURLs"),
        )

    def describe(self) -> str:
        if self.non_resource_urls:
            return f"verbs=[{','.join(self.verbs)}] nonResourceURLs=[{','.join(self.non_resource_urls)}]"
        groups = ",".join('""' if g == "" else g for g in self.api_groups)
        text = f"verbs=[{','.join(self.verbs)}] apiGroups=[{groups}] resources=[{','.join(self.resources)}]"
        if self.resource_names:
            text += f" resourceNames=[{','.join(self.resource_names)}]"
        return text

    def allows(self, request: Request) -> bool:
        if not (ALL in self.verbs or request.verb in self.verbs):
            return False
        if request.path:
            return any(
                url == ALL or url == request.path or (url.endswith("*") and request.path.startswith(url[:-1]))
                for url in self.non_resource_urls
            )
        if not (ALL in self.api_groups or request.group in self.api_groups):
            return False
        combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        resource_ok = False
        for item in self.resources:
            if item in (ALL, combined):
                resource_ok = True
                break
            if request.subresource and item == f"*/{request.subresource}":
                resource_ok = True
                break
        if not resource_ok:
            return False
        return not self.resource_names or request.name in self.resource_names


@dataclass(frozen=True)
class RoleRule:
    rule: PolicyRule
    index: int
    origin: str  # the ClusterRole an aggregated rule came from, else ""


@dataclass(frozen=True)
class Binding:
    kind: str  # RoleBinding or ClusterRoleBinding
    namespace: str | None
    name: str
    role_kind: str
    role_name: str
    subjects: tuple[Mapping[str, Any], ...]

    @property
    def id(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"

    def role_id(self) -> str:
        if self.role_kind == "Role":
            return f"Role {self.namespace}/{self.role_name}"
        return f"ClusterRole {self.role_name}"

    def applies_to(self, subject: Subject) -> bool:
        for item in self.subjects:
            kind = item.get("kind")
            name = item.get("name", "")
            if kind == "User" and name == subject.user:
                return True
            if kind == "Group" and name in subject.groups:
                return True
            if kind == "ServiceAccount":
                namespace = item.get("namespace") or self.namespace or ""
                if f"system:serviceaccount:{namespace}:{name}" == subject.user:
                    return True
        return False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    binding: str = ""
    role: str = ""
    rule: str = ""
    rule_index: int | None = None
    aggregated_from: str = ""
    role_kind: str = ""
    role_namespace: str | None = None
    binding_kind: str = ""


Grant = tuple[Binding, RoleRule]  # a rule, and the binding through which it applies


@dataclass
class RbacModel:
    roles: dict[tuple[str, str], list[RoleRule]] = field(default_factory=dict)
    cluster_roles: dict[str, list[RoleRule]] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)
    builtin: frozenset[str] = frozenset()  # names of the ClusterRoles that came from the built-in policy
    _cluster_bindings: list[Binding] = field(default_factory=list, repr=False)
    _role_bindings: dict[str, list[Binding]] = field(default_factory=dict, repr=False)
    _by_subject: dict[Subject, tuple[list[Grant], dict[str, list[Grant]]]] = field(default_factory=dict, repr=False)
    _denials: dict[str | None, Decision] = field(default_factory=dict, repr=False)

    @classmethod
    def from_objects(cls, objects: Iterable[Mapping[str, Any]], builtin: Iterable[Mapping[str, Any]] = ()) -> RbacModel:
        """The model of `objects`, on top of `builtin` objects (the cluster's bootstrap policy) when given."""
        model = cls()
        objects = list(objects)
        own_cluster_roles = {
            (o.get("metadata") or {}).get("name", "") for o in objects if o.get("kind") == "ClusterRole"
        }
        own_cluster_bindings = {
            (o.get("metadata") or {}).get("name", "") for o in objects if o.get("kind") == "ClusterRoleBinding"
        }
        defaults = [
            o
            for o in builtin
            if (o.get("metadata") or {}).get("name", "")
            not in (own_cluster_roles if o.get("kind") == "ClusterRole" else own_cluster_bindings)
        ]
        model.builtin = frozenset(
            (o.get("metadata") or {}).get("name", "") for o in defaults if o.get("kind") == "ClusterRole"
        )
        raw_cluster_roles: dict[str, Mapping[str, Any]] = {}
        for obj in [*defaults, *objects]:
            kind = obj.get("kind")
            meta = obj.get("metadata") or {}
            name = meta.get("name", "")
            if kind == "Role":
                namespace = meta.get("namespace") or "default"
                model.roles[(namespace, name)] = [
                    RoleRule(PolicyRule.parse(r), i, "") for i, r in enumerate(obj.get("rules") or [])
                ]
            elif kind == "ClusterRole":
                raw_cluster_roles[name] = obj
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                ref = obj.get("roleRef") or {}
                namespace = (meta.get("namespace") or "default") if kind == "RoleBinding" else None
                model.bindings.append(
                    Binding(
                        kind,
                        namespace,
                        name,
                        ref.get("kind", "ClusterRole"),
                        ref.get("name", ""),
                        tuple(obj.get("subjects") or []),
                    )
                )
        model.cluster_roles = _aggregate(raw_cluster_roles)
        model.bindings.sort(key=lambda b: (b.kind != "ClusterRoleBinding", b.namespace or "", b.name))
        for binding in model.bindings:
            if binding.kind == "ClusterRoleBinding":
                model._cluster_bindings.append(binding)
            else:
                model._role_bindings.setdefault(binding.namespace or "", []).append(binding)
        return model

    def dangling(self) -> list[tuple[Binding, str]]:
        """Bindings whose role is not known, with why: they grant whatever that role says once it exists."""
        found = []
        for binding in self.bindings:
            if binding.role_kind == "Role" and binding.kind == "ClusterRoleBinding":
                found.append((binding, "a ClusterRoleBinding cannot refer to a Role"))
            elif binding.role_kind not in ("Role", "ClusterRole"):
                found.append((binding, f"roleRef kind {binding.role_kind!r} is neither Role nor ClusterRole"))
            elif self._rules_of(binding) is None:
                found.append((binding, f"{binding.role_id()} does not exist"))
        return found

    def _rules_of(self, binding: Binding) -> list[RoleRule] | None:
        if binding.role_kind == "Role":
            if binding.namespace is None:
                return None  # a ClusterRoleBinding cannot refer to a Role
            return self.roles.get((binding.namespace, binding.role_name))
        return self.cluster_roles.get(binding.role_name)

    def _applicable(self, subject: Subject) -> tuple[list[Grant], dict[str, list[Grant]]]:
        """The rules the subject's ClusterRoleBindings and, by namespace, RoleBindings grant, in the order they are
        tried (a matrix asks many times per subject, so each subject's list is worked out once)."""
        if subject not in self._by_subject:
            by_namespace: dict[str, list[Grant]] = {}
            for namespace, bindings in self._role_bindings.items():
                mine = self._grants(b for b in bindings if b.applies_to(subject))
                if mine:
                    by_namespace[namespace] = mine
            cluster_wide = self._grants(b for b in self._cluster_bindings if b.applies_to(subject))
            self._by_subject[subject] = (cluster_wide, by_namespace)
        return self._by_subject[subject]

    def _grants(self, bindings: Iterable[Binding]) -> list[Grant]:
        return [(binding, item) for binding in bindings for item in self._rules_of(binding) or []]

    def authorize(self, subject: Subject, request: Request) -> Decision:
        cluster_wide, by_namespace = self._applicable(subject)
        in_namespace = by_namespace.get(request.namespace, ()) if request.namespace else ()
        for grants in (cluster_wide, in_namespace):
            for binding, item in grants:
                if item.rule.allows(request):
                    via = f" (aggregated from ClusterRole {item.origin})" if item.origin else ""
                    return Decision(
                        True,
                        f"{binding.id} -> {binding.role_id()} rule {item.index}{via}: {item.rule.describe()}",
                        binding=binding.id,
                        role=binding.role_id(),
                        rule=item.rule.describe(),
                        rule_index=item.index,
                        aggregated_from=item.origin,
                        role_kind=binding.role_kind,
                        role_namespace=binding.namespace if binding.role_kind == "Role" else None,
                        binding_kind=binding.kind,
                    )
        denial = self._denials.get(request.namespace)
        if denial is None:  # one per scope: most answers of a matrix are denials
            where = f"in namespace {request.namespace}" if request.namespace else "at cluster scope"
            denial = Decision(False, f"denied: no RoleBinding or ClusterRoleBinding for this subject grants it {where}")
            self._denials[request.namespace] = denial
        return denial

    def bindings_for(self, subject: Subject) -> list[Binding]:
        return [b for b in self.bindings if b.applies_to(subject)]


def _aggregate(raw: Mapping[str, Mapping[str, Any]]) -> dict[str, list[RoleRule]]:
    """Each ClusterRole's effective rules; aggregated ones get the union of the rules of those they select."""
    effective: dict[str, list[RoleRule]] = {}
    for name, obj in raw.items():
        effective[name] = [RoleRule(PolicyRule.parse(r), i, "") for i, r in enumerate(obj.get("rules") or [])]
    aggregated = {name: obj for name, obj in raw.items() if obj.get("aggregationRule")}
    # Nested aggregation converges within as many rounds as there are aggregated roles.
    for _ in range(len(aggregated) + 1):
        changed = False
        for name, obj in sorted(aggregated.items()):
            selectors: Sequence[Mapping[str, Any]] = obj["aggregationRule"].get("clusterRoleSelectors") or []
            rules: list[RoleRule] = []
            seen: set[PolicyRule] = set()
            for selector in selectors:
                for other_name in sorted(raw):
                    if other_name == name:
                        continue
                    labels = (raw[other_name].get("metadata") or {}).get("labels") or {}
                    if not matches(selector, labels):
                        continue
                    for item in effective[other_name]:
                        if item.rule in seen:
                            continue
                        seen.add(item.rule)
                        rules.append(RoleRule(item.rule, len(rules), item.origin or other_name))
            if rules != effective[name]:
                effective[name] = rules
                changed = True
        if not changed:
            break
    return effective
