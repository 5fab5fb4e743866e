"""Rendered objects to files: one file per object, named so that `kubectl apply -f DIR` keeps the apply order."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlopsctl.errors import UsageError


@dataclass(frozen=True)
class WrittenFile:
    kind: str
    name: str
    namespace: str | None
    path: Path


@dataclass(frozen=True)
class WrittenManifests:
    directory: Path
    files: list[WrittenFile]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", text.lower()).strip("-") or "object"


def file_name(index: int, obj: dict[str, Any], fmt: str) -> str:
    """`03-role-inference.yaml`: the position first, so a directory listing is the apply order."""
    metadata = obj.get("metadata") or {}
    suffix = "json" if fmt == "json" else "yaml"
    return f"{index:02d}-{_slug(str(obj.get('kind', 'object')))}-{_slug(str(metadata.get('name', '')))}.{suffix}"


def write_manifests(objects: Sequence[dict[str, Any]], directory: Path, fmt: str = "yaml") -> WrittenManifests:
    """Write each object to its own file in `directory` (created if needed); files of the same name are replaced."""
    from mlopsctl.manifests.templating import render_yaml

    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--out {directory} exists and is not a directory", hint="name a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --out directory {directory}: {exc.strerror}") from exc
    written: list[WrittenFile] = []
    for index, obj in enumerate(objects):
        path = directory / file_name(index, obj, fmt)
        text = json.dumps(obj, indent=2) + "\n" if fmt == "json" else render_yaml([obj])
        try:
            path.write_text(text)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from exc
        metadata = obj.get("metadata") or {}
        written.append(WrittenFile(str(obj.get("kind")), str(metadata.get("name")), metadata.get("namespace"), path))
    return WrittenManifests(directory=directory, files=written)
