"""The outer ASGI layer in front of FastAPI: the body limit (Content-Length first, then the streamed size), the
request metrics, and the fast path of the prediction routes through `PredictCore`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from inference import jsonio
from inference.metrics import ServiceMetrics
from inference.predict_core import PredictCore, error_body

log = logging.getLogger("inference")

ROUTES = frozenset({"/predict", "/predict/batch", "/healthz", "/readyz", "/health", "/ready", "/", "/metrics"})
DOC_ROUTES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect"})
METHODS = frozenset({"GET", "POST", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
JSON_HEADERS = [(b"content-type", b"application/json")]


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
            status, payload = error_body(500, "internal error while predicting")
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
