"""The Kubernetes client's exceptions translated at the boundary into the project's typed errors:
ApiException 401/403 -> Forbidden, 404 -> NotFound, 409 -> Conflict (naming the conflicting field managers),
connection failures -> ClusterUnreachable; and the kubeconfig loaded with a typed error and a hint."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlopsctl.errors import ClusterError, ClusterUnreachable, Conflict, Forbidden, MlopsctlError, NotFound, UsageError

if TYPE_CHECKING:
    pass

CONNECT_HINT = "is the cluster running? check `kubectl cluster-info`, or pick another one with --context"
_CONFLICT_MANAGER = re.compile(r'conflict with "([^"]+)"')


def _status_of(body: Any) -> dict[str, Any]:
    """The Kubernetes `Status` object an error response carries, or {}."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {"message": body.strip()}
    return body if isinstance(body, dict) else {}


def conflict_managers(status: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The field managers and the fields named in a server-side apply conflict (HTTP 409)."""
    managers: list[str] = []
    fields: list[str] = []
    causes = (status.get("details") or {}).get("causes") or []
    texts = [cause.get("message", "") for cause in causes] or [status.get("message", "")]
    for cause in causes:
        if cause.get("field"):
            fields.append(cause["field"])
    for text in texts:
        for manager in _CONFLICT_MANAGER.findall(text):
            if manager not in managers:
                managers.append(manager)
    return managers, fields


def translate_api_error(exc: Any, what: str, *, apply: bool = False) -> MlopsctlError:
    """One ApiException (or the dynamic client's subclass) as a typed error with a hint."""
    code = getattr(exc, "status", None)
    status = _status_of(getattr(exc, "body", None))
    reason = status.get("message") or getattr(exc, "reason", None) or f"HTTP {code}"
    if code == 401:
        return Forbidden(
            f"{what}: unauthorized ({reason})",
            hint="the credentials in the kubeconfig were rejected; refresh them (for example re-run the cloud "
            "provider's `get-credentials`/`update-kubeconfig`)",
        )
    if code == 403:
        return Forbidden(
            f"{what}: forbidden: {reason}", hint="ask a cluster admin for this permission, or use --context"
        )
    if code == 404:
        return NotFound(f"{what}: not found: {reason}")
    if code == 409:
        managers, fields = conflict_managers(status)
        if apply and managers:
            where = f" on {', '.join(fields)}" if fields else ""
            return Conflict(
                f"{what}: field conflict with manager(s) {', '.join(managers)}{where}",
                hint="another tool owns these fields; re-run with --force to take ownership",
            )
        return Conflict(f"{what}: conflict: {reason}", hint="re-run the command; it converges")
    if code == 422:
        return UsageError(f"{what}: rejected by the API server: {reason}")
    if code in (400, 405, 410, 415):
        return ClusterError(f"{what}: the API server refused the request ({code}): {reason}",
                            hint="the cluster's Kubernetes version may not support it; see `mlopsctl cluster status`")  # fmt: skip
    if code == 429 or (isinstance(code, int) and code >= 500):
        return ClusterUnreachable(f"{what}: the API server answered {code}: {reason}",
                                  hint="the API server is overloaded or unhealthy; retry in a moment")  # fmt: skip
    return ClusterUnreachable(f"{what}: the API server answered {code}: {reason}", hint=CONNECT_HINT)


@contextlib.contextmanager
def map_errors(what: str, host: str = "", *, apply: bool = False) -> Iterator[None]:
    """Translate the client library's exceptions into the project's typed errors."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError as Urllib3Error

    try:
        yield
    except MlopsctlError:
        raise
    except ApiException as exc:
        raise translate_api_error(exc, what, apply=apply) from exc
    except (Urllib3Error, OSError) as exc:
        where = f" at {host}" if host else ""
        cause = getattr(exc, "reason", None) or exc
        raise ClusterUnreachable(f"{what}: cannot reach the Kubernetes API{where}: {cause}", hint=CONNECT_HINT) from exc


def load_configuration(context: str | None, kubeconfig: str | None) -> Any:
    """A client Configuration for the given kubeconfig path(s) and context, or a typed error with a hint."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION

    path_text = kubeconfig or KUBE_CONFIG_DEFAULT_LOCATION
    paths = [Path(part).expanduser() for part in path_text.split(":") if part]
    if not any(path.is_file() for path in paths):
        raise ClusterUnreachable(
            f"no kubeconfig found at {path_text}",
            hint="create a cluster with `mlopsctl cluster up`, or pass --kubeconfig PATH / set KUBECONFIG",
        )
    try:
        contexts, current = config.list_kube_config_contexts(config_file=path_text)
    except ConfigException as exc:
        raise ClusterUnreachable(f"cannot read kubeconfig {path_text}: {exc}", hint="check the file") from exc
    names = [entry["name"] for entry in contexts or []]
    if context is not None and context not in names:
        known = ", ".join(names) or "none"
        raise UsageError(f"kubeconfig context '{context}' not found in {path_text}", hint=f"known contexts: {known}")
    if context is None and not current:
        raise UsageError(f"kubeconfig {path_text} has no current context", hint="pass --context NAME")
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=path_text, context=context, client_configuration=configuration, persist_config=False
        )
    except ConfigException as exc:
        raise ClusterUnreachable(f"cannot use kubeconfig {path_text}: {exc}", hint="check the file") from exc
    # Fail fast on a dead endpoint instead of retrying for a minute.
    configuration.retries = 1
    return configuration
