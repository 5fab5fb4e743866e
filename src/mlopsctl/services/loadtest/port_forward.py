"""`--port-forward`: `kubectl port-forward` to the tenant's Service, then the load from this machine. It reaches
a single pod (kubectl picks one endpoint), so it is no use for scale-out: the result says so."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from inference.loadgen.spec import SloThreshold
from mlopsctl import constants as c
from mlopsctl.adapters.base import KubeApi
from mlopsctl.errors import ExternalCommandFailed
from mlopsctl.services.loadtest.hpa import HpaWatcher
from mlopsctl.services.loadtest.local import run_local
from mlopsctl.services.loadtest.options import LoadOptions
from mlopsctl.services.loadtest.results import LoadtestResult, Progress
from mlopsctl.services.loadtest.target import find_target

PORT_FORWARD_NOTE = (
    "kubectl port-forward sends every request to ONE pod of the Service: the HPA's new replicas get none of "
    "this load. Run without --port-forward/--url for load spread over all pods."
)


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_forward_argv(namespace: str, local_port: int, context: str | None, kubeconfig: str | None) -> list[str]:
    argv = ["kubectl"]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    if context:
        argv += ["--context", context]
    return [
        *argv,
        "--namespace",
        namespace,
        "port-forward",
        "--address",
        "127.0.0.1",
        f"service/{c.APP_NAME}",
        f"{local_port}:{c.SERVICE_PORT}",
    ]


def _wait_for_listener(process: Any, port: int, timeout: float, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = (process.stderr.read() if process.stderr else "") or "no output"
            raise ExternalCommandFailed(
                f"kubectl port-forward exited with {process.returncode}: {stderr.strip().splitlines()[-1]}",
                hint="are the tenant's pods ready? `mlopsctl tenant status`",
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            sleep(0.1)
    raise ExternalCommandFailed(f"kubectl port-forward did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


def run_port_forward(
    kube: KubeApi,
    spawner: Any,
    tenant: str,
    options: LoadOptions,
    *,
    context: str | None = None,
    kubeconfig: str | None = None,
    on_progress: Callable[[Progress], bool | None] | None = None,
    slo: Sequence[SloThreshold] = (),
    local_port: int | None = None,
    sleep: Callable[[float], None] | None = None,
) -> LoadtestResult:
    """Open `kubectl port-forward` to the tenant's Service and load it from here. It reaches a single pod."""
    target = find_target(kube, tenant)
    port = local_port or free_local_port()
    process = spawner.spawn(port_forward_argv(target.namespace, port, context, kubeconfig))
    try:
        _wait_for_listener(process, port, 20.0, sleep or time.sleep)
        return run_local(
            tenant,
            f"http://127.0.0.1:{port}",
            options,
            on_progress=on_progress,
            slo=slo,
            hpa=HpaWatcher(kube, target.namespace),
            mode="port-forward",
            notes=[PORT_FORWARD_NOTE],
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except Exception:
            process.kill()
