"""The dashboard, proven on data: a real Prometheus on 127.0.0.1 scrapes the real inference service (its own entry
point, a tiny model) under a short bounded load, and every panel query is sent to it with the tenant variable
substituted. Queries over the service's own series must return data; queries over kube-state-metrics or cAdvisor
series (absent here) must at least be accepted by Prometheus' parser. The deployed alert rules are loaded too,
and must evaluate without error on the real series.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlopsctl import constants as c
from mlopsctl.manifests import monitoring
from tests.support import free_port, require_program

pytestmark = pytest.mark.integration

TENANT = "tenant-a"
POD = "inference-7c9d-abcde"
# Series that only exist in a cluster: kube-state-metrics and the kubelet's cAdvisor.
CLUSTER_ONLY = re.compile(r"\b(kube_[a-z_]+|container_[a-z_]+)\b")
REPO = Path(__file__).resolve().parents[3]


def _wait_until(predicate, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _get(client, url: str, **params):
    try:
        return client.get(url, params=params, timeout=5.0)
    except Exception:
        return None


@contextlib.contextmanager
def _running(argv: list[str], log: Path, ready_url: str, what: str, stop_timeout: float, env=None):
    """Start a server process logging to `log`, wait until `ready_url` answers 200, stop it on exit."""
    import httpx

    with log.open("w") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client() as client:

            def ready() -> bool:
                assert process.poll() is None, log.read_text()[-3000:]
                response = _get(client, ready_url)
                return response is not None and response.status_code == 200

            _wait_until(ready, 60, what)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A tiny model in the service's artifact format (skops + metadata)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from inference.artifact import library_versions, save_artifact

    texts = ["great product", "love it", "awful service", "terrible", "really good", "very bad"]
    labels = ["positive", "positive", "negative", "negative", "positive", "negative"]
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, labels)
    out = tmp_path_factory.mktemp("model")
    save_artifact(
        pipeline,
        {
            "version": "v-dashboard-test",
            "created_at": "2026-11-27T12:00:00Z",
            "classes": [str(label) for label in pipeline.classes_],
            "metrics": {"heldout": {"accuracy": 1.0}},
            "libraries": library_versions(),
        },
        out,
    )
    return out


@pytest.fixture(scope="module")
def service(model_dir: Path, tmp_path_factory):
    """The inference service through the container's own entry point (`python -m inference serve`)."""
    port = free_port()
    log = tmp_path_factory.mktemp("service") / "service.log"
    env = {
        **os.environ,
        "TENANT_NAME": TENANT,
        "MODEL_URI": str(model_dir),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
    }
    argv = [sys.executable, "-m", "inference", "serve", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with _running(argv, log, f"{base}/readyz", "the inference service to be ready", 10, env=env):
        yield base


@pytest.fixture(scope="module")
def prometheus(service: str, tmp_path_factory):
    """Prometheus scraping the service every second, labelled as a ServiceMonitor target would be, with the
    deployed alert rules loaded."""
    binary = require_program("prometheus")
    work = tmp_path_factory.mktemp("prometheus")
    (work / "rules.yaml").write_text(monitoring.rules_file())
    target = service.removeprefix("http://")
    (work / "prometheus.yml").write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        "rule_files:\n"
        f"  - {work / 'rules.yaml'}\n"
        "scrape_configs:\n"
        f"  - job_name: {c.APP_NAME}\n"
        "    static_configs:\n"
        f"      - targets: ['{target}']\n"
        "        labels:\n"
        f"          namespace: {TENANT}\n"
        f"          pod: {POD}\n"
    )
    port = free_port()
    argv = [
        binary,
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1h",
    ]
    base = f"http://127.0.0.1:{port}"
    with _running(argv, work / "prometheus.log", f"{base}/-/ready", "Prometheus to be ready", 20):
        yield base


def _query(client, prometheus: str, expr: str, instant: bool):
    if instant:
        return client.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10.0)
    end = time.time()
    params = {"query": expr, "start": end - 60, "end": end, "step": 1}
    return client.get(f"{prometheus}/api/v1/query_range", params=params, timeout=10.0)


def _values(data: dict) -> list[float]:
    result = data["data"]["result"]
    if data["data"]["resultType"] == "vector":
        return [float(sample["value"][1]) for sample in result]
    return [float(value) for series in result for _, value in series["values"]]


@pytest.fixture(scope="module")
def loaded(service: str, prometheus: str) -> str:
    """A short, bounded load: single and batch predictions plus a few bad requests, while Prometheus scrapes."""
    import httpx

    with httpx.Client() as client:

        def scraped() -> bool:
            response = _get(client, f"{prometheus}/api/v1/query", query=f'up{{job="{c.APP_NAME}"}} == 1')
            return response is not None and bool(response.json()["data"]["result"])

        _wait_until(scraped, 30, "Prometheus to scrape the service")
        texts = ["I love this", "this is awful", "really great value", "very bad support", "good enough"]
        for round_ in range(6):  # 6 rounds, ~0.7s apart: several scrapes see the counters grow
            for index in range(15):
                response = client.post(f"{service}/predict", json={"text": texts[index % len(texts)]}, timeout=10.0)
                assert response.status_code == 200, response.text
            response = client.post(f"{service}/predict/batch", json={"texts": texts}, timeout=10.0)
            assert response.status_code == 200, response.text
            assert client.post(f"{service}/predict", json={"text": ""}, timeout=10.0).status_code == 422
            if round_ < 5:
                time.sleep(0.7)
        time.sleep(2.5)  # the last increments are scraped
    return prometheus


def test_the_service_exports_every_metric_the_rules_and_dashboard_use(service: str, loaded: str) -> None:
    """After some traffic, every series the rules and the dashboard name exists, labelled with the tenant."""
    import httpx

    exposition = httpx.get(f"{service}/metrics", timeout=10.0).text
    for name in monitoring.SERVICE_METRICS.names():
        assert re.search(rf"^{re.escape(name)}\{{[^}}]*tenant=\"{TENANT}\"", exposition, re.M), name


def _panel_queries() -> list[tuple[str, str, bool]]:
    board = monitoring.dashboard()
    return [
        (panel["title"], target["expr"], bool(target.get("instant")))
        for panel in board["panels"]
        for target in panel["targets"]
    ]


PANEL_QUERIES = _panel_queries()


@pytest.mark.parametrize(
    ("title", "expr", "instant"), PANEL_QUERIES, ids=[f"{title}:{expr[:40]}" for title, expr, _ in PANEL_QUERIES]
)
def test_every_panel_query_works_on_the_real_service(loaded: str, title: str, expr: str, instant: bool) -> None:
    import httpx

    query = monitoring.substitute(expr, {"tenant": TENANT, "datasource": "prometheus"})
    assert "$" not in query, query
    with httpx.Client() as client:
        response = _query(client, loaded, query, instant)
    assert response.status_code == 200, f"{title}: {query}: {response.text}"
    data = response.json()
    assert data["status"] == "success", data
    if CLUSTER_ONLY.search(query):
        return  # parsed and evaluated; the series exist only in a cluster
    values = _values(data)
    assert values, f"{title}: no data for {query}"
    assert any(math.isfinite(value) for value in values), f"{title}: only NaN for {query}"


def test_a_misspelt_query_is_refused_so_the_parse_check_can_fail(loaded: str) -> None:
    import httpx

    response = httpx.get(f"{loaded}/api/v1/query", params={"query": "sum by (pod (up)"}, timeout=10.0)
    assert response.status_code == 400
    assert response.json()["errorType"] == "bad_data"


def test_the_tenant_variable_finds_the_tenant(loaded: str) -> None:
    import httpx

    response = httpx.get(
        f"{loaded}/api/v1/label/tenant/values",
        params={"match[]": monitoring.SERVICE_METRICS.model_info},
        timeout=10.0,
    )
    assert response.json()["data"] == [TENANT]


def test_the_deployed_rules_evaluate_without_error_on_real_series(loaded: str) -> None:
    import httpx

    groups = httpx.get(f"{loaded}/api/v1/rules", timeout=10.0).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == set(monitoring.alert_names(monitoring.rule_groups()))
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    # A healthy, loaded service: none of its own alerts is even pending.
    states = {rule["name"]: rule["state"] for rule in rules}
    for name in ("InferenceModelNotLoaded", "InferenceHighErrorRatio", "InferenceModelStatusAbsent"):
        assert states[name] == "inactive", (name, states[name])
