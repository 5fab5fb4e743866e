"""What the storage use cases share: the recorded spec, credentials, result types, the tenants and nodes."""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi, KubeObject
from mlopsctl.errors import ClusterError, NotFound, UsageError
from mlopsctl.manifests import storage as M
from mlopsctl.services import namespaces

# The spec the store was installed with, as JSON on its Namespace: re-rendering from the cluster loses nothing.
STORE_SPEC_ANNOTATION = "mlopsctl.io/store-spec"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


def generate_credentials(prefix: str = "MLOPS") -> M.Credentials:
    """An access key id in the AWS shape (20 upper-case characters) and a 40-character random secret."""
    key_id = prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(20 - len(prefix)))
    return M.Credentials(key_id, secrets.token_urlsafe(30))


@dataclass(frozen=True)
class StorageInstallResult:
    namespace: str
    engine: str
    image: str
    endpoint: str
    host_endpoint: str
    tenants: list[str]
    isolation: str
    applied: list[str]
    new_credentials: list[str]
    ready: bool
    dry_run: bool = False


@dataclass(frozen=True)
class TenantAccess:
    tenant: str
    bucket: str
    secret: str
    created: bool
    isolation: str


@dataclass(frozen=True)
class StorageStatus:
    installed: bool
    namespace: str
    engine: str | None = None
    image: str | None = None
    ready_replicas: int = 0
    volume: str | None = None
    volume_phase: str | None = None
    capacity: str | None = None
    endpoint: str | None = None
    host_endpoint: str | None = None
    tenants: list[str] = field(default_factory=list)
    isolation: str | None = None
    host_reachable: bool | None = None  # None: not probed
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StorageUninstallResult:
    namespace: str
    deleted: list[str]
    kept: list[str]


def isolation_text(spec: M.StoreSpec) -> str:
    if spec.isolation_enforced:
        return "enforced: each tenant's credentials may only read and list its own bucket"
    return "NOT enforced: MinIO users need its admin API, which mlopsctl does not drive; tenants share the admin key"


def spec_to_json(spec: M.StoreSpec) -> str:
    data = dataclasses.asdict(spec)
    data.pop("tenants")  # the cluster's tenant namespaces say which tenants exist
    data.pop("node_cidrs")  # read from the Nodes each time
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def spec_from_namespace(namespace: KubeObject | None) -> M.StoreSpec | None:
    text = ((namespace or {}).get("metadata", {}).get("annotations") or {}).get(STORE_SPEC_ANNOTATION)
    if not text:
        return None
    try:
        data = json.loads(text)
        data["requests"] = dict(data.get("requests") or {})
        data["limits"] = dict(data.get("limits") or {})
        return M.StoreSpec(**data)
    except (ValueError, TypeError) as exc:
        raise ClusterError(
            f"the {C.STORAGE_NAMESPACE} namespace carries an unreadable {STORE_SPEC_ANNOTATION} annotation",
            hint="re-run `mlopsctl storage install` with the options you want",
        ) from exc


def node_cidrs(api: KubeApi) -> tuple[str, ...]:
    """Each node's InternalIP as a /32 (or /128): where NodePort traffic from the host enters the store."""
    cidrs: set[str] = set()
    for node in api.list("v1", "Node"):
        for address in (node.get("status") or {}).get("addresses") or []:
            if address.get("type") == "InternalIP" and address.get("address"):
                ip = address["address"]
                cidrs.add(f"{ip}/128" if ":" in ip else f"{ip}/32")
    return tuple(sorted(cidrs))


def tenant_namespaces(api: KubeApi) -> tuple[str, ...]:
    """Namespaces mlopsctl made for tenants (they carry the tenant label), leaving out those being deleted."""
    return tuple(namespaces.live_tenant_names(api))


def existing_credentials(api: KubeApi) -> tuple[M.Credentials | None, dict[str, M.Credentials]]:
    """The admin pair and the tenants' pairs already in the cluster, so a re-install rotates nothing."""
    admin_values = M.decode_secret(api.get("v1", "Secret", M.ADMIN_SECRET, C.STORAGE_NAMESPACE))
    admin = None
    if admin_values.get("AWS_ACCESS_KEY_ID") and admin_values.get("AWS_SECRET_ACCESS_KEY"):
        admin = M.Credentials(admin_values["AWS_ACCESS_KEY_ID"], admin_values["AWS_SECRET_ACCESS_KEY"])
    tenants: dict[str, M.Credentials] = {}
    config = M.decode_secret(api.get("v1", "Secret", M.CONFIG_SECRET, C.STORAGE_NAMESPACE)).get(M.CONFIG_FILE)
    if config:
        try:
            identities = json.loads(config).get("identities", [])
        except ValueError:
            identities = []
        for identity in identities:
            name = str(identity.get("name", ""))
            creds = (identity.get("credentials") or [{}])[0]
            if name.startswith("tenant-") and creds.get("accessKey") and creds.get("secretKey"):
                tenants[name.removeprefix("tenant-")] = M.Credentials(creds["accessKey"], creds["secretKey"])
    return admin, tenants


def tenant_secret_credentials(api: KubeApi, tenant: str) -> M.Credentials | None:
    values = M.decode_secret(api.get("v1", "Secret", C.MODEL_STORE_SECRET, tenant))
    if values.get("AWS_ACCESS_KEY_ID") and values.get("AWS_SECRET_ACCESS_KEY"):
        return M.Credentials(values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
    return None


def describe(obj: Mapping[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def resolve_spec(api: KubeApi, **given: Any) -> M.StoreSpec:
    """The spec to install: the options given (None: not given) over the installed store's spec, else the
    defaults. Switching the engine of an installed store is refused: its volume holds the other engine's data."""
    installed = spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE))
    base = installed or M.StoreSpec()
    options = {key: value for key, value in given.items() if value is not None}
    if installed and options.get("engine", installed.engine) != installed.engine:
        raise UsageError(
            f"the object store runs {installed.engine}; its volume holds that engine's data",
            hint="to switch engines: `mlopsctl storage uninstall --yes`, then install again (models are lost)",
        )
    return M.validate(dataclasses.replace(base, **options))


def existing_namespaces(api: KubeApi, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if namespaces.is_live(api, name)]


def installed_spec(api: KubeApi) -> M.StoreSpec:
    spec = spec_from_namespace(api.get("v1", "Namespace", C.STORAGE_NAMESPACE))
    if spec is None:
        raise NotFound(
            "the object store is not installed", hint="run `mlopsctl storage install` (or `cluster up` with storage)"
        )
    return spec
