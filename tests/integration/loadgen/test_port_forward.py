"""`--port-forward` mode: the kubectl process is started with the right argv, the load goes through its local
port, it is ended afterwards. A stand-in for kubectl (a real server on the port kubectl would have opened)
keeps this runnable without a cluster."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlopsctl.services.loadtest import PORT_FORWARD_NOTE, LoadOptions, run_port_forward
from tests.unit.services.loadtest_cluster import FakeCluster

from .conftest import SERVERS

pytestmark = pytest.mark.integration


class KubectlStandIn:
    def __init__(self) -> None:
        self.argv: list[str] = []
        self.process: subprocess.Popen | None = None

    def spawn(self, argv):
        self.argv = list(argv)
        local_port = argv[-1].split(":")[0]
        self.process = subprocess.Popen([sys.executable, str(SERVERS), "fast", local_port], stderr=subprocess.PIPE)
        return self.process


def test_port_forward_lifecycle(server):
    api = FakeCluster()
    kubectl = KubectlStandIn()
    result = run_port_forward(
        api, kubectl, "tenant-a", LoadOptions(rate=50, duration=2.0), context="kind-mlopsctl", kubeconfig="/k/config"
    )
    assert kubectl.argv[:5] == ["kubectl", "--kubeconfig", "/k/config", "--context", "kind-mlopsctl"]
    assert kubectl.argv[5:11] == [
        "--namespace",
        "tenant-a",
        "port-forward",
        "--address",
        "127.0.0.1",
        "service/inference",
    ]
    assert kubectl.argv[-1].endswith(":80")
    assert kubectl.process.poll() is not None  # ended when the load ended
    assert result.mode == "port-forward" and PORT_FORWARD_NOTE in result.notes
    assert result.report["requests"]["ok"] == 100
    assert result.hpa and result.hpa[-1].current_replicas == 2
