"""A two-tenant cluster in the fake API for the live verify services, and a scripted network for its exec probes.

The network is a table of connections that succeed (what an enforcing CNI lets through), written out by hand so
the services are tested against facts, not against the evaluator they use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mlopsctl import constants as c
from mlopsctl.adapters.base import ExecResult
from mlopsctl.adapters.fakes import FakeKubeApi
from mlopsctl.manifests.tenant import TenantSpec, render_tenant

TENANTS = ("tenant-a", "tenant-b")
POD_IP = {"tenant-a": "10.244.1.10", "tenant-b": "10.244.2.10"}
SERVICE_IP = {"tenant-a": "10.96.10.1", "tenant-b": "10.96.10.2"}
DNS_SERVICE_IP, DNS_POD_IP = "10.96.0.10", "10.244.0.5"
APISERVER_SERVICE_IP, APISERVER_IP = "10.96.0.1", "172.18.0.3"
STORE_SERVICE_IP, STORE_POD_IP = "10.96.20.1", "10.244.3.7"
PROMETHEUS_IP = "10.244.4.9"


def _pod(namespace, name, ip, labels, ports, containers=("main",)):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
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


def cluster() -> FakeKubeApi:
    api = FakeKubeApi()
    for namespace in ("default", "kube-system", c.MONITORING_NAMESPACE, c.STORAGE_NAMESPACE):
        api.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {}}})
    for tenant in TENANTS:
        for obj in render_tenant(TenantSpec.create(tenant)):
            if obj["kind"] == "Service":
                obj["spec"]["clusterIP"] = SERVICE_IP[tenant]
            api.add(obj)
        labels = {c.NAME_LABEL: c.APP_NAME, c.INSTANCE_LABEL: tenant, c.TENANT_LABEL: tenant}
        ports = [{"name": c.CONTAINER_PORT_NAME, "containerPort": c.CONTAINER_PORT, "protocol": "TCP"}]
        api.add(_pod(tenant, f"inference-{tenant[-1]}1", POD_IP[tenant], labels, ports, (c.APP_NAME,)))
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
    for name in ("tenant-a", "tenant-b"):
        # The tenant namespace object carries the tenant label (rendered); make sure it is there.
        ns = api.objects[api.key("v1", "Namespace", name, None)]
        assert c.TENANT_LABEL in ns["metadata"]["labels"]
    return api


def enforced_connections() -> set[tuple[str, str, int, str]]:
    """What an enforcing CNI lets through for the cluster above: (source pod, host, port, protocol)."""
    allowed = set()
    for tenant in TENANTS:
        source = f"{tenant}/inference-{tenant[-1]}1"
        allowed |= {
            (source, SERVICE_IP[tenant], c.SERVICE_PORT, "TCP"),
            (source, DNS_SERVICE_IP, 53, "UDP"),
            (source, DNS_SERVICE_IP, 53, "TCP"),
            (source, STORE_SERVICE_IP, c.STORAGE_S3_PORT, "TCP"),
            (source, STORE_POD_IP, c.STORAGE_S3_PORT, "TCP"),
            (f"{c.MONITORING_NAMESPACE}/prometheus-0", POD_IP[tenant], c.CONTAINER_PORT, "TCP"),
        }
    return allowed


@dataclass
class ScriptedNetwork:
    """Answers exec probes from the table; `leaky` lets everything through, `lag` lets the first N tries of a
    denied connection through (enforcement that lags pod start)."""

    allowed: set[tuple[str, str, int, str]] = field(default_factory=enforced_connections)
    leaky: bool = False
    lag: int = 0
    broken: set[tuple[str, str, int, str]] = field(default_factory=set)
    seen: dict[tuple[str, str, int, str], int] = field(default_factory=dict)

    def __call__(self, namespace: str, pod: str, command: Sequence[str]) -> ExecResult:
        if command[0] == "wget":
            url = command[-1]
            host, port = url.removeprefix("http://").split("/")[0].rsplit(":", 1)
            key = (f"{namespace}/{pod}", host, int(port), "TCP")
        else:
            assert command[0] == c.INFERENCE_COMMAND[0] and command[1] == "-c"
            key = (f"{namespace}/{pod}", command[3], int(command[4]), command[5])
        self.seen[key] = self.seen.get(key, 0) + 1
        if key in self.broken:
            return ExecResult("timeout\n", "", 1)
        if self.leaky or key in self.allowed or self.seen[key] <= self.lag:
            return ExecResult("connected\n", "", 0)
        return ExecResult("timeout\n", "", 1)
