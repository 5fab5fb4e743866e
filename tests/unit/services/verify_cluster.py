"""A cluster of tenants (two by default) in the fake API for the live verify services, and a scripted network
for its exec probes.

The network is a table of connections that succeed (what an enforcing CNI lets through), written out by hand so
the services are tested against facts, not against the evaluator they use."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.adapters.base import ExecResult
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.analysis.builtin_rbac import bootstrap_policy
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

TENANTS = ("tenant-a", "tenant-b")


def _subnet(index: int) -> int:
    """The third octet of tenant number `index`'s pod addresses (1 and 2 for tenant-a and tenant-b)."""
    return index + 1 if index < 2 else 100 + index


def pod_ip(index: int, replica: int = 0) -> str:
    return f"10.244.{_subnet(index)}.{10 + replica}"


def later_pod_ip(index: int) -> str:
    return f"10.244.{_subnet(index)}.250"


def service_ip(index: int) -> str:
    return f"10.96.{10 + index // 200}.{index % 200 + 1}"


def pod_name(tenant: str, replica: int = 0) -> str:
    return f"inference-{tenant[-1]}{replica + 1}"


POD_IP = {tenant: pod_ip(i) for i, tenant in enumerate(TENANTS)}
SERVICE_IP = {tenant: service_ip(i) for i, tenant in enumerate(TENANTS)}
DNS_SERVICE_IP, DNS_POD_IP = "10.96.0.10", "10.244.0.5"
APISERVER_SERVICE_IP, APISERVER_IP = "10.96.0.1", "172.18.0.3"
STORE_SERVICE_IP, STORE_POD_IP = "10.96.20.1", "10.244.3.7"
PROMETHEUS_IP = "10.244.4.9"
# The run's probe pods (run id RUN): a later pod in each tenant, an outsider in its scratch namespace.
RUN = "r1"
LATER_POD = {tenant: f"{tenant}/verify-later-pod-{RUN}" for tenant in TENANTS}
LATER_POD_IP = {tenant: later_pod_ip(i) for i, tenant in enumerate(TENANTS)}
OUTSIDER = f"verify-outsider-{RUN}/verify-outsider-{RUN}"
OUTSIDER_IP = "10.244.5.5"


def kubelet(tenants: Sequence[str]):
    """Starts the probe pods at once: the outsider at OUTSIDER_IP, a tenant's later pod at its later_pod_ip."""
    index = {tenant: i for i, tenant in enumerate(tenants)}

    def start(pod) -> dict:
        namespace = pod["metadata"]["namespace"]
        ip = OUTSIDER_IP if namespace.startswith("verify-outsider-") else later_pod_ip(index[namespace])
        return {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]}

    return start


def canonical(namespace: str, pod: str) -> str:
    """A source pod as the table names it: probe pods of any run as those of run RUN."""
    source = f"{namespace}/{pod}"
    return re.sub(r"verify-(outsider|later-pod)-[0-9a-z]+", rf"verify-\1-{RUN}", source)


def _pod(namespace, name, ip, labels, ports, containers=("main",)):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"containers": [{"name": ctr, "ports": ports if i == 0 else []} for i, ctr in enumerate(containers)]},
        "status": {"phase": "Running", "podIP": ip, "conditions": [{"type": "Ready", "status": "True"}]},
    }


def _service(namespace, name, ip, selector, ports):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"clusterIP": ip, "selector": selector, "ports": ports},
    }


def cluster(tenants: Sequence[str] = TENANTS, replicas: int = 1) -> FakeKubeApi:
    api = FakeKubeApi(kubelet=kubelet(tenants))
    for namespace in ("default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE):
        api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {}}})
    for index, tenant in enumerate(tenants):
        for obj in render_tenant(TenantSpec.create(tenant)):
            if obj["kind"] == "Service":
                obj["spec"]["clusterIP"] = service_ip(index)
            api.add(obj)
        labels = {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: tenant, c.TENANT_LABEL: tenant,
                  "pod-template-hash": "5d9c7b"}  # fmt: skip
        ports = [{"name": c.CONTAINER_PORT_NAME, "containerPort": c.CONTAINER_PORT, "protocol": "TCP"}]
        for replica in range(replicas):
            api.add(_pod(tenant, pod_name(tenant, replica), pod_ip(index, replica), labels, ports, (c.APP_NAME,)))
    dns_ports = [
        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
    ]
    api.add(_pod("kube-system", "coredns-1", DNS_POD_IP, {"k8s-app": "kube-dns"}, dns_ports))
    api.add(
        _service(
            "kube-system",
            "kube-dns",
            DNS_SERVICE_IP,
            {"k8s-app": "kube-dns"},
            [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": "dns-tcp"},
            ],
        )
    )
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "spec": {"clusterIP": APISERVER_SERVICE_IP, "ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
        }
    )
    api.add(
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": APISERVER_IP}], "ports": [{"name": "https", "port": 6443}]}],
        }
    )
    store_ports = [{"name": "s3", "containerPort": c.STORAGE_S3_PORT}, {"name": "master", "containerPort": 9333}]
    api.add(_pod(c.STORAGE_NAMESPACE, "store-1", STORE_POD_IP, {"app": "store"}, store_ports))
    api.add(
        _service(
            c.STORAGE_NAMESPACE,
            "s3",
            STORE_SERVICE_IP,
            {"app": "store"},
            [{"port": c.STORAGE_S3_PORT, "targetPort": "s3"}],
        )
    )
    api.add(
        _pod(
            c.MONITORING_NAMESPACE,
            "prometheus-0",
            PROMETHEUS_IP,
            {c.NAME_LABEL: "prometheus"},
            [{"name": "web", "containerPort": 9090}],
            ("prometheus", "config-reloader"),
        )
    )
    # What every cluster has: the RBAC bootstrap policy, and a `default` service account in each namespace.
    for obj in bootstrap_policy().objects:
        api.add({"apiVersion": "rbac.authorization.k8s.io/v1", **obj})
    for namespace in ("default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE, *tenants):
        api.add({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}})
    for name in tenants:
        # The tenant namespace object carries the tenant label (rendered); make sure it is there.
        ns = api.objects[api.key("v1", "Namespace", name, None)]
        assert c.TENANT_LABEL in ns["metadata"]["labels"]
    return api


def enforced_connections(tenants: Sequence[str] = TENANTS, replicas: int = 1) -> set[tuple[str, str, int, str]]:
    """What an enforcing CNI lets through for cluster(tenants, replicas): (source pod, host, port, protocol)."""
    allowed = set()
    for index, tenant in enumerate(tenants):
        inference = [f"{tenant}/{pod_name(tenant, r)}" for r in range(replicas)]
        for source in (*inference, f"{tenant}/verify-later-pod-{RUN}"):
            allowed |= {
                (source, service_ip(index), c.SERVICE_PORT, "TCP"),
                (source, DNS_SERVICE_IP, 53, "UDP"),
                (source, DNS_SERVICE_IP, 53, "TCP"),
            }
            allowed |= {(source, pod_ip(index, r), c.CONTAINER_PORT, "TCP") for r in range(replicas)}
        for source in inference:
            allowed |= {
                (source, STORE_SERVICE_IP, c.STORAGE_S3_PORT, "TCP"),
                (source, STORE_POD_IP, c.STORAGE_S3_PORT, "TCP"),
            }
        prometheus = f"{c.MONITORING_NAMESPACE}/prometheus-0"
        allowed |= {(prometheus, pod_ip(index, r), c.CONTAINER_PORT, "TCP") for r in range(replicas)}
    allowed |= {(OUTSIDER, DNS_SERVICE_IP, 53, "UDP"), (OUTSIDER, DNS_SERVICE_IP, 53, "TCP")}
    return allowed


def batch_probes(command: Sequence[str]) -> list[tuple[int, str, int, str]]:
    """The probes of one exec: (id, host, port, protocol), read from the python batch's JSON argument or from the
    `wget` batch's ID URL pairs."""
    if command[0] == "sh":
        pairs = command[5:]
        found = []
        for ident, url in zip(pairs[::2], pairs[1::2], strict=True):
            host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
            found.append((int(ident), host, int(port), "TCP"))
        return found
    assert command[0] == c.INFERENCE_COMMAND[0] and command[1] == "-c"
    return [(ident, host, int(port), protocol) for ident, host, port, protocol in json.loads(command[3])]


@dataclass
class ScriptedNetwork:
    """Answers exec probe batches from the table, one JSON line per probe; `leaky` lets everything through, `lag`
    lets the first N tries of a denied connection through (enforcement that lags pod start), `broken` never
    connects, `flaky` loses the first try (a pod whose network is not up yet)."""

    allowed: set[tuple[str, str, int, str]] = field(default_factory=enforced_connections)
    leaky: bool = False
    lag: int = 0
    broken: set[tuple[str, str, int, str]] = field(default_factory=set)
    flaky: set[tuple[str, str, int, str]] = field(default_factory=set)  # the first try gets no answer
    seen: dict[tuple[str, str, int, str], int] = field(default_factory=dict)
    execs: list[tuple[str, int]] = field(default_factory=list)  # (source pod, probes in the batch)

    def __call__(self, namespace: str, pod: str, command: Sequence[str]) -> ExecResult:
        probes = batch_probes(command)
        source = canonical(namespace, pod)
        self.execs.append((source, len(probes)))
        lines = []
        for ident, host, port, protocol in probes:
            key = (source, host, port, protocol)
            self.seen[key] = self.seen.get(key, 0) + 1
            first_try_lost = key in self.flaky and self.seen[key] == 1
            connected = (
                key not in self.broken
                and not first_try_lost
                and (self.leaky or key in self.allowed or self.seen[key] <= self.lag)
            )
            observed = "connected" if connected else "timeout"
            lines.append(json.dumps({"id": ident, "connected": connected, "observed": observed}))
        return ExecResult("\n".join(lines) + "\n", "", 0)


def evaluator_sar(api: FakeKubeApi):
    """SubjectAccessReview answers as plain RBAC gives them over the fake's objects (an API server with RBAC only)."""
    from mlopsctl.analysis.rbac import Request, Subject
    from mlopsctl.services.verify_rbac import read_rbac

    model = read_rbac(api)

    def answer(review) -> bool:
        request = Request(review.verb, review.resource, review.group, review.subresource, review.namespace, review.name)
        return model.authorize(Subject(review.user, review.groups), request).allowed

    return answer
