"""`tenant kubeconfig`: a kubeconfig for the tenant's `tenant-owner` service account, with a short-lived token
from the TokenRequest API (never a long-lived token Secret), the cluster's server and CA as the current context
has them, and the tenant namespace as its default. Written 0600 when it goes to a file."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mlopsctl import constants as c
from mlopsctl.adapters.base import ClusterEndpoint, KubeApi
from mlopsctl.errors import Forbidden, NotFound, PrerequisiteMissing, UsageError

DEFAULT_DURATION = "1h"
# The API server refuses less than 10 minutes; a day is the longest this command calls short-lived.
MIN_SECONDS = 600
MAX_SECONDS = 24 * 3600
_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


@dataclass
class TenantKubeconfig:
    """What was issued; the token itself stays in `kubeconfig` and out of every report."""

    tenant: str
    namespace: str
    service_account: str
    server: str
    requested_seconds: int
    expires: str
    file: str | None = None
    note: str = ""


def parse_duration(text: str) -> int:
    """`1h`, `30m`, `1h30m`, `900s` as seconds, between 10 minutes and 24 hours."""
    match = _DURATION.fullmatch(text.strip()) if text else None
    if not match or not any(match.groupdict().values()):
        raise UsageError(f"invalid --duration {text!r}", hint="for example 1h, 30m or 1h30m")
    parts = {key: int(value or 0) for key, value in match.groupdict().items()}
    seconds = parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise UsageError(
            f"--duration {text} is outside 10m..24h",
            hint="the API server issues no token shorter than 10 minutes; ask again for a fresh one instead of a long one",
        )
    return seconds


def build_kubeconfig(tenant: str, endpoint: ClusterEndpoint, token: str) -> dict[str, Any]:
    """A one-context kubeconfig for the tenant-owner account, defaulting to the tenant namespace."""
    cluster: dict[str, Any] = {"server": endpoint.server}
    if endpoint.certificate_authority_data:
        cluster["certificate-authority-data"] = endpoint.certificate_authority_data
    if endpoint.insecure_skip_tls_verify:
        cluster["insecure-skip-tls-verify"] = True
    if endpoint.tls_server_name:
        cluster["tls-server-name"] = endpoint.tls_server_name
    if endpoint.proxy_url:
        cluster["proxy-url"] = endpoint.proxy_url
    name = f"mlopsctl-{tenant}"
    user = f"{tenant}-{c.TENANT_OWNER}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": tenant}}],
        "current-context": name,
    }


def _shortened(expires: str, seconds: int, issued_at: datetime) -> str:
    """A note when the server capped the lifetime (--service-account-max-token-expiration), else ''."""
    try:
        when = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except ValueError:
        return ""
    granted = when - issued_at
    if granted < timedelta(seconds=seconds) - timedelta(minutes=1):
        return (
            f"the API server granted {int(granted.total_seconds()) // 60} minutes, less than the {seconds // 60} asked"
        )
    return ""


def issue_kubeconfig(
    api: KubeApi, tenant: str, seconds: int, *, now: datetime | None = None
) -> tuple[TenantKubeconfig, dict[str, Any]]:
    """Request a token for `tenant`'s tenant-owner account and wrap it in a kubeconfig."""
    namespace = api.get("v1", "Namespace", tenant)
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    if namespace is None or labels.get(c.TENANT_LABEL) != tenant:
        raise NotFound(f"tenant {tenant} not found", hint="`mlopsctl tenant list` shows the tenants")
    if api.get("v1", "ServiceAccount", c.TENANT_OWNER, tenant) is None:
        raise NotFound(
            f"tenant {tenant} has no {c.TENANT_OWNER} service account",
            hint=f"apply the tenant again with this version: `mlopsctl tenant add {tenant}` (with its --owner flags)",
        )
    issued_at = now or datetime.now(UTC)
    try:
        issued = api.request_token(tenant, c.TENANT_OWNER, seconds)
    except Forbidden as exc:
        raise Forbidden(
            f"not allowed to request a token for {tenant}/{c.TENANT_OWNER}: {exc.message}",
            hint=f"the current context needs `create serviceaccounts/token` in namespace {tenant}",
        ) from exc
    except NotFound as exc:
        raise PrerequisiteMissing(
            "the cluster cannot issue service account tokens: the TokenRequest API (serviceaccounts/token) "
            f"is not served ({exc.message})",
            hint="it needs a Kubernetes API server with service account token issuing configured "
            "(--service-account-issuer and --service-account-signing-key-file); mlopsctl never falls back to "
            "a long-lived token Secret",
        ) from exc
    endpoint = api.endpoint()
    result = TenantKubeconfig(
        tenant=tenant,
        namespace=tenant,
        service_account=f"{tenant}/{c.TENANT_OWNER}",
        server=endpoint.server,
        requested_seconds=seconds,
        expires=issued.expires,
        note=_shortened(issued.expires, seconds, issued_at),
    )
    return result, build_kubeconfig(tenant, endpoint, issued.token)


def write_private(path: Path, text: str) -> None:
    """Write `text` so that only the owner can read it (0600) at every moment, replacing what was there."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"--out {path}: directory {directory} does not exist")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise UsageError(f"cannot write --out {path}: {exc.strerror}") from exc
