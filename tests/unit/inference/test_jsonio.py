"""JSON in and out behave the same with orjson and with the standard-library fallback."""

from __future__ import annotations

import importlib
import sys

import pytest


@pytest.fixture(params=["orjson", "stdlib"])
def jsonio(request, monkeypatch):
    import inference.jsonio as module

    if request.param == "stdlib":
        monkeypatch.setitem(sys.modules, "orjson", None)  # makes `import orjson` fail
    else:
        pytest.importorskip("orjson")
    yield importlib.reload(module)
    monkeypatch.undo()
    importlib.reload(module)


def test_round_trip(jsonio):
    value = {"text": "café ☕", "confidence": 0.5, "n": [1, 2]}
    assert jsonio.loads(jsonio.dumps(value)) == value


@pytest.mark.parametrize("raw", [b"{", b"", b"\xff", b'{"a": }', b"[" * 100000])
def test_bad_input_raises_value_error_or_recursion_error(jsonio, raw):
    with pytest.raises((ValueError, RecursionError)):
        jsonio.loads(raw)


def test_any_parsed_string_can_be_answered(jsonio):
    try:
        text = jsonio.loads(b'"\\ud800"')
    except ValueError:
        return  # orjson refuses lone surrogates at the door
    assert jsonio.loads(jsonio.dumps({"text": text})) == {"text": text}
