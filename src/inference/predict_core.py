"""The prediction routes' core: the model's state, request validation to the rules the OpenAPI document states,
and the JSON answers, without FastAPI's per-request machinery (see app.py)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from inference import jsonio
from inference.artifact import LoadedModel
from inference.batching import MicroBatcher
from inference.metrics import ServiceMetrics
from inference.predictor import Prediction, Predictor
from inference.settings import ServiceSettings


class ModelState:
    """What the service knows about its model; written once by the loader thread."""

    def __init__(self) -> None:
        self.status = "loading"
        self.model: LoadedModel | None = None
        self.predictor: Predictor | None = None
        self.error: str | None = None
        self.done = threading.Event()

    def ready(self, model: LoadedModel, predictor: Predictor) -> None:
        self.model, self.predictor = model, predictor
        self.status = "ready"
        self.done.set()

    def fail(self, message: str) -> None:
        self.error = message
        self.status = "failed"
        self.done.set()


class InvalidRequest(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def error_body(status: int, detail: str) -> tuple[int, bytes]:
    return status, jsonio.dumps({"detail": detail})


class PredictCore:
    """Parse, validate, predict, answer: the logic behind /predict and /predict/batch, free of any framework."""

    def __init__(self, settings: ServiceSettings, state: ModelState, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.batcher: MicroBatcher[Prediction] = MicroBatcher(
            self._predict,
            max_batch_size=settings.max_batch_size,
            max_wait=settings.max_batch_wait_ms / 1000.0,
            inline_chars=settings.inline_batch_chars,
            on_batch=self._observe,
        )

    def _predict(self, texts: Sequence[str]) -> list[Prediction]:
        predictor = self.state.predictor
        if predictor is None:  # only reachable if a request raced a failed load
            raise RuntimeError("the model is not loaded")
        return predictor.predict(texts)

    def _observe(self, results: list[Prediction]) -> None:
        self.metrics.observe_batch([r.label for r in results], len(results))

    def _object(self, body: bytes) -> dict[str, Any]:
        try:
            data = jsonio.loads(body)
        except (ValueError, RecursionError):
            raise InvalidRequest(400, "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequest(422, "the request body must be a JSON object")
        return data

    def _text(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise InvalidRequest(422, f"{where} must be a string")
        if len(value) > self.settings.max_text_chars:
            raise InvalidRequest(422, f"{where} is longer than {self.settings.max_text_chars} characters")
        if not value or value.isspace():
            raise InvalidRequest(422, f"{where} must not be empty")
        return value

    def _not_ready(self) -> tuple[int, bytes] | None:
        if self.state.predictor is None:
            return error_body(
                503, "the model is not loaded yet" if self.state.status == "loading" else "the model failed to load"
            )
        return None

    async def predict(self, body: bytes) -> tuple[int, bytes]:
        try:
            data = self._object(body)
            if "text" not in data:
                raise InvalidRequest(422, "missing field 'text'")
            text = self._text(data["text"], "'text'")
        except InvalidRequest as exc:
            return error_body(exc.status, exc.detail)
        unavailable = self._not_ready()
        if unavailable:
            return unavailable
        (result,) = await self.batcher.submit((text,))
        model = self.state.model
        return 200, jsonio.dumps(
            {
                "text": text,
                "prediction": result.label,
                "confidence": result.confidence,
                "tenant": self.settings.tenant,
                "model_version": model.version if model else "unknown",
            }
        )

    async def predict_batch(self, body: bytes) -> tuple[int, bytes]:
        try:
            data = self._object(body)
            if "texts" not in data:
                raise InvalidRequest(422, "missing field 'texts'")
            texts = data["texts"]
            if not isinstance(texts, list):
                raise InvalidRequest(422, "'texts' must be a list of strings")
            if not 1 <= len(texts) <= self.settings.max_batch_items:
                raise InvalidRequest(422, f"'texts' must hold 1 to {self.settings.max_batch_items} items")
            for index, text in enumerate(texts):
                self._text(text, f"'texts[{index}]'")
        except InvalidRequest as exc:
            return error_body(exc.status, exc.detail)
        unavailable = self._not_ready()
        if unavailable:
            return unavailable
        results = await self.batcher.submit(texts)
        model = self.state.model
        return 200, jsonio.dumps(
            {
                "predictions": [{"prediction": r.label, "confidence": r.confidence} for r in results],
                "model_version": model.version if model else "unknown",
            }
        )
