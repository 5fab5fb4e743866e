"""A small HTTP-level fake of the Kubernetes API server on 127.0.0.1: discovery, CRUD with server-side apply,
list/watch (one namespace's collection or every namespace's), SubjectAccessReview, TokenRequest, pod logs and pod
exec. Every request is recorded so tests can assert on the wire format the real client sends (method, path, query,
headers, body). Query parameters are read the way kube-apiserver reads them (`parse_params`), so the fake neither
refuses what a real server accepts nor accepts what it refuses."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# (group, version) -> [(plural, kind, namespaced)]
RESOURCES: dict[tuple[str, str], list[tuple[str, str, bool]]] = {
    ("", "v1"): [
        ("namespaces", "Namespace", False),
        ("nodes", "Node", False),
        ("pods", "Pod", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("configmaps", "ConfigMap", True),
        ("secrets", "Secret", True),
        ("resourcequotas", "ResourceQuota", True),
        ("limitranges", "LimitRange", True),
        ("endpoints", "Endpoints", True),
        ("events", "Event", True),
    ],
    ("discovery.k8s.io", "v1"): [("endpointslices", "EndpointSlice", True)],
    ("apps", "v1"): [("deployments", "Deployment", True), ("replicasets", "ReplicaSet", True)],
    ("rbac.authorization.k8s.io", "v1"): [("roles", "Role", True), ("rolebindings", "RoleBinding", True)],
    ("networking.k8s.io", "v1"): [("networkpolicies", "NetworkPolicy", True)],
    ("autoscaling", "v2"): [("horizontalpodautoscalers", "HorizontalPodAutoscaler", True)],
    ("policy", "v1"): [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    ("authorization.k8s.io", "v1"): [("subjectaccessreviews", "SubjectAccessReview", False)],
    ("apiregistration.k8s.io", "v1"): [("apiservices", "APIService", False)],
}


PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")


class BadRequest(ValueError):
    """A query the real server refuses with 400."""


def parse_bool(values: list[str]) -> bool:
    """kube-apiserver's query booleans (Convert_Slice_string_To_bool): absent is false; `0` and `false` in any
    case are false; anything else, even an empty value, is true. Clients send `true`, `True` or `1`."""
    if not values:
        return False
    return not (values[0] == "0" or values[0].lower() == "false")


@dataclass(frozen=True)
class ApiParams:
    """The query parameters the fake acts on, as the real server understands them."""

    dry_run: bool = False
    field_manager: str | None = None
    force: bool = False
    propagation_policy: str | None = None
    resource_version: str | None = None
    follow: bool = False
    watch: bool = False
    timeout_seconds: int | None = None


def parse_params(query: dict[str, list[str]]) -> ApiParams:
    """One place that reads a query like kube-apiserver; BadRequest where the real server answers 400."""

    def first(name: str) -> str | None:
        return query[name][0] if query.get(name) else None

    dry_run = query.get("dryRun", [])
    if any(value != "All" for value in dry_run):
        raise BadRequest(f'dryRun: Unsupported value: {dry_run}: supported values: "All"')
    manager = first("fieldManager")
    if manager is not None and not 0 < len(manager) <= 128:
        raise BadRequest("fieldManager: Too long: must have at most 128 bytes")
    policy = first("propagationPolicy")
    if policy is not None and policy not in PROPAGATION_POLICIES:
        raise BadRequest(f'propagationPolicy: Unsupported value: "{policy}": supported values: {PROPAGATION_POLICIES}')
    timeout = first("timeoutSeconds")
    if timeout is not None and not timeout.isdigit():
        raise BadRequest(f'timeoutSeconds: Invalid value: "{timeout}": must be a non-negative integer')
    return ApiParams(
        dry_run=bool(dry_run),
        field_manager=manager,
        force=parse_bool(query.get("force", [])),
        propagation_policy=policy,
        resource_version=first("resourceVersion"),
        follow=parse_bool(query.get("follow", [])),
        watch=parse_bool(query.get("watch", [])),
        timeout_seconds=int(timeout) if timeout is not None else None,
    )


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]  # as sent
    headers: dict[str, str]
    body: Any
    params: ApiParams | None = None  # as the server reads them; None when the server refused the query


@dataclass
class FakeApiServer:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # object path -> object
    requests: list[Recorded] = field(default_factory=list)
    # Events a watch on a collection path returns, in order: (type, object).
    watch_events: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    # Object path -> (HTTP status, Status body) answered to any request on it.
    failures: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    # Pod exec path -> (stdout, stderr, exit code) answered over the websocket channel protocol.
    execs: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    # Pod exec answered by a program instead: (pod path, command) -> (stdout, stderr, exit code).
    exec_handler: Callable[[str, list[str]], tuple[str, str, int]] | None = None
    # Plays the kubelet for Pods created by apply: their stored status (the apply answer says Pending, as a real
    # server's does). Without it they stay Pending.
    kubelet: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    resource_version: int = 100
    # TokenRequest (serviceaccounts/token): False answers 404 as a server that does not serve it.
    token_api: bool = True
    tokens_issued: list[tuple[str, str, int]] = field(default_factory=list)  # (namespace, account, seconds)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApiServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                fake.handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll interval: shutdown() returns within 50 ms instead of 0.5 s, for every test that stops one.
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def kubeconfig(self, context: str = "fake") -> str:
        return json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                "users": [{"name": "fake", "user": {"token": "test-token"}}],
                "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": context,
            }
        )

    # -- request handling ---------------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        try:
            params: ApiParams | None = parse_params(query)
        except BadRequest as refused:
            params, refusal = None, self.status(400, "BadRequest", str(refused))
        self.requests.append(Recorded(request.command, parts.path, query, dict(request.headers.items()), body, params))
        if params is not None and (request.headers.get("Upgrade") or "").lower() == "websocket":
            self._exec(request, parts.path)
            return
        if params is None:
            status, payload = refusal
        else:
            status, payload = self.route(request.command, parts.path, query, params, request.headers, body)
        if status == "watch":
            assert params is not None
            self._stream_watch(request, parts.path, params)
            return
        if status == "log":
            request.send_response(200)
            request.send_header("Content-Type", "text/plain")
            request.end_headers()
            request.wfile.write(payload.encode())
            return
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _stream_watch(self, request: BaseHTTPRequestHandler, path: str, params: ApiParams) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.end_headers()
        for event_type, obj in self.watch_events.get(path, []):
            request.wfile.write((json.dumps({"type": event_type, "object": obj}) + "\n").encode())
            request.wfile.flush()
        # Like a real server, hold the watch open until timeoutSeconds (bounded to keep tests quick).
        time.sleep(min(params.timeout_seconds if params.timeout_seconds is not None else 1, 1.0))

    def _exec(self, request: BaseHTTPRequestHandler, path: str) -> None:
        """A pod exec over websocket (RFC 6455 handshake, unmasked server frames, channel byte first)."""
        key = request.headers["Sec-WebSocket-Key"]
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        offered = [p.strip() for p in (request.headers.get("Sec-WebSocket-Protocol") or "").split(",")]
        protocol = "v4.channel.k8s.io" if "v4.channel.k8s.io" in offered else offered[0]
        request.wfile.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + b"Sec-WebSocket-Accept: "
            + accept
            + b"\r\nSec-WebSocket-Protocol: "
            + protocol.encode()
            + b"\r\n\r\n"
        )
        pod = path.removesuffix("/exec")
        if self.exec_handler is not None:
            command = parse_qs(urlsplit(request.path).query).get("command", [])
            stdout, stderr, code = self.exec_handler(pod, command)
        else:
            stdout, stderr, code = self.execs.get(pod, ("", "no such pod", 1))
        if code == 0:
            status = {"metadata": {}, "status": "Success"}
        else:
            status = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}  # fmt: skip
        for channel, data in ((1, stdout.encode()), (2, stderr.encode()), (3, json.dumps(status).encode())):
            if data:
                request.wfile.write(self._frame(0x82, bytes([channel]) + data))
        request.wfile.write(self._frame(0x88, b""))
        request.wfile.flush()

    @staticmethod
    def _frame(opcode: int, payload: bytes) -> bytes:
        if len(payload) < 126:
            return bytes([opcode, len(payload)]) + payload
        if len(payload) < 1 << 16:
            return bytes([opcode, 126]) + struct.pack(">H", len(payload)) + payload
        return bytes([opcode, 127]) + struct.pack(">Q", len(payload)) + payload

    # -- objects ------------------------------------------------------------------------------------------------
    @staticmethod
    def path_of(obj: dict[str, Any]) -> str:
        """Where the API serves this object."""
        group, _, version = obj["apiVersion"].rpartition("/")
        plural, namespaced = next((p, n) for p, k, n in RESOURCES[(group, version)] if k == obj["kind"])
        prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
        meta = obj["metadata"]
        where = f"/namespaces/{meta.get('namespace', 'default')}" if namespaced else ""
        return f"{prefix}{where}/{plural}/{meta['name']}"

    def add(self, obj: dict[str, Any]) -> None:
        self.objects[self.path_of(obj)] = json.loads(json.dumps(obj))

    @staticmethod
    def status(code: int, reason: str, message: str, **extra: Any) -> tuple[int, dict[str, Any]]:
        return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                      "message": message, "code": code, **extra}  # fmt: skip

    def discovery(self, path: str) -> dict[str, Any] | None:
        if path == "/version":
            return {"major": "1", "minor": "31", "gitVersion": "v1.31.12"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            groups = [
                {
                    "name": group,
                    "versions": [{"groupVersion": f"{group}/{version}", "version": version}],
                    "preferredVersion": {"groupVersion": f"{group}/{version}", "version": version},
                }
                for group, version in RESOURCES
                if group
            ]
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        for (group, version), resources in RESOURCES.items():
            prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
            if path == prefix:
                listing = [
                    {"name": plural, "kind": kind, "namespaced": namespaced, "singularName": "",
                     "verbs": ["create", "delete", "get", "list", "patch", "watch"]}
                    for plural, kind, namespaced in resources
                ]  # fmt: skip
                if not group:
                    listing.append({"name": "pods/log", "kind": "Pod", "namespaced": True, "verbs": ["get"]})
                    if self.token_api:
                        listing.append({"name": "serviceaccounts/token", "kind": "TokenRequest", "group":
                                        "authentication.k8s.io", "version": "v1", "namespaced": True,
                                        "verbs": ["create"]})  # fmt: skip
                groupversion = f"{group}/{version}" if group else version
                return {"kind": "APIResourceList", "groupVersion": groupversion, "resources": listing}
        return None

    def route(self, method: str, path: str, query: dict[str, list[str]], params: ApiParams, headers: Any, body: Any):
        found = self.discovery(path)
        if found is not None:
            return 200, found
        if path in self.failures:
            return self.failures[path]
        if "/proxy/" in path:
            if path not in self.logs:
                return self.status(404, "NotFound", f'services "{path}" not found')
            return "log", self.logs[path]
        if path.endswith("/log"):
            return "log", self.logs.get(path.removesuffix("/log"), "")
        if path.endswith("/token") and "/serviceaccounts/" in path and method == "POST":
            return self._token_request(path, body)
        if path.endswith("subjectaccessreviews") and method == "POST":
            allowed = body["spec"]["user"] == "alice"
            return 201, {**body, "status": {"allowed": allowed}}
        if method == "PATCH":
            if headers.get("Content-Type") != "application/apply-patch+yaml":
                return self.status(415, "UnsupportedMediaType", f"unsupported patch type {headers.get('Content-Type')}")
            terminating = self._terminating_namespace(path)
            if terminating:
                return self.status(
                    403, "Forbidden", f"{body['kind'].lower()}s \"{body['metadata']['name']}\" is forbidden: unable to "
                    f"create new content in namespace {terminating} because it is being terminated",
                )  # fmt: skip
            current = self.objects.get(path)
            owner = (current or {}).get("metadata", {}).get("annotations", {}).get("fake/owner")
            if owner and not params.force:
                return self.status(
                    409, "Conflict", f'Apply failed with 1 conflict: conflict with "{owner}": .spec.replicas',
                    details={"causes": [{"type": "FieldManagerConflict",
                                         "message": f'conflict with "{owner}" using apps/v1', "field": ".spec.replicas"}]},
                )  # fmt: skip
            result = json.loads(json.dumps(body))
            self.resource_version += 1
            result["metadata"]["resourceVersion"] = str(self.resource_version)
            stored = result
            if result.get("kind") == "Namespace":  # the API server sets this label on every namespace
                result["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = result["metadata"]["name"]
            if result.get("kind") == "Pod" and current is None:
                result["status"] = {"phase": "Pending", "qosClass": "Burstable"}
                if self.kubelet is not None:
                    stored = {**result, "status": self.kubelet(result)}
            if not params.dry_run:
                self.objects[path] = stored
            return 200, result
        if method == "DELETE":
            if path not in self.objects:
                return self.status(404, "NotFound", f"{path} not found")
            deleted = self.objects.pop(path)
            if deleted.get("kind") == "Namespace":  # its objects go with it; the answer shows it Terminating
                name = deleted["metadata"]["name"]
                for key in [k for k in self.objects if f"/namespaces/{name}/" in k]:
                    del self.objects[key]
                deleted = {**deleted, "status": {"phase": "Terminating"}}
            return 200, deleted
        if method == "GET":
            if params.watch:
                return "watch", None
            if path in self.objects:
                return 200, self.objects[path]
            items = [obj for key, obj in sorted(self.objects.items()) if self._in_collection(key, path)]
            if items or self._is_collection(path):
                items = [obj for obj in items if self._selected(obj, query)]
                return 200, {"kind": "List", "metadata": {"resourceVersion": str(self.resource_version)},
                             "items": items}  # fmt: skip
            return self.status(404, "NotFound", f"{path} not found")
        return self.status(405, "MethodNotAllowed", method)

    def _terminating_namespace(self, path: str) -> str | None:
        """The namespace of an object path when that namespace is being deleted (the API then refuses with 403)."""
        parts = path.split("/")
        if "namespaces" not in parts or len(parts) <= parts.index("namespaces") + 2:
            return None
        name = parts[parts.index("namespaces") + 1]
        namespace = self.objects.get(f"/api/v1/namespaces/{name}") or {}
        return name if (namespace.get("status") or {}).get("phase") == "Terminating" else None

    def _token_request(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        """As kube-apiserver answers: 404 without the API or the account, 422 under 10 minutes, else 201."""
        if not self.token_api:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        account_path = path.removesuffix("/token")
        namespace, name = account_path.split("/")[4], account_path.split("/")[6]
        if account_path not in self.objects:
            return self.status(404, "NotFound", f'serviceaccounts "{name}" not found')
        seconds = int(((body or {}).get("spec") or {}).get("expirationSeconds") or 3600)
        if seconds < 600:
            return self.status(422, "Invalid", f"TokenRequest.authentication.k8s.io \"{name}\" is invalid: "
                               f"spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less "
                               "than 10 minutes")  # fmt: skip
        self.tokens_issued.append((namespace, name, seconds))
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
        return 201, {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"], "expirationSeconds": seconds},
            "status": {
                "token": f"token-for-{namespace}-{name}-{len(self.tokens_issued)}",
                "expirationTimestamp": expires,
            },
        }

    @staticmethod
    def _in_collection(key: str, collection: str) -> bool:
        """Whether the object at `key` is listed by `collection`: its own namespace's, or (like `/api/v1/pods`)
        the collection of every namespace."""
        parent = key.rsplit("/", 1)[0]
        if parent == collection:
            return True
        prefix, _, plural = collection.rpartition("/")
        head, _, rest = parent.partition(f"{prefix}/namespaces/")
        return not head and rest.count("/") == 1 and rest.endswith(f"/{plural}")

    @staticmethod
    def _is_collection(path: str) -> bool:
        plural = path.rstrip("/").rsplit("/", 1)[-1]
        return any(plural == p for resources in RESOURCES.values() for p, _, _ in resources)

    @staticmethod
    def _selected(obj: dict[str, Any], query: dict[str, list[str]]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        for term in ",".join(query.get("labelSelector", [])).split(","):
            if "=" in term:
                key, value = term.split("=", 1)
                if labels.get(key) != value:
                    return False
        for term in ",".join(query.get("fieldSelector", [])).split(","):
            if term.startswith("metadata.name=") and obj["metadata"]["name"] != term.split("=", 1)[1]:
                return False
        return True
