"""Micro-batching: concurrent requests share model calls, and get exactly what they would get alone."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inference.batching import MicroBatcher
from inference.predictor import Predictor
from tests.unit.inference.conftest import TEXTS


class Recorder:
    """A model stand-in that records the batches it is given (the batcher, not the model, is under test)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts):
        self.batches.append(list(texts))
        return [text.upper() for text in texts]


def test_concurrent_submissions_are_coalesced_within_the_size_limit():
    model = Recorder()

    async def scenario():
        batcher = MicroBatcher(model, max_batch_size=8)
        groups = [[f"t{i}"] for i in range(20)] + [[f"g{i}" for i in range(3)]]
        results = await asyncio.gather(*(batcher.submit(g) for g in groups))
        return groups, results

    groups, results = asyncio.run(scenario())
    assert results == [[t.upper() for t in g] for g in groups]
    assert [len(b) for b in model.batches] == [8, 8, 7]
    assert sorted(t for b in model.batches for t in b) == sorted(t for g in groups for t in g)


def test_a_request_is_never_split_and_a_large_one_is_a_batch_of_its_own():
    model = Recorder()

    async def scenario():
        batcher = MicroBatcher(model, max_batch_size=4)
        big = [f"b{i}" for i in range(10)]
        return await asyncio.gather(batcher.submit(["a"]), batcher.submit(big), batcher.submit(["c", "d"]))

    results = asyncio.run(scenario())
    assert results[1] == [f"B{i}" for i in range(10)]
    assert [len(b) for b in model.batches] == [1, 10, 2]


def test_a_positive_wait_collects_requests_that_arrive_later():
    model = Recorder()

    async def scenario():
        batcher = MicroBatcher(model, max_batch_size=64, max_wait=0.3)

        async def later(text, delay):
            await asyncio.sleep(delay)
            return await batcher.submit([text])

        return await asyncio.gather(later("x", 0), later("y", 0.001), later("z", 0.002))

    assert asyncio.run(scenario()) == [["X"], ["Y"], ["Z"]]
    assert model.batches == [["x", "y", "z"]]


def test_a_model_error_reaches_every_waiter_of_that_batch():
    def broken(texts):
        raise RuntimeError("boom")

    async def scenario():
        batcher = MicroBatcher(broken, max_batch_size=8)
        return await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]), return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert [str(o) for o in outcomes] == ["boom", "boom"]


def test_large_batches_run_in_a_worker_thread_with_the_same_results(tiny_pipeline):
    predictor = Predictor(tiny_pipeline)

    async def scenario(inline_chars):
        batcher = MicroBatcher(predictor.predict, max_batch_size=16, inline_chars=inline_chars)
        try:
            return await asyncio.gather(*(batcher.submit([t]) for t in TEXTS))
        finally:
            batcher.close()

    assert asyncio.run(scenario(inline_chars=10)) == asyncio.run(scenario(inline_chars=10**9))


def test_batched_predictions_through_the_app_equal_one_at_a_time_predictions(tiny_model):
    from inference.app import create_app
    from inference.settings import ServiceSettings

    texts = [f"{a} {b}" for a in TEXTS for b in ("", "really", "not great", "the app", "food", "!", "ok", "bad")]
    app = create_app(ServiceSettings(tenant="t", max_batch_size=32), lambda: tiny_model)

    async def scenario():
        async with app.router.lifespan_context(app):
            assert await asyncio.to_thread(app.state.model_state.done.wait, 30)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                singles = await asyncio.gather(*(client.post("/predict", json={"text": t}) for t in texts))
                batch = await client.post("/predict/batch", json={"texts": texts[:100]})
        return singles, batch

    singles, batch = asyncio.run(scenario())
    alone = [Predictor(tiny_model.pipeline).predict([t])[0] for t in texts]
    assert [(r.json()["prediction"], r.json()["confidence"]) for r in singles] == [
        (p.label, p.confidence) for p in alone
    ]
    assert [(p["prediction"], p["confidence"]) for p in batch.json()["predictions"]] == [
        (p.label, p.confidence) for p in alone[:100]
    ]
    # The requests really were coalesced: fewer model calls than requests, none above the limit.
    registry = app.state.metrics.registry
    assert registry.get_sample_value("inference_batch_size_sum", {"tenant": "t"}) == len(texts) + 100
    assert registry.get_sample_value("inference_batch_size_count", {"tenant": "t"}) < len(texts) / 4


@pytest.mark.parametrize("size", [0, -1])
def test_the_batch_size_must_be_positive(size):
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), max_batch_size=size)
