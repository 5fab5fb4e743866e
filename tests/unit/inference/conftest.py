"""A tiny model trained in a fixture, and an app factory that serves it."""

from __future__ import annotations

import pytest

POSITIVE = [
    "great product, works perfectly",
    "I love this app, it is fast",
    "excellent service and friendly staff",
    "really happy with the quality",
    "the food was delicious",
    "wonderful stay, lovely room",
    "fantastic support, very helpful",
    "best purchase this year",
]
NEGATIVE = [
    "terrible product, it broke",
    "I hate this app, it is slow",
    "awful service and rude staff",
    "really unhappy with the quality",
    "the food was disgusting",
    "horrible stay, dirty room",
    "useless support, no help at all",
    "worst purchase this year",
]
TEXTS = POSITIVE + NEGATIVE
LABELS = ["positive"] * len(POSITIVE) + ["negative"] * len(NEGATIVE)


def fit(classifier=None, **vectorizer_options):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    return Pipeline(
        [("tfidf", TfidfVectorizer(**vectorizer_options)), ("clf", classifier or LogisticRegression(C=10.0))]
    ).fit(TEXTS, LABELS)


def write_csv(path, rows) -> None:
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


@pytest.fixture(scope="session")
def tiny_pipeline():
    return fit()


@pytest.fixture(scope="session")
def tiny_artifact(tmp_path_factory, tiny_pipeline):
    """A real artifact directory (model.skops + metadata.json) of the tiny pipeline, version tiny-1."""
    from inference.artifact import library_versions, save_artifact

    out = tmp_path_factory.mktemp("artifact")
    save_artifact(
        tiny_pipeline,
        {
            "version": "tiny-1",
            "created_at": "2026-11-27T12:00:00Z",
            "classes": ["negative", "positive"],
            "metrics": {"heldout": {"accuracy": 1.0}},
            "libraries": library_versions(),
        },
        out,
    )
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_artifact):
    from inference.artifact import load_artifact_dir

    return load_artifact_dir(tiny_artifact)


@pytest.fixture
def make_client(tiny_model):
    """`make_client(loader=..., **settings)` -> a started TestClient whose model load has finished."""
    from fastapi.testclient import TestClient

    from inference.app import create_app
    from inference.settings import ServiceSettings

    clients = []

    def make(loader=None, wait=True, on_load_failure=None, **overrides):
        settings = ServiceSettings(tenant="tenant-a", **overrides)
        app = create_app(settings, loader or (lambda: tiny_model), on_load_failure=on_load_failure)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        if wait:
            assert app.state.model_state.done.wait(30), "the model loader did not finish"
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
