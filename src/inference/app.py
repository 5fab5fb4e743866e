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
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel

from inference import jsonio
from inference.artifact import ModelLoadError
from inference.loader import ModelLoader, loader_for
from inference.metrics import ServiceMetrics
from inference.middleware import ROUTES as ROUTES
from inference.middleware import ServiceMiddleware
from inference.predict_core import ModelState, PredictCore
from inference.predictor import Predictor
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
    def prediction_route(path: str, name: str, answer: type[BaseModel], what: str, body: type[BaseModel],
                         summary: str, handle: Callable[[bytes], Awaitable[tuple[int, bytes]]]) -> None:  # fmt: skip
        @app.post(
            path,
            name=name,
            response_model=None,
            responses={200: {"model": answer, "description": what}, **errors},
            openapi_extra=body_schema(body),
            summary=summary,
        )
        async def route(request: Request) -> Response:
            status, payload = await handle(await request.body())
            return Response(payload, status_code=status, media_type="application/json")

    prediction_route("/predict", "predict", PredictResponse, "The prediction.", PredictRequest,
                     "Classify one text", core.predict)  # fmt: skip
    prediction_route("/predict/batch", "predict_batch", BatchResponse, "One prediction per text.", BatchRequest,
                     "Classify 1 to 256 texts", core.predict_batch)  # fmt: skip

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
