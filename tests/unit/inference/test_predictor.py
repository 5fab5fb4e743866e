"""The compiled predictor gives scikit-learn's answers, and the same answer whatever batch a text is in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.predictor import CompiledModel, Predictor, WordAnalyzer, compile_pipeline
from inference.train import DEFAULT_DATA, read_dataset
from tests.unit.inference.conftest import TEXTS, fit

PROBES = [
    *TEXTS,
    "",
    "   ",
    "zzz qqq unseen words only",
    "Ünïcödé CAFÉ naïve résumé, not bad!",
    "ﬁne ½ Ⅻ ŉ ǅ",
    "great great great terrible",
    "the the the",
]


def _calibrated():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    return CalibratedClassifierCV(LinearSVC(C=0.5, random_state=0), method="sigmoid", cv=3)


def _nb():
    from sklearn.naive_bayes import MultinomialNB

    return MultinomialNB(alpha=0.5)


PIPELINES = {
    "logistic": lambda: fit(),
    "logistic-bigrams-sublinear-accents": lambda: fit(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode"),
    "logistic-stopwords-binary-noidf": lambda: fit(stop_words="english", binary=True, use_idf=False),
    "logistic-ascii-no-norm": lambda: fit(strip_accents="ascii", norm=None, ngram_range=(2, 3)),
    "naive-bayes": lambda: fit(_nb()),
    "calibrated-svm": lambda: fit(_calibrated(), min_df=1, sublinear_tf=True),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_compiled_model_agrees_with_scikit_learn(name):
    pipeline = PIPELINES[name]()
    compiled = compile_pipeline(pipeline)
    assert compiled is not None, f"{name} should compile"
    predictor = Predictor(compiled=CompiledModel.from_bytes(compiled.to_bytes()))
    ours = predictor.predict_proba(PROBES)
    theirs = pipeline.predict_proba(PROBES)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert [p.label for p in predictor.predict(PROBES)] == list(pipeline.predict(PROBES))


def test_other_pipelines_are_served_by_scikit_learn():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("counts", CountVectorizer()), ("clf", LogisticRegression())]).fit(TEXTS, ["a", "b"] * 8)
    predictor = Predictor(pipeline)
    assert not predictor.compiled
    assert [p.label for p in predictor.predict(PROBES)] == list(pipeline.predict(PROBES))


def test_the_analyzer_tokenizes_the_shipped_data_exactly_like_scikit_learn():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = read_dataset(DEFAULT_DATA).texts
    for options in ({}, {"strip_accents": "unicode", "ngram_range": (1, 2)}, {"stop_words": "english"}):
        theirs = TfidfVectorizer(**options).build_analyzer()
        config = compile_pipeline(fit(**options)).analyzer
        ours = WordAnalyzer(
            config["lowercase"],
            config["strip_accents"],
            config["token_pattern"],
            tuple(config["ngram_range"]),
            frozenset(config["stop_words"]) if config["stop_words"] else None,
        )
        assert [ours(t) for t in texts] == [theirs(t) for t in texts]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_the_analyzer_matches_scikit_learn_on_any_text(text):
    from sklearn.feature_extraction.text import TfidfVectorizer

    theirs = TfidfVectorizer(strip_accents="unicode", ngram_range=(1, 3)).build_analyzer()
    ours = WordAnalyzer(True, "unicode", r"(?u)\b\w\w+\b", (1, 3), None)
    assert ours(text) == theirs(text)


_CALIBRATED = Predictor(PIPELINES["calibrated-svm"]())
_WORDS = st.sampled_from(
    ["great", "terrible", "love", "hate", "app", "food", "slow", "fast", "not", "really", "the", "product", "service"]
)
_TEXT = st.one_of(st.lists(_WORDS, max_size=12).map(" ".join), st.text(max_size=40))


@settings(max_examples=100, deadline=None)
@given(st.lists(_TEXT, min_size=1, max_size=40))
def test_a_batch_gives_bit_identical_results_to_one_text_at_a_time(texts):
    together = _CALIBRATED.predict(texts)
    alone = [_CALIBRATED.predict([text])[0] for text in texts]
    assert together == alone


def test_an_empty_batch_predicts_nothing():
    assert _CALIBRATED.predict([]) == []


def test_a_predictor_needs_a_model():
    with pytest.raises(ValueError):
        Predictor()
