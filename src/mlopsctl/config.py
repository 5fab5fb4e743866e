"""Settings, resolved once per run: flags > `MLOPSCTL_*` environment > `mlopsctl.yaml` > defaults.

The resolver is pure (it is handed the flags, the environment and the parsed file), so precedence is tested
without touching the process environment or the disk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlopsctl import constants as c
from mlopsctl.errors import UsageError

CONFIG_FILE_NAME = "mlopsctl.yaml"
OUTPUT_FORMATS = ("table", "json", "yaml")


@dataclass(frozen=True)
class Settings:
    context: str | None = None
    kubeconfig: str | None = None
    output: str = "table"
    verbose: int = 0
    quiet: bool = False
    color: bool = True
    traceback: bool = False
    config_file: str | None = None
    cluster_name: str = c.DEFAULT_CLUSTER_NAME
    workers: int = 2
    kubernetes_version: str = c.DEFAULT_KUBERNETES_VERSION
    tenants: tuple[str, ...] = c.DEFAULT_TENANTS
    monitoring: bool = True
    storage: bool = True
    registry: str | None = None

    def with_overrides(self, **flags: Any) -> Settings:
        """Sub-command flags beat everything resolved so far; `None` means "not given"."""
        given = {name: value for name, value in flags.items() if value is not None}
        return dataclasses.replace(self, **given)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _parse_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"expected a whole number, got {value!r}")


def _parse_output(value: Any) -> str:
    text = str(value)
    if text not in OUTPUT_FORMATS:
        raise ValueError(f"expected one of {', '.join(OUTPUT_FORMATS)}, got {text!r}")
    return text


def _parse_tenants(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError("expected a list of tenant names")


@dataclass(frozen=True)
class _Field:
    name: str
    file_key: str  # dotted path inside mlopsctl.yaml
    parse: Callable[[Any], Any] = str
    env: tuple[str, ...] = field(default=())


_FIELDS = (
    _Field("context", "context", env=("MLOPSCTL_CONTEXT",)),
    _Field("kubeconfig", "kubeconfig", env=("MLOPSCTL_KUBECONFIG", "KUBECONFIG")),
    _Field("output", "output", _parse_output, env=("MLOPSCTL_OUTPUT",)),
    _Field("cluster_name", "cluster.name", env=("MLOPSCTL_CLUSTER_NAME",)),
    _Field("workers", "cluster.workers", _parse_int, env=("MLOPSCTL_WORKERS",)),
    _Field("kubernetes_version", "cluster.kubernetesVersion", env=("MLOPSCTL_KUBERNETES_VERSION",)),
    _Field("registry", "registry", env=("MLOPSCTL_REGISTRY",)),
    _Field("tenants", "tenants", _parse_tenants, env=("MLOPSCTL_TENANTS",)),
    _Field("monitoring", "platform.monitoring", _parse_bool, env=("MLOPSCTL_MONITORING",)),
    _Field("storage", "platform.storage", _parse_bool, env=("MLOPSCTL_STORAGE",)),
)
_KNOWN_FILE_KEYS = {f.file_key for f in _FIELDS}
_KNOWN_SECTIONS = {key.split(".")[0] for key in _KNOWN_FILE_KEYS if "." in key}


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and path in _KNOWN_SECTIONS:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def parse_config_file(text: str, path: str) -> dict[str, Any]:
    """Parse and validate `mlopsctl.yaml`; every error names the key and the file."""
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 1})" if line is not None else ""
        raise UsageError(f"invalid config: not valid YAML{where} [{path}]") from exc
    if not isinstance(data, Mapping):
        raise UsageError(f"invalid config: the top level must be a mapping [{path}]")
    values: dict[str, Any] = {}
    by_key = {f.file_key: f for f in _FIELDS}
    for key, raw in _flatten(data).items():
        if key not in _KNOWN_FILE_KEYS:
            known = ", ".join(sorted(_KNOWN_FILE_KEYS))
            raise UsageError(f"invalid config: unknown key '{key}' [{path}]", hint=f"known keys: {known}")
        spec = by_key[key]
        try:
            values[spec.name] = spec.parse(raw)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"invalid config: key '{key}': {exc} [{path}]") from exc
    return values


def find_config_file(explicit: str | None, cwd: Path) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UsageError(f"config file not found: {path}", hint="check the --config path")
        return path
    candidate = cwd / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def resolve(flags: Mapping[str, Any], env: Mapping[str, str], file_values: Mapping[str, Any]) -> Settings:
    """Merge the three sources; a flag counts only when it was given (not None)."""
    values: dict[str, Any] = dict(file_values)
    for spec in _FIELDS:
        for var in spec.env:
            if env.get(var):
                try:
                    values[spec.name] = spec.parse(env[var])
                except (TypeError, ValueError) as exc:
                    raise UsageError(f"invalid environment variable {var}: {exc}") from exc
                break
    values.update({name: value for name, value in flags.items() if value is not None})
    if "output" in values:
        try:
            values["output"] = _parse_output(values["output"])
        except ValueError as exc:
            raise UsageError(f"invalid --output: {exc}") from exc
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        values["color"] = False
    return Settings(**values)


def _read_config(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"invalid config: not UTF-8 text (byte {exc.start}) [{path}]", hint="save the file as UTF-8"
        ) from exc
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}", hint="check the --config path") from exc


def load_settings(flags: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> Settings:
    path = find_config_file(flags.get("config_file"), cwd)
    file_values = parse_config_file(_read_config(path), str(path)) if path else {}
    return resolve(flags, env, file_values)
