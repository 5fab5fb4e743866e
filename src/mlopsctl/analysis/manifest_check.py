"""What makes a manifest unusable for verification, found before any verdict: a verdict over objects the
evaluators misread, or over objects they silently skip, would be a false pass.

Each object must be a Kubernetes object of a kind the evaluators know (or know to be irrelevant to isolation),
appear once, and parse as the API server would accept it (NetworkPolicies, RBAC objects, workloads).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlopsctl.analysis.inventory import peer_from_object
from mlopsctl.analysis.netpol import PolicyError, parse_policy
from mlopsctl.analysis.rbac import PolicyRule
from mlopsctl.analysis.selectors import problems

# Kinds by API group ("" is the core group): the ones the evaluators read, and ones that cannot open a path or
# grant a permission by themselves. Anything else (a CNI's own policy kinds, an unknown CRD) is refused.
KNOWN_KINDS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "Namespace", "ServiceAccount", "Service", "Pod", "ConfigMap", "Secret", "ResourceQuota", "LimitRange",
            "PersistentVolumeClaim", "PersistentVolume", "ReplicationController", "Endpoints", "Event",
        }
    ),
    "apps": frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"}),
    "batch": frozenset({"Job", "CronJob"}),
    "networking.k8s.io": frozenset({"NetworkPolicy", "Ingress", "IngressClass"}),
    "rbac.authorization.k8s.io": frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}),
    "policy": frozenset({"PodDisruptionBudget"}),
    "autoscaling": frozenset({"HorizontalPodAutoscaler"}),
    "discovery.k8s.io": frozenset({"EndpointSlice"}),
    "storage.k8s.io": frozenset({"StorageClass"}),
    "scheduling.k8s.io": frozenset({"PriorityClass"}),
    "coordination.k8s.io": frozenset({"Lease"}),
    "monitoring.coreos.com": frozenset({"ServiceMonitor", "PodMonitor", "PrometheusRule"}),
}  # fmt: skip
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "IngressClass",
        "StorageClass",
        "PriorityClass",
    }
)
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")


class ManifestProblem(ValueError):
    """An object verification cannot use; the message names the object."""


def api_group(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "")
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def object_name(obj: Mapping[str, Any]) -> str:
    """`Kind namespace/name` (or `Kind name`), for messages."""
    raw = obj.get("metadata")
    meta: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    name = meta.get("name") or "<no name>"
    namespace = meta.get("namespace")
    return f"{obj.get('kind') or '<no kind>'} {namespace}/{name}" if namespace else f"{obj.get('kind')} {name}"


def identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """What makes an object unique in a cluster: group, kind, namespace (defaulted) and name."""
    kind = str(obj.get("kind"))
    meta = obj.get("metadata") or {}
    namespace = "" if kind in CLUSTER_SCOPED_KINDS else str(meta.get("namespace") or "default")
    return api_group(obj), kind, namespace, str(meta.get("name"))


def check_object(obj: Any) -> None:
    """Raise ManifestProblem when verification cannot use `obj` as the API server would read it."""
    if not isinstance(obj, Mapping):
        raise ManifestProblem("a document is not a Kubernetes object (a mapping with apiVersion and kind)")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if not kind or not api_version:
        raise ManifestProblem(f"{object_name(obj)}: an object needs both apiVersion and kind")
    if kind not in KNOWN_KINDS.get(api_group(obj), frozenset()):
        raise ManifestProblem(
            f"{object_name(obj)}: unknown kind {kind} in apiVersion {api_version}: verification cannot tell what "
            "it does to isolation"
        )
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise ManifestProblem(f"{object_name(obj)}: metadata.name is missing")
    for key in ("labels", "annotations"):
        if not isinstance(meta.get(key) or {}, Mapping):
            raise ManifestProblem(f"{object_name(obj)}: metadata.{key} must be a mapping")
    try:
        _check_kind(obj)
    except ManifestProblem:
        raise
    except PolicyError as exc:
        raise ManifestProblem(str(exc)) from exc  # it names the policy already
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ManifestProblem(f"{object_name(obj)}: cannot be read: {exc}") from exc


def _check_kind(obj: Mapping[str, Any]) -> None:
    kind = obj["kind"]
    if kind == "NetworkPolicy":
        parse_policy(obj)
    elif kind in ("Role", "ClusterRole"):
        for index, rule in enumerate(obj.get("rules") or []):
            if not isinstance(rule, Mapping) or not rule.get("verbs"):
                raise ManifestProblem(f"{object_name(obj)}: rule {index} needs verbs")
            PolicyRule.parse(rule)
        for index, selector in enumerate((obj.get("aggregationRule") or {}).get("clusterRoleSelectors") or []):
            for problem in problems(selector):
                raise ManifestProblem(f"{object_name(obj)}: aggregationRule selector {index}: {problem}")
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        ref = obj.get("roleRef")
        if not isinstance(ref, Mapping) or not ref.get("name") or ref.get("kind") not in ("Role", "ClusterRole"):
            raise ManifestProblem(f"{object_name(obj)}: roleRef needs kind Role or ClusterRole and a name")
        for index, subject in enumerate(obj.get("subjects") or []):
            if not isinstance(subject, Mapping) or subject.get("kind") not in SUBJECT_KINDS or not subject.get("name"):
                raise ManifestProblem(
                    f"{object_name(obj)}: subject {index} needs a name and kind User, Group or ServiceAccount"
                )
    else:
        peer_from_object(obj)
