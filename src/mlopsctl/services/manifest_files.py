"""Objects to and from files: rendered objects written one file per object (named so that `kubectl apply -f DIR`
keeps the apply order), and a directory of manifests read back for verification, every object checked first."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlopsctl.errors import UsageError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


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
    """`03-role-tenant-a-inference.yaml`: the position first, so a directory listing is the apply order (of every
    tenant rendered into it); then the namespace, so tenants rendered into one directory never overwrite each other."""
    metadata = obj.get("metadata") or {}
    suffix = "json" if fmt == "json" else "yaml"
    kind = _slug(str(obj.get("kind", "object")))
    name = _slug(str(metadata.get("name", "")))
    namespace = metadata.get("namespace")
    where = f"{_slug(str(namespace))}-{name}" if namespace else name
    return f"{index:02d}-{kind}-{where}.{suffix}"


def object_key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """What makes an object unique on a cluster: API group, kind, namespace (`default` when a namespaced object
    names none, as kubectl applies it), name."""
    from mlopsctl.analysis.manifest_check import identity

    return identity(obj)


def reject_duplicates(sources: Sequence[tuple[Path, dict[str, Any]]], directory: Path) -> None:
    """An object defined twice in a manifest directory would be judged on whichever copy came last: refuse."""
    first_seen: dict[tuple[str, str, str, str], Path] = {}
    duplicates: list[str] = []
    for path, obj in sources:
        key = object_key(obj)
        if key in first_seen:
            group, kind, namespace, name = key
            what = f"{kind}{'.' + group if group else ''} {namespace + '/' if namespace else ''}{name}"
            duplicates.append(f"{what} ({first_seen[key].name} and {path.name})")
        else:
            first_seen[key] = path
    if duplicates:
        shown = "; ".join(duplicates[:3]) + (f"; and {len(duplicates) - 3} more" if len(duplicates) > 3 else "")
        raise UsageError(
            f"--manifests {directory}: {len(duplicates)} object(s) defined more than once: {shown}",
            hint="render each tenant once into an empty directory (`mlopsctl tenant render NAME --out DIR`)",
        )


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


def _documents(path: Path) -> list[Any]:
    import yaml

    try:
        return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise UsageError(f"{path}: not valid YAML{where}: {problem}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text (byte {exc.start})", hint="manifests are UTF-8 YAML or JSON") from exc
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _objects(document: Any) -> list[Any]:
    """A document's objects: `kind: List` (as `kubectl get -o yaml` writes it) opened up."""
    if isinstance(document, dict) and str(document.get("kind", "")).endswith("List") and "items" in document:
        items = document["items"]
        return [obj for item in items or [] for obj in _objects(item)] if isinstance(items, list) else [document]
    return [document]


def read_manifests(directory: Path) -> list[dict[str, Any]]:
    """Every object in the YAML/JSON files under `directory` (multi-document files and Lists allowed), in path
    order. Malformed YAML, an object verification cannot use, or one that appears twice is refused with the
    file and the object named: a verdict over misread objects would be a false pass."""
    from mlopsctl.analysis.manifest_check import ManifestProblem, check_object

    if not directory.is_dir():
        raise UsageError(
            f"--manifests {directory} is not a directory", hint="point --manifests at a directory of YAML files"
        )
    files = sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
    if not files:
        raise UsageError(
            f"no .yaml, .yml or .json files in {directory}", hint="render tenants with `mlopsctl tenant render`"
        )
    sources: list[tuple[Path, dict[str, Any]]] = []
    for path in files:
        for index, document in enumerate(_documents(path)):
            for obj in _objects(document):
                try:
                    check_object(obj)
                except ManifestProblem as exc:
                    raise UsageError(
                        f"{path}: document {index + 1}: {exc}", hint="fix or remove the object, then verify again"
                    ) from exc
                sources.append((path, obj))
    reject_duplicates(sources, directory)
    return [obj for _, obj in sources]
