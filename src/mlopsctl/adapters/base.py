"""The seams between services and the outside world. Services depend on these Protocols only; the real
adapters live beside them (kube.py, kind.py, docker.py, helm.py) and in-memory fakes in fakes.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

KubeObject = dict[str, Any]
# What `wait_for` watches for: a test of the object's current state (None once it is deleted).
Condition = Callable[[KubeObject | None], bool]


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    returncode: int


@dataclass(frozen=True)
class AccessReview:
    """One question for a SubjectAccessReview: may `user` (with `groups`) do `verb` on the resource?"""

    user: str
    groups: tuple[str, ...]
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str | None = None
    name: str = ""


@dataclass(frozen=True)
class IssuedToken:
    """A service account token from the TokenRequest API and when the API server says it expires."""

    token: str
    expires: str  # RFC 3339, as the server wrote it


@dataclass(frozen=True)
class ClusterEndpoint:
    """Where the API server is and how to trust it, as the current kubeconfig context says."""

    server: str
    certificate_authority_data: str | None = None  # base64 PEM, as a kubeconfig carries it
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None


class KubeApi(Protocol):
    """What mlopsctl needs from a Kubernetes API server.

    Objects are plain dicts as the API returns them. Errors are the project's typed errors
    (ClusterUnreachable, Forbidden, NotFound, Conflict), never the client library's.
    """

    def server_version(self) -> str: ...

    def has_kind(self, api_version: str, kind: str) -> bool:
        """Whether the API serves this kind (for example a CRD such as monitoring.coreos.com/v1 ServiceMonitor)."""
        ...

    def apply(self, obj: KubeObject, *, force: bool = False, dry_run: bool = False) -> KubeObject:
        """Server-side apply with field manager `mlopsctl`; a field conflict raises Conflict unless force."""
        ...

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> KubeObject | None: ...

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject]: ...

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object; False when it did not exist."""
        ...

    def wait_for(
        self, api_version: str, kind: str, name: str, namespace: str | None, condition: Condition, timeout: float
    ) -> KubeObject | None:
        """Watch the object until `condition` holds (it also sees None: deleted); TimeoutError otherwise."""
        ...

    def exec(
        self, namespace: str, pod: str, command: Sequence[str], container: str | None = None, timeout: float = 30
    ) -> ExecResult: ...

    def access_review(self, review: AccessReview) -> bool: ...

    def request_token(self, namespace: str, service_account: str, seconds: int) -> IssuedToken:
        """A bound token for the service account from the TokenRequest API (`serviceaccounts/token` create);
        NotFound when the cluster does not serve it or the account is missing, Forbidden when not allowed."""
        ...

    def endpoint(self) -> ClusterEndpoint:
        """The server and CA this client talks to (for writing a kubeconfig that reaches the same cluster)."""
        ...

    def pod_logs(self, namespace: str, pod: str, container: str | None = None, follow: bool = False) -> Iterator[str]:
        """Lines of a pod's log; with follow, until the container ends."""
        ...

    def service_proxy_get(
        self,
        namespace: str,
        service: str,
        port: int | str,
        path: str,
        params: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> str:
        """GET `path` from a Service through the API server's service proxy
        (`/api/v1/namespaces/NS/services/NAME:PORT/proxy/PATH`); the response body as text.
        A missing Service raises NotFound; an error status from the backend raises ClusterError."""
        ...
