"""Turn a fitted scikit-learn text pipeline into a small, fast, batch-at-a-time predictor.

A TF-IDF vectorizer followed by a linear classifier (LogisticRegression; MultinomialNB, whose joint log
likelihood is linear in the features too; a sigmoid-calibrated LinearSVC, linear per fold) computes
`scores = tfidf(text) @ W.T + b` and then probabilities from the scores. `compile_pipeline` extracts the
vocabulary, idf, weights and calibration into a `CompiledModel`: plain numpy arrays plus the word analyzer's
settings, re-implemented here exactly as scikit-learn's (same preprocessing, token pattern and n-grams). It
needs neither scikit-learn nor scipy to predict, so the serving process never imports them (they are most of
its memory), and it skips scikit-learn's per-call validation and sparse-matrix construction, which cost far
more than the arithmetic for short texts.

Every document's result depends only on that document: the per-document sums run in the same order whatever
else is in the batch, so a text gets bit-identical output alone or inside any batch. Pipelines of another shape
are served through the pipeline's own `predict_proba`.
"""

from __future__ import annotations

import io
import json
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

_MAGIC = b"MLOPSCM1"


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


def _strip_accents_unicode(text: str) -> str:
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    return "".join([c for c in normalized if not unicodedata.combining(c)])


def _strip_accents_ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ASCII", "ignore").decode("ASCII")


class WordAnalyzer:
    """scikit-learn's word analyzer (lowercase, accent stripping, token pattern, stop words, word n-grams)."""

    def __init__(
        self,
        lowercase: bool,
        strip_accents: str | None,
        token_pattern: str,
        ngram_range: tuple[int, int],
        stop_words: frozenset[str] | None,
    ) -> None:
        self.lowercase = lowercase
        self.strip_accents = {None: None, "unicode": _strip_accents_unicode, "ascii": _strip_accents_ascii}[
            strip_accents
        ]
        self.findall = re.compile(token_pattern).findall
        self.min_n, self.max_n = ngram_range
        self.stop_words = stop_words

    def __call__(self, doc: str) -> list[str]:
        if self.lowercase:
            doc = doc.lower()
        if self.strip_accents is not None:
            doc = self.strip_accents(doc)
        tokens = self.findall(doc)
        if self.stop_words is not None:
            tokens = [w for w in tokens if w not in self.stop_words]
        if self.max_n == 1:
            return tokens
        min_n = self.min_n
        original = tokens
        if min_n == 1:
            tokens = list(original)
            min_n += 1
        else:
            tokens = []
        count = len(original)
        for n in range(min_n, min(self.max_n + 1, count + 1)):
            for i in range(count - n + 1):
                tokens.append(" ".join(original[i : i + n]))
        return tokens


@dataclass
class CompiledModel:
    """Everything needed to predict, as JSON-able settings and numpy arrays (no scikit-learn objects)."""

    classes: list[str]
    analyzer: dict[str, Any]  # lowercase, strip_accents, token_pattern, ngram_range, stop_words
    vocabulary: list[str]  # term of each feature column
    idf: np.ndarray  # (n_features,)
    weights: np.ndarray  # (n_scores, n_features)
    bias: np.ndarray  # (n_scores,)
    sublinear_tf: bool
    binary: bool
    l2_norm: bool
    link: str  # "logistic" (one score, binary), "softmax", or "calibrated" (binary, one score per fold)
    calibration: np.ndarray = field(default_factory=lambda: np.zeros((2, 0)))  # (2, n_folds): slopes, offsets

    def to_bytes(self) -> bytes:
        header = {
            "classes": self.classes,
            "analyzer": self.analyzer,
            "vocabulary": self.vocabulary,
            "sublinear_tf": self.sublinear_tf,
            "binary": self.binary,
            "l2_norm": self.l2_norm,
            "link": self.link,
        }
        arrays = io.BytesIO()
        np.savez(arrays, idf=self.idf, weights=self.weights, bias=self.bias, calibration=self.calibration)
        encoded = json.dumps(header).encode()
        return _MAGIC + struct.pack(">Q", len(encoded)) + encoded + arrays.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CompiledModel:
        if not data.startswith(_MAGIC):
            raise ValueError("not a compiled model")
        (length,) = struct.unpack(">Q", data[8:16])
        header = json.loads(data[16 : 16 + length])
        arrays = np.load(io.BytesIO(data[16 + length :]), allow_pickle=False)
        return cls(
            classes=list(header["classes"]),
            analyzer=dict(header["analyzer"]),
            vocabulary=list(header["vocabulary"]),
            idf=arrays["idf"],
            weights=arrays["weights"],
            bias=arrays["bias"],
            calibration=arrays["calibration"],
            sublinear_tf=bool(header["sublinear_tf"]),
            binary=bool(header["binary"]),
            l2_norm=bool(header["l2_norm"]),
            link=str(header["link"]),
        )


class _CompiledPredictor:
    """TF-IDF + linear scores + link function, computed for a whole batch in a handful of numpy calls."""

    def __init__(self, model: CompiledModel) -> None:
        config = model.analyzer
        stop_words = config.get("stop_words")
        self.analyze = WordAnalyzer(
            lowercase=bool(config["lowercase"]),
            strip_accents=config.get("strip_accents"),
            token_pattern=str(config["token_pattern"]),
            ngram_range=(int(config["ngram_range"][0]), int(config["ngram_range"][1])),
            stop_words=frozenset(stop_words) if stop_words is not None else None,
        )
        self.vocabulary = {term: column for column, term in enumerate(model.vocabulary)}
        self.n_features = len(model.vocabulary)
        self.idf = np.asarray(model.idf, dtype=np.float64)
        weights = np.asarray(model.weights, dtype=np.float64)
        self.weights_t = np.ascontiguousarray(weights.T)  # (n_features, n_scores)
        self.n_scores = weights.shape[0]
        self.score_index = np.arange(self.n_scores)
        self.bias = np.asarray(model.bias, dtype=np.float64)
        self.sublinear_tf = model.sublinear_tf
        self.binary = model.binary
        self.l2_norm = model.l2_norm
        self.link = model.link
        self.calibration = np.asarray(model.calibration, dtype=np.float64)

    def _features(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(document, column, count) of every distinct known term, sorted by document then column."""
        analyze = self.analyze
        tokens: list[str] = []
        lengths: list[int] = []
        for text in texts:
            terms = analyze(text)
            tokens += terms
            lengths.append(len(terms))
        columns = np.fromiter(map(self.vocabulary.get, tokens, repeat(-1)), dtype=np.intp, count=len(tokens))
        docs = np.repeat(np.arange(len(texts), dtype=np.intp), lengths)
        known = columns >= 0
        keys, counts = np.unique(docs[known] * self.n_features + columns[known], return_counts=True)
        return keys // self.n_features, keys % self.n_features, counts.astype(np.float64)

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
        # column order (as in scikit-learn's sorted sparse rows), whatever the other documents are, so results
        # do not depend on the batch.
        n_scores = self.n_scores
        contributions = values[:, None] * self.weights_t[columns]
        bins = docs[:, None] * n_scores + self.score_index
        summed = np.bincount(bins.ravel(), weights=contributions.ravel(), minlength=n * n_scores)
        # (an empty set of features makes bincount return integers)
        scores: npt.NDArray[np.float64] = summed.astype(np.float64, copy=False).reshape(n, n_scores)
        scores += self.bias
        if self.link == "calibrated":
            # CalibratedClassifierCV(method="sigmoid"), binary: the mean over folds of expit(-(a * score + b)).
            positive = 1.0 / (1.0 + np.exp(scores * self.calibration[0] + self.calibration[1]))
            negative = 1.0 - positive
            # Summed fold by fold, left to right, as scikit-learn accumulates them.
            proba = np.zeros((n, 2))
            for k in range(n_scores):
                proba[:, 0] += negative[:, k]
                proba[:, 1] += positive[:, k]
            proba /= n_scores
            return proba
        if self.link == "logistic":
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.column_stack([1.0 - positive, positive])
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores


class Predictor:
    """`predict(texts) -> [Prediction]` from a compiled model or, failing that, a fitted pipeline."""

    def __init__(self, pipeline: Any = None, compiled: CompiledModel | None = None) -> None:
        if compiled is None and pipeline is not None:
            compiled = compile_pipeline(pipeline)
        if compiled is None and pipeline is None:
            raise ValueError("a Predictor needs a pipeline or a compiled model")
        self.pipeline = pipeline
        self.classes: tuple[str, ...] = tuple(
            compiled.classes if compiled is not None else (str(c) for c in pipeline.classes_)
        )
        self._compiled = _CompiledPredictor(compiled) if compiled is not None else None

    @property
    def compiled(self) -> bool:
        return self._compiled is not None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self._compiled is not None:
            return self._compiled.predict_proba(texts)
        return np.asarray(self.pipeline.predict_proba(list(texts)), dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if not texts:
            return []
        proba = self.predict_proba(texts)
        best = proba.argmax(axis=1)
        confidence = proba[np.arange(len(texts)), best]
        classes = self.classes
        return [Prediction(classes[i], c) for i, c in zip(best.tolist(), confidence.tolist(), strict=True)]


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


def _analyzer_config(vectorizer: Any) -> dict[str, Any] | None:
    if vectorizer.analyzer != "word" or vectorizer.preprocessor is not None or vectorizer.tokenizer is not None:
        return None
    if vectorizer.input != "content" or vectorizer.strip_accents not in (None, "unicode", "ascii"):
        return None
    if not isinstance(vectorizer.token_pattern, str) or re.compile(vectorizer.token_pattern).groups > 1:
        return None
    stop_words = vectorizer.get_stop_words()
    return {
        "lowercase": bool(vectorizer.lowercase),
        "strip_accents": vectorizer.strip_accents,
        "token_pattern": vectorizer.token_pattern,
        "ngram_range": [int(vectorizer.ngram_range[0]), int(vectorizer.ngram_range[1])],
        "stop_words": sorted(stop_words) if stop_words is not None else None,
    }


def compile_pipeline(pipeline: Any) -> CompiledModel | None:
    """The compiled form of a TF-IDF + linear pipeline, or None when the pipeline has another shape."""
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
    if np.dtype(vectorizer.dtype) != np.float64:
        return None
    analyzer = _analyzer_config(vectorizer)
    if analyzer is None:
        return None
    vocabulary = [""] * len(vectorizer.vocabulary_)
    for term, column in vectorizer.vocabulary_.items():
        vocabulary[column] = term
    n_features = len(vocabulary)
    common: dict[str, Any] = {
        "classes": [str(c) for c in pipeline.classes_],
        "analyzer": analyzer,
        "vocabulary": vocabulary,
        "idf": vectorizer.idf_.astype(np.float64) if vectorizer.use_idf else np.ones(n_features),
        "sublinear_tf": bool(vectorizer.sublinear_tf),
        "binary": bool(vectorizer.binary),
        "l2_norm": vectorizer.norm == "l2",
    }
    if type(classifier) is LogisticRegression:
        weights = np.asarray(classifier.coef_, dtype=np.float64)
        bias = np.asarray(classifier.intercept_, dtype=np.float64)
        link = "logistic" if weights.shape[0] == 1 and len(classifier.classes_) == 2 else "softmax"
        return CompiledModel(weights=weights, bias=bias, link=link, **common)
    if type(classifier) is MultinomialNB:
        weights = np.asarray(classifier.feature_log_prob_, dtype=np.float64)
        bias = np.asarray(classifier.class_log_prior_, dtype=np.float64)
        return CompiledModel(weights=weights, bias=bias, link="softmax", **common)
    if type(classifier) is CalibratedClassifierCV:
        compiled = _compile_calibrated(classifier)
        if compiled is None:
            return None
        weights, bias, calibration = compiled
        return CompiledModel(weights=weights, bias=bias, link="calibrated", calibration=calibration, **common)
    return None
