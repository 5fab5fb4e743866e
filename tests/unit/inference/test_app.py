"""The HTTP contract: routes, JSON 4xx for bad input, readiness, metrics."""

from __future__ import annotations

import threading

import pytest

from inference.artifact import ModelLoadError
from inference.settings import ServiceSettings

LIMIT = 1024 * 1024


def test_predict_answers_with_the_label_confidence_tenant_and_model_version(make_client):
    client = make_client()
    response = client.post("/predict", json={"text": "I love this app, it is fast"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"text", "prediction", "confidence", "tenant", "model_version"}
    assert body["text"] == "I love this app, it is fast"
    assert body["prediction"] == "positive"
    assert 0.5 <= body["confidence"] <= 1.0
    assert (body["tenant"], body["model_version"]) == ("tenant-a", "tiny-1")


def test_batch_keeps_the_input_order(make_client):
    client = make_client()
    texts = ["awful service and rude staff", "excellent service and friendly staff", "the food was disgusting"]
    response = client.post("/predict/batch", json={"texts": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "tiny-1"
    assert [p["prediction"] for p in body["predictions"]] == ["negative", "positive", "negative"]
    singles = [client.post("/predict", json={"text": t}).json()["confidence"] for t in texts]
    assert [p["confidence"] for p in body["predictions"]] == singles


def test_a_text_of_exactly_5000_characters_and_256_batch_items_are_accepted(make_client):
    client = make_client()
    assert client.post("/predict", json={"text": "a" * 5000}).status_code == 200
    assert client.post("/predict/batch", json={"texts": ["good"] * 256}).status_code == 200


BAD_SINGLE = [
    ("empty text", {"json": {"text": ""}}, 422, "must not be empty"),
    ("blank text", {"json": {"text": " \n\t "}}, 422, "must not be empty"),
    ("text too long", {"json": {"text": "a" * 5001}}, 422, "longer than 5000"),
    ("text not a string", {"json": {"text": 42}}, 422, "must be a string"),
    ("text null", {"json": {"text": None}}, 422, "must be a string"),
    ("missing text", {"json": {"txt": "hi"}}, 422, "missing field 'text'"),
    ("not an object", {"json": ["hi"]}, 422, "must be a JSON object"),
    ("invalid JSON", {"content": b'{"text": "hi"'}, 400, "not valid JSON"),
    ("not UTF-8", {"content": b'{"text": "\xff"}'}, 400, "not valid JSON"),
    ("empty body", {"content": b""}, 400, "not valid JSON"),
    ("deeply nested", {"content": b"[" * 100000}, 400, "not valid JSON"),
]


@pytest.mark.parametrize(("case", "kwargs", "status", "message"), BAD_SINGLE, ids=[c[0] for c in BAD_SINGLE])
def test_bad_input_to_predict_gets_a_json_4xx(make_client, case, kwargs, status, message):
    response = make_client().post("/predict", **kwargs)
    assert response.status_code == status
    assert message in response.json()["detail"]


BAD_BATCH = [
    ("no items", {"texts": []}, "1 to 256 items"),
    ("too many items", {"texts": ["ok"] * 257}, "1 to 256 items"),
    ("not a list", {"texts": "ok"}, "must be a list"),
    ("item not a string", {"texts": ["ok", 3]}, "'texts[1]' must be a string"),
    ("empty item", {"texts": ["ok", ""]}, "'texts[1]' must not be empty"),
    ("item too long", {"texts": ["a" * 5001]}, "'texts[0]' is longer than 5000"),
    ("missing texts", {"text": "ok"}, "missing field 'texts'"),
]


@pytest.mark.parametrize(("case", "payload", "message"), BAD_BATCH, ids=[c[0] for c in BAD_BATCH])
def test_bad_input_to_batch_gets_a_json_422(make_client, case, payload, message):
    response = make_client().post("/predict/batch", json=payload)
    assert response.status_code == 422
    assert message in response.json()["detail"]


@pytest.mark.parametrize("path", ["/predict", "/predict/batch", "/healthz"])
def test_a_body_over_1_mib_is_refused_from_its_content_length(make_client, path):
    response = make_client().post(path, content=b"x" * (LIMIT + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than 1048576 bytes" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_streamed_body_over_1_mib_is_refused_while_it_streams(make_client, path):
    def chunks():
        for _ in range(40):  # 2.5 MiB in 64 KiB chunks, no Content-Length (chunked encoding)
            yield b"x" * 65536

    response = make_client().post(path, content=chunks())
    assert response.status_code == 413
    assert response.json()["detail"].startswith("the request body is larger")


def test_health_and_readiness_and_their_aliases(make_client):
    client = make_client()
    for path in ("/healthz", "/health"):
        assert client.get(path).json() == {"status": "healthy"}
    for path in ("/readyz", "/ready"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "model_version": "tiny-1"}


def test_readiness_waits_for_the_model_while_liveness_answers(make_client, tiny_model):
    gate = threading.Event()

    def slow_loader():
        assert gate.wait(30)
        return tiny_model

    client = make_client(loader=slow_loader, wait=False)
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
        assert client.get("/readyz").json()["status"] == "loading"
        response = client.post("/predict", json={"text": "hello"})
        assert response.status_code == 503 and "not loaded yet" in response.json()["detail"]
    finally:
        gate.set()
    assert client.app.state.model_state.done.wait(30)
    assert client.get("/readyz").status_code == 200
    assert client.post("/predict", json={"text": "hello"}).status_code == 200


def test_a_failed_load_is_reported_and_passed_to_the_failure_hook(make_client):
    failures = []

    def refuse():
        raise ModelLoadError("/models/v1: checksum mismatch", hint="upload it again")

    client = make_client(loader=refuse, on_load_failure=failures.append)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "failed"
    assert "checksum mismatch" in response.json()["detail"]
    assert failures == ["/models/v1: checksum mismatch (hint: upload it again)"]
    assert client.post("/predict", json={"text": "hi"}).status_code == 503
    assert 'inference_model_loaded{tenant="tenant-a"} 0.0' in client.get("/metrics").text


def test_service_info_shows_the_tenant_and_the_model_metadata(make_client):
    body = make_client().get("/").json()
    assert body["tenant"] == "tenant-a" and body["ready"] is True
    assert body["model_version"] == "tiny-1"
    assert body["model"]["classes"] == ["negative", "positive"]
    assert len(body["model"]["sha256"]) == 64


def test_metrics_are_labelled_with_the_tenant(make_client, tiny_model):
    client = make_client()
    client.post("/predict", json={"text": "I love this app"})
    client.post("/predict/batch", json={"texts": ["awful", "terrible product, it broke"]})
    client.post("/predict", json={"text": ""})
    client.get("/no/such/path")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    expected = [
        'inference_requests_total{method="POST",route="/predict",status="200",tenant="tenant-a"} 1.0',
        'inference_requests_total{method="POST",route="/predict",status="422",tenant="tenant-a"} 1.0',
        'inference_requests_total{method="POST",route="/predict/batch",status="200",tenant="tenant-a"} 1.0',
        'inference_requests_total{method="GET",route="other",status="404",tenant="tenant-a"} 1.0',
        'inference_request_duration_seconds_count{method="POST",route="/predict",status="200",tenant="tenant-a"} 1.0',
        'inference_predictions_total{label="positive",tenant="tenant-a"} 1.0',
        'inference_predictions_total{label="negative",tenant="tenant-a"} 2.0',
        'inference_batch_size_sum{tenant="tenant-a"} 3.0',
        f'inference_model_info{{sha256="{tiny_model.sha256}",tenant="tenant-a",version="tiny-1"}} 1.0',
        'inference_model_loaded{tenant="tenant-a"} 1.0',
    ]
    for line in expected:
        assert line in text, line
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert 'tenant="tenant-a"' in line, line


def test_unknown_routes_and_methods_get_json_errors(make_client):
    client = make_client()
    assert client.get("/nope").json() == {"detail": "Not Found"}
    response = client.get("/predict")
    assert response.status_code == 405


def test_the_openapi_document_describes_the_prediction_contract(make_client):
    document = make_client().get("/openapi.json").json()
    predict = document["paths"]["/predict"]["post"]
    schema = predict["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["text"]["maxLength"] == 5000
    assert schema["required"] == ["text"]
    assert set(predict["responses"]) >= {"200", "400", "413", "422", "503"}
    batch = document["paths"]["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert batch["properties"]["texts"]["maxItems"] == 256
    assert {"/healthz", "/readyz", "/health", "/ready", "/", "/metrics"} <= set(document["paths"])


def test_settings_come_from_the_environment():
    env = {"TENANT_NAME": "t1", "MODEL_URI": "s3://b/m/v1", "MAX_BATCH_SIZE": "16", "MAX_BATCH_WAIT_MS": "2.5"}
    settings = ServiceSettings.from_env(env)
    assert (settings.tenant, settings.model_uri, settings.max_batch_size, settings.max_batch_wait_ms) == (
        "t1",
        "s3://b/m/v1",
        16,
        2.5,
    )
    assert ServiceSettings.from_env({}) == ServiceSettings()
    assert ServiceSettings().model_uri == "/opt/mlopsctl/model"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_BATCH_SIZE": "ten"}, "not a whole number"),
        ({"MAX_BATCH_SIZE": "0"}, "outside 1..4096"),
        ({"MAX_BATCH_WAIT_MS": "-1"}, "outside 0.0..1000.0"),
        ({"MAX_BATCH_WAIT_MS": "nan"}, "outside"),
        ({"MAX_BATCH_WAIT_MS": "soon"}, "not a number"),
    ],
)
def test_bad_settings_are_named(env, message):
    with pytest.raises(ValueError, match=message):
        ServiceSettings.from_env(env)
