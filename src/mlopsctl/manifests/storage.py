"""The object store's object set, and the names the store, the CLI and the inference service agree on.

Pure: values in, Kubernetes objects out (through `templates/storage/`), no I/O. Credentials are inputs: the
service generates them (secrets module) and keeps them stable across re-installs.

Layout in the store (the inference service's s3:// loader reads exactly this):

    s3://<bucket>/models/<VERSION>/model.skops
    s3://<bucket>/models/<VERSION>/metadata.json

Buckets: `mlopsctl-models` is the catalog that `model push` fills without --tenant; each tenant has its own bucket
`models-<tenant>` and its own read-only credentials for it. A tenant's pods read only their bucket; `tenant
set-model` copies a catalog version into it.

Default engine: SeaweedFS. MinIO stopped publishing community images in 2025 (minio/minio #21647); SeaweedFS
publishes a tagged image for every weekly release (chrislusf/seaweedfs, 4.45 to 4.47 in September 2026) and its
static identities file grants actions per bucket (`Read:<bucket>`, `List:<bucket>`), which a Secret can carry
declaratively. Garage (dxflrs/garage) also grants keys per bucket, but only through its admin API after a cluster
layout has been applied; RustFS was still a beta and provisions users only through its admin API or console.
MinIO stays available with a user-supplied image; its users are made through its admin API, which mlopsctl does
not drive, so with MinIO every tenant gets the admin credentials and isolation in the store is NOT enforced.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlopsctl import constants as C
from mlopsctl.errors import UsageError

ENGINES = ("seaweedfs", "minio")
DEFAULT_ENGINE = "seaweedfs"
# A release tag, never `latest`: chrislusf/seaweedfs publishes one per release.
SEAWEEDFS_IMAGE = "chrislusf/seaweedfs:4.47"

STORE_NAME = "object-store"
ADMIN_SECRET = "object-store-admin"
CONFIG_SECRET = "object-store-config"
PVC_NAME = "object-store-data"
CONFIG_MOUNT = "/etc/mlopsctl-s3"
CONFIG_FILE = "s3.json"
STORE_UID = 10002
DEFAULT_REGION = C.STORE_REGION
DEFAULT_SIZE = "5Gi"

CATALOG_BUCKET = "mlopsctl-models"
TENANT_BUCKET_PREFIX = "models-"
MODEL_PREFIX = "models"
MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"

# SeaweedFS identities: the admin does everything; a tenant only reads and lists its own bucket.
ADMIN_ACTIONS = ("Admin", "Read", "Write", "List", "Tagging")
TENANT_ACTIONS = ("Read", "List")

# [registry[:port]/]path/name, then a tag and/or a digest: an image with neither would float.
_IMAGE_RE = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*(?::[0-9]+/[a-z0-9][a-z0-9._/-]*)?"
    r"(?P<tag>:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?P<digest>@sha256:[0-9a-f]{64})?$"
)
# A version is also a label value on the tenant's pods: at most 63 characters, alphanumeric at both ends.


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Credentials(access_key_id={self.access_key_id!r}, secret_access_key='***')"


@dataclass(frozen=True)
class StoreSpec:
    """What `storage install` builds. `tenants` get credentials and a NetworkPolicy hole on the S3 port."""

    engine: str = DEFAULT_ENGINE
    image: str | None = None
    storage_size: str = DEFAULT_SIZE
    storage_class: str | None = None
    node_port: int = C.STORAGE_NODE_PORT
    node_cidrs: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()
    region: str = DEFAULT_REGION
    requests: Mapping[str, str] = field(default_factory=lambda: {"cpu": "100m", "memory": "256Mi"})
    limits: Mapping[str, str] = field(default_factory=lambda: {"cpu": "1", "memory": "1Gi"})

    @property
    def resolved_image(self) -> str:
        return self.image or SEAWEEDFS_IMAGE

    @property
    def health_path(self) -> str:
        return "/minio/health/live" if self.engine == "minio" else "/healthz"

    @property
    def isolation_enforced(self) -> bool:
        return self.engine == "seaweedfs"


def validate(spec: StoreSpec) -> StoreSpec:
    if spec.engine not in ENGINES:
        raise UsageError(f"unknown storage engine {spec.engine!r}", hint=f"choose one of: {', '.join(ENGINES)}")
    if spec.engine == "minio" and not spec.image:
        raise UsageError(
            "the minio engine needs --image",
            hint="MinIO no longer publishes community images; pass the image you build or mirror, e.g. "
            "--image registry.example.com/minio:RELEASE.2025-04-22T22-12-26Z",
        )
    image = spec.resolved_image
    match = _IMAGE_RE.match(image)
    if not match or not (match.group("tag") or match.group("digest")) or match.group("tag") == ":latest":
        raise UsageError(
            f"invalid image reference {image!r}", hint="give a pinned tag or digest, e.g. repo/name:1.2.3 (not latest)"
        )
    if not 30000 <= spec.node_port <= 32767:
        raise UsageError(f"node port {spec.node_port} is outside 30000-32767")
    for tenant in spec.tenants:
        tenant_bucket(tenant)
    return spec


def store_labels(component: str = STORE_NAME) -> dict[str, str]:
    return {
        C.NAME_LABEL: STORE_NAME,
        C.INSTANCE_LABEL: STORE_NAME,
        C.PART_OF_LABEL: C.PART_OF,
        C.MANAGED_BY_LABEL: C.MANAGED_BY,
        C.COMPONENT_LABEL: component,
    }


def selector_labels() -> dict[str, str]:
    return {C.NAME_LABEL: STORE_NAME, C.INSTANCE_LABEL: STORE_NAME}


def in_cluster_endpoint() -> str:
    return f"http://{STORE_NAME}.{C.STORAGE_NAMESPACE}.svc.cluster.local:{C.STORAGE_S3_PORT}"


def host_endpoint(node_port: int = C.STORAGE_NODE_PORT) -> str:
    """The store from the host: the NodePort that the Kind config maps to 127.0.0.1."""
    return f"http://127.0.0.1:{node_port}"


def tenant_bucket(tenant: str) -> str:
    """`models-<tenant>`; S3 bucket names are at most 63 characters, so long tenant names end in a short hash."""
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", tenant):
        raise UsageError(f"invalid tenant name {tenant!r}", hint="a DNS-1123 label: lowercase letters, digits, '-'")
    name = TENANT_BUCKET_PREFIX + tenant
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(tenant.encode()).hexdigest()[:8]
    return f"{name[: 63 - 9].rstrip('-')}-{digest}"


def validate_version(version: str) -> str:
    """The model version rule of the artifact format (`inference.artifact`), as a usage error."""
    from inference.artifact import VERSION_PATTERN, VERSION_RULE

    if not VERSION_PATTERN.match(version or ""):
        raise UsageError(f"invalid model version {version!r}", hint=VERSION_RULE)
    return version


def version_prefix(version: str) -> str:
    return f"{MODEL_PREFIX}/{validate_version(version)}/"


def model_uri(bucket: str, version: str) -> str:
    """The URI a tenant's pods load: `s3://bucket/models/VERSION` (the loader appends the file names)."""
    return f"s3://{bucket}/{MODEL_PREFIX}/{validate_version(version)}"


def parse_model_uri(uri: str) -> tuple[str, str] | None:
    """(bucket, version) of a URI in our layout, None for anything else (a path baked into the image)."""
    match = re.fullmatch(rf"s3://([^/]+)/{MODEL_PREFIX}/([^/]+)/?", uri or "")
    return (match.group(1), match.group(2)) if match else None


def seaweedfs_identities(admin: Credentials, tenants: Mapping[str, Credentials]) -> str:
    """SeaweedFS's static identities file: deterministic, so its hash changes only when an identity does."""
    identities: list[dict[str, Any]] = [
        {
            "name": "mlopsctl-admin",
            "credentials": [{"accessKey": admin.access_key_id, "secretKey": admin.secret_access_key}],
            "actions": list(ADMIN_ACTIONS),
        }
    ]
    for tenant in sorted(tenants):
        creds = tenants[tenant]
        bucket = tenant_bucket(tenant)
        identities.append(
            {
                "name": f"tenant-{tenant}",
                "credentials": [{"accessKey": creds.access_key_id, "secretKey": creds.secret_access_key}],
                "actions": [f"{action}:{bucket}" for action in TENANT_ACTIONS],
            }
        )
    return json.dumps({"identities": identities}, indent=2, sort_keys=True) + "\n"


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def secret_data(values: Mapping[str, str]) -> dict[str, str]:
    return {key: _b64(value) for key, value in values.items()}


def decode_secret(obj: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's values as text, from `data` (base64, as the API returns it) or `stringData`."""
    if not obj:
        return {}
    values = {key: base64.b64decode(value).decode() for key, value in (obj.get("data") or {}).items()}
    values.update(obj.get("stringData") or {})
    return values


def _engine_settings(spec: StoreSpec, config_text: str | None) -> dict[str, Any]:
    if spec.engine == "minio":
        secret_env = [
            {"name": name, "valueFrom": {"secretKeyRef": {"name": ADMIN_SECRET, "key": key}}}
            for name, key in (
                ("MINIO_ROOT_USER", "AWS_ACCESS_KEY_ID"),
                ("MINIO_ROOT_PASSWORD", "AWS_SECRET_ACCESS_KEY"),
            )
        ]
        return {
            "command": ["minio"],
            "args": [
                "server",
                "/data",
                "--address",
                f":{C.STORAGE_S3_PORT}",
                "--console-address",
                "127.0.0.1:9001",
                "--certs-dir",
                "/tmp/certs",
            ],
            "env": [*secret_env, {"name": "HOME", "value": "/tmp"}],
            "ready_path": "/minio/health/ready",
            "live_path": "/minio/health/live",
        }
    return {
        "command": ["weed"],
        "args": [
            "server",
            "-dir=/data",
            # Master, volume server and filer talk over loopback inside the pod, so the namespace's
            # default-deny policy needs no exception for them; only the S3 port listens on the pod address.
            "-ip=127.0.0.1",
            "-ip.bind=0.0.0.0",
            "-master.volumeSizeLimitMB=256",
            "-volume.max=0",
            "-s3",
            f"-s3.port={C.STORAGE_S3_PORT}",
            f"-s3.config={CONFIG_MOUNT}/{CONFIG_FILE}",
            # The Iceberg and Lance catalogs that 4.x starts beside S3 by default: not used, not listening.
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ],
        "env": [{"name": "HOME", "value": "/tmp"}],
        "ready_path": "/healthz",
        "live_path": "/healthz",
    }


def render_store(spec: StoreSpec, admin: Credentials, tenants: Mapping[str, Credentials]) -> list[dict[str, Any]]:
    """Namespace, ServiceAccount, Secrets, PVC, NetworkPolicies, Deployment and Service, in apply order."""
    from mlopsctl.manifests.templating import render_documents

    spec = validate(spec)
    config_text = seaweedfs_identities(admin, tenants) if spec.engine == "seaweedfs" else None
    config_hash = hashlib.sha256((config_text or admin.secret_access_key).encode()).hexdigest()
    labels = store_labels()
    context: dict[str, Any] = {
        "name": STORE_NAME,
        "namespace": C.STORAGE_NAMESPACE,
        "engine": spec.engine,
        "image": spec.resolved_image,
        "labels": labels,
        "selector_labels": selector_labels(),
        "namespace_labels": {
            **labels,
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        },
        "admin_secret": ADMIN_SECRET,
        "admin_secret_data": secret_data(
            {"AWS_ACCESS_KEY_ID": admin.access_key_id, "AWS_SECRET_ACCESS_KEY": admin.secret_access_key}
        ),
        "config_secret": CONFIG_SECRET,
        "engine_config_data": secret_data({CONFIG_FILE: config_text}) if config_text else None,
        "config_mount": CONFIG_MOUNT,
        "pvc_name": PVC_NAME,
        "storage_class": spec.storage_class,
        "storage_size": spec.storage_size,
        "tenants": sorted(spec.tenants),
        "node_cidrs": list(spec.node_cidrs),
        "namespace_name_label": C.NAMESPACE_NAME_LABEL,
        "s3_port": C.STORAGE_S3_PORT,
        "node_port": spec.node_port,
        "uid": STORE_UID,
        "requests": dict(spec.requests),
        "limits": dict(spec.limits),
        "pod_annotations": {C.CONFIG_HASH_ANNOTATION: config_hash[:16]},
        **_engine_settings(spec, config_text),
    }
    objects: list[dict[str, Any]] = []
    for template in (
        "storage/00-namespace.yaml.j2",
        "storage/10-secrets.yaml.j2",
        "storage/20-persistentvolumeclaim.yaml.j2",
        "storage/30-networkpolicies.yaml.j2",
        "storage/40-deployment.yaml.j2",
    ):
        objects.extend(render_documents(template, context))
    return objects


def tenant_secret(tenant: str, creds: Credentials, region: str = DEFAULT_REGION) -> dict[str, Any]:
    """Secret `model-store-credentials` in the tenant's namespace: what its pods use to read its bucket."""
    values = {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "S3_ENDPOINT_URL": in_cluster_endpoint(),
        "AWS_REGION": region,
    }
    assert tuple(values) == tuple(C.MODEL_STORE_SECRET_KEYS)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": C.MODEL_STORE_SECRET,
            "namespace": tenant,
            "labels": {
                C.NAME_LABEL: C.APP_NAME,
                C.INSTANCE_LABEL: tenant,
                C.PART_OF_LABEL: C.PART_OF,
                C.MANAGED_BY_LABEL: C.MANAGED_BY,
                C.COMPONENT_LABEL: "model-store-credentials",
                C.TENANT_LABEL: tenant,
            },
        },
        "type": "Opaque",
        "data": secret_data(values),
    }


def store_objects_for_delete(objects: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str, str | None]]:
    """(apiVersion, kind, name, namespace) in reverse apply order, the Namespace last."""
    keys = [
        (obj["apiVersion"], obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace")) for obj in objects
    ]
    return list(reversed(keys))
