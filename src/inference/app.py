"""The inference service: `create_app(settings, model_loader)`.

Request path. The two prediction routes are served by a small ASGI layer in front of FastAPI (`ServiceMiddleware`,
entered from `InferenceApp.__call__` before any of FastAPI's own per-request work):
it reads the body with a size limit, parses it with orjson, validates it to the rules the OpenAPI document states,
hands the texts to the micro-batcher and writes the JSON answer. This skips FastAPI's per-request dependency and
model machinery, which costs more than the prediction itself. Every other route is ordinary FastAPI. The same
layer enforces the body limit for all routes (Content-Length first, then the streamed size, before any parsing)
and records the request metrics.

Model loading runs in a background thread from start-up: /healthz answers at once, /readyz turns 200 only when
the model is loaded and its checksum verified. A failed load is reported on /readyz and passed to
`on_load_failure` (the `serve` entry point uses it to stop the process, so Kubernetes restarts it with back-off).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from inference import jsonio
from inference.artifact import LoadedModel, ModelLoadError
from inference.batching import MicroBatcher
from inference.loader import ModelLoader, loader_for
from inference.metrics import ServiceMetrics
from inference.predictor import Prediction, Predictor
from inference.schemas import (
    BatchRequest,
    BatchResponse,
    ErrorResponse,
    HealthResponse,
    InfoResponse,
    PredictRequest,
    PredictResponse,
    ReadyResponse,
)
from inference.settings import ServiceSettings

log = logging.getLogger("inference")

ROUTES = frozenset({"/predict", "/predict/batch", "/healthz", "/readyz", "/health", "/ready", "/", "/metrics"})
DOC_ROUTES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect"})
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
JSON_HEADERS = [(b"content-type", b"application/json")]


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


def _error(status: int, detail: str) -> tuple[int, bytes]:
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
            return _error(
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
            return _error(exc.status, exc.detail)
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
            return _error(exc.status, exc.detail)
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


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


def _content_length(scope: dict[str, Any]) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ServiceMiddleware:
    """The outer ASGI layer: body limit, request metrics, and the fast path of the prediction routes."""

    def __init__(self, app: Any, core: PredictCore, metrics: ServiceMetrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.limit = max_body_bytes
        self.fast = {"/predict": core.predict, "/predict/batch": core.predict_batch}
        self.too_large = jsonio.dumps({"detail": f"the request body is larger than {max_body_bytes} bytes"})

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        handler = self.fast.get(path) if method == "POST" else None
        if handler is not None:
            status = await self._serve_fast(handler, scope, receive, send)
        else:
            status = await self._forward(scope, receive, send)
        route = path if path in ROUTES or path in DOC_ROUTES else "other"
        self.metrics.observe_request(
            route, method if method in METHODS else "other", status, time.perf_counter() - start
        )

    async def _read_body(self, scope: dict[str, Any], receive: Callable) -> bytes:
        length = _content_length(scope)
        if length is not None and length > self.limit:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > self.limit:
                    raise BodyTooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _serve_fast(self, handler: Callable, scope: dict[str, Any], receive: Callable, send: Callable) -> int:
        try:
            body = await self._read_body(scope, receive)
            status, payload = await handler(body)
        except BodyTooLarge:
            status, payload = 413, self.too_large
        except ClientGone:
            return 499
        except Exception:
            log.exception("prediction failed")
            status, payload = _error(500, "internal error while predicting")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [*JSON_HEADERS, (b"content-length", str(len(payload)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        return status

    async def _forward(self, scope: dict[str, Any], receive: Callable, send: Callable) -> int:
        outcome = {"status": 500, "started": False}
        length = _content_length(scope)
        received = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                outcome["started"] = True
            await send(message)

        try:
            if length is not None and length > self.limit:
                raise BodyTooLarge
            await self.app(scope, limited_receive, recording_send)
        except BodyTooLarge:
            if outcome["started"]:
                raise
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [*JSON_HEADERS, (b"content-length", str(len(self.too_large)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": self.too_large})
            return 413
        return int(outcome["status"])


class InferenceApp(FastAPI):
    """FastAPI with the service layer in front of FastAPI's own per-request work.

    FastAPI's `__call__` does telemetry checks and runs Starlette's middleware stack on every request; the
    prediction routes need none of that, so HTTP requests enter `service_layer` first, which passes everything
    but the prediction routes on to FastAPI. Lifespan events go straight to FastAPI.
    """

    service_layer: ServiceMiddleware | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        layer = self.service_layer
        if layer is None or scope["type"] != "http":
            await FastAPI.__call__(self, scope, receive, send)
        else:
            await layer(scope, receive, send)


def _load(
    loader: ModelLoader, state: ModelState, metrics: ServiceMetrics, on_failure: Callable[[str], None] | None
) -> None:
    started = time.perf_counter()
    try:
        model = loader()
        predictor = Predictor(model.pipeline, model.compiled)
        predictor.predict(["warm-up"])
    except ModelLoadError as exc:
        message = str(exc)
    except Exception as exc:  # anything else is still a failed load, reported the same way
        log.exception("unexpected error while loading the model")
        message = f"unexpected error while loading the model: {type(exc).__name__}: {exc}"
    else:
        # Everything allocated so far lives for the whole process: move it out of the collector's sight, so
        # full collections under load stay short (they scan only what requests allocate).
        gc.collect()
        gc.freeze()
        state.ready(model, predictor)
        metrics.model_ready(model.version, model.sha256)
        log.info(
            "model %s loaded from %s in %.2fs (sha256 %s, %s path)",
            model.version,
            model.source,
            time.perf_counter() - started,
            model.sha256[:12],
            "compiled" if predictor.compiled else "scikit-learn",
        )
        return
    state.fail(message)
    log.error("model load failed: %s", message)
    if on_failure is not None:
        on_failure(message)


def _json(status: int, data: Any) -> Response:
    return Response(jsonio.dumps(data), status_code=status, media_type="application/json")


def create_app(
    settings: ServiceSettings | None = None,
    model_loader: ModelLoader | None = None,
    *,
    on_load_failure: Callable[[str], None] | None = None,
) -> FastAPI:
    """The service for one tenant; `model_loader` (default: from `settings.model_uri`) is called once at start-up."""
    settings = settings or ServiceSettings()
    loader = model_loader or loader_for(settings.model_uri, {})
    state = ModelState()
    metrics = ServiceMetrics(settings.tenant)
    core = PredictCore(settings, state, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        threading.Thread(
            target=_load, args=(loader, state, metrics, on_load_failure), name="model-loader", daemon=True
        ).start()
        yield
        core.batcher.close()

    from inference import __version__

    app = InferenceApp(
        title="mlopsctl inference",
        version=__version__,
        description="Sentiment predictions for one tenant.",
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.model_state = state
    app.state.metrics = metrics
    app.state.settings = settings

    errors: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorResponse, "description": "The body is not valid JSON."},
        413: {"model": ErrorResponse, "description": "The body is larger than 1 MiB."},
        422: {"model": ErrorResponse, "description": "The body does not match the schema."},
        503: {"model": ErrorResponse, "description": "The model is not loaded yet."},
    }

    def body_schema(model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema()
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    # These endpoints document the prediction contract; requests to them are answered by the service layer,
    # which runs the same PredictCore. They stay functional so the app also works without that layer.
    @app.post(
        "/predict",
        response_model=None,
        responses={200: {"model": PredictResponse, "description": "The prediction."}, **errors},
        openapi_extra=body_schema(PredictRequest),
        summary="Classify one text",
    )
    async def predict(request: Request) -> Response:
        status, payload = await core.predict(await request.body())
        return Response(payload, status_code=status, media_type="application/json")

    @app.post(
        "/predict/batch",
        response_model=None,
        responses={200: {"model": BatchResponse, "description": "One prediction per text."}, **errors},
        openapi_extra=body_schema(BatchRequest),
        summary="Classify 1 to 256 texts",
    )
    async def predict_batch(request: Request) -> Response:
        status, payload = await core.predict_batch(await request.body())
        return Response(payload, status_code=status, media_type="application/json")

    @app.get(
        "/healthz", summary="Liveness: the process serves", response_model=HealthResponse, response_class=JSONResponse
    )
    @app.get(
        "/health", summary="Liveness (alias of /healthz)", response_model=HealthResponse, response_class=JSONResponse
    )
    async def healthz() -> Response:
        return _json(200, {"status": "healthy"})

    not_ready: dict[int | str, dict[str, Any]] = {
        503: {"model": ReadyResponse, "description": "The model is loading or failed to load."}
    }

    @app.get(
        "/readyz",
        summary="Readiness: the model is loaded and verified",
        response_model=ReadyResponse,
        responses=not_ready,
    )
    @app.get("/ready", summary="Readiness (alias of /readyz)", response_model=ReadyResponse, responses=not_ready)
    async def readyz() -> Response:
        if state.status == "ready" and state.model is not None:
            return _json(200, {"status": "ready", "model_version": state.model.version})
        detail = state.error if state.status == "failed" else "the model is loading"
        return _json(503, {"status": state.status, "detail": detail})

    @app.get("/", response_model=InfoResponse, summary="Service information")
    async def info() -> Response:
        model = state.model
        return _json(
            200,
            {
                "service": "inference",
                "tenant": settings.tenant,
                "ready": state.status == "ready",
                "model_version": model.version if model else None,
                "model": model.metadata if model else None,
            },
        )

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        summary="Prometheus metrics",
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def prometheus_metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    async def fastapi_app(scope: Any, receive: Any, send: Any) -> None:
        await FastAPI.__call__(app, scope, receive, send)

    app.service_layer = ServiceMiddleware(fastapi_app, core, metrics, settings.max_body_bytes)
    return app
