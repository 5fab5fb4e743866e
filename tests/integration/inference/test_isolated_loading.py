"""The child-process loader: what the server gets is what scikit-learn would predict, or scikit-learn itself."""

from __future__ import annotations

import numpy as np
import pytest

from inference.artifact import library_versions, load_artifact_dir, save_artifact
from inference.loader import loader_for
from inference.predictor import Predictor
from tests.unit.inference.conftest import LABELS, TEXTS

pytestmark = pytest.mark.integration


def _save(pipeline, directory):
    save_artifact(
        pipeline,
        {
            "version": "iso-1",
            "classes": [str(c) for c in pipeline.classes_],
            "libraries": library_versions(),
        },
        directory,
    )
    return directory


def test_a_compilable_model_arrives_compiled_and_predicts_like_scikit_learn(model_dir):
    model = loader_for(str(model_dir), {}, isolated=True)()
    assert model.pipeline is None and model.compiled is not None
    reference = load_artifact_dir(model_dir)
    assert model.sha256 == reference.sha256 and model.metadata == reference.metadata
    probes = [*TEXTS, "", "unknown words", "not great, not terrible"]
    np.testing.assert_allclose(
        Predictor(compiled=model.compiled).predict_proba(probes),
        reference.pipeline.predict_proba(probes),
        rtol=0,
        atol=1e-12,
    )


def test_a_model_of_another_shape_is_loaded_in_process(tmp_path):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(CountVectorizer(), LogisticRegression()).fit(TEXTS, LABELS)
    model = loader_for(str(_save(pipeline, tmp_path)), {}, isolated=True)()
    assert model.compiled is None
    assert list(model.pipeline.predict(TEXTS)) == list(pipeline.predict(TEXTS))


def test_a_refusal_in_the_child_keeps_its_message_and_hint(tmp_path):
    from inference.artifact import ModelLoadError

    with pytest.raises(ModelLoadError, match="model artifact not found") as caught:
        loader_for(str(tmp_path / "missing"), {}, isolated=True)()
    assert "mlopsctl model train" in (caught.value.hint or "")
