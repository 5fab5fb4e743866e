"""`verify network` through the real kubernetes adapter and the HTTP fake API server: the probe pods and the
scratch namespace go out as server-side applies and come back deleted, every source pod gets one websocket exec per
round carrying its whole batch, and the execs of several sources run at once without mixing up."""

from __future__ import annotations

import threading

import pytest

from mlopsctl import constants as c
from mlopsctl.adapters.kube import connect
from mlopsctl.services.verify_network import verify_network
from tests.integration.adapters.fake_apiserver import RESOURCES, FakeApiServer
from tests.unit.services.verify_cluster import RUN, TENANTS, ScriptedNetwork, cluster, kubelet

pytestmark = pytest.mark.integration

SERVED = {(f"{group}/{version}" if group else version, kind) for (group, version), rows in RESOURCES.items()
          for _, kind, _ in rows}  # fmt: skip


@pytest.fixture
def server():
    fake = FakeApiServer(kubelet=kubelet(TENANTS)).start()
    for obj in cluster().objects.values():
        if (obj["apiVersion"], obj["kind"]) in SERVED:
            fake.add(obj)
    yield fake
    fake.stop()


@pytest.fixture
def api(server, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(server.kubeconfig())
    return connect(context="fake", kubeconfig=str(path), request_timeout=10)


def test_live_network_over_http(server, api):
    network = ScriptedNetwork()
    server.exec_handler = lambda pod_path, command: _answer(network, pod_path, command)

    report = verify_network(api, run_id=RUN, parallel=4, sleep=lambda s: None)

    assert report.passed, [(ch.name, ch.observed, ch.detail) for ch in report.checks if not ch.passed]
    applies = [r for r in server.requests if r.method == "PATCH"]
    assert [r.path for r in applies] == [
        f"/api/v1/namespaces/verify-outsider-{RUN}",
        f"/api/v1/namespaces/tenant-a/pods/verify-later-pod-{RUN}",
        f"/api/v1/namespaces/tenant-b/pods/verify-later-pod-{RUN}",
        f"/api/v1/namespaces/verify-outsider-{RUN}/pods/verify-outsider-{RUN}",
    ]
    assert all(r.headers["Content-Type"] == "application/apply-patch+yaml" for r in applies)
    execs = [r for r in server.requests if r.path.endswith("/exec")]
    assert len(execs) == len(network.execs) == 6  # one per source pod: no retries on an enforcing network
    assert sum(count for _, count in network.execs) == report.probing["probes"]
    deletes = [r.path for r in server.requests if r.method == "DELETE"]
    assert deletes == [
        f"/api/v1/namespaces/tenant-a/pods/verify-later-pod-{RUN}",
        f"/api/v1/namespaces/tenant-b/pods/verify-later-pod-{RUN}",
        f"/api/v1/namespaces/verify-outsider-{RUN}",
    ]
    assert not [path for path in server.objects if RUN in path]


def test_several_sources_exec_at_once_and_each_gets_its_own_answers(server, api):
    """The first three execs wait for each other (they run at once or the barrier breaks); every answer is taken
    from the table by the pod the exec reached, so a batch sent to the wrong pod, or as a plain GET, would fail."""
    network = ScriptedNetwork()
    gate = threading.Barrier(3, timeout=20)
    arrivals: list[str] = []
    met: list[bool] = []

    def answer(pod_path, command):
        arrivals.append(pod_path)
        if len(arrivals) <= 3:
            try:
                gate.wait()
                met.append(True)
            except threading.BrokenBarrierError:
                met.append(False)
        return _answer(network, pod_path, command)

    server.exec_handler = answer
    report = verify_network(api, run_id=RUN, parallel=3, sleep=lambda s: None)
    assert report.passed, [(ch.name, ch.observed, ch.detail) for ch in report.checks if not ch.passed]
    assert met == [True, True, True]


def _answer(network: ScriptedNetwork, pod_path: str, command: list[str]) -> tuple[str, str, int]:
    parts = pod_path.strip("/").split("/")  # api v1 namespaces NS pods NAME
    result = network(parts[3], parts[5], command)
    return result.stdout, result.stderr, result.returncode


def test_probe_pods_carry_the_run_label(server, api):
    network = ScriptedNetwork()
    server.exec_handler = lambda pod_path, command: _answer(network, pod_path, command)
    verify_network(api, run_id=RUN, sleep=lambda s: None)
    pods = [r.body for r in server.requests if r.method == "PATCH" and r.body["kind"] == "Pod"]
    assert {pod["metadata"]["labels"][c.VERIFY_RUN_LABEL] for pod in pods} == {RUN}
    namespace = next(r.body for r in server.requests if r.method == "PATCH" and r.body["kind"] == "Namespace")
    assert namespace["metadata"]["labels"] == {c.VERIFY_RUN_LABEL: RUN}
