"""Kubernetes OpenAPI schema validation (the schemas shipped by kubernetes-validate), cached per version and kind.

kubernetes_validate.validate() re-reads the multi-megabyte definitions file on every call; building one
validator per (version, kind) once keeps property tests over many specs fast. The strict schemas are used:
they reject unknown fields, so a misspelt key fails instead of being silently dropped by the API server.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

# Kubernetes minor versions the objects are checked against: an older supported one, the default, the newest Kind node.
VERSIONS = ("1.29", "1.31", "1.34")
_ROOT = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
# Kinds that come from CRDs: no upstream schema; checked structurally elsewhere.
CRD_KINDS = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def _schema_dir(version: str) -> Path:
    path = _ROOT / f"v{version}.0-local-strict"
    if not path.is_dir():
        raise LookupError(f"kubernetes-validate ships no schemas for {version}")
    return path


@functools.cache
def _registry(version: str) -> Registry:
    definitions = json.loads((_schema_dir(version) / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@functools.cache
def _validator(version: str, api_version: str, kind: str) -> jsonschema.Validator:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _schema_dir(version) / f"{kind.lower()}-{group_version}.json"
    schema = json.loads(path.read_text())
    registry = Resource.from_contents(schema) @ _registry(version)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def schema_errors(obj: dict[str, Any], version: str) -> list[str]:
    """Every schema violation of one object, as `Kind/name: path: message` lines (empty when valid)."""
    validator = _validator(version, obj["apiVersion"], obj["kind"])
    where = f"{obj['kind']}/{obj.get('metadata', {}).get('name')}"
    return [
        f"{where}: {'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(obj)
    ]


def validate_with_library(obj: dict[str, Any], version: str) -> None:
    """The library's own entry point, used once per kind to prove the cached path agrees with it."""
    kubernetes_validate.validate(obj, version, strict=True)
