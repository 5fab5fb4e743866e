"""`python -m inference serve`: real uvicorn on 127.0.0.1, real HTTP."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from inference.artifact import METADATA_FILE
from inference.predictor import Predictor
from tests.integration.inference.conftest import start_server, stop_server
from tests.unit.inference.conftest import TEXTS, fit

pytestmark = pytest.mark.integration


def test_the_server_predicts_and_exports_metrics(server):
    response = httpx.post(f"{server.url}/predict", json={"text": "I love this app, it is fast"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["prediction"] == "positive"
    assert response.json()["tenant"] == "tenant-a" and response.json()["model_version"] == "it-1"
    metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    assert 'inference_model_loaded{tenant="tenant-a"} 1.0' in metrics
    assert 'inference_requests_total{method="POST",route="/predict",status="200",tenant="tenant-a"}' in metrics


def test_concurrent_requests_get_the_same_answers_as_one_at_a_time(server):
    texts = [f"{text} {suffix}" for text in TEXTS for suffix in ("", "really", "not", "app", "food", "ok")]
    with httpx.Client(timeout=30) as client:
        alone = [client.post(f"{server.url}/predict", json={"text": t}).json() for t in texts]

    def post(text):
        with httpx.Client(timeout=30) as client:
            return client.post(f"{server.url}/predict", json={"text": text}).json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(post, texts))
    assert together == alone
    expected = Predictor(fit()).predict(texts)
    assert [(r["prediction"], r["confidence"]) for r in alone] == [(p.label, p.confidence) for p in expected]


def test_the_server_process_never_imports_scikit_learn(server):
    """The model is verified and compiled in a child process; the server keeps only numpy arrays."""
    maps = Path(f"/proc/{server.process.pid}/maps")
    if not maps.exists():
        pytest.skip("needs /proc")
    mapped = maps.read_text()
    assert "/numpy/" in mapped
    assert "/sklearn/" not in mapped and "/scipy/" not in mapped


def test_a_tampered_model_stops_the_server_with_the_reason(model_dir, tmp_path):
    tampered = tmp_path / "model"
    tampered.mkdir()
    for path in model_dir.iterdir():
        (tampered / path.name).write_bytes(path.read_bytes())
    metadata = json.loads((tampered / METADATA_FILE).read_text())
    metadata["sha256"] = "0" * 64
    (tampered / METADATA_FILE).write_text(json.dumps(metadata))
    server = start_server({"MODEL_URI": str(tampered)})
    try:
        assert server.process.wait(timeout=60) == 3
        assert "checksum mismatch" in server.stderr()
    finally:
        stop_server(server)


def test_bad_settings_are_refused_before_serving(model_dir):
    server = start_server({"MODEL_URI": str(model_dir), "MAX_BATCH_SIZE": "lots"})
    try:
        assert server.process.wait(timeout=60) == 2
        assert "MAX_BATCH_SIZE='lots' is not a whole number" in server.stderr()
    finally:
        stop_server(server)
