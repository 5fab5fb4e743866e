"""What a tenant is on the cluster: its kinds, the label selectors, and the results of each use case."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeObject
from mlopsctl.errors import Interrupted

DRY_RUN_MODES = ("client", "server")
DEFAULT_ROLLOUT_TIMEOUT = 300.0

# The kinds a tenant is made of (besides its Namespace): what pruning, status and listing look at.
TENANT_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "ResourceQuota"),
    ("v1", "LimitRange"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
)


def tenant_selector(name: str) -> str:
    return f"{c.MANAGED_BY_LABEL}={c.MANAGED_BY},{c.TENANT_LABEL}={name}"


def object_set_selector(name: str) -> str:
    """The tenant's own object set: what `tenant add` applied, and the only thing it ever prunes."""
    return f"{tenant_selector(name)},{c.OBJECT_SET_LABEL}={c.TENANT_OBJECT_SET}"


def stamp(objects: list[KubeObject]) -> list[KubeObject]:
    """Copies of the rendered objects carrying the object-set label that pruning selects by."""
    stamped = json.loads(json.dumps(objects))
    for obj in stamped:
        obj.setdefault("metadata", {}).setdefault("labels", {})[c.OBJECT_SET_LABEL] = c.TENANT_OBJECT_SET
    return stamped


def is_managed(obj: KubeObject | None) -> bool:
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(c.MANAGED_BY_LABEL) == c.MANAGED_BY


def describe(obj: KubeObject) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj['kind']}/{meta.get('name', '')}"


@dataclass(frozen=True)
class ObjectChange:
    kind: str
    name: str
    namespace: str | None
    action: str  # applied, would apply, skipped, pruned, would prune, unchanged


@dataclass
class TenantApplyResult:
    tenant: str
    namespace: str
    dry_run: str | None
    objects: list[ObjectChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diff: str | None = None
    ready_replicas: int | None = None
    service_url: str = ""
    next_commands: list[str] = field(default_factory=list)
    # What an existing tenant's recorded spec changes into ("max_replicas: 10 -> 4"); [] for a new tenant.
    spec_changes: list[str] = field(default_factory=list)


@dataclass
class TenantRemoveResult:
    tenant: str
    removed: bool
    note: str
    store_access_revoked: bool = False


@dataclass
class TenantRow:
    name: str
    ready: int
    replicas: int
    hpa_current: int | None
    hpa_min: int | None
    hpa_max: int | None
    model_version: str
    age: str
    created: str


@dataclass
class TenantList:
    tenants: list[TenantRow]


@dataclass
class PodRow:
    name: str
    phase: str
    ready: str
    restarts: int
    node: str


@dataclass
class TenantStatus:
    tenant: TenantRow
    objects: list[ObjectChange]
    pods: list[PodRow]
    conditions: list[str]
    service_url: str
    # Why pods do not run, in the kubelet's and the scheduler's words (analysis/workload.py).
    problems: list[str] = field(default_factory=list)


# -- Ctrl-C ----------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def interruptible(done: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C inside becomes Interrupted (exit 130) whose message says what was already done."""
    try:
        yield
    except KeyboardInterrupt as exc:
        raise Interrupted(f"interrupted: {done()}", hint="re-run the same command; it converges") from exc
