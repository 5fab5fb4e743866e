from __future__ import annotations

import pytest

from inference.loadgen.__main__ import config_from_args, parser
from inference.loadgen.spec import LoadConfig, SpecError, evaluate_slo, parse_duration, parse_rate, parse_slo


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("2m", 120.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("45", 45.0), ("2.5s", 2.5)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "30x", "s30", "-5s", "0s", "1m-3s", "30s extra", "nan"])
def test_bad_durations_name_the_option(text):
    with pytest.raises(SpecError, match="--duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "rate"), [("200", 200.0), ("200/s", 200.0), ("6000/m", 100.0), ("50rps", 50.0)])
def test_rates(text, rate):
    assert parse_rate(text) == pytest.approx(rate)


@pytest.mark.parametrize("text", ["fast", "0", "-3", "10/h", "1e9", "2000000"])
def test_bad_rates(text):
    with pytest.raises(SpecError, match="--rate"):
        parse_rate(text)


def test_slo_terms_and_units():
    thresholds = parse_slo("p99<200ms, errors<1%,p50<=0.05s,p99.9<900us,rate>=100,dropped<0.5%")
    assert [(t.metric, t.op, t.value) for t in thresholds] == [
        ("p99", "<", 200.0),
        ("errors", "<", 1.0),
        ("p50", "<=", 50.0),
        ("p99_9", "<", 0.9),
        ("rate", ">=", 100.0),
        ("dropped", "<", 0.5),
    ]


@pytest.mark.parametrize("text", ["", "p99", "p99<<3", "p42<3ms", "errors<5ms", "p99<3kg", "errors<120%", "p99<fast"])
def test_bad_slo_strings(text):
    with pytest.raises(SpecError, match="--slo"):
        parse_slo(text)


def _report(p99=150.0, completed=1000, errors=5, failed=0, dropped=0, rate=99.0, count=None):
    return {
        "achieved_rate": rate,
        "requests": {"completed": completed, "failed": failed, "errors": errors, "dropped": dropped, "scheduled": 1000},
        "latency_ms": {"count": completed if count is None else count, "p99": p99, "p50": 2.0},
    }


def test_slo_evaluation():
    slo = parse_slo("p99<200ms,errors<1%,rate>=95")
    assert [r.passed for r in evaluate_slo(_report(), slo)] == [True, True, True]
    assert [r.passed for r in evaluate_slo(_report(p99=250.0, errors=20, rate=90.0), slo)] == [False, False, False]
    errors = evaluate_slo(_report(errors=20, failed=10, completed=990), parse_slo("errors<1%"))[0]
    assert errors.actual == pytest.approx(2.0)  # 20 errors (resets included) of 1000 requests


def test_latency_slo_without_measurements_fails():
    result = evaluate_slo(_report(completed=0, errors=0, count=0, p99=None), parse_slo("p99<200ms"))[0]
    assert result.passed is False and result.actual is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rate": None}, "exactly one of"),
        ({"concurrency": 4}, "exactly one of"),
        ({"duration": None}, "--duration or --requests"),
        ({"url": "ftp://x"}, "--url"),
        ({"max_in_flight": 0}, "--max-in-flight"),
        ({"mix": "chaos"}, "--mix"),
        ({"rate": None, "rate_from": 10.0}, "go together"),
        ({"rate": None, "rate_from": 10.0, "rate_to": 20.0, "duration": None, "requests": 5}, "needs --duration"),
    ],
)
def test_config_validation(changes, message):
    base = {"url": "http://127.0.0.1:8080", "rate": 10.0, "duration": 5.0}
    with pytest.raises(SpecError, match=message):
        LoadConfig(**{**base, **changes}).validate()


@pytest.mark.parametrize(
    "config",
    [
        LoadConfig(url="http://inference.t.svc:80", rate=250.0, duration=90.0, warmup=10.0, connect_wait=60.0),
        LoadConfig(url="http://h:1", rate_from=10.0, rate_to=12.5, duration=30.0, mix="batch", batch_size=64),
        LoadConfig(url="http://h:1", concurrency=8, requests=500, timeout=2.5, bodies=('{"text":"x"}',), path="/p"),
    ],
)
def test_to_args_round_trips_through_the_engine_cli(config):
    assert config_from_args(parser().parse_args(config.to_args())) == config.validate()
