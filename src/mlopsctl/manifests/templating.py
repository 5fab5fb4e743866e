"""Jinja2 templates to Kubernetes objects, and objects to multi-document YAML.

Templates are YAML with StrictUndefined: a missing value is an error, never an empty string. Every value that
comes from a user is written with the `q` filter (a JSON scalar or flow mapping, which is valid YAML), so no
input can change the document's structure. The Environment and the parsed templates are cached per directory:
rendering many tenants costs one template compilation in total.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlopsctl.paths import templates_dir

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _quote(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@functools.lru_cache(maxsize=8)
def environment(directory: str):
    """The one Jinja Environment for a template directory (cached: building and compiling is the slow part)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["q"] = _quote
    return env


def render_documents(template: str, context: Mapping[str, Any], directory: Path | None = None) -> list[dict[str, Any]]:
    """Render one template and parse its YAML documents (empty documents are dropped)."""
    env = environment(str(directory or templates_dir()))
    text = env.get_template(template).render(context)
    return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]


def render_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """Multi-document YAML, byte-identical for the same objects: key order as built, no flow style."""
    docs = [
        yaml.dump(dict(obj), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096) for obj in objects
    ]
    return "---\n" + "---\n".join(docs) if docs else ""
