"""The template machinery: YAML out reads back exactly, YAML in matches safe_load, structure reuse is exact,
and templates fail loudly on undefined values."""

from __future__ import annotations

import jinja2
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mlopsctl.manifests import templating
from mlopsctl.manifests.templating import parse_documents, render_documents, render_templates, render_yaml

scalars = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["true", "no", "on", "null", "~", "1.5", "0x10", "1_000", "2026-11-27", "-m", "a: b", "x #y"]),
    st.sampled_from(["key:", ":", "- a", "'q'", '"d"', "*ref", "&a", "!tag", "%x", "@at", "`b`", "[a]", "{b}"]),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.booleans(),
    st.none(),
)
keys = st.one_of(st.text(max_size=20), st.sampled_from(["<<", "true", "1", "? x", "a b", "app.kubernetes.io/name"]))
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dictionaries(keys, documents, max_size=5), max_size=3))
def test_render_yaml_reads_back_exactly(objects):
    text = render_yaml(objects)
    assert list(yaml.safe_load_all(text)) == (objects if objects else [])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(keys, documents, min_size=1, max_size=5), min_size=1, max_size=3))
def test_parse_documents_agrees_with_safe_load(objects):
    text = yaml.safe_dump_all(objects, sort_keys=False)
    assert parse_documents(text) == [d for d in yaml.safe_load_all(text) if d is not None]


def test_parse_documents_handles_merge_keys_anchors_and_typed_scalars():
    text = "a: &base {x: 1, y: [true, null, 2.5, 2026-11-27]}\nb:\n  <<: *base\n  z: '3'\n---\n---\nc: 1\n"
    assert parse_documents(text) == [d for d in yaml.safe_load_all(text) if d is not None]


def test_render_yaml_keeps_the_common_kubernetes_scalars_plain():
    text = render_yaml([{"image": "mlopsctl/inference:0.1.0", "cpu": "100m", "port": 8080, "value": "8080"}])
    assert text == '---\nimage: mlopsctl/inference:0.1.0\ncpu: 100m\nport: 8080\nvalue: "8080"\n'


def test_render_yaml_falls_back_for_other_types():
    objects = [{"ratio": 0.5, "nested": [{"f": 1.0e20}]}]
    assert list(yaml.safe_load_all(render_yaml(objects))) == objects


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("templates")
    (tmp_path / "ok.yaml.j2").write_text(
        "kind: {{ kind | q }}\nmetadata:\n  name: {{ (prefix ~ '-' ~ name) | q }}\n  labels: {{ labels | q }}\n"
        "{% if replicas %}\nreplicas: {{ replicas }}\n{% endif %}\nitems: {{ items | q }}\n"
    )
    (tmp_path / "raw.yaml.j2").write_text("name: {{ name }}\nsame: {{ name | q }}\n")
    (tmp_path / "strict.yaml.j2").write_text("name: {{ missing | q }}\n")
    return tmp_path


CONTEXTS = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["ConfigMap", "Secret"]),
        "prefix": st.text(max_size=8),
        "name": st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
        "labels": st.dictionaries(st.text(min_size=1, max_size=6), st.text(max_size=6), max_size=3),
        "replicas": st.integers(0, 3),
        "items": st.lists(st.one_of(st.text(max_size=5), st.integers(), st.booleans()), max_size=3),
    }
)


@settings(max_examples=60, deadline=None)
@given(contexts=st.lists(CONTEXTS, min_size=1, max_size=4))
def test_structure_reuse_gives_exactly_what_plain_rendering_gives(template_dir, contexts):
    for context in contexts:
        reused = render_templates(["ok.yaml.j2", "raw.yaml.j2"], context, template_dir)
        plain = render_documents("ok.yaml.j2", context, template_dir) + render_documents(
            "raw.yaml.j2", context, template_dir
        )
        assert reused == plain


def test_a_template_writing_strings_raw_falls_back_to_plain_rendering(template_dir):
    templating._SKELETONS.clear()
    assert render_templates(["raw.yaml.j2"], {"name": "a1"}, template_dir) == [{"name": "a1", "same": "a1"}]
    assert render_templates(["raw.yaml.j2"], {"name": "b2"}, template_dir) == [{"name": "b2", "same": "b2"}]
    assert None in templating._SKELETONS.values()


def test_undefined_values_are_errors_not_empty_strings(template_dir):
    with pytest.raises(jinja2.UndefinedError):
        render_documents("strict.yaml.j2", {}, template_dir)
    with pytest.raises(jinja2.UndefinedError):
        render_templates(["strict.yaml.j2"], {}, template_dir)
