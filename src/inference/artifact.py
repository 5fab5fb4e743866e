"""Model artifacts: a versioned directory holding `model.skops` and `metadata.json`.

The model is stored with skops, never pickle: loading a skops file reconstructs objects from an explicit list
of allowed types and cannot run code from the file. Loading checks, in order: the metadata is readable, the
model file's sha256 equals the recorded one, the recorded scikit-learn version is compatible with the one
installed (same major.minor), and the file contains only allowed types. Any failure raises `ModelLoadError`
with a one-line message and a hint.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1
MAX_MODEL_BYTES = 256 * 1024 * 1024
MAX_METADATA_BYTES = 1024 * 1024
# The one rule for model versions (train, push, set-model, tenant add --model): a version becomes an S3 key prefix
# and a Kubernetes annotation value, so it starts and ends with a letter or digit and has at most 63 characters.
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
VERSION_RULE = "letters, digits, '.', '_' and '-', starting and ending with a letter or digit (at most 63)"

# Types a model file may contain beyond those skops trusts by default (it trusts scikit-learn's public
# estimators and numpy arrays). Anything else is refused: a model file must never name arbitrary callables.
ALLOWED_TYPES = frozenset(
    {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    }
)


class ModelLoadError(Exception):
    """A model artifact could not be loaded; `message` says what, `hint` says what to do."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


@dataclass(frozen=True)
class LoadedModel:
    """A verified model: the fitted pipeline, or its compiled form when it was loaded in a child process."""

    pipeline: Any
    metadata: dict[str, Any]
    source: str
    sha256: str = field(default="")
    compiled: Any = None  # inference.predictor.CompiledModel

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.metadata.get("classes", ()))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_versions() -> dict[str, str]:
    import numpy
    import scipy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }


def check_version(version: str) -> str:
    if not VERSION_PATTERN.match(version or ""):
        raise ValueError(f"invalid model version {version!r}: use {VERSION_RULE}")
    return version


def _major_minor(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version)[:2]
    return tuple(int(p) for p in parts)


def check_sklearn_compatible(recorded: str | None, installed: str) -> None:
    """scikit-learn does not promise that a model built by one minor release loads correctly in another."""
    if not recorded:
        raise ModelLoadError(
            "model metadata does not record the scikit-learn version it was trained with",
            hint="retrain the model with `mlopsctl model train`",
        )
    if _major_minor(recorded) != _major_minor(installed):
        raise ModelLoadError(
            f"model was trained with scikit-learn {recorded}, but this service runs scikit-learn {installed}",
            hint="retrain the model with the serving image's scikit-learn, or serve it with a matching image",
        )


def save_artifact(pipeline: Any, metadata: Mapping[str, Any], out_dir: Path) -> dict[str, Any]:
    """Write model.skops and metadata.json (with the model's sha256) into `out_dir`; return the metadata."""
    import skops.io

    out_dir.mkdir(parents=True, exist_ok=True)
    model_bytes = skops.io.dumps(pipeline)
    untrusted = set(skops.io.get_untrusted_types(data=model_bytes))
    outside = sorted(untrusted - ALLOWED_TYPES)
    if outside:
        raise ValueError(f"the model contains types this service refuses to load: {', '.join(outside)}")
    full = dict(metadata)
    full["format"] = FORMAT_VERSION
    full["model_file"] = MODEL_FILE
    full["sha256"] = sha256_bytes(model_bytes)
    _atomic_write(out_dir / MODEL_FILE, model_bytes)
    _atomic_write(out_dir / METADATA_FILE, (json.dumps(full, indent=2, sort_keys=True) + "\n").encode())
    return full


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_metadata(raw: bytes, source: str) -> dict[str, Any]:
    try:
        metadata = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{source}: {METADATA_FILE} is not valid JSON ({exc})") from exc
    if not isinstance(metadata, dict):
        raise ModelLoadError(f"{source}: {METADATA_FILE} is not a JSON object")
    missing = [key for key in ("version", "sha256", "classes", "libraries") if key not in metadata]
    if missing:
        raise ModelLoadError(
            f"{source}: {METADATA_FILE} lacks {', '.join(missing)}",
            hint="retrain the model with `mlopsctl model train`",
        )
    return metadata


def load_artifact_bytes(metadata_raw: bytes, model_bytes: bytes, source: str) -> LoadedModel:
    """Verify and load an artifact from its two files' contents (shared by the local and the S3 loader)."""
    import sklearn
    import skops.io

    metadata = parse_metadata(metadata_raw, source)
    actual = sha256_bytes(model_bytes)
    if actual != metadata["sha256"]:
        raise ModelLoadError(
            f"{source}: checksum mismatch: {MODEL_FILE} has sha256 {actual[:12]}..., metadata records "
            f"{str(metadata['sha256'])[:12]}...",
            hint="the model file was altered or belongs to another version; upload the artifact again",
        )
    check_sklearn_compatible((metadata.get("libraries") or {}).get("scikit-learn"), sklearn.__version__)
    try:
        untrusted = set(skops.io.get_untrusted_types(data=model_bytes))
    except Exception as exc:  # a corrupt zip or schema raises many kinds of error
        raise ModelLoadError(f"{source}: {MODEL_FILE} is not a readable skops file ({exc})") from exc
    outside = sorted(untrusted - ALLOWED_TYPES)
    if outside:
        raise ModelLoadError(
            f"{source}: {MODEL_FILE} contains types outside the allow-list: {', '.join(outside)}",
            hint="only TF-IDF + linear/naive Bayes pipelines trained by `mlopsctl model train` are served",
        )
    try:
        pipeline = skops.io.loads(model_bytes, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelLoadError(f"{source}: {MODEL_FILE} could not be loaded ({exc})") from exc
    classes = [str(c) for c in getattr(pipeline, "classes_", [])]
    if classes != [str(c) for c in metadata["classes"]]:
        raise ModelLoadError(
            f"{source}: the model's classes {classes} differ from the metadata's {metadata['classes']}"
        )
    return LoadedModel(pipeline=pipeline, metadata=metadata, source=source, sha256=actual)


def _read_limited(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise ModelLoadError(f"{path}: file is larger than {limit} bytes")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelLoadError(
            f"model artifact not found: {path}",
            hint=f"a model directory holds {MODEL_FILE} and {METADATA_FILE}; create one with `mlopsctl model train`",
        ) from exc
    except OSError as exc:
        raise ModelLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc


def load_artifact_dir(directory: Path) -> LoadedModel:
    directory = Path(directory)
    metadata_raw = _read_limited(directory / METADATA_FILE, MAX_METADATA_BYTES)
    model_bytes = _read_limited(directory / MODEL_FILE, MAX_MODEL_BYTES)
    return load_artifact_bytes(metadata_raw, model_bytes, str(directory))
