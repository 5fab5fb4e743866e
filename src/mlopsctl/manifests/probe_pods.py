"""The probe pods of `verify network` and the scratch namespace of the outsider. Pure: values in, dicts out.

render_probe_pod(ProbePodValues(run="a1b2c3", namespace="tenant-a", role=c.LATER_POD_ROLE, image=...))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlopsctl import constants as c
from mlopsctl.manifests.templating import render_documents

TEMPLATE = "verify/probe-pod.yaml.j2"
# Kubernetes ends a probe pod this long after it starts if the run that owns it could not delete it.
DEFAULT_DEADLINE_SECONDS = 900

# The probe pods' process: accept TCP connections on the probe port until the pod is deleted, so the pod is a
# destination too; an HTTP request gets an empty 200, so a `wget` scrape from Prometheus sees it as reachable.
# Dual stack when the node has IPv6, IPv4 otherwise.
LISTENER_PROGRAM = """
import socket, sys
port = int(sys.argv[1])
try:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
except OSError:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("0.0.0.0", port))
s.listen(128)
while True:
    conn, _ = s.accept()
    try:
        conn.settimeout(0.2)
        conn.recv(1024)
        conn.sendall(b"HTTP/1.0 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n")
    except OSError:
        pass
    conn.close()
""".strip()


@dataclass(frozen=True)
class ProbePodValues:
    run: str
    namespace: str
    role: str  # c.OUTSIDER_ROLE or c.LATER_POD_ROLE
    image: str
    deadline_seconds: int = DEFAULT_DEADLINE_SECONDS

    @property
    def name(self) -> str:
        return f"verify-{self.role}-{self.run}"


def run_selector(run: str) -> str:
    """The label selector of one run's objects."""
    return f"{c.VERIFY_RUN_LABEL}={run}"


def scratch_namespace_name(run: str) -> str:
    return f"verify-outsider-{run}"


def scratch_namespace(run: str) -> dict[str, Any]:
    """The outsider's namespace: only the run label, so no policy selects it for what it is."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": scratch_namespace_name(run), "labels": {c.VERIFY_RUN_LABEL: run}},
    }


def render_probe_pod(values: ProbePodValues) -> dict[str, Any]:
    context = {
        "name": values.name,
        "namespace": values.namespace,
        "labels": {c.VERIFY_RUN_LABEL: values.run, c.VERIFY_PROBE_ROLE_LABEL: values.role},
        "active_deadline_seconds": values.deadline_seconds,
        "uid": c.IMAGE_UID,
        "container": c.PROBE_CONTAINER,
        "image": values.image,
        "command": [c.INFERENCE_COMMAND[0], "-c", LISTENER_PROGRAM, str(c.PROBE_PORT)],
        "port": c.PROBE_PORT,
        "requests": dict(c.PROBE_REQUESTS),
        "limits": dict(c.PROBE_LIMITS),
    }
    [pod] = render_documents(TEMPLATE, context)
    return pod
