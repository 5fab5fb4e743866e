"""Artifacts: skops + metadata.json, verified on load; mismatches are refused with a clear message."""

from __future__ import annotations

import json
import shutil
import zipfile

import pytest

from inference.artifact import (
    METADATA_FILE,
    MODEL_FILE,
    ModelLoadError,
    check_sklearn_compatible,
    check_version,
    load_artifact_dir,
    save_artifact,
    sha256_bytes,
)


@pytest.fixture
def artifact(tmp_path, tiny_artifact):
    copy = tmp_path / "artifact"
    shutil.copytree(tiny_artifact, copy)
    return copy


def _edit_metadata(directory, **changes):
    path = directory / METADATA_FILE
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


def test_an_artifact_round_trips(tiny_artifact, tiny_pipeline):
    model = load_artifact_dir(tiny_artifact)
    assert model.version == "tiny-1"
    assert model.classes == ("negative", "positive")
    assert model.sha256 == sha256_bytes((tiny_artifact / MODEL_FILE).read_bytes())
    assert list(model.pipeline.predict(["I love this app"])) == list(tiny_pipeline.predict(["I love this app"]))


def test_the_model_file_is_a_skops_archive_not_a_pickle(tiny_artifact):
    with zipfile.ZipFile(tiny_artifact / MODEL_FILE) as archive:
        assert "schema.json" in archive.namelist()
    assert not (tiny_artifact / MODEL_FILE).read_bytes().startswith(b"\x80")  # pickle protocol 2+ header


def test_a_tampered_model_file_is_refused(artifact):
    model_file = artifact / MODEL_FILE
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    with pytest.raises(ModelLoadError, match="checksum mismatch"):
        load_artifact_dir(artifact)


def test_a_model_from_another_scikit_learn_minor_release_is_refused(artifact):
    metadata = json.loads((artifact / METADATA_FILE).read_text())
    _edit_metadata(artifact, libraries={**metadata["libraries"], "scikit-learn": "0.24.2"})
    with pytest.raises(ModelLoadError, match=r"trained with scikit-learn 0\.24\.2, but this service runs") as caught:
        load_artifact_dir(artifact)
    assert "retrain" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("recorded", "installed", "ok"),
    [("1.9.1", "1.9.0", True), ("1.9.1", "1.9.1", True), ("1.8.2", "1.9.1", False), ("2.9.1", "1.9.1", False)],
)
def test_compatibility_is_the_same_major_and_minor_release(recorded, installed, ok):
    if ok:
        check_sklearn_compatible(recorded, installed)
    else:
        with pytest.raises(ModelLoadError):
            check_sklearn_compatible(recorded, installed)


def test_metadata_without_a_version_record_is_refused(artifact):
    _edit_metadata(artifact, libraries={})
    with pytest.raises(ModelLoadError, match="does not record the scikit-learn version"):
        load_artifact_dir(artifact)


def test_missing_files_and_bad_metadata_are_clear_errors(tmp_path, artifact):
    with pytest.raises(ModelLoadError, match="model artifact not found"):
        load_artifact_dir(tmp_path / "nowhere")
    (artifact / METADATA_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_artifact_dir(artifact)
    (artifact / METADATA_FILE).write_text(json.dumps({"version": "x"}))
    with pytest.raises(ModelLoadError, match="lacks sha256, classes, libraries"):
        load_artifact_dir(artifact)


def _sneaky():
    """A model whose file names a function that runs a shell command."""
    import os

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    return make_pipeline(FunctionTransformer(os.system))


def test_a_file_with_types_outside_the_allow_list_is_refused(artifact):
    import skops.io

    data = skops.io.dumps(_sneaky())
    (artifact / MODEL_FILE).write_bytes(data)
    _edit_metadata(artifact, sha256=sha256_bytes(data))
    with pytest.raises(ModelLoadError, match=r"outside the allow-list: posix\.system"):
        load_artifact_dir(artifact)


def test_saving_refuses_a_model_that_could_not_be_loaded(tmp_path):
    with pytest.raises(ValueError, match="refuses to load"):
        save_artifact(_sneaky(), {"version": "x"}, tmp_path)
    assert not (tmp_path / MODEL_FILE).exists()


def test_classes_must_match_the_metadata(artifact):
    _edit_metadata(artifact, classes=["bad", "good"])
    with pytest.raises(ModelLoadError, match="classes"):
        load_artifact_dir(artifact)


@pytest.mark.parametrize("version", ["v1", "2026.11.27", "20261127-abcdef12", "a_b-c.d"])
def test_valid_versions(version):
    assert check_version(version) == version


@pytest.mark.parametrize("version", ["", "../x", "a/b", "-x", "x" * 65, "v 1"])
def test_invalid_versions(version):
    with pytest.raises(ValueError, match="invalid model version"):
        check_version(version)
