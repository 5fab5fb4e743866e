"""Turn a fitted scikit-learn text pipeline into a fast, batch-at-a-time predictor.

A TF-IDF vectorizer followed by a linear classifier (LogisticRegression; MultinomialNB, whose joint log
likelihood is linear in the features too; a sigmoid-calibrated LinearSVC, linear per fold) computes
`scores = tfidf(text) @ W.T + b` and then probabilities from the scores. The compiled path keeps
the vectorizer's own analyzer (so tokens are exactly scikit-learn's), looks tokens up in the vocabulary, and
does the arithmetic for a whole batch in a handful of numpy calls. It skips scikit-learn's per-call input
validation and sparse-matrix construction, which cost far more than the arithmetic for short texts.

Every document's result depends only on that document: the per-document sums run in the same order whatever
else is in the batch, so a text gets bit-identical output alone or inside any batch. Pipelines of another shape
fall back to the pipeline's own `predict_proba`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


class Predictor:
    """`predict(texts) -> [Prediction]` for a fitted pipeline; chooses the compiled path when it applies."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.classes: tuple[str, ...] = tuple(str(c) for c in pipeline.classes_)
        self._compiled = _compile(pipeline)

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        proba = self._compiled.predict_proba(texts) if self._compiled else self.pipeline.predict_proba(list(texts))
        best = proba.argmax(axis=1)
        confidence = proba[np.arange(len(texts)), best]
        classes = self.classes
        return [Prediction(classes[i], c) for i, c in zip(best.tolist(), confidence.tolist(), strict=True)]


class _CompiledLinearText:
    """TF-IDF + linear scores, computed for a batch at once."""

    def __init__(
        self,
        analyzer: Callable[[str], list[str]],
        vocabulary: dict[str, int],
        idf: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        sublinear_tf: bool,
        binary: bool,
        l2_norm: bool,
        link: str,
        calibration: np.ndarray | None = None,
    ) -> None:
        self.analyzer = analyzer
        self.vocabulary = vocabulary
        self.idf = idf
        self.weights_t = np.ascontiguousarray(weights.T)  # (n_features, n_scores)
        self.score_index = np.arange(weights.shape[0])
        self.bias = bias  # (n_scores,)
        self.sublinear_tf = sublinear_tf
        self.binary = binary
        self.l2_norm = l2_norm
        self.link = link  # "logistic" (one score, binary), "softmax", or "calibrated" (binary, one score per fold)
        self.calibration = calibration  # (2, n_folds): sigmoid calibrator slopes and offsets

    def _features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        analyze = self.analyzer
        lookup = self.vocabulary.get
        docs: list[int] = []
        columns: list[int] = []
        counts: list[int] = []
        for doc, text in enumerate(texts):
            for token, count in Counter(analyze(text)).items():
                column = lookup(token)
                if column is not None:
                    docs.append(doc)
                    columns.append(column)
                    counts.append(count)
        return (
            np.asarray(docs, dtype=np.intp),
            np.asarray(columns, dtype=np.intp),
            np.asarray(counts, dtype=np.float64),
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        docs, columns, tf = self._features(texts)
        if self.binary:
            tf = np.minimum(tf, 1.0)
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        values = tf * self.idf[columns]
        if self.l2_norm:
            norms = np.sqrt(np.bincount(docs, weights=values * values, minlength=n))
            norms[norms == 0.0] = 1.0
            values = values / norms[docs]
        # One bincount for all score columns: bin = doc * n_scores + column. Within a bin the additions run in
        # token order, whatever the other documents are, so results do not depend on the batch.
        n_scores = self.bias.shape[0]
        contributions = values[:, None] * self.weights_t[columns]
        bins = docs[:, None] * n_scores + self.score_index
        scores = np.bincount(bins.ravel(), weights=contributions.ravel(), minlength=n * n_scores)
        # (an empty batch of features makes bincount return integers)
        scores = scores.astype(np.float64, copy=False).reshape(n, n_scores)
        scores += self.bias
        if self.link == "calibrated":
            # CalibratedClassifierCV(method="sigmoid"), binary: the mean over folds of expit(-(a * score + b)).
            assert self.calibration is not None
            positive = 1.0 / (1.0 + np.exp(scores * self.calibration[0] + self.calibration[1]))
            negative = 1.0 - positive
            # Summed fold by fold, left to right, as scikit-learn accumulates them.
            proba = np.zeros((n, 2))
            for k in range(scores.shape[1]):
                proba[:, 0] += negative[:, k]
                proba[:, 1] += positive[:, k]
            proba /= scores.shape[1]
            return proba
        if self.link == "logistic":
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores


def _compile_calibrated(classifier: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Weights, biases and calibration of a binary sigmoid-calibrated linear model, one row per fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if classifier.method != "sigmoid" or len(classifier.classes_) != 2:
        return None
    weights, bias, calibration = [], [], []
    for member in classifier.calibrated_classifiers_:
        estimator = member.estimator
        if type(estimator) not in (LinearSVC, LogisticRegression) or len(member.calibrators) != 1:
            return None
        if np.asarray(estimator.coef_).shape[0] != 1 or list(estimator.classes_) != list(classifier.classes_):
            return None
        calibrator = member.calibrators[0]
        if type(calibrator).__name__ != "_SigmoidCalibration":
            return None
        weights.append(np.asarray(estimator.coef_, dtype=np.float64)[0])
        bias.append(float(np.asarray(estimator.intercept_).ravel()[0]))
        calibration.append((float(calibrator.a_), float(calibrator.b_)))
    return np.vstack(weights), np.asarray(bias), np.asarray(calibration).T.copy()


def _compile(pipeline: Any) -> _CompiledLinearText | None:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB

    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) != 2:
        return None
    vectorizer, classifier = steps[0][1], steps[1][1]
    if type(vectorizer) is not TfidfVectorizer or vectorizer.norm not in ("l2", None):
        return None
    if vectorizer.dtype not in (np.float64, "float64"):
        return None
    n_features = len(vectorizer.vocabulary_)
    idf = vectorizer.idf_.astype(np.float64) if vectorizer.use_idf else np.ones(n_features)
    common = {
        "analyzer": vectorizer.build_analyzer(),
        "vocabulary": dict(vectorizer.vocabulary_),
        "idf": idf,
        "sublinear_tf": bool(vectorizer.sublinear_tf),
        "binary": bool(vectorizer.binary),
        "l2_norm": vectorizer.norm == "l2",
    }
    if type(classifier) is LogisticRegression:
        weights = np.asarray(classifier.coef_, dtype=np.float64)
        bias = np.asarray(classifier.intercept_, dtype=np.float64)
        link = "logistic" if weights.shape[0] == 1 and len(classifier.classes_) == 2 else "softmax"
        return _CompiledLinearText(weights=weights, bias=bias, link=link, **common)
    if type(classifier) is MultinomialNB:
        weights = np.asarray(classifier.feature_log_prob_, dtype=np.float64)
        bias = np.asarray(classifier.class_log_prior_, dtype=np.float64)
        return _CompiledLinearText(weights=weights, bias=bias, link="softmax", **common)
    if type(classifier) is CalibratedClassifierCV:
        compiled = _compile_calibrated(classifier)
        if compiled is None:
            return None
        weights, bias, calibration = compiled
        return _CompiledLinearText(weights=weights, bias=bias, link="calibrated", calibration=calibration, **common)
    return None
