"""Jinja2 templates to Kubernetes objects, and objects to multi-document YAML.

Templates are YAML with StrictUndefined: a missing value is an error, never an empty string. Every value that
comes from a user is written with the `q` filter (a double-quoted scalar or a flow collection), so no input can
change the document's structure. The Environment and the parsed templates are cached per directory:
rendering many tenants costs one template compilation in total.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mlopsctl.paths import templates_dir

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _keyword(value: Any) -> str | None:
    """true, false, null and integers: written alike in flow and block style; None for anything else."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return None


def _quote(value: Any) -> str:
    """The `q` filter: any value as one YAML flow node (strings always double-quoted with escapes), so text from a
    user can never change the structure of the document it is written into."""
    if isinstance(value, str):
        return _quoted(value)
    keyword = _keyword(value)
    if keyword is not None:
        return keyword
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text.replace("e", ".0e") if "e" in text and "." not in text else text
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_quote(v) for v in value) + "]"
    str(value)  # a StrictUndefined raises its UndefinedError here, naming the missing variable
    raise TypeError(f"the q filter cannot write a {type(value).__name__}")


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


@functools.lru_cache(maxsize=1)
def _default_directory() -> str:
    return str(templates_dir())


@functools.lru_cache(maxsize=64)
def _template(directory: str, name: str):
    return environment(directory).get_template(name)


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"


class _Builder:
    """Node graph to Python data, the same as yaml.safe_load gives, at a fraction of the cost for the plain maps,
    lists and strings that manifests are made of. Every other scalar (int, bool, null, float, timestamp) and any
    merge key go through PyYAML's own SafeConstructor, so the result never differs from safe_load's."""

    def __init__(self) -> None:
        self._safe = yaml.SafeLoader("")

    def build(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.MappingNode):
            if any(key.tag == _MERGE for key, _ in node.value):
                return self._safe.construct_document(node)
            return {self.build(key): self.build(value) for key, value in node.value}
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item) for item in node.value]
        if node.tag == _STR:
            return node.value
        return self._safe.construct_document(node)


_RESOLVED_TAGS: dict[tuple[Any, str | None, Any], str] = {}


class _FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """The safe loader with its implicit-tag resolution memoised: manifests repeat the same scalars thousands of
    times. Without path resolvers (none are registered) a tag depends only on (kind, value, implicit)."""

    def resolve(self, kind, value, implicit):
        key = (kind, value, implicit)
        tag = _RESOLVED_TAGS.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(_RESOLVED_TAGS) < 100_000:
                _RESOLVED_TAGS[key] = tag
        return tag


def parse_documents(text: str) -> list[dict[str, Any]]:
    """All non-empty YAML documents of `text` (safe_load semantics; libyaml parses when it is installed)."""
    loader = _FastLoader(text)
    builder = _Builder()
    try:
        documents = []
        while loader.check_node():
            document = builder.build(loader.get_node())
            if document is not None:
                documents.append(document)
        return documents
    finally:
        loader.dispose()


def render_documents(template: str, context: Mapping[str, Any], directory: Path | None = None) -> list[dict[str, Any]]:
    """Render one template and parse its YAML documents (empty documents are dropped)."""
    text = _template(str(directory) if directory else _default_directory(), template).render(context)
    return parse_documents(text)


# Structure reuse. Parsing YAML is most of the cost of rendering, and many tenants share one structure: only
# their strings differ. So every non-empty string of the context is replaced by a numbered placeholder (a NUL
# character, the number, a NUL), the template is rendered and parsed once per *shape* (the context with its
# strings blanked out: numbers, booleans, list lengths, which strings are empty), and each later render copies
# that skeleton with the real strings put back. This is exact for templates that write context strings only
# through the `q` filter (JSON-escaped, so a placeholder survives YAML intact) and never test, slice or transform
# a string: a placeholder written raw is a NUL in the YAML stream, which the parser refuses, and such a template
# then falls back to plain rendering. Tests compare both paths over many generated specs.
_PLACEHOLDER = re.compile("\x00([0-9]+)\x00")
_SKELETONS: dict[tuple[str, str, Any], list[Any] | None] = {}
_MAX_SKELETONS = 1024


def _punch(value: Any, holes: list[str]) -> tuple[Any, Any]:
    """(value with strings replaced by placeholders, its shape)."""
    if isinstance(value, str):
        if not value:
            return value, ""
        holes.append(value)
        return f"\x00{len(holes) - 1}\x00", str
    if value is None or isinstance(value, bool | int | float):
        return value, (type(value), value)
    if isinstance(value, Mapping):
        punched: dict[Any, Any] = {}
        shapes = []
        for key, item in value.items():
            new_key, key_shape = _punch(key, holes)
            new_item, item_shape = _punch(item, holes)
            punched[new_key] = new_item
            shapes.append((key_shape, item_shape))
        return punched, (dict, tuple(shapes))
    if isinstance(value, list | tuple):
        pairs = [_punch(item, holes) for item in value]
        return [p for p, _ in pairs], (list, tuple(shape for _, shape in pairs))
    raise TypeError(f"cannot reuse structure for a {type(value).__name__} in the context")


def _fill(value: Any, holes: list[str]) -> Any:
    if isinstance(value, str):
        if "\x00" not in value:
            return value
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return holes[int(whole.group(1))]
        return _PLACEHOLDER.sub(lambda m: holes[int(m.group(1))], value)
    if isinstance(value, dict):
        return {_fill(k, holes): _fill(v, holes) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, holes) for v in value]
    return value


def render_templates(
    templates: Iterable[str], context: Mapping[str, Any], directory: Path | None = None
) -> list[dict[str, Any]]:
    """The documents of several templates in order, the same as `render_documents` on each, reusing parsed
    structure between calls whose contexts differ only in their strings (see above)."""
    where = str(directory) if directory else _default_directory()
    holes: list[str] = []
    punched: dict[str, Any] = {}
    shapes = []
    for variable, value in context.items():  # variable names stay: the template refers to them
        punched[variable], value_shape = _punch(value, holes)
        shapes.append((variable, value_shape))
    shape = tuple(shapes)
    documents: list[dict[str, Any]] = []
    for name in templates:
        key = (where, name, shape)
        if key not in _SKELETONS:
            if len(_SKELETONS) >= _MAX_SKELETONS:
                _SKELETONS.clear()
            try:
                _SKELETONS[key] = parse_documents(_template(where, name).render(punched))
            except yaml.YAMLError:
                _SKELETONS[key] = None  # a string is written raw somewhere: render this template plainly
        skeleton = _SKELETONS[key]
        if skeleton is None:
            documents.extend(render_documents(name, context, directory))
        else:
            documents.extend(_fill(skeleton, holes))
    return documents


# YAML out. PyYAML's dumper spends most of its time in generic Python machinery; manifests are only maps, lists,
# strings, integers, booleans and nulls, so they are written directly, in PyYAML's block layout: two-space
# indents, list items level with their key. A string is written plain only when it is unambiguous (it reads back
# as that same string), otherwise double-quoted with escapes. Anything else falls back to PyYAML. Tests read
# the output back with yaml.safe_load over generated data, arbitrary text included.
_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./:@=+, ()-]*")
_STR_TAG = "tag:yaml.org,2002:str"
_PLAIN_OK: dict[str, bool] = {}
_RESOLVER = yaml.resolver.Resolver()


class _Unsupported(Exception):
    pass


def _is_plain(text: str) -> bool:
    known = _PLAIN_OK.get(text)
    if known is None:
        known = (
            _PLAIN.fullmatch(text) is not None
            and not text.endswith((" ", ":"))
            and ": " not in text
            and " #" not in text
            and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR_TAG
        )
        if len(_PLAIN_OK) < 100_000:
            _PLAIN_OK[text] = known
    return known


def _quoted(text: str) -> str:
    if text.isascii() and text.isprintable():
        if '"' in text and "'" not in text:
            return f"'{text}'"  # nothing is escaped in single quotes but the quote itself: JSON stays readable
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return value if _is_plain(value) else _quoted(value)
    keyword = _keyword(value)
    if keyword is not None:
        return keyword
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list | tuple) and not value:
        return "[]"
    raise _Unsupported(type(value).__name__)


def _mapping(data: Mapping[Any, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        if isinstance(key, dict | list | tuple):
            raise _Unsupported("a collection as a mapping key")
        name = _scalar(key)
        if isinstance(value, Mapping) and value:
            out.append(f"{pad}{name}:\n")
            _mapping(value, indent + 2, out)
        elif isinstance(value, list | tuple) and value:
            out.append(f"{pad}{name}:\n")
            _sequence(value, indent, out)
        else:
            out.append(f"{pad}{name}: {_scalar(value)}\n")


def _sequence(items: Iterable[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, Mapping | list | tuple) and item:
            nested: list[str] = []
            if isinstance(item, Mapping):
                _mapping(item, indent + 2, nested)
            else:
                _sequence(item, indent + 2, nested)
            nested[0] = f"{pad}- {nested[0][indent + 2 :]}"
            out.extend(nested)
        else:
            out.append(f"{pad}- {_scalar(item)}\n")


def _document(obj: Mapping[str, Any]) -> str:
    try:
        if not obj:
            return "{}\n"
        out: list[str] = []
        _mapping(obj, 0, out)
        return "".join(out)
    except _Unsupported:
        return yaml.dump(dict(obj), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)


def render_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """Multi-document YAML, byte-identical for the same objects: key order as built, block style throughout."""
    docs = [_document(obj) for obj in objects]
    return "---\n" + "---\n".join(docs) if docs else ""
