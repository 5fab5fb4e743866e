"""In-memory fakes of the adapters, shipped with the package so services (and users' own code) can be
tested without a cluster, as client-go's fake clientset is."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl.adapters.base import AccessReview, ClusterEndpoint, Condition, ExecResult, IssuedToken, KubeObject
from mlopsctl.adapters.runner import CommandResult
from mlopsctl.constants import NAMESPACE_NAME_LABEL
from mlopsctl.errors import Forbidden, NotFound

_CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "APIService",
    "StorageClass",
    "PersistentVolume",
    "PriorityClass",
}


def is_cluster_scoped(kind: str) -> bool:
    return kind in _CLUSTER_SCOPED


def _matches_selector(labels: dict[str, str], selector: str | None) -> bool:
    """Equality-based selectors (`a=b,c!=d,e`), as `kubectl -l` takes them."""
    if not selector:
        return True
    for term in selector.split(","):
        term = term.strip()
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.strip().rstrip("=")) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


@dataclass
class FakeKubeApi:
    """A dict-backed API server: apply merges by replacement, and every call is recorded for assertions."""

    version: str = "v1.31.0"
    objects: dict[tuple[str, str, str | None, str], KubeObject] = field(default_factory=dict)
    served_kinds: set[tuple[str, str]] | None = None  # None: every kind is served
    calls: list[tuple[str, Any]] = field(default_factory=list)
    exec_handler: Callable[[str, str, Sequence[str]], ExecResult] | None = None
    access_handler: Callable[[AccessReview], bool] | None = None
    logs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # Service proxy: (namespace, service, port, path, params) -> body; None answers NotFound.
    proxy_handler: Callable[[str, str, int | str, str, Mapping[str, str]], str] | None = None
    # TokenRequest: (namespace, account, seconds) -> token; None answers NotFound (a cluster that cannot issue).
    token_handler: Callable[[str, str, int], IssuedToken] | None = None
    cluster_endpoint: ClusterEndpoint = field(
        default_factory=lambda: ClusterEndpoint("https://127.0.0.1:6443", "Y2EtZGF0YQ==")
    )
    # Failure injection: raise this error on the Nth apply (1-based), once.
    fail_apply_at: int | None = None
    fail_apply_with: Exception | None = None
    applies: int = 0
    # Plays the kubelet for applied Pods: their `status` (for example Running with a podIP). Without it a new Pod
    # stays Pending, as on a real server that has not scheduled it yet.
    kubelet: Callable[[KubeObject], dict[str, Any]] | None = None
    # Plays the cluster's controllers (off: objects stay exactly as applied): an applied Deployment rolls out at
    # once, or with `rollout_failure` gives up as the Deployment controller does (ProgressDeadlineExceeded, with
    # that message); an APIService becomes Available; a new Job gets its Pod (status from `kubelet`, else Pending).
    controllers: bool = False
    rollout_failure: str | None = None

    @staticmethod
    def key(api_version: str, kind: str, name: str, namespace: str | None) -> tuple[str, str, str | None, str]:
        return (api_version, kind, None if is_cluster_scoped(kind) else namespace, name)

    def server_version(self) -> str:
        return self.version

    def has_kind(self, api_version: str, kind: str) -> bool:
        return self.served_kinds is None or (api_version, kind) in self.served_kinds

    def add(self, obj: KubeObject) -> KubeObject:
        meta = obj.setdefault("metadata", {})
        self.objects[self.key(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))] = obj
        return obj

    def apply(self, obj: KubeObject, *, force: bool = False, dry_run: bool = False) -> KubeObject:
        self.applies += 1
        self.calls.append(("apply", (obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])))
        if self.fail_apply_at is not None and self.applies == self.fail_apply_at and self.fail_apply_with:
            error, self.fail_apply_with = self.fail_apply_with, None
            raise error
        if not self.has_kind(obj["apiVersion"], obj["kind"]):
            raise NotFound(f"the server does not serve {obj['apiVersion']} {obj['kind']}")
        self._refuse_in_terminating_namespace(obj)
        obj = copy.deepcopy(obj)
        if obj["kind"] == "Namespace":  # the API server sets this label on every namespace
            obj["metadata"].setdefault("labels", {})[NAMESPACE_NAME_LABEL] = obj["metadata"]["name"]
        if obj["kind"] == "Pod" and obj["apiVersion"] == "v1":
            exists = self.key("v1", "Pod", obj["metadata"]["name"], obj["metadata"].get("namespace")) in self.objects
            if not exists:
                obj["status"] = self.kubelet(obj) if self.kubelet is not None else {"phase": "Pending"}
        if dry_run:
            return obj
        created = self.key(obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace"))
        previous = self.objects.get(created)
        stored = self.add(obj)
        if self.controllers:
            self._control(stored, previous)
        return copy.deepcopy(stored)

    def _control(self, obj: KubeObject, previous: KubeObject | None) -> None:
        kind, meta = obj["kind"], obj["metadata"]
        if kind == "Deployment":
            # As the API server counts: a new object is generation 1, a changed spec the next one.
            generation = ((previous or {}).get("metadata") or {}).get("generation", 0)
            changed = previous is None or previous.get("spec") != obj.get("spec")
            meta["generation"] = generation + 1 if changed else generation
            replicas = (obj.get("spec") or {}).get("replicas", 1)
            status: dict[str, Any] = {"observedGeneration": meta["generation"], "replicas": replicas}
            if self.rollout_failure:
                status["conditions"] = [
                    {
                        "type": "Progressing",
                        "status": "False",
                        "reason": "ProgressDeadlineExceeded",
                        "message": self.rollout_failure,
                    }
                ]
            else:
                status.update(updatedReplicas=replicas, readyReplicas=replicas, availableReplicas=replicas)
            obj["status"] = status
        elif kind == "APIService":
            obj["status"] = {"conditions": [{"type": "Available", "status": "True"}]}
        elif kind == "Job" and previous is None:
            template = (obj.get("spec") or {}).get("template") or {}
            job = meta["name"]
            labels = {**((template.get("metadata") or {}).get("labels") or {}), "job-name": job}
            labels["batch.kubernetes.io/job-name"] = job
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{job}-pod0",
                    "namespace": meta.get("namespace"),
                    "labels": labels,
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job}],
                },
                "spec": copy.deepcopy(template.get("spec") or {}),
            }
            pod["status"] = self.kubelet(pod) if self.kubelet is not None else {"phase": "Pending"}
            self.add(pod)

    def _refuse_in_terminating_namespace(self, obj: KubeObject) -> None:
        """As the API server does: a namespace being deleted takes no new content (403, not 409)."""
        namespace = obj["metadata"].get("namespace")
        if is_cluster_scoped(obj["kind"]) or not namespace:
            return
        holder = self.objects.get(self.key("v1", "Namespace", namespace, None)) or {}
        if (holder.get("status") or {}).get("phase") == "Terminating":
            raise Forbidden(
                f"applying {obj['kind']} {namespace}/{obj['metadata']['name']}: forbidden: unable to create new "
                f"content in namespace {namespace} because it is being terminated",
                hint="ask a cluster admin for this permission, or use --context",
            )

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> KubeObject | None:
        self.calls.append(("get", (kind, namespace, name)))
        found = self.objects.get(self.key(api_version, kind, name, namespace))
        return copy.deepcopy(found) if found is not None else None

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject]:
        self.calls.append(("list", (kind, namespace, label_selector)))
        found = []
        for (version, obj_kind, obj_ns, _), obj in sorted(self.objects.items(), key=lambda item: str(item[0])):
            if version != api_version or obj_kind != kind:
                continue
            if namespace is not None and obj_ns != namespace:
                continue
            if _matches_selector(obj["metadata"].get("labels") or {}, label_selector):
                found.append(copy.deepcopy(obj))
        return found

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        self.calls.append(("delete", (kind, namespace, name)))
        removed = self.objects.pop(self.key(api_version, kind, name, namespace), None) is not None
        if removed and kind == "Namespace":
            for object_key in [k for k in self.objects if k[2] == name]:
                del self.objects[object_key]
        return removed

    def wait_for(
        self, api_version: str, kind: str, name: str, namespace: str | None, condition: Condition, timeout: float
    ) -> KubeObject | None:
        self.calls.append(("wait_for", (kind, namespace, name)))
        current = self.get(api_version, kind, name, namespace)
        if not condition(current):
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {kind} {name}")
        return current

    def exec(
        self, namespace: str, pod: str, command: Sequence[str], container: str | None = None, timeout: float = 30
    ) -> ExecResult:
        self.calls.append(("exec", (namespace, pod, tuple(command))))
        if self.exec_handler is None:
            return ExecResult("", "exec is not configured in this fake", 1)
        return self.exec_handler(namespace, pod, command)

    def access_review(self, review: AccessReview) -> bool:
        self.calls.append(("access_review", review))
        return bool(self.access_handler and self.access_handler(review))

    def request_token(self, namespace: str, service_account: str, seconds: int) -> IssuedToken:
        self.calls.append(("request_token", (namespace, service_account, seconds)))
        if self.token_handler is None:
            raise NotFound("the server could not find the requested resource (serviceaccounts/token)")
        return self.token_handler(namespace, service_account, seconds)

    def endpoint(self) -> ClusterEndpoint:
        return self.cluster_endpoint

    def pod_logs(self, namespace: str, pod: str, container: str | None = None, follow: bool = False) -> Iterator[str]:
        yield from self.logs.get((namespace, pod), [])

    def service_proxy_get(
        self,
        namespace: str,
        service: str,
        port: int | str,
        path: str,
        params: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> str:
        self.calls.append(("service_proxy_get", (namespace, service, port, path)))
        if self.proxy_handler is None:
            raise NotFound(f'services "{service}" not found in namespace {namespace}')
        return self.proxy_handler(namespace, service, port, path, dict(params or {}))


# A scripted answer: a fixed result, or a function of the argv.
Answer = CommandResult | Callable[[Sequence[str]], CommandResult]


@dataclass
class FakeRunner:
    """A Runner (adapters/runner.py) that answers by argv prefix, the longest that matches, and records every
    argv with its stdin; unscripted commands succeed with no output."""

    answers: Mapping[tuple[str, ...], Answer] = field(default_factory=dict)
    programs: Collection[str] | None = None  # the programs `which` finds; None: every program
    calls: list[tuple[tuple[str, ...], str | None]] = field(default_factory=list)

    def which(self, program: str) -> str | None:
        return f"/usr/bin/{program}" if self.programs is None or program in self.programs else None

    def run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        argv = tuple(argv)
        self.calls.append((argv, input))
        for prefix, answer in sorted(self.answers.items(), key=lambda item: -len(item[0])):
            if argv[: len(prefix)] == prefix:
                if callable(answer):
                    return answer(argv)
                return CommandResult(argv, answer.returncode, answer.stdout, answer.stderr)
        return CommandResult(argv, 0, "", "")

    @property
    def argvs(self) -> list[list[str]]:
        return [list(argv) for argv, _stdin in self.calls]
