"""`python -m inference`: argument and environment handling that needs no server."""

from __future__ import annotations

import pytest

from inference.__main__ import _port, main


@pytest.mark.parametrize(("raw", "port"), [(None, 8080), ("", 8080), ("9000", 9000), (" 8081 ", 8081)])
def test_the_port_comes_from_the_environment(raw, port):
    assert _port(raw) == port


@pytest.mark.parametrize("raw", ["abc", "0", "65536", "-1", "80.5"])
def test_a_bad_port_is_named(raw):
    with pytest.raises(ValueError, match="is not a port number"):
        _port(raw)


def test_train_writes_an_artifact_and_reports_it(tmp_path, capsys):
    from tests.unit.inference.conftest import LABELS, TEXTS, write_csv

    data = tmp_path / "d.csv"
    write_csv(data, list(zip(TEXTS, LABELS, strict=True)))
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "m"), "--version", "m1"]) == 0
    assert capsys.readouterr().out.startswith("model m1: ")
    assert (tmp_path / "m" / "model.skops").is_file() and (tmp_path / "m" / "metadata.json").is_file()


def test_train_refuses_bad_data_with_exit_2(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m")]) == 2
    assert "inference: error: training data not found" in capsys.readouterr().err
