"""Training: held-out selection with a fixed seed, artifact contents, and the shipped data set."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from inference.artifact import METADATA_FILE, MODEL_FILE, load_artifact_dir, sha256_bytes
from inference.train import DEFAULT_DATA, TrainingDataError, read_dataset, train
from tests.unit.inference.conftest import LABELS, TEXTS, write_csv

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "small.csv"
    write_csv(path, list(zip(TEXTS, LABELS, strict=True)))
    return path


def test_training_writes_a_verified_artifact_with_full_metadata(tmp_path, small_csv):
    report = train(small_csv, tmp_path / "out", version="t1", now=NOW)
    metadata = json.loads((tmp_path / "out" / METADATA_FILE).read_text())
    assert metadata["version"] == "t1" and report.version == "t1"
    assert metadata["created_at"] == "2026-11-27T12:00:00Z"
    assert metadata["sha256"] == sha256_bytes((tmp_path / "out" / MODEL_FILE).read_bytes())
    assert metadata["training_data"]["sha256"] == sha256_bytes(small_csv.read_bytes())
    assert metadata["training_data"]["rows"] == 16
    assert metadata["classes"] == ["negative", "positive"]
    assert set(metadata["libraries"]) >= {"scikit-learn", "skops", "numpy", "scipy", "python"}
    metrics = metadata["metrics"]
    assert metrics["selected"] == report.classifier
    assert set(metrics["candidates"]) == {"logistic_regression", "multinomial_nb", "linear_svc_calibrated"}
    assert metrics["heldout"]["accuracy"] == max(c["accuracy"] for c in metrics["candidates"].values())
    assert metrics["split"] == {"test_size": 0.2, "seed": 42, "train_rows": 12, "test_rows": 4}
    assert load_artifact_dir(tmp_path / "out").version == "t1"


def test_training_is_deterministic(tmp_path, small_csv):
    first = train(small_csv, tmp_path / "a", now=NOW)
    second = train(small_csv, tmp_path / "b", now=NOW)
    assert first.metrics == second.metrics
    assert first.version == second.version
    assert re.fullmatch(r"20261127-[0-9a-f]{8}", first.version)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,label\nhello,positive\n", "expected a header"),
        ("text,label\n" + "fine,positive\n" * 6, "at least two labels"),
        ("text,label\n" + "fine,positive\n" * 6 + "bad,negative\n", "at least 5 rows"),
        ("text,label\n,positive\n", "empty text or label"),
        ("text,label\n" + "x" * 5001 + ",positive\n", "longer than 5000"),
    ],
)
def test_unusable_data_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(TrainingDataError, match=message):
        read_dataset(path)


def test_missing_data_is_refused(tmp_path):
    with pytest.raises(TrainingDataError, match="not found"):
        read_dataset(tmp_path / "none.csv")


def test_the_shipped_data_set_is_large_balanced_and_free_of_duplicates():
    with open(DEFAULT_DATA, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 600
    counts = Counter(row["label"] for row in rows)
    assert set(counts) == {"positive", "negative"}
    assert counts["positive"] == counts["negative"]

    def normalized(text):
        return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()

    duplicates = [text for text, n in Counter(normalized(r["text"]) for r in rows).items() if n > 1]
    assert duplicates == []
    # Varied wording: no opening phrase dominates, and the vocabulary is broad.
    openings = Counter(" ".join(normalized(r["text"]).split()[:3]) for r in rows)
    assert openings.most_common(1)[0][1] < len(rows) * 0.03
    assert len({w for r in rows for w in normalized(r["text"]).split()}) > 1500
