"""The model catalog in the object store: read an artifact, push it, list and pull versions, copy one into a
tenant's bucket (verified by sha256)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopsctl import constants as C
from mlopsctl.adapters.base import KubeApi
from mlopsctl.adapters.s3 import ObjectStore
from mlopsctl.errors import Conflict, NotFound, UsageError, VerificationFailed
from mlopsctl.manifests import storage as M
from mlopsctl.progress import NullStatus, Status

MAX_METADATA_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Artifact:
    """A local artifact directory whose model file matches its metadata."""

    directory: Path
    version: str
    sha256: str
    size: int
    metadata: dict[str, Any]


@dataclass(frozen=True)
class PushResult:
    version: str
    bucket: str
    uri: str
    sha256: str
    size: int
    uploaded: bool  # False: the same bytes were already there


@dataclass(frozen=True)
class ModelVersion:
    version: str
    bucket: str
    tenant: str | None  # None: the catalog
    uri: str
    size: int
    sha256: str | None
    created_at: str | None
    metrics: dict[str, Any]
    used_by: list[str] = field(default_factory=list)
    complete: bool = True


@dataclass(frozen=True)
class ModelList:
    versions: list[ModelVersion]
    usage_known: bool
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PullResult:
    version: str
    uri: str
    directory: Path
    sha256: str
    size: int


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatch(where: str, actual: str, metadata: dict[str, Any], recorder: str) -> str:
    return (
        f"{where}: checksum mismatch: {M.MODEL_FILE} has sha256 {actual[:12]}..., "
        f"{recorder} records {str(metadata['sha256'])[:12]}..."
    )


def _parse_metadata(raw: bytes, source: str) -> dict[str, Any]:
    from inference.artifact import ModelLoadError, parse_metadata

    try:
        return parse_metadata(raw, source)
    except ModelLoadError as exc:
        raise UsageError(exc.message, hint=exc.hint) from exc


def read_artifact(directory: Path) -> Artifact:
    """Check a local artifact directory: both files present, metadata valid, the model's sha256 as recorded."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"not a directory: {directory}", hint="pass the directory `mlopsctl model train` wrote")
    model_path = directory / M.MODEL_FILE
    metadata_path = directory / M.METADATA_FILE
    for path in (model_path, metadata_path):
        if not path.is_file():
            raise UsageError(
                f"{directory}: {path.name} is missing",
                hint=f"an artifact directory holds {M.MODEL_FILE} and {M.METADATA_FILE} (from `mlopsctl model train`)",
            )
    if metadata_path.stat().st_size > MAX_METADATA_BYTES:
        raise UsageError(f"{metadata_path}: larger than {MAX_METADATA_BYTES} bytes")
    metadata = _parse_metadata(metadata_path.read_bytes(), str(directory))
    version = M.validate_version(str(metadata["version"]))
    actual = _sha256_file(model_path)
    if actual != metadata["sha256"]:
        raise UsageError(
            _mismatch(str(directory), actual, metadata, M.METADATA_FILE),
            hint="the model file was changed after training; retrain with `mlopsctl model train`",
        )
    return Artifact(directory, version, actual, model_path.stat().st_size, metadata)


def bucket_for(tenant: str | None) -> str:
    return M.tenant_bucket(tenant) if tenant else M.CATALOG_BUCKET


def _remote_metadata(store: ObjectStore, bucket: str, version: str) -> dict[str, Any] | None:
    try:
        raw = store.get_bytes(bucket, M.version_prefix(version) + M.METADATA_FILE)
    except NotFound:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def push(store: ObjectStore, directory: Path, tenant: str | None = None, status: Status | None = None) -> PushResult:
    """Upload an artifact to the catalog (or a tenant's bucket). Refuses a directory whose checksum does not
    match its metadata, and a version that already holds different bytes."""
    status = status or NullStatus()
    artifact = read_artifact(directory)
    bucket = bucket_for(tenant)
    prefix = M.version_prefix(artifact.version)
    uri = M.model_uri(bucket, artifact.version)
    store.ensure_bucket(bucket)
    existing = _remote_metadata(store, bucket, artifact.version)
    if existing is not None:
        if existing.get("sha256") == artifact.sha256:
            return PushResult(artifact.version, bucket, uri, artifact.sha256, artifact.size, uploaded=False)
        raise Conflict(
            f"{uri} already holds a different model (sha256 {str(existing.get('sha256'))[:12]}...)",
            hint="versions are immutable: train with a new --version",
        )
    with status.step(f"uploading {artifact.version} to {uri}"):
        store.put_file(bucket, prefix + M.MODEL_FILE, artifact.directory / M.MODEL_FILE)
        store.put_file(
            bucket, prefix + M.METADATA_FILE, artifact.directory / M.METADATA_FILE, content_type="application/json"
        )
    return PushResult(artifact.version, bucket, uri, artifact.sha256, artifact.size, uploaded=True)


def _versions_in(store: ObjectStore, bucket: str, tenant: str | None) -> list[ModelVersion]:
    files: dict[str, dict[str, int]] = {}
    try:
        listing = store.list_objects(bucket, M.MODEL_PREFIX)
    except NotFound:  # no such bucket yet: nothing pushed there
        return []
    # Listed by "models" and filtered here: a prefix containing "/" breaks moto's signature check under IAM
    # enforcement (getmoto/moto #5948), and the result is the same on every engine.
    for item in listing:
        parts = item.key.split("/")
        if len(parts) == 3 and parts[0] == M.MODEL_PREFIX and parts[2]:
            files.setdefault(parts[1], {})[parts[2]] = item.size
    versions = []
    for version, names in sorted(files.items()):
        metadata = _remote_metadata(store, bucket, version) if M.METADATA_FILE in names else None
        complete = metadata is not None and M.MODEL_FILE in names
        metadata = metadata or {}
        versions.append(
            ModelVersion(
                version=version,
                bucket=bucket,
                tenant=tenant,
                uri=f"s3://{bucket}/{M.MODEL_PREFIX}/{version}",
                size=names.get(M.MODEL_FILE, 0),
                sha256=metadata.get("sha256"),
                created_at=metadata.get("created_at"),
                metrics=_headline_metrics(metadata.get("metrics")),
                complete=complete,
            )
        )
    return versions


def _headline_metrics(metrics: Any) -> dict[str, Any]:
    """Held-out accuracy and F1 from the service's metadata (`metrics.heldout`), or the flat numbers given."""
    if not isinstance(metrics, Mapping):
        return {}
    heldout = metrics.get("heldout")
    if not isinstance(heldout, Mapping):
        heldout = metrics
    return {
        key: value for key, value in heldout.items() if isinstance(value, int | float) and not isinstance(value, bool)
    }


def served_versions(api: KubeApi) -> dict[str, tuple[str | None, str | None]]:
    """tenant -> (model version, model URI) that its Deployment runs, from the pod template."""
    served: dict[str, tuple[str | None, str | None]] = {}
    selector = f"{C.MANAGED_BY_LABEL}={C.MANAGED_BY},{C.TENANT_LABEL}"
    for deployment in api.list("apps/v1", "Deployment", label_selector=selector):
        tenant = deployment["metadata"].get("labels", {}).get(C.TENANT_LABEL) or deployment["metadata"].get("namespace")
        template = deployment.get("spec", {}).get("template", {})
        version = (template.get("metadata", {}).get("annotations") or {}).get(C.MODEL_VERSION_ANNOTATION)
        uri = None
        for container in template.get("spec", {}).get("containers", []):
            for env in container.get("env") or []:
                if env.get("name") == "MODEL_URI":
                    uri = env.get("value")
                if env.get("name") == "MODEL_VERSION" and not version:
                    version = env.get("value")
        served[tenant] = (version, uri)
    return served


def list_models(
    store: ObjectStore,
    tenant: str | None = None,
    tenants: Sequence[str] = (),
    usage: Mapping[str, tuple[str | None, str | None]] | None = None,
    usage_note: str | None = None,
) -> ModelList:
    """Versions in the catalog and in each tenant's bucket (or only `tenant`'s), with the tenants serving each.

    `usage` is `served_versions(api)` when the cluster is reachable; None means unknown (said in the notes)."""
    buckets: list[tuple[str, str | None]] = []
    if tenant:
        buckets.append((M.tenant_bucket(tenant), tenant))
    else:
        buckets.append((M.CATALOG_BUCKET, None))
        names = sorted(set(tenants) | set(usage or {}))
        buckets += [(M.tenant_bucket(name), name) for name in names]
    versions: list[ModelVersion] = []
    for bucket, owner in buckets:
        for item in _versions_in(store, bucket, owner):
            users = []
            for name, (_, uri) in sorted((usage or {}).items()):
                parsed = M.parse_model_uri(uri or "")
                if parsed == (bucket, item.version):
                    users.append(name)
            versions.append(ModelVersion(**{**item.__dict__, "used_by": users}))
    notes = (
        [] if usage is not None else [usage_note or "the cluster was not reachable: tenants using each version unknown"]
    )
    return ModelList(versions=versions, usage_known=usage is not None, notes=notes)


def pull(
    store: ObjectStore, version: str, destination: Path, tenant: str | None = None, status: Status | None = None
) -> PullResult:
    """Download a version into `destination/` and verify the model's sha256 against its metadata; a mismatch
    leaves nothing behind."""
    status = status or NullStatus()
    bucket = bucket_for(tenant)
    prefix = M.version_prefix(version)
    uri = M.model_uri(bucket, version)
    try:
        metadata_raw = store.get_bytes(bucket, prefix + M.METADATA_FILE)
    except NotFound as exc:
        raise NotFound(f"model version {version} not found at {uri}", hint="see `mlopsctl model list`") from exc
    metadata = _parse_metadata(metadata_raw, uri)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with status.step(f"downloading {uri}"):
        fd, tmp_name = tempfile.mkstemp(dir=destination, prefix=f".{M.MODEL_FILE}.")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            try:
                store.download(bucket, prefix + M.MODEL_FILE, tmp)
            except NotFound as exc:
                raise NotFound(f"{uri}: {M.MODEL_FILE} is missing", hint="push the version again") from exc
            actual = _sha256_file(tmp)
            if actual != metadata["sha256"]:
                raise VerificationFailed(
                    _mismatch(uri, actual, metadata, "metadata"),
                    hint="the stored model was altered or is incomplete; push the version again",
                )
            size = tmp.stat().st_size
            os.replace(tmp, destination / M.MODEL_FILE)
        finally:
            tmp.unlink(missing_ok=True)
    (destination / M.METADATA_FILE).write_bytes(metadata_raw)
    return PullResult(version=version, uri=uri, directory=destination, sha256=actual, size=size)


def ensure_tenant_copy(store: ObjectStore, tenant: str, version: str, status: Status | None = None) -> tuple[str, bool]:
    """Make `version` readable by the tenant: present in its bucket, else copied there from the catalog (and
    verified after the copy). Returns (uri, copied)."""
    status = status or NullStatus()
    bucket = M.tenant_bucket(tenant)
    prefix = M.version_prefix(version)
    if store.bucket_exists(bucket) and _remote_metadata(store, bucket, version) is not None:
        pull_check(store, bucket, version, tenant)
        return M.model_uri(bucket, version), False
    catalog = _remote_metadata(store, M.CATALOG_BUCKET, version) if store.bucket_exists(M.CATALOG_BUCKET) else None
    if catalog is None:
        raise NotFound(
            f"model version {version} is neither in {tenant}'s bucket nor in the catalog",
            hint=f"push it first: `mlopsctl model push DIR` (or --tenant {tenant}); see `mlopsctl model list`",
        )
    pull_check(store, M.CATALOG_BUCKET, version, None)
    with status.step(f"copying {version} from the catalog into {bucket}"):
        store.ensure_bucket(bucket)
        store.copy(M.CATALOG_BUCKET, prefix + M.MODEL_FILE, bucket, prefix + M.MODEL_FILE)
        store.copy(M.CATALOG_BUCKET, prefix + M.METADATA_FILE, bucket, prefix + M.METADATA_FILE)
    pull_check(store, bucket, version, tenant)
    return M.model_uri(bucket, version), True


def pull_check(store: ObjectStore, bucket: str, version: str, tenant: str | None) -> str:
    with tempfile.TemporaryDirectory(prefix="mlopsctl-verify-") as tmp:
        return pull(store, version, Path(tmp), tenant=tenant).sha256
