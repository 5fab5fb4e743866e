"""Running a command in a pod over the exec subresource, for the Kubernetes adapter (kube.py)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from mlopsctl.adapters.base import ExecResult
from mlopsctl.adapters.kube_errors import map_errors


def exec_in_pod(
    configuration: Any,
    host: str,
    namespace: str,
    pod: str,
    command: Sequence[str],
    container: str | None = None,
    timeout: float = 30,
) -> ExecResult:
    """Run a command in a pod; a command still running after `timeout` is closed and reported as 124.
    Safe from several threads at once: `stream()` swaps a method of the ApiClient it is given for the duration of
    the call, so each exec gets its own ApiClient (a shared one would send some execs as plain GETs)."""
    from kubernetes import client
    from kubernetes.stream import stream

    own_client = client.ApiClient(configuration)
    core = client.CoreV1Api(own_client)
    kwargs: dict[str, Any] = {
        "command": list(command),
        "stderr": True,
        "stdin": False,
        "stdout": True,
        "tty": False,
    }
    if container:
        kwargs["container"] = container
    with map_errors(f"exec in pod {namespace}/{pod}", host):
        response = stream(core.connect_get_namespaced_pod_exec, pod, namespace, _preload_content=False, **kwargs)
        stdout: list[str] = []
        stderr: list[str] = []
        deadline = time.monotonic() + timeout
        try:
            while response.is_open():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return ExecResult("".join(stdout), "".join(stderr) + f"timed out after {timeout:.0f}s", 124)
                response.update(timeout=min(remaining, 1.0))
                if response.peek_stdout():
                    stdout.append(response.read_stdout())
                if response.peek_stderr():
                    stderr.append(response.read_stderr())
            # Frames that arrived with the close are buffered: collect them too.
            if response.peek_stdout():
                stdout.append(response.read_stdout())
            if response.peek_stderr():
                stderr.append(response.read_stderr())
            try:
                code = response.returncode
            except (TypeError, KeyError, IndexError, ValueError):  # no status on the error channel
                code = 1
        finally:
            response.close()
            own_client.close()
    return ExecResult("".join(stdout), "".join(stderr), int(code if code is not None else 0))
