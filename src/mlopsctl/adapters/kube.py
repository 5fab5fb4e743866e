"""The real KubeApi, on the official `kubernetes` client's DynamicClient.

Everything the client library can raise is translated at the boundary (kube_errors.py) into the typed errors.
Waiting is done with watches from the resourceVersion of a fresh list, never with sleep loops.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlopsctl.adapters.base import AccessReview, ClusterEndpoint, Condition, ExecResult, IssuedToken, KubeObject
from mlopsctl.constants import FIELD_MANAGER
from mlopsctl.errors import ClusterError, NotFound, UsageError

if TYPE_CHECKING:
    from urllib3 import HTTPResponse
from mlopsctl.adapters.kube_errors import (
    CONNECT_HINT,
    conflict_managers,
    load_configuration,
    map_errors,
    translate_api_error,
)

__all__ = [
    "CONNECT_HINT",
    "KubernetesApi",
    "conflict_managers",
    "connect",
    "load_configuration",
    "map_errors",
    "translate_api_error",
]


class KubernetesApi:
    """KubeApi over a real API server. Build it with `connect()`; everything else is lazy."""

    def __init__(self, configuration: Any, *, request_timeout: float = 30.0) -> None:
        self.configuration = configuration
        self.host = str(getattr(configuration, "host", ""))
        self.request_timeout = request_timeout
        self._api_client: Any = None
        self._dynamic: Any = None
        self._resources: dict[tuple[str, str], Any] = {}
        # Discovery is cached per instance (never in a shared /tmp file that outlives a CRD install).
        self._cache_dir = tempfile.mkdtemp(prefix="mlopsctl-discovery-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self._cache_dir, True)

    # -- plumbing ---------------------------------------------------------------------------------------------
    @property
    def api_client(self) -> Any:
        if self._api_client is None:
            from kubernetes import client

            self._api_client = client.ApiClient(self.configuration)
        return self._api_client

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient

            with map_errors("API discovery", self.host):
                self._dynamic = DynamicClient(self.api_client, cache_file=str(Path(self._cache_dir) / "discovery.json"))
        return self._dynamic

    def _resource(self, api_version: str, kind: str) -> Any:
        key = (api_version, kind)
        if key not in self._resources:
            from kubernetes.dynamic.exceptions import ResourceNotFoundError

            try:
                with map_errors(f"looking up {api_version} {kind}", self.host):
                    self._resources[key] = self.dynamic.resources.get(api_version=api_version, kind=kind)
            except ResourceNotFoundError as exc:
                raise NotFound(
                    f"the server does not serve {api_version} {kind}",
                    hint="install the CustomResourceDefinition that provides it first",
                ) from exc
        return self._resources[key]

    @staticmethod
    def _json(response: Any) -> Any:
        data = response.data if hasattr(response, "data") else response
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return json.loads(data) if isinstance(data, str) and data else data

    @staticmethod
    def _describe(kind: str, name: str, namespace: str | None) -> str:
        return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"

    # -- KubeApi ----------------------------------------------------------------------------------------------
    def server_version(self) -> str:
        with map_errors("reading the server version", self.host):
            version = self.dynamic.version
        return str((version.get("kubernetes") or {}).get("gitVersion", "unknown"))

    def has_kind(self, api_version: str, kind: str) -> bool:
        try:
            self._resource(api_version, kind)
        except NotFound:
            return False
        return True

    def apply(self, obj: KubeObject, *, force: bool = False, dry_run: bool = False) -> KubeObject:
        kind = obj["kind"]
        meta = obj.get("metadata") or {}
        resource = self._resource(obj["apiVersion"], kind)
        namespace = meta.get("namespace") if resource.namespaced else None
        what = f"applying {self._describe(kind, meta.get('name', ''), namespace)}"
        with map_errors(what, self.host, apply=True):
            response = self.dynamic.server_side_apply(
                resource,
                body=obj,
                name=meta.get("name"),
                namespace=namespace,
                field_manager=FIELD_MANAGER,
                force_conflicts=True if force else None,
                dry_run="All" if dry_run else None,
                serialize=False,
                _request_timeout=self.request_timeout,
            )
            return self._json(response)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> KubeObject | None:
        resource = self._resource(api_version, kind)
        namespace = namespace if resource.namespaced else None
        from kubernetes.dynamic.exceptions import NotFoundError

        with map_errors(f"reading {self._describe(kind, name, namespace)}", self.host):
            try:
                response = self.dynamic.get(
                    resource, name=name, namespace=namespace, serialize=False, _request_timeout=self.request_timeout
                )
            except NotFoundError:
                return None
        return self._json(response)

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[KubeObject]:
        return self._list(api_version, kind, namespace, label_selector)["items"]

    def _list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> dict[str, Any]:
        resource = self._resource(api_version, kind)
        namespace = namespace if resource.namespaced else None
        where = f" in {namespace}" if namespace else ""
        with map_errors(f"listing {kind}{where}", self.host):
            response = self.dynamic.get(
                resource,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                serialize=False,
                _request_timeout=self.request_timeout,
            )
        data = self._json(response) or {}
        items = data.get("items") or []
        for item in items:  # list items omit their own apiVersion and kind
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        data["items"] = items
        return data

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        resource = self._resource(api_version, kind)
        namespace = namespace if resource.namespaced else None
        from kubernetes.dynamic.exceptions import NotFoundError

        with map_errors(f"deleting {self._describe(kind, name, namespace)}", self.host):
            try:
                self.dynamic.delete(
                    resource,
                    name=name,
                    namespace=namespace,
                    body={"propagationPolicy": "Background"},
                    serialize=False,
                    _request_timeout=self.request_timeout,
                )
            except NotFoundError:
                return False
        return True

    def wait_for(
        self, api_version: str, kind: str, name: str, namespace: str | None, condition: Condition, timeout: float
    ) -> KubeObject | None:
        """List the object, then watch it from that resourceVersion until `condition` holds or time runs out."""
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        resource = self._resource(api_version, kind)
        namespace = namespace if resource.namespaced else None
        what = f"waiting for {self._describe(kind, name, namespace)}"
        deadline = time.monotonic() + timeout
        while True:
            listing = self._list(api_version, kind, namespace, field_selector=f"metadata.name={name}")
            current: KubeObject | None = listing["items"][0] if listing["items"] else None
            if condition(current):
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.0f}s {what}")
            version = (listing.get("metadata") or {}).get("resourceVersion")
            watcher = watch.Watch()
            with map_errors(what, self.host):
                try:
                    for event in self.dynamic.watch(
                        resource,
                        namespace=namespace,
                        name=name,
                        resource_version=version,
                        timeout=max(1, int(remaining)),
                        watcher=watcher,
                    ):
                        if event.get("type") == "BOOKMARK":
                            continue
                        current = None if event.get("type") == "DELETED" else event.get("raw_object")
                        if condition(current):
                            return current
                        if time.monotonic() >= deadline:
                            break
                except ApiException as exc:
                    # 410 Gone: our resourceVersion is too old; list again and watch on from there.
                    if exc.status != 410:
                        raise
                finally:
                    watcher.stop()
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s {what}")

    def exec(
        self, namespace: str, pod: str, command: Sequence[str], container: str | None = None, timeout: float = 30
    ) -> ExecResult:
        """Run a command in a pod (kube_exec.py); a command still running after `timeout` is reported as 124."""
        from mlopsctl.adapters.kube_exec import exec_in_pod

        return exec_in_pod(self.configuration, self.host, namespace, pod, command, container, timeout)

    def access_review(self, review: AccessReview) -> bool:
        attributes: dict[str, Any] = {"verb": review.verb, "resource": review.resource, "group": review.group}
        if review.subresource:
            attributes["subresource"] = review.subresource
        if review.namespace:
            attributes["namespace"] = review.namespace
        if review.name:
            attributes["name"] = review.name
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": review.user, "groups": list(review.groups), "resourceAttributes": attributes},
        }
        resource = self._resource("authorization.k8s.io/v1", "SubjectAccessReview")
        with map_errors(f"access review for {review.user}", self.host):
            response = self.dynamic.create(resource, body=body, serialize=False, _request_timeout=self.request_timeout)
        return bool((self._json(response).get("status") or {}).get("allowed"))

    def request_token(self, namespace: str, service_account: str, seconds: int) -> IssuedToken:
        """POST a TokenRequest to the account's `token` subresource; the token is never stored in a Secret."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": int(seconds)},
        }
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"
        with map_errors(f"requesting a token for service account {namespace}/{service_account}", self.host):
            response = self.dynamic.request(
                "post", path, body=body, serialize=False, _request_timeout=self.request_timeout
            )
        status = (self._json(response) or {}).get("status") or {}
        if not status.get("token"):
            raise ClusterError(f"the API server issued no token for service account {namespace}/{service_account}")
        return IssuedToken(str(status["token"]), str(status.get("expirationTimestamp") or ""))

    def endpoint(self) -> ClusterEndpoint:
        import base64

        ca_data = None
        ca_file = getattr(self.configuration, "ssl_ca_cert", None)
        if ca_file:
            try:
                ca_data = base64.b64encode(Path(ca_file).read_bytes()).decode("ascii")
            except OSError as exc:
                raise UsageError(f"cannot read the cluster's CA certificate {ca_file}: {exc.strerror}") from exc
        return ClusterEndpoint(
            self.host,
            ca_data,
            insecure_skip_tls_verify=not getattr(self.configuration, "verify_ssl", True),
            tls_server_name=getattr(self.configuration, "tls_server_name", None) or None,
            proxy_url=getattr(self.configuration, "proxy", None) or None,
        )

    def service_proxy_get(
        self,
        namespace: str,
        service: str,
        port: int | str,
        path: str,
        params: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> str:
        """GET through the API server's service proxy; the body as text."""
        from urllib.parse import quote

        from kubernetes.dynamic.exceptions import NotFoundError

        url = f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy/{quote(path.lstrip('/'), safe='/')}"
        what = f"GET {path} from service {namespace}/{service}:{port}"
        with map_errors(what, self.host):
            try:
                response = self.dynamic.request(
                    "get",
                    url,
                    query_params=list((params or {}).items()),
                    header_params={"Accept": "*/*"},
                    serialize=False,
                    _request_timeout=timeout,
                )
            except NotFoundError as exc:
                raise NotFound(f"{what}: not found", hint="is the service installed and its pods ready?") from exc
        data = response.data if hasattr(response, "data") else response
        return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)

    def pod_logs(self, namespace: str, pod: str, container: str | None = None, follow: bool = False) -> Iterator[str]:
        from kubernetes import client

        core = client.CoreV1Api(self.api_client)
        kwargs: dict[str, Any] = {"follow": follow, "_preload_content": False}
        if container:
            kwargs["container"] = container
        with map_errors(f"reading logs of pod {namespace}/{pod}", self.host):
            # With _preload_content=False the client returns the raw urllib3 response, not the str its stubs say.
            response = cast("HTTPResponse", core.read_namespaced_pod_log(pod, namespace, **kwargs))
            try:
                buffer = b""
                for chunk in response.stream(4096):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        yield line.decode("utf-8", "replace")
                if buffer:
                    yield buffer.decode("utf-8", "replace")
            finally:
                response.release_conn()


def connect(
    context: str | None = None, kubeconfig: str | None = None, *, request_timeout: float = 30.0
) -> KubernetesApi:
    """The KubeApi for a kubeconfig context (`--context`, `--kubeconfig` honoured)."""
    return KubernetesApi(load_configuration(context, kubeconfig), request_timeout=request_timeout)
